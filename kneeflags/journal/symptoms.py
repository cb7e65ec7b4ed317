"""The symptom log: what the runner tells kneeflags about their knee, one entry at a time.

Three kinds of entry, each stored with its own id and the UTC time it was entered:

* ``pain``: a painful run or day: where (``site``: ``outer`` = lateral, pointing to ITBS;
  ``front`` = around or behind the kneecap, pointing to PFPS; ``other``), which ``side``,
  scores 0–10 ``during``, ``after`` (about an hour after) and ``next_morning`` (the three
  the pain-monitoring model needs, evidence.md §7), when in the run it began
  (``onset_km`` or ``onset_min``), whether the run was cut short (``stopped``), a note;
* ``ok``: a pain-free run or day;
* ``check``: the guide's criteria before a return, with the items that were *not* met
  (``failed``; empty = all met) for the ``condition`` of the episode it concerns.

Entries are facts, not conclusions: episodes and phases are derived from them every time
(:mod:`kneeflags.journal.episodes`), so a report never depends on the order entries were
made, and removing a wrong entry simply changes what is derived.

Validation happens before anything is written (:func:`validate`): a score outside 0–10,
an unknown site, a date in the future or an unknown id is a one-line :class:`JournalError`
and the store is left as it was. Imports validate every row first and insert them in one
transaction, so a bad row at line 900 writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from kneeflags.journal.store import Journal, JournalError, now_utc
from kneeflags.records import record

COMPONENT = "symptoms"
VERSION = 1
TABLE = "symptom_entries"

EntryKind = Literal["pain", "ok", "check"]
KINDS: tuple[str, ...] = ("pain", "ok", "check")
SITES: tuple[str, ...] = ("outer", "front", "other")
SIDES: tuple[str, ...] = ("left", "right", "both")
CONDITIONS: tuple[str, ...] = ("ITBS", "PFPS", "unclear")

SITE_CONDITION: dict[str, str] = {"outer": "ITBS", "front": "PFPS", "other": "unclear"}
"""The guide's "location is the fastest diagnostic tool": a hint, never a diagnosis."""

SITE_HINT = (
    "The site is a hint, not a diagnosis: outer (lateral) knee pain points to ITBS, pain "
    "around or behind the kneecap to PFPS; a clinician confirms which."
)

CRITERIA: dict[str, dict[str, str]] = {
    "ITBS": {
        "single-leg-squat": "pain-free single-leg squat with no hip drop",
        "downhill-walk": "pain-free walking downhill",
        "stairs-down": "pain-free walking down stairs",
    },
    "PFPS": {
        "pain-free-weeks": "2 consecutive pain-free weeks before building",
        "daily-activities": "pain-free stairs, sitting and squatting in daily life",
        "single-leg-squat": "single-leg squat to 45 degrees without pain or knee caving in",
        "calf-raises": "15 or more pain-free single-leg calf raises on the affected side",
    },
}
"""The guide's criteria before a return (Return to Running After ITBS / After PFPS)."""

MAX_ONSET_KM = 300.0
MAX_ONSET_MIN = 24 * 60.0
MAX_NOTE_CHARS = 2000

COLUMNS: dict[str, type] = {
    "id": int,
    "athlete": str,
    "kind": str,
    "date": str,
    "site": str,
    "side": str,
    "during": int,
    "after": int,
    "next_morning": int,
    "onset_km": float,
    "onset_min": float,
    "stopped": int,
    "condition": str,
    "failed": str,
    "note": str,
    "entered_utc": str,
}
"""The table's columns (sqlite-utils types); ``failed`` is a comma-separated item list."""

EXPORT_FIELDS: tuple[str, ...] = tuple(c for c in COLUMNS if c != "id")
"""CSV/JSON columns: everything but the store's id (an import assigns new ones)."""


