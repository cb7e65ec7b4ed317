"""``kneeflags log``: the knee journal (pain, ok, check, list, remove, export, import).

Thin over :mod:`kneeflags.journal.symptoms`. Every value is taken as text and validated
there, so a bad score, site or date is one line on stderr and exit 2, and nothing is
written (click's own multi-line usage errors are kept for unknown options only).
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kneeflags.cli.application import app
from kneeflags.cli.common import EXIT_USAGE, emit, journal_errors, output_file

log_app = typer.Typer(
    help=(
        "Keep a knee journal: painful and pain-free runs or days, and the guide's criteria "
        "checks before a return. Reports read it: while an episode is open, next week's plan "
        "is the return-to-running plan and every run is checked against it."
    ),
    no_args_is_help=True,
)
app.add_typer(log_app, name="log")

ATHLETE_ENV = "KNEEFLAGS_ATHLETE"

AthleteLogOpt = Annotated[
    str | None,
    typer.Option(
        "--athlete",
        metavar="NAME",
        help="Whose journal (the name reports use: --athlete, else the folder or export "
        f"name). Default: ${ATHLETE_ENV}.",
    ),
]
JournalLogOpt = Annotated[
    Path | None,
    typer.Option(
        "--journal",
        metavar="PATH",
        help="Journal file (default: $KNEEFLAGS_JOURNAL, else the user data folder).",
    ),
]
DateOpt = Annotated[
    str | None,
    typer.Option("--date", metavar="YYYY-MM-DD", help="Day of the run or day (default: today)."),
]
NoteOpt = Annotated[str | None, typer.Option("--note", metavar="TEXT", help="Free text.")]


def _today() -> date:
    return date.today()  # the runner's local calendar day


def _athlete(name: str | None) -> str:
    name = name or os.environ.get(ATHLETE_ENV)
    if not name or not name.strip():
        _fail(
            "name the athlete with --athlete (the folder or export name your reports use) "
            f"or ${ATHLETE_ENV}"
        )
    return name  # type: ignore[return-value]


def _fail(message: str) -> None:
    print(f"kneeflags: error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


def _day(value: str | None) -> date:
    from kneeflags.journal.symptoms import parse_date

    return _today() if value is None else parse_date(value)


@log_app.command("pain")
def log_pain(
    date_: DateOpt = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            metavar="outer|front|other",
            help="outer = lateral (points to ITBS); front = around or behind the kneecap "
            "(points to PFPS). A hint, not a diagnosis.",
        ),
    ] = None,
    side: Annotated[
        str | None, typer.Option("--side", metavar="left|right|both", help="Which knee.")
    ] = None,
    during: Annotated[
        str | None, typer.Option("--during", metavar="0-10", help="Pain during the run.")
    ] = None,
    after: Annotated[
        str | None, typer.Option("--after", metavar="0-10", help="Pain about an hour after.")
    ] = None,
    next_morning: Annotated[
        str | None,
        typer.Option("--next-morning", metavar="0-10", help="Pain the next morning."),
    ] = None,
    onset_km: Annotated[
        str | None,
        typer.Option("--onset-km", metavar="KM", help="Distance into the run when it began."),
    ] = None,
    onset_min: Annotated[
        str | None,
        typer.Option("--onset-min", metavar="MIN", help="Minutes into the run when it began."),
    ] = None,
    stopped: Annotated[
        bool, typer.Option("--stopped", help="The run was cut short by the pain.")
    ] = False,
    athlete: AthleteLogOpt = None,
    journal: JournalLogOpt = None,
    note: NoteOpt = None,
) -> None:
    """Record a painful run or day."""
    from kneeflags.journal.symptoms import SITE_CONDITION, SITE_HINT, SymptomEntry

    with journal_errors():
        entry = SymptomEntry(
            athlete=_athlete(athlete),
            kind="pain",
            date=_day(date_),
            site=site,
            side=side,
            during=during,  # type: ignore[arg-type]
            after=after,  # type: ignore[arg-type]
            next_morning=next_morning,  # type: ignore[arg-type]
            onset_km=onset_km,  # type: ignore[arg-type]
            onset_min=onset_min,  # type: ignore[arg-type]
            stopped=stopped,
            note=note,
        )
        entry_id = _store(entry, journal)
    where = site or "site not given"
    hint = SITE_CONDITION.get(site or "other", "unclear")
    points = "knee pain with the site unclear" if hint == "unclear" else hint
    print(
        f"Logged pain entry {entry_id} for {entry.athlete} on {entry.date.isoformat()} "
        f"({where}{', ' + side if side else ''}: points to {points})."
    )
    print(SITE_HINT)
    print("Reports link it to the runs of that date when they read your files.")


@log_app.command("ok")
def log_ok(
    date_: DateOpt = None,
    athlete: AthleteLogOpt = None,
    journal: JournalLogOpt = None,
    note: NoteOpt = None,
) -> None:
    """Record a pain-free run or day."""
    from kneeflags.journal.symptoms import SymptomEntry

    with journal_errors():
        entry = SymptomEntry(athlete=_athlete(athlete), kind="ok", date=_day(date_), note=note)
        entry_id = _store(entry, journal)
    print(f"Logged pain-free entry {entry_id} for {entry.athlete} on {entry.date.isoformat()}.")


@log_app.command("check")
def log_check(
    date_: DateOpt = None,
    failed: Annotated[
        list[str] | None,
        typer.Option(
            "--failed",
            metavar="ITEM",
            help="A criterion not met (repeat, or separate with commas). ITBS: "
            "single-leg-squat, downhill-walk, stairs-down. PFPS: pain-free-weeks, "
            "daily-activities, single-leg-squat, calf-raises. Without it, all were met.",
        ),
    ] = None,
    condition: Annotated[
        str | None,
        typer.Option(
            "--condition",
            metavar="ITBS|PFPS",
            help="Which open episode (only needed when two are open).",
        ),
    ] = None,
    athlete: AthleteLogOpt = None,
    journal: JournalLogOpt = None,
    note: NoteOpt = None,
) -> None:
    """Record the guide's criteria check before a return (for the open episode)."""
    from kneeflags.journal import open_journal
    from kneeflags.journal.episodes import derive_episodes
    from kneeflags.journal.symptoms import CRITERIA, SymptomEntry, list_entries

    with journal_errors():
        who = _athlete(athlete)
        day = _day(date_)
        with open_journal(journal, readonly=True) as j:
            entries = list_entries(j, who)
        opened = [e for e in derive_episodes(entries, as_of=day) if e.is_open]
        if condition is not None:
            cond = condition.strip().upper()
            if cond not in ("ITBS", "PFPS"):
                _fail(f"--condition must be ITBS or PFPS, not {condition!r}")
            opened = [e for e in opened if e.condition == cond]
        if not opened:
            _fail(f"{who} has no open knee episode on {day.isoformat()}: log pain first")
        if len({e.condition for e in opened}) > 1:
            _fail("two episodes are open: say which with --condition ITBS or --condition PFPS")
        cond = opened[0].condition
        items = tuple(i.strip() for f in failed or () for i in f.split(",") if i.strip())
        entry = SymptomEntry(
            athlete=who, kind="check", date=day, condition=cond, failed=items, note=note
        )
        entry_id = _store(entry, journal)
    crit = CRITERIA["PFPS" if cond == "unclear" else cond]
    met = [text for key, text in crit.items() if key not in items]
    print(f"Logged {cond} criteria check {entry_id} for {who} on {day.isoformat()}.")
    for text in met:
        print(f"  met: {text}")
    for key in items:
        print(f"  not met: {crit[key]}")


