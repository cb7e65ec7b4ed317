"""The three user journeys as library functions; the CLI commands are thin calls of these.

* :func:`analyze_paths`: one athlete's files -> a :class:`~kneeflags.report.model.Report`
  (``kneeflags analyze``).
* :func:`write_weekly_report`: the cron job -> ``<out>/<athlete>/<YYYY>-W<ww>.{md,html,json}``
  written atomically (``kneeflags report``).
* :func:`run_batch`: a coach's folder of athletes (or a manifest), analysed in parallel
  by an executor (a local process pool, or a Dask cluster: :mod:`kneeflags.executors`,
  tasks in :mod:`kneeflags.batchtasks`), ranked (``kneeflags batch``).

Every journey reads through :func:`kneeflags.pipeline.run_pipeline` (parse cache,
parallel reading), so a notebook user gets exactly what the command line gets.

Time stamps (``generated_at``): ``SOURCE_DATE_EPOCH`` when set; otherwise ``report``
and ``batch`` stamp a report with 00:00 UTC of the day after its last week, which makes
a rerun on the same data byte-identical without any setup, and ``analyze`` uses the
time of the run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import time as _time
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kneeflags.config import Config, load_config
from kneeflags.findings import SEVERITY_RANK
from kneeflags.model import Problem, safe_text
from kneeflags.records import record
from kneeflags.report import render
from kneeflags.report.atomic import atomic_write_group, atomic_write_text, folder_lock
from kneeflags.report.model import (
    AthleteReport,
    Report,
    build_athlete_report,
    build_report,
    generated_at_now,
    week_of,
)
from kneeflags.sources import REPORT_FOLDER_MARK

if TYPE_CHECKING:
    from kneeflags.executors import AthleteExecutor

ProgressCallback = Callable[[int, int], None]

CRON_FORMATS: tuple[str, ...] = ("markdown", "html", "json")
"""What ``kneeflags report`` writes for each athlete and week."""

_WEEK_LABEL = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


if TYPE_CHECKING:
    from kneeflags.pipeline import PipelineResult


class UsageProblem(ValueError):
    """A user-supplied value is wrong (exit code 2); the message is one line."""


def check_inputs(paths: Sequence[str | os.PathLike[str]]) -> None:
    """Refuse inputs that cannot make a report, before anything is read or written.

    A path that does not exist (or a pattern that matches nothing) is a typo, and inputs
    that hold no activity file at all (an empty folder) would give a made-up empty
    report: both raise :class:`UsageProblem` (exit 2). Unreadable files still make a
    report (exit 1): they are named in it. The scan stops at the first candidate file,
    so a folder of thousands of runs costs one directory listing.
    """
    from kneeflags.sources import expand_path, iter_sources

    if not paths:
        raise UsageProblem("no input given: name activity files, folders or exports")
    for p in paths:
        _, error = expand_path(p)
        if error:
            raise UsageProblem(f"{safe_text(os.fspath(p))}: {error}")
    skipped = 0
    for item in iter_sources(paths):
        if item.skip is None:
            return
        skipped += 1
    _nothing_found(paths, skipped)


def check_found(paths: Sequence[str | os.PathLike[str]], result: PipelineResult) -> None:
    """After reading: inputs whose every file was skipped as not an activity (a folder of
    photos and notes) held nothing to report on, which is a usage error like an empty
    folder, not a calm report of 0 km. Unreadable files are not this: they are named in
    the report (exit 1)."""
    if result.files_read == 0 and not result.errors:
        _nothing_found(paths, result.skipped)


def _nothing_found(paths: Sequence[str | os.PathLike[str]], skipped: int) -> None:
    where = ", ".join(safe_text(os.fspath(p)) for p in paths)
    other = f" ({skipped} other file{'' if skipped == 1 else 's'} skipped)" if skipped else ""
    raise UsageProblem(f"{where}: no activity files (.fit, .gpx, .tcx, .gz, .zip) found{other}")


# ---------------------------------------------------------------------------------------
# helpers shared by the journeys


def resolve_config(config: Config | str | os.PathLike[str] | None) -> Config:
    """A :class:`Config` from an object, a TOML path, or ``None`` (rules.md defaults)."""
    if isinstance(config, Config):
        return config
    return load_config(None if config is None else Path(config).expanduser())


def default_athlete_name(paths: Sequence[str | os.PathLike[str]]) -> str:
    """Name an athlete after the single folder or export given, else ``athlete``."""
    if len(paths) == 1:
        p = Path(os.path.expanduser(str(paths[0])))
        if p.is_dir():
            return safe_text(p.resolve().name) or "athlete"
        if p.suffix.lower() == ".zip":
            return safe_text(p.stem) or "athlete"
    return "athlete"


def slugify(name: str) -> str:
    """A safe, readable folder/file name for an athlete (no separators, no leading dot)."""
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"[^\w.\- ]+", "_", text, flags=re.UNICODE).strip(" ._")
    text = re.sub(r"\s+", "-", text)
    return text[:80] or "athlete"


REPORT_YEARS = (1970, 2200)
"""Years a reported week or ``--until`` date may fall in: the window reaches up to 520
weeks back and a week forward, which overflows the calendar near year 1 or 9999 (exit 1
with "date value out of range" before this bound)."""


def check_report_date(day: date, what: str) -> date:
    """``day`` when its year is in :data:`REPORT_YEARS`, else a usage problem (exit 2)."""
    lo, hi = REPORT_YEARS
    if not lo <= day.year <= hi:
        raise UsageProblem(f"{what} is outside the years {lo}-{hi}")
    return day


def parse_week(label: str) -> date:
    """``2026-W05`` (or ``2026W5``) -> the Monday of that ISO week; a date ``2026-02-01``
    (how weeks that do not start on Monday are labelled) -> that day."""
    m = _WEEK_LABEL.match(label.strip())
    if not m:
        try:
            return date.fromisoformat(label.strip())
        except ValueError:
            pass
        raise UsageProblem(f"--week must look like 2026-W05 or 2026-02-01, not {label!r}")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise UsageProblem(f"--week {label!r}: {year} has no ISO week {week}") from None
    return check_report_date(monday, f"--week {label.strip()}")


def today_in(tz: str | None) -> date:
    """Today's date in ``tz`` (the machine's zone when ``None``)."""
    if tz:
        from zoneinfo import ZoneInfo

        return datetime.now(ZoneInfo(tz)).date()
    return datetime.now().astimezone().date()


def last_complete_week(
    tz: str | None, week_start_index: int = 0, today: date | None = None
) -> date:
    """First day of the last local week that has fully ended."""
    day = today or today_in(tz)
    return week_of(day, week_start_index) - timedelta(weeks=1)


def pinned_stamp(week_start: date) -> datetime:
    """00:00 UTC of the day after the week: a deterministic ``generated_at``."""
    return datetime.combine(week_start + timedelta(days=7), time(0), tzinfo=UTC)


def severity_rank(severity: str | None) -> int:
    return SEVERITY_RANK.get(severity or "", 0)


STATUS_ORDER: dict[str, int] = {"high": 0, "watch": 1, "stale": 2, "unreadable": 2, "ok": 3}
"""Batch ranking: high, watch, then the athletes a coach must chase (stale data, nothing
readable), then the ones that are fine."""


def rank(report: Report) -> list[int]:
    """Athlete indices, most urgent first, by :attr:`AthleteReport.status`.

    High first, then watch, then stale and unreadable athletes (a coach must chase them),
    then ok. Within a status: this week's flag count, then the whole window's severity
    and flag count, then the name. A breach of the return-to-running protocol (``rtr-*``)
    ranks like a high flag whatever its own severity.
    """

    def key(i: int) -> tuple[Any, ...]:
        a = report.athletes[i]
        s = a.summary
        whole = "high" if any(f.rule.startswith("rtr-") for f in a.flags) else s.window_severity
        return (
            STATUS_ORDER.get(a.status, 3),
            -s.flags_this_week,
            -severity_rank(whole),
            -s.flags_in_window,
            a.athlete.casefold(),
            i,
        )

    return sorted(range(len(report.athletes)), key=key)


def _pipeline(paths: Sequence[str], **options: Any) -> Any:
    """:func:`kneeflags.pipeline.run_pipeline`, imported when a journey first reads files."""
    from kneeflags.pipeline import run_pipeline

    return run_pipeline(paths, **options)


def _athlete_report(
    result: Any,
    *,
    weeks: int,
    until: date | None,
    config: Config,
    journal: Sequence[Any] = (),
    as_of: date | None = None,
) -> AthleteReport:
    return build_athlete_report(
        result.analysis,
        errors=result.errors,
        warnings=result.warnings,
        skipped=result.skipped,
        weeks=weeks,
        until=until,
        config=config,
        journal=journal,
        as_of=as_of,
    )


def _journal_absent(path: str | os.PathLike[str] | None) -> bool:
    """True when the journal a read-only report would open does not exist.

    Such a journal reads as empty (:func:`~kneeflags.journal.store.open_journal` opens an
    in-memory database then); answering that here skips importing ``sqlite_utils`` and the
    journal modules, ~30 ms of every report's start-up for a runner who never logged
    anything. A path that exists (a file or not) goes the regular way and its checks.
    """
    from kneeflags.journal.store import default_journal_path

    target = Path(path).expanduser() if path is not None else default_journal_path()
    return not os.path.lexists(target)


def read_journal(
    journal: str | os.PathLike[str] | bool | None = None,
) -> dict[str, list[Any]]:
    """Every athlete's knee-journal entries, keyed by :func:`athlete_key`, read once.

    ``journal``: a path, ``None`` for the default (``$KNEEFLAGS_JOURNAL`` or the user data
    folder, the same as ``kneeflags log``), or ``False`` for no journal. Opened read-only: a
    journal that does not exist reads as empty and is not created. A journal that cannot be
    read is a one-line :class:`~kneeflags.journal.JournalError`, raised before any file is
    analysed.
    """
    if journal is False:
        return {}
    path = None if journal is None or journal is True else journal
    if _journal_absent(path):
        return {}
    from kneeflags.journal import open_journal
    from kneeflags.journal.symptoms import athlete_key, list_entries

    with open_journal(path, readonly=True) as j:
        entries = list_entries(j)
    out: dict[str, list[Any]] = {}
    for e in entries:
        out.setdefault(athlete_key(e.athlete), []).append(e)
    return out


def read_corrections(
    journal: str | os.PathLike[str] | bool | None = None,
) -> dict[str, Any] | None:
    """Every athlete's corrections of the record (:mod:`kneeflags.corrections`), read once.

    ``None`` for no journal (``journal=False``); otherwise a dict keyed by athlete (empty
    when the journal holds none, so the reports say that no correction was applied).
    Read-only; a journal that cannot be read is a one-line ``JournalError``.
    """
    if journal is False:
        return None
    path = None if journal is None or journal is True else journal
    if _journal_absent(path):
        return {}
    from kneeflags import corrections
    from kneeflags.journal import open_journal

    with open_journal(path, readonly=True) as j:
        return corrections.read(j)


def corrections_for(corrections: dict[str, Any] | None, athlete: str) -> Any:
    from kneeflags.corrections import Corrections, athlete_key

    if corrections is None:
        return None
    return corrections.get(athlete_key(athlete), Corrections())


def entries_for(entries: dict[str, list[Any]], athlete: str) -> list[Any]:
    if not entries:  # no journal: nothing to match (and no journal module to import)
        return []
    from kneeflags.journal.symptoms import athlete_key

    return entries.get(athlete_key(athlete), [])


# ---------------------------------------------------------------------------------------
# journey 1: analyze


def analyze_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    tz: str | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    athlete: str | None = None,
    decoder: str = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    weeks: int = 12,
    until: date | None = None,
    progress: ProgressCallback | None = None,
    generated_at: datetime | None = None,
    journal: str | os.PathLike[str] | bool | None = None,
    as_of: date | None = None,
    exclude: Sequence[str | os.PathLike[str]] = (),
    rehash: bool = False,
) -> Report:
    """Analyse one athlete's files and return the report of the window.

    ``exclude``: folders never read as input (the report's own ``--out-dir``).
    ``rehash``: hash every input for the cache look-up even if its ``stat`` is unchanged
    (:mod:`kneeflags.statindex`).

    ``paths`` may be files, folders, ZIP exports or quoted globs (``~`` expanded);
    the window is ``weeks`` weeks ending with the week of ``until`` (default: the
    week of the latest activity). ``journal``: see :func:`read_journal`; the athlete's
    entries are those logged under ``athlete`` (default: the folder or export name).
    """
    check_inputs(paths)
    cfg = resolve_config(config)
    strs = [str(p) for p in paths]
    name = athlete or default_athlete_name(strs)
    entries = entries_for(read_journal(journal), name)
    fixes = corrections_for(read_corrections(journal), name)
    result = _pipeline(
        strs,
        exclude=exclude,
        corrections=fixes,
        tz=tz,
        config=cfg,
        athlete=name,
        decoder=decoder,
        cache_dir=cache_dir,
        use_cache=use_cache,
        workers=workers,
        progress=progress,
        rehash=rehash,
    )
    check_found(paths, result)
    a = _athlete_report(result, weeks=weeks, until=until, config=cfg, journal=entries, as_of=as_of)
    return build_report([a], generated_at=generated_at or generated_at_now())


# ---------------------------------------------------------------------------------------
# journey 1b: the activity listing (kneeflags activities)


def list_activities(
    paths: Sequence[str | os.PathLike[str]],
    *,
    tz: str | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    athlete: str | None = None,
    decoder: str = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    generated_at: datetime | None = None,
    journal: str | os.PathLike[str] | bool | None = None,
    record: bool = True,
) -> Report:
    """Every activity of one athlete's files, kept or not, as a report with its listing.

    The athlete's journal corrections are applied as in every report. With ``record``,
    the listed ids are recorded in the journal (``known_activities``, created if need
    be), so ``kneeflags correct`` can check the ids it is given; that write happens
    before anything is printed, and a journal that cannot be written is a one-line
    ``JournalError``.
    """
    import dataclasses

    from kneeflags import corrections
    from kneeflags.journal import open_journal
    from kneeflags.listing import listed

    check_inputs(paths)
    cfg = resolve_config(config)
    strs = [str(p) for p in paths]
    name = athlete or default_athlete_name(strs)
    fixes = corrections_for(read_corrections(journal), name)
    result = _pipeline(
        strs,
        corrections=fixes,
        listing=True,
        tz=tz,
        config=cfg,
        athlete=name,
        decoder=decoder,
        cache_dir=cache_dir,
        use_cache=use_cache,
        workers=workers,
        progress=progress,
    )
    check_found(paths, result)
    if record and journal is not False:
        path = None if journal is None or journal is True else journal
        with open_journal(path) as j:
            corrections.remember(j, name, result.listing)
    a = _athlete_report(result, weeks=520, until=None, config=cfg)
    a = dataclasses.replace(a, activity_list=listed(result.listing))
    return build_report([a], generated_at=generated_at or generated_at_now())


# ---------------------------------------------------------------------------------------
# journey 2: the weekly cron report


@record
class WrittenReport:
    """What a report-writing journey produced."""

    report: Report
    written: list[Path] = field(default_factory=list)
    """Files whose content changed (identical reruns leave files untouched)."""
    paths: list[Path] = field(default_factory=list)
    """Every report file of this run, changed or not."""
    ranked: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(athlete, reason) of every athlete whose task failed (``batch``)."""
    unchanged: int = 0
    """Athletes skipped by ``batch --out-dir`` because nothing changed since their last run
    (neither analysed nor rendered nor written)."""
    analysed: int = 0
    """Athletes whose inputs were analysed in this run (``batch``; the others were rebuilt
    from their last run's part file, see :mod:`kneeflags.tables`)."""
    parsed: int = 0
    """Files parsed in this run, not found in the parse cache (``batch``)."""


def _render_one(report: Report, formats: tuple[str, ...]) -> list[tuple[str, str]]:
    """Worker entry point: one athlete's documents (charts make HTML the slow part)."""
    return [(fmt, render(report, fmt)) for fmt in formats]


def write_athlete_files(
    report: Report,
    out_dir: str | os.PathLike[str],
    *,
    formats: Iterable[str] = CRON_FORMATS,
    pool: Executor | None = None,
    unchanged: Collection[int] = (),
    written: Callable[[int], None] | None = None,
) -> tuple[list[Path], list[Path]]:
    """Write ``<out>/<slug>/<YYYY>-W<ww>.<ext>`` for each athlete; returns (all, changed).

    Documents are rendered in ``pool`` when given (about 0.4 s of chart drawing per
    athlete), and each athlete's files are written, under its folder lock, as soon as its
    documents are in; then ``written(i)`` is called, so what a run killed half-way had
    finished is on disk and known. Athletes in ``unchanged`` (their outputs of an
    identical earlier run are complete, see :mod:`kneeflags.tables`) are neither rendered
    nor written, unless a file is missing.
    """
    fmts = tuple(formats)
    n = len(report.athletes)
    targets = report_targets(report, out_dir, fmts)
    folders = [Path(out_dir) / slug for slug in athlete_slugs(report, out_dir)]
    done = complete(unchanged, targets)
    todo = [i for i in range(n) if i not in done]
    parts = {i: report.for_athlete(i) if n > 1 else report for i in todo}
    futures = {}
    if pool is not None and len(todo) > 1:
        futures = {i: pool.submit(_render_one, parts[i], fmts) for i in todo}
    changed: list[Path] = []
    for i in todo:
        try:
            documents = futures[i].result() if i in futures else _render_one(parts[i], fmts)
        except Exception:  # a broken pool must not cost the reports: render here
            documents = _render_one(parts[i], fmts)
        trio = [
            (target, text.encode("utf-8"))
            for target, (_fmt, text) in zip(targets[i], documents, strict=True)
        ]
        # the folder is locked and claimed: all written, then all renamed (a full disk
        # mixes no runs), and never into another athlete's folder
        with claimed_folder(folders[i], report.athletes[i].athlete):
            changed.extend(atomic_write_group(trio))
        if written is not None:
            written(i)
    return [t for group in targets for t in group], changed


def report_targets(
    report: Report, out_dir: str | os.PathLike[str], formats: Iterable[str] = CRON_FORMATS
) -> list[list[Path]]:
    """Each athlete's report files: ``<out>/<slug>/<YYYY>-W<ww>.<ext>`` per format."""
    from kneeflags.report import EXTENSIONS

    return [
        [Path(out_dir) / slug / f"{a.window.week_label}.{EXTENSIONS[fmt]}" for fmt in formats]
        for a, slug in zip(report.athletes, athlete_slugs(report, out_dir), strict=True)
    ]


def complete(candidates: Collection[int], targets: Sequence[Sequence[Path]]) -> set[int]:
    """The candidate athletes whose report files all exist (a lost file is redone)."""
    return {i for i in candidates if all(t.is_file() for t in targets[i])}


ATHLETE_MARK = REPORT_FOLDER_MARK
"""In each athlete folder: the athlete's exact name, so a folder is never shared (and,
being there, the folder is never read back as input: :mod:`kneeflags.sources`)."""


def athlete_slug(out_dir: str | os.PathLike[str] | None, name: str, used: set[str]) -> str:
    """The athlete's report folder name under ``out_dir``, claimed by its exact name.

    "Anne-Marie" and "Anne Marie" slugify alike: two cron jobs used to overwrite each
    other's reports. A folder's :data:`ATHLETE_MARK` names the athlete it belongs to; a
    folder of another athlete (or one already used in this run) is passed over for
    ``<slug>-<8 hex of the name's hash>``, the same for that name in every run, so each
    athlete keeps one folder. A folder from before the mark is claimed by its first run
    (:func:`claimed_folder` writes the mark under the folder lock).
    """
    base = slugify(name)
    tag = hashlib.sha256(unicodedata.normalize("NFC", name).encode("utf-8")).hexdigest()[:8]
    for slug in (base, f"{base}-{tag}"):
        if slug.casefold() in used:
            continue
        if out_dir is not None:
            owner = _folder_owner(Path(out_dir) / slug)
            if owner is not None and owner != name:
                continue  # another athlete's folder: never written into
        used.add(slug.casefold())
        return slug
    raise OSError(  # only on a hash collision of two names, or marks edited by hand
        errno.EEXIST,
        f"no report folder free for athlete {name!r}",
        str(Path(out_dir or ".") / base),
    )


@contextlib.contextmanager
def claimed_folder(folder: Path, name: str) -> Iterator[Path]:
    """``folder`` locked and marked as ``name``'s (the mark is written once, under the lock).

    The slug was chosen by :func:`athlete_slug` before the lock; a folder another athlete's
    job claimed in between is refused with an error naming it, never written into.
    """
    with folder_lock(folder):
        owner = _folder_owner(folder)
        if owner is not None and owner != name:
            raise OSError(errno.EEXIST, "report folder belongs to another athlete", str(folder))
        if owner is None:
            atomic_write_group([(folder / ATHLETE_MARK, f"{name}\n".encode())])
        yield folder


def _is_report_tree(folder: Path) -> bool:
    """Whether ``folder`` is kneeflags output: an athlete report folder (it holds the
    mark) or a report root (one of its subfolders does). Marks are files, never followed."""
    try:
        if (folder / ATHLETE_MARK).is_file():
            return True
        return any(
            sub.is_dir(follow_symlinks=False) and (Path(sub.path) / ATHLETE_MARK).is_file()
            for sub in os.scandir(folder)
        )
    except OSError:
        return False


def _folder_owner(folder: Path) -> str | None:
    """The name in ``folder``'s mark; ``None`` without one; a planted symlink is foreign."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(folder / ATHLETE_MARK, flags)
    except FileNotFoundError:
        return None
    except OSError:
        return "\0unreadable mark"  # a symlink, a FIFO: not ours, whoever it names
    with os.fdopen(fd, "rb") as fh:
        try:
            return fh.read(4096).decode("utf-8", "replace").rstrip("\n")
        except OSError:  # a folder of that name
            return "\0unreadable mark"


def write_weekly_report(
    paths: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    week: date | str | None = None,
    athlete: str | None = None,
    tz: str | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    weeks: int = 12,
    decoder: str = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    today: date | None = None,
    journal: str | os.PathLike[str] | bool | None = None,
    rehash: bool = False,
) -> WrittenReport:
    """The cron job: analyse, then write the week's Markdown, HTML and JSON atomically.

    ``week`` is a date inside the week or an ISO label (``2026-W05``); by default the
    last complete local week (in ``tz``, else the config's zone, else the machine's).
    """
    cfg = resolve_config(config)
    if isinstance(week, str):
        week = parse_week(week)
    wsi = cfg.week_start_index
    last = (
        week_of(week, wsi)
        if week is not None
        else last_complete_week(tz or cfg.timezone, wsi, today=today)
    )
    report = analyze_paths(
        paths,
        tz=tz,
        config=cfg,
        athlete=athlete,
        decoder=decoder,
        cache_dir=cache_dir,
        use_cache=use_cache,
        workers=workers,
        weeks=weeks,
        until=last,
        progress=progress,
        generated_at=generated_at_now(pinned=pinned_stamp(last)),
        journal=journal,
        as_of=last + timedelta(days=7),
        exclude=(out_dir,),  # an --out-dir inside the inputs: never read its own reports
        rehash=rehash,
    )
    every, changed = write_athlete_files(report, out_dir)
    return WrittenReport(report=report, written=changed, paths=every, ranked=[0])


# ---------------------------------------------------------------------------------------
# journey 3: a coach's batch


@record(frozen=True)
class AthleteSource:
    """One athlete of a batch: a subfolder or a ZIP export, or a manifest's rows.

    ``path`` names the athlete's input in messages; ``paths`` (a manifest's files, folders,
    globs or URLs) are what is read when given, else ``path`` alone.
    """

    name: str
    path: str
    paths: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.paths or (self.path,)


def manifest_athletes(
    manifest: str | os.PathLike[str], taken: Sequence[AthleteSource] = ()
) -> list[AthleteSource]:
    """The athletes of a ``--manifest`` (see :mod:`kneeflags.manifest`); bad -> UsageProblem.

    A name already used by an athlete folder gets a `` (2)`` suffix, as two folders would.
    """
    from kneeflags.manifest import ManifestError, read_manifest

    try:
        rows = read_manifest(manifest)
    except ManifestError as exc:
        raise UsageProblem(str(exc)) from None
    names = {a.name.casefold() for a in taken}
    out = []
    for name, paths in rows:
        unique, n = name, 2
        while unique.casefold() in names:
            unique = f"{name} ({n})"
            n += 1
        names.add(unique.casefold())
        out.append(AthleteSource(name=unique, path=paths[0], paths=paths))
    return out


def find_athletes(
    dirs: Sequence[str | os.PathLike[str]],
) -> tuple[list[AthleteSource], list[Problem]]:
    """Each immediate subfolder or ``.zip`` of each DIR is one athlete, named after it.

    Hidden entries are ignored. Loose activity files (.fit/.gpx/.tcx, also gzipped)
    directly in DIR belong to no athlete; each is reported as skipped (a warning naming
    it) rather than silently dropped. Other loose files (a README, a script) are ignored.
    Raises :class:`UsageProblem` when a DIR is not a folder or holds no athlete.
    """
    found: list[AthleteSource] = []
    notes: list[Problem] = []
    names: set[str] = set()
    for raw in dirs:
        base = Path(os.path.expanduser(str(raw)))
        if not base.is_dir():
            raise UsageProblem(f"{raw}: not a folder (batch takes folders of athletes)")
        loose: list[Path] = []
        before = len(found)
        try:
            entries = sorted(base.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            raise UsageProblem(f"{raw}: cannot list folder ({exc.strerror})") from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError:
                continue
            if is_dir and _is_report_tree(entry):
                continue  # a batch --out-dir inside the batch folder: output, not an athlete
            if is_dir:
                name = safe_text(entry.name)
            elif is_file and entry.suffix.lower() == ".zip":
                name = safe_text(entry.name[: -len(".zip")])
            else:
                if is_file and _looks_like_activity(entry.name):
                    loose.append(entry)
                continue
            unique = name
            n = 2
            while unique.casefold() in names:
                unique = f"{name} ({n})"
                n += 1
            names.add(unique.casefold())
            found.append(AthleteSource(name=unique, path=str(entry)))
        if len(found) == before:
            raise UsageProblem(f"{raw}: no athlete subfolders or .zip exports in this folder")
        notes.extend(
            Problem(
                path=safe_text(str(entry)),
                message=(
                    "skipped: a loose activity file at the top of the coach folder belongs "
                    "to no athlete (batch reads one athlete per subfolder or .zip export)"
                ),
                kind="warning",
            )
            for entry in loose
        )
    return found, notes


ACTIVITY_SUFFIXES = (".fit", ".gpx", ".tcx", ".fit.gz", ".gpx.gz", ".tcx.gz")


def _looks_like_activity(name: str) -> bool:
    """Loose files worth a warning: activity files, not a README or a script."""
    return name.lower().endswith(ACTIVITY_SUFFIXES)


def run_batch(
    dirs: Sequence[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    tz: str | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    weeks: int = 12,
    until: date | str | None = None,
    decoder: str = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    journal: str | os.PathLike[str] | bool | None = None,
    today: date | None = None,
    manifest: str | os.PathLike[str] | None = None,
    executor: AthleteExecutor | None = None,
    retries: int = 1,
    rehash: bool = False,
) -> WrittenReport:
    """Analyse every athlete of ``dirs`` (and ``manifest``) in parallel, rank them, write.

    All athletes share one window ending with the week of ``until`` (a date or
    ``2026-W05``), by default the last complete week *today* in the athletes' zone
    (``tz``, else the config's, else the machine's), so "this week" means the same week
    for everyone and an athlete whose data ended earlier is ``stale`` with the date of
    the last activity, never a calm 0 km.

    ``executor`` runs the athlete tasks (:mod:`kneeflags.executors`: a Dask cluster, for
    one); by default a local pool of ``workers`` processes (one per core), whose tasks
    are run ``retries`` more times when their process dies, and which parses the files of
    athletes with many of them in one shared pool of files (:mod:`kneeflags.batchpool`),
    so one large athlete keeps every core busy. The executor changes where the work runs,
    never the result.

    With ``out_dir``, each athlete's Markdown/HTML/JSON go to
    ``<out>/<athlete>/<YYYY>-W<ww>.*``, ``<out>/index.html`` links them, and
    ``weeks.parquet``, ``flags.parquet`` and ``athletes.parquet`` hold the team as tables
    (:mod:`kneeflags.tables`). An athlete whose inputs, options, journal entries and
    kneeflags version are unchanged since its last completed run is not parsed, analysed,
    rendered or written again: its task stops after hashing the inputs, and the athlete
    is rebuilt from its part file (:attr:`WrittenReport.unchanged` counts them).
    """
    from kneeflags.batchpool import SPLIT_MIN_FILES
    from kneeflags.batchtasks import AthleteJob, analyse_all, cache_shard, failed_result
    from kneeflags.executors import PoolExecutor, make_executor

    cfg = resolve_config(config)
    if isinstance(until, str):
        until = parse_week(until) + timedelta(days=6)
    sources, notes = find_athletes(dirs) if dirs or manifest is None else ([], [])
    if manifest is not None:
        sources += manifest_athletes(manifest, sources)
    entries = read_journal(journal)  # each athlete's entries: logged under its folder name
    fixes = read_corrections(journal)
    if until is None:
        wsi = cfg.week_start_index
        until = last_complete_week(tz or cfg.timezone, wsi, today=today) + timedelta(days=6)
    as_of = week_of(until, cfg.week_start_index) + timedelta(days=7)
    cpus = os.cpu_count() or 1
    procs = max(1, min(workers or cpus, len(sources)))
    own = executor is None
    if executor is None:
        executor = make_executor(None, workers=procs, retries=retries)
    inner = 1 if procs > 1 or not own else workers
    # The local pool parses a large athlete's files across all its processes (one pool
    # of files for the whole batch, kneeflags.batchpool); other executors run athletes.
    split = SPLIT_MIN_FILES if isinstance(executor, PoolExecutor) else None
    started = _time.time()
    # Chosen before the tasks run: each task writes its athlete's part under its slug,
    # and the report stamp is in every athlete's fingerprint.
    slugs = slugs_for([s.name for s in sources], out_dir) if out_dir is not None else None
    stamp = generated_at_now(pinned=pinned_stamp(week_of(until, cfg.week_start_index)))
    jobs = [
        AthleteJob(
            source=s,
            tz=tz,
            config=cfg,
            decoder=decoder,
            cache_dir=None if cache_dir is None else str(cache_dir),
            use_cache=use_cache,
            workers=inner,
            corrections=corrections_for(fixes, s.name),
            cache_shard=cache_shard(s.name),
            weeks=weeks,
            until=until,
            as_of=as_of,
            journal=tuple(entries_for(entries, s.name)),
            rehash=rehash,
            split_min=split,
            out_dir=None if out_dir is None else str(out_dir),
            slug=None if slugs is None else slugs[k],
            stamp=stamp,
        )
        for k, s in enumerate(sources)
    ]
    try:
        outcomes = analyse_all(jobs, executor, progress)
        stored = _rebuild_unchanged(jobs, outcomes, executor, out_dir, slugs)
        athletes = [
            stored[k][1]
            if k in stored
            else o.report
            if o.report is not None
            else _athlete_report(
                failed_result(o.source, o.failure or "", tz),
                weeks=weeks,
                until=until,
                config=cfg,
                journal=job.journal,
                as_of=as_of,
            )
            for k, (o, job) in enumerate(zip(outcomes, jobs, strict=True))
        ]
        last_weeks = [a.window.last_week for a in athletes]
        pinned = pinned_stamp(max(last_weeks)) if last_weeks else None
        report = build_report(
            athletes,
            generated_at=generated_at_now(pinned=pinned),
            extra_warnings=notes,
        )
        ranked = rank(report)
        written = WrittenReport(report=report, ranked=ranked)
        written.failed = [(o.source.name, o.failure) for o in outcomes if o.failure is not None]
        written.analysed = sum(1 for o in outcomes if not o.unchanged)
        written.parsed = sum(o.parsed for o in outcomes)
        if out_dir is not None and slugs is not None:
            _write_batch_outputs(written, outcomes, stored, slugs, out_dir, executor)
            from kneeflags import tables

            tables.clean_temporaries(out_dir, before=started)
    finally:
        if own:
            executor.close()
    return written


def _rebuild_unchanged(
    jobs: list[Any],
    outcomes: list[Any],
    executor: AthleteExecutor,
    out_dir: str | os.PathLike[str] | None,
    slugs: list[str] | None,
) -> dict[int, tuple[Any, AthleteReport]]:
    """Each unchanged athlete's rows and report, read back from its part file.

    A task found the athlete unchanged (and parsed nothing); here the client rebuilds it
    from what the last run stored. When that fails (a part damaged or replaced since the
    task looked), the athlete is analysed again: never a hole in the batch.
    """
    from dataclasses import replace

    from kneeflags import tables
    from kneeflags.batchtasks import analyse_all

    stored: dict[int, tuple[Any, AthleteReport]] = {}
    if out_dir is None or slugs is None:
        return stored
    again: list[int] = []
    for k, o in enumerate(outcomes):
        if o.unchanged:
            got = tables.stored_athlete(out_dir, slugs[k], o.fingerprint)
            if got is None:
                again.append(k)
            else:
                stored[k] = got
    if again:
        redo = analyse_all([replace(jobs[k], skip_unchanged=False) for k in again], executor, None)
        for k, o in zip(again, redo, strict=True):
            outcomes[k] = o
    return stored


def _write_batch_outputs(
    written: WrittenReport,
    outcomes: list[Any],
    stored: dict[int, tuple[Any, AthleteReport]],
    slugs: list[str],
    out_dir: str | os.PathLike[str],
    executor: AthleteExecutor,
) -> None:
    """Reports, index and tables of ``batch --out-dir``; fills ``written``.

    Order matters for a run killed at any point: the parts are on disk (the tasks wrote
    them), then each athlete's reports, then its *done* mark (the fingerprint whose
    reports are complete), then the index and the consolidated tables. An athlete
    rebuilt from its part (``stored``) is not rendered again unless a file is missing.
    """
    from kneeflags import tables
    from kneeflags.report.html import render_index_html

    report, ranked = written.report, written.ranked
    unchanged = complete(set(stored), report_targets(report, out_dir))
    changed: list[Path] = []
    rows = [
        stored[k][0] if k in stored else _part_rows(out_dir, slugs[k], o, a, changed)
        for k, (o, a) in enumerate(zip(outcomes, report.athletes, strict=True))
    ]

    def reports_written(i: int) -> None:  # after the athlete's reports, never before
        fp = outcomes[i].fingerprint if outcomes[i].failure is None else ""
        if fp and tables.mark_done(out_dir, slugs[i], fp):
            changed.append(tables.done_path(out_dir, slugs[i]))

    every, reports_changed = write_athlete_files(
        report,
        out_dir,
        pool=executor.render_pool,
        unchanged=unchanged,
        written=reports_written,
    )
    changed[:0] = reports_changed
    links = _links(report, every)
    index = Path(out_dir) / "index.html"
    with folder_lock(out_dir):
        if atomic_write_text(index, render_index_html(report, ranked, links)):
            changed.append(index)
    changed.extend(tables.consolidate(out_dir, rows, ranked))
    written.paths = [*every, index, *(Path(out_dir) / f for f in tables.TABLE_FILES)]
    written.written = changed
    written.unchanged = len(unchanged)


def _part_rows(
    out_dir: str | os.PathLike[str],
    slug: str,
    outcome: Any,
    athlete: AthleteReport,
    changed: list[Path],
) -> Any:
    """An analysed athlete's rows: from the part its task wrote, else written here.

    The client writes the part itself for an athlete whose task failed (its row says
    why) and when the task could not write it (``out_dir`` not visible to the worker).
    """
    from kneeflags import tables

    path = tables.part_path(out_dir, slug)
    if outcome.failure is None and outcome.part is not None:
        part = tables.read_part(out_dir, slug)
        if part is not None and part["athletes"].item(0, "fingerprint") == outcome.fingerprint:
            if outcome.part:
                changed.append(path)
            return part
    if outcome.failure is None:
        from kneeflags.batchtasks import write_athlete_part

        if write_athlete_part(str(out_dir), slug, athlete, outcome.fingerprint):
            changed.append(path)
        part = tables.read_part(out_dir, slug)
        if part is not None:
            return part
        return tables.athlete_frames(
            athlete, folder=slug, fingerprint=outcome.fingerprint, failure=None
        )
    frames = tables.athlete_frames(athlete, folder=slug, fingerprint="", failure=outcome.failure)
    try:
        if tables.write_part(out_dir, slug, frames):
            changed.append(path)
    except OSError:  # as for an analysed athlete: its row still goes into the tables
        pass
    return frames


def athlete_slugs(report: Report, out_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Each athlete's report folder name under ``out_dir`` (unique, in athlete order; see
    :func:`athlete_slug` for names that slugify alike)."""
    return slugs_for([a.athlete for a in report.athletes], out_dir)


def slugs_for(names: Sequence[str], out_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """:func:`athlete_slugs` from the names alone (a batch needs them before any report)."""
    used: set[str] = {"index.html"}  # the batch index lives beside the athlete folders
    return [athlete_slug(out_dir, name, used) for name in names]


def _links(report: Report, every: Sequence[Path]) -> dict[int, str]:
    """Athlete index -> relative link of its HTML report (for ``index.html``)."""
    html_files = [p for p in every if p.suffix == ".html"]
    return {
        i: f"{p.parent.name}/{p.name}"
        for i, p in zip(range(len(report.athletes)), html_files, strict=True)
    }