@record(frozen=True)
class SymptomEntry:
    """One journal entry (see the module docstring). ``id`` is ``None`` until stored."""

    athlete: str
    kind: EntryKind
    date: date
    site: str | None = None
    side: str | None = None
    during: int | None = None
    after: int | None = None
    next_morning: int | None = None
    onset_km: float | None = None
    onset_min: float | None = None
    stopped: bool = False
    condition: str | None = None
    failed: tuple[str, ...] = field(default_factory=tuple)
    note: str | None = None
    entered_utc: str = ""
    id: int | None = None
    runs: tuple[str, ...] = ()
    """The runs (activity ids) of the entry's local date, linked when a report reads the
    files (:func:`link_runs`); never stored: the journal holds facts about the knee, the
    files hold the runs, and a re-export or a correction changes which runs there are."""
    run_labels: tuple[str, ...] = ()
    """Those runs in words (``8.0 km at 07:00``), for the human renderers."""

    @property
    def condition_hint(self) -> str | None:
        """The condition this entry points to: its site's (pain) or its own (check)."""
        if self.kind == "pain":
            return SITE_CONDITION.get(self.site or "other", "unclear")
        return self.condition

    @property
    def worst(self) -> int:
        """The highest of the three scores (0 when none was given)."""
        return max(
            (s for s in (self.during, self.after, self.next_morning) if s is not None), default=0
        )

    @property
    def content_key(self) -> tuple[Any, ...]:
        """Everything the entry says, without its id and entry time: what derivation may
        sort by, so the derived episodes never depend on the order entries were made."""
        return (
            self.athlete,
            self.date,
            KINDS.index(self.kind),
            self.site or "",
            self.side or "",
            *(-1 if s is None else s for s in (self.during, self.after, self.next_morning)),
            -1.0 if self.onset_km is None else self.onset_km,
            -1.0 if self.onset_min is None else self.onset_min,
            self.stopped,
            self.condition or "",
            self.failed,
            self.note or "",
        )

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        del row["runs"], row["run_labels"]
        row["date"] = self.date.isoformat()
        row["stopped"] = int(self.stopped)
        row["failed"] = ",".join(self.failed)
        if row["id"] is None:
            del row["id"]
        return row

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``athletes[].journal`` and ``log export --format json``)."""
        return {
            "id": self.id,
            "athlete": self.athlete,
            "kind": self.kind,
            "date": self.date.isoformat(),
            "site": self.site,
            "side": self.side,
            "during": self.during,
            "after": self.after,
            "next_morning": self.next_morning,
            "onset_km": self.onset_km,
            "onset_min": self.onset_min,
            "stopped": self.stopped,
            "condition": self.condition,
            "failed": list(self.failed),
            "note": self.note,
            "entered_utc": self.entered_utc,
            "runs": list(self.runs),
        }


# --- validation ---------------------------------------------------------------------------


def _score(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise JournalError(f"--{name.replace('_', '-')} must be a whole number 0-10, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise JournalError(
            f"--{name.replace('_', '-')} must be a whole number 0-10, not {value!r}"
        ) from None
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= 10:
        raise JournalError(f"--{name.replace('_', '-')} must be a whole number 0-10, not {value!r}")
    return int(number)


def _positive(name: str, value: Any, upper: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise JournalError(f"--{name.replace('_', '-')} must be a number, not {value!r}") from None
    if not math.isfinite(number) or not 0 < number <= upper:
        raise JournalError(
            f"--{name.replace('_', '-')} must be above 0 and at most {upper:g}, not {value!r}"
        )
    return number


def parse_date(value: Any) -> date:
    """An ISO date (``2026-01-27``); anything else is a one-line error."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise JournalError(f"--date must be a date like 2026-01-27, not {value!r}") from None