@log_app.command("list")
def log_list(
    athlete: Annotated[
        str | None, typer.Option("--athlete", metavar="NAME", help="Only this athlete.")
    ] = None,
    journal: JournalLogOpt = None,
) -> None:
    """List the journal's entries, by date."""
    from kneeflags.journal import open_journal
    from kneeflags.journal.symptoms import list_entries

    with journal_errors(), open_journal(journal, readonly=True) as j:
        entries = list_entries(j, athlete or os.environ.get(ATHLETE_ENV))
    if not entries:
        print("No journal entries.")
        return
    print(f"{'id':>5}  {'date':10}  {'athlete':12}  {'kind':5}  details")
    for e in entries:
        print(f"{e.id:>5}  {e.date.isoformat():10}  {e.athlete[:12]:12}  {e.kind:5}  {describe(e)}")


def describe(e: object) -> str:
    """One line of what an entry says (``log list`` and the reports' journal section)."""
    from kneeflags.journal.symptoms import SymptomEntry

    assert isinstance(e, SymptomEntry)
    parts: list[str] = []
    if e.kind == "pain":
        parts.append(", ".join(x for x in (e.site or "site ?", e.side) if x))
        scores = [
            f"{label} {v}/10"
            for label, v in (
                ("during", e.during),
                ("after", e.after),
                ("next morning", e.next_morning),
            )
            if v is not None
        ]
        parts += scores
        if e.onset_km is not None:
            parts.append(f"onset {e.onset_km:g} km")
        if e.onset_min is not None:
            parts.append(f"onset {e.onset_min:g} min")
        if e.stopped:
            parts.append("stopped")
    elif e.kind == "ok":
        parts.append("pain-free")
    else:
        parts.append(
            f"{e.condition} criteria: "
            + ("all met" if not e.failed else "not met: " + ", ".join(e.failed))
        )
    if e.note:
        parts.append(f"“{e.note}”")
    return "; ".join(parts)