def validate(entry: SymptomEntry, *, today: date) -> SymptomEntry:
    """The entry, normalised, or a one-line :class:`JournalError` saying what is wrong."""
    athlete = " ".join(str(entry.athlete or "").split())
    if not athlete:
        raise JournalError("--athlete must name the athlete")
    if entry.kind not in KINDS:
        raise JournalError(f"unknown entry kind {entry.kind!r} (use {', '.join(KINDS)})")
    day = parse_date(entry.date)
    if day > today:
        raise JournalError(
            f"--date {day.isoformat()} is in the future (today is {today.isoformat()})"
        )
    if entry.site is not None and entry.site not in SITES:
        raise JournalError(f"unknown site {entry.site!r} (use {', '.join(SITES)})")
    if entry.side is not None and entry.side not in SIDES:
        raise JournalError(f"unknown side {entry.side!r} (use {', '.join(SIDES)})")
    scores = {k: _score(k, getattr(entry, k)) for k in ("during", "after", "next_morning")}
    onset_km = _positive("onset_km", entry.onset_km, MAX_ONSET_KM)
    onset_min = _positive("onset_min", entry.onset_min, MAX_ONSET_MIN)
    note = entry.note if entry.note else None
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise JournalError(f"--note is longer than {MAX_NOTE_CHARS} characters")
    condition = entry.condition or None
    failed = tuple(sorted(set(entry.failed)))
    if entry.kind == "pain":
        if condition is not None:
            raise JournalError("a pain entry takes its condition from --site, not --condition")
        if failed:
            raise JournalError("--failed belongs to 'log check', not 'log pain'")
    else:
        extras = [
            name
            for name, v in (
                ("--site", entry.site),
                ("--during", scores["during"]),
                ("--after", scores["after"]),
                ("--next-morning", scores["next_morning"]),
                ("--onset-km", onset_km),
                ("--onset-min", onset_min),
            )
            if v is not None
        ] + (["--stopped"] if entry.stopped else [])
        if extras:
            raise JournalError(f"'log {entry.kind}' does not take {', '.join(extras)}")
    if entry.kind == "ok" and (condition or failed):
        raise JournalError("'log ok' does not take --condition or --failed")
    if entry.kind == "check":
        if condition not in ("ITBS", "PFPS", "unclear"):
            raise JournalError(f"a check needs the condition ITBS or PFPS, not {condition!r}")
        known = CRITERIA.get("PFPS" if condition == "unclear" else condition, {})
        unknown = [f for f in failed if f not in known]
        if unknown:
            raise JournalError(
                f"unknown {condition} criterion {unknown[0]!r} (use {', '.join(known)})"
            )
    return replace(
        entry,
        athlete=athlete,
        date=day,
        during=scores["during"],
        after=scores["after"],
        next_morning=scores["next_morning"],
        onset_km=onset_km,
        onset_min=onset_min,
        stopped=bool(entry.stopped),
        condition=condition,
        failed=failed,
        note=note,
        entered_utc=entry.entered_utc or now_utc(),
    )


# --- the store ------------------------------------------------------------------------------


def ensure_tables(journal: Journal) -> None:
    """Declare the symptom log's table (no-op on a read-only or absent journal)."""
    journal.ensure_component(COMPONENT, VERSION, {TABLE: (COLUMNS, "id")})


def _from_row(row: dict[str, Any]) -> SymptomEntry:
    return SymptomEntry(
        id=row.get("id"),
        athlete=row["athlete"],
        kind=row["kind"],
        date=date.fromisoformat(row["date"]),
        site=row.get("site") or None,
        side=row.get("side") or None,
        during=row.get("during"),
        after=row.get("after"),
        next_morning=row.get("next_morning"),
        onset_km=row.get("onset_km"),
        onset_min=row.get("onset_min"),
        stopped=bool(row.get("stopped")),
        condition=row.get("condition") or None,
        failed=tuple(f for f in (row.get("failed") or "").split(",") if f),
        note=row.get("note") or None,
        entered_utc=row.get("entered_utc") or "",
    )


def add_entries(journal: Journal, entries: Sequence[SymptomEntry], *, today: date) -> list[int]:
    """Validate every entry, then store them all in one transaction; their new ids.

    An entry identical in content to one already stored for the athlete (same
    :attr:`SymptomEntry.content_key`) is not stored twice, so importing the same export
    twice changes nothing; its existing id is returned.
    """
    checked = [validate(e, today=today) for e in entries]
    ensure_tables(journal)
    ids: list[int] = []
    with journal.transaction() as db:
        existing = {e.content_key: e.id for e in _all(db)}
        for entry in checked:
            key = entry.content_key
            if key in existing:
                ids.append(int(existing[key]))  # type: ignore[arg-type]
                continue
            new_id = int(db[TABLE].insert(entry.to_row()).last_rowid)
            existing[key] = new_id
            ids.append(new_id)
    return ids


def add_entry(journal: Journal, entry: SymptomEntry, *, today: date) -> int:
    """Validate and store one entry; its id."""
    return add_entries(journal, [entry], today=today)[0]


def _all(db: Any) -> list[SymptomEntry]:
    if TABLE not in db.table_names():
        return []
    return [_from_row(r) for r in db[TABLE].rows]


def list_entries(
    journal: Journal,
    athlete: str | None = None,
    *,
    since: date | None = None,
    until: date | None = None,
) -> list[SymptomEntry]:
    """Stored entries (of ``athlete``, matched case-insensitively), by date then id."""
    ensure_tables(journal)
    want = athlete_key(athlete) if athlete else None
    out = [
        e
        for e in _all(journal.db)
        if (want is None or athlete_key(e.athlete) == want)
        and (since is None or e.date >= since)
        and (until is None or e.date <= until)
    ]
    return sorted(out, key=lambda e: (e.date, e.id or 0))


def remove_entry(journal: Journal, entry_id: int, athlete: str | None = None) -> SymptomEntry:
    """Delete entry ``entry_id`` (of ``athlete`` when given); the removed entry."""
    ensure_tables(journal)
    with journal.transaction() as db:
        rows = (
            list(db.query(f"select * from {TABLE} where id = ?", [entry_id]))
            if (TABLE in db.table_names())
            else []
        )
        if not rows or (athlete and athlete_key(rows[0]["athlete"]) != athlete_key(athlete)):
            who = f" for athlete {athlete!r}" if athlete else ""
            raise JournalError(f"{journal.label}: no journal entry with id {entry_id}{who}")
        db[TABLE].delete(entry_id)
    return _from_row(rows[0])


def athlete_key(name: str | None) -> str:
    """How athletes are matched: case and spacing do not matter (``Alex`` = ``alex``)."""
    return " ".join(str(name or "").split()).casefold()


# --- export / import ------------------------------------------------------------------------


def _export_row(e: SymptomEntry) -> dict[str, Any]:
    row = e.to_row()
    row.pop("id", None)
    row["stopped"] = "yes" if e.stopped else ""
    return {k: "" if row.get(k) is None else row[k] for k in EXPORT_FIELDS}


def export_csv(entries: Iterable[SymptomEntry]) -> str:
    """CSV text with :data:`EXPORT_FIELDS` as the header (what ``log import`` reads)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EXPORT_FIELDS), lineterminator="\n")
    writer.writeheader()
    for e in entries:
        writer.writerow(_export_row(e))
    return buf.getvalue()


def export_json(entries: Iterable[SymptomEntry]) -> str:
    """The entries as stored (no ``runs``: those are linked by reports, from the files)."""
    rows = []
    for e in entries:
        row = e.to_dict()
        del row["runs"]
        rows.append(row)
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def link_runs(
    entries: Iterable[SymptomEntry], runs_by_date: dict[date, list[tuple[str, str]]]
) -> tuple[SymptomEntry, ...]:
    """``entries`` with the runs of their local date attached (pain and ok entries: a check
    is about the knee, not a run). ``runs_by_date`` maps a date to ``(activity id, label)``
    pairs in start order. This is how ``log pain`` "links itself to the runs of that
    date": the journal never sees the files, the report joins them by the local date."""
    out = []
    for e in entries:
        pairs = runs_by_date.get(e.date, []) if e.kind in ("pain", "ok") else []
        out.append(
            replace(
                e, runs=tuple(i for i, _ in pairs), run_labels=tuple(label for _, label in pairs)
            )
        )
    return tuple(out)


def read_csv(path: Path, *, today: date) -> list[SymptomEntry]:
    """Entries of a ``log export --format csv`` file, all validated (one-line errors with
    the file and line), or nothing at all."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise JournalError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise JournalError(f"{path}: not a UTF-8 CSV file") from None
    except OSError as exc:
        raise JournalError(f"{path}: cannot read ({exc.strerror})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in ("athlete", "kind", "date") if c not in header]
    if missing:
        raise JournalError(f"{path}: not a kneeflags journal export (no {missing[0]!r} column)")
    unknown = [c for c in header if c not in EXPORT_FIELDS and c != "id"]
    if unknown:
        raise JournalError(f"{path}: unknown column {unknown[0]!r}")
    entries: list[SymptomEntry] = []
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise JournalError(f"{path}:{line}: more cells than columns")
        try:
            entry = SymptomEntry(
                athlete=row.get("athlete") or "",
                kind=row.get("kind") or "",  # type: ignore[arg-type]
                date=parse_date(row.get("date") or ""),
                site=row.get("site") or None,
                side=row.get("side") or None,
                during=row.get("during") or None,  # type: ignore[arg-type]
                after=row.get("after") or None,  # type: ignore[arg-type]
                next_morning=row.get("next_morning") or None,  # type: ignore[arg-type]
                onset_km=row.get("onset_km") or None,  # type: ignore[arg-type]
                onset_min=row.get("onset_min") or None,  # type: ignore[arg-type]
                stopped=(row.get("stopped") or "").strip().lower() in ("yes", "1", "true"),
                condition=row.get("condition") or None,
                failed=tuple(f for f in (row.get("failed") or "").split(",") if f),
                note=row.get("note") or None,
                entered_utc=row.get("entered_utc") or "",
            )
            entries.append(validate(entry, today=today))
        except JournalError as exc:
            raise JournalError(f"{path}:{line}: {exc}") from None
    return entries


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(SymptomEntry))