@log_app.command("remove")
def log_remove(
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="Entry id (see log list).")],
    athlete: Annotated[
        str | None, typer.Option("--athlete", metavar="NAME", help="Only if it is this athlete's.")
    ] = None,
    journal: JournalLogOpt = None,
) -> None:
    """Delete one entry."""
    from kneeflags.journal import open_journal
    from kneeflags.journal.symptoms import remove_entry

    if not entry_id.strip().isdigit():
        _fail(f"ID must be a whole number (see 'kneeflags log list'), not {entry_id!r}")
    with journal_errors():
        _require_existing(journal)
        with open_journal(journal) as j:
            gone = remove_entry(j, int(entry_id), athlete)
    print(f"Removed entry {entry_id} ({gone.kind}, {gone.athlete}, {gone.date.isoformat()}).")


def _require_existing(journal: Path | None) -> None:
    from kneeflags.journal.store import JournalError, default_journal_path

    target = journal if journal is not None else default_journal_path()
    if not Path(target).expanduser().exists():
        raise JournalError(f"{target}: no journal here yet (nothing was logged)")


@log_app.command("export")
def log_export(
    format: Annotated[
        str, typer.Option("--format", "-f", metavar="csv|json", help="Output format.")
    ] = "csv",
    athlete: Annotated[
        str | None, typer.Option("--athlete", metavar="NAME", help="Only this athlete.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            parser=output_file,
            help="Write here (default: stdout).",
        ),
    ] = None,
    journal: JournalLogOpt = None,
) -> None:
    """Write the entries as CSV (what 'log import' reads) or JSON."""
    from kneeflags.journal import open_journal
    from kneeflags.journal.symptoms import export_csv, export_json, list_entries

    if format not in ("csv", "json"):
        _fail(f"--format must be csv or json, not {format!r}")
    with journal_errors(), open_journal(journal, readonly=True) as j:
        entries = list_entries(j, athlete)
    emit(export_csv(entries) if format == "csv" else export_json(entries), output)


@log_app.command("import")
def log_import(
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="A 'log export' CSV file.")],
    journal: JournalLogOpt = None,
) -> None:
    """Add the entries of a CSV export (all or none; entries already stored are skipped)."""
    from kneeflags.journal import open_journal
    from kneeflags.journal.symptoms import add_entries, list_entries, read_csv

    with journal_errors():
        entries = read_csv(file, today=_today())
        with open_journal(journal) as j:
            before = len(list_entries(j))
            add_entries(j, entries, today=_today())
            added = len(list_entries(j)) - before
    print(f"Imported {added} entries from {file} ({len(entries) - added} already present).")


def _store(entry: object, journal: Path | None) -> int:
    from kneeflags.journal import open_journal
    from kneeflags.journal.symptoms import SymptomEntry, add_entry, validate

    assert isinstance(entry, SymptomEntry)
    validate(entry, today=_today())  # before the journal file is even created
    with open_journal(journal) as j:
        return add_entry(j, entry, today=_today())
