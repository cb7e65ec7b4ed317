"""What every command shares: exit codes, option types and validators, and the plumbing
(logging set-up, config loading, progress bar, writing a document, the exit code).

A command module imports from here and stays a thin call of a library function.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_FAIL_ON = 3

EXIT_CODES_HELP = """\
[b]Exit codes[/b]
  0  success
  1  some input files could not be read (the report covers all the others)
  2  usage error (unknown option, bad value, unreadable config file)
  3  the --fail-on threshold was reached (takes precedence over 1)"""


class OutputFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    html = "html"
    json = "json"
    csv = "csv"


class BatchFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"
    csv = "csv"


class Decoder(StrEnum):
    auto = "auto"
    fast = "fast"
    fitparse = "fitparse"


class FailOn(StrEnum):
    watch = "watch"
    high = "high"


class RulesFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


# ---------------------------------------------------------------------------------------
# option validation


def check_tz(value: str | None) -> str | None:
    """An IANA zone; a name in the wrong case is taken in its IANA spelling."""
    if value is None:
        return None
    from kneeflags.timezones import canonical_tz, validate_tz

    value = canonical_tz(value)
    try:
        validate_tz(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


FORMAT_BY_SUFFIX: dict[str, str] = {
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".csv": "csv",
    ".txt": "text",
}
"""``-o report.html`` without ``--format`` means HTML, not text in a .html file."""


def resolve_format(fmt: StrEnum | None, output: Path | None, allowed: type[StrEnum]) -> str:
    """The output format: ``--format`` if given, else the ``-o`` file's extension, else text.

    An extension the command cannot write (``-o team.html`` for a batch summary) is a usage
    error rather than a silent text file under that name.
    """
    if fmt is not None:
        return fmt.value
    if output is None or str(output) == "-":
        return "text"
    suffix = output.suffix.lower()
    inferred = FORMAT_BY_SUFFIX.get(suffix)
    if inferred is None:
        return "text"
    if inferred not in {f.value for f in allowed}:
        choices = ", ".join(f.value for f in allowed)
        raise typer.BadParameter(
            f"cannot infer a format from {output.name!r} ({choices}); give --format",
            param_hint="'--output'",
        )
    return inferred


def check_weeks(value: int) -> int:
    if value < 1 or value > 520:
        raise typer.BadParameter("must be between 1 and 520")
    return value


def check_week_label(value: str | None) -> str | None:
    if value is None:
        return None
    from kneeflags.journeys import UsageProblem, parse_week

    try:
        parse_week(value)
    except UsageProblem as exc:
        raise typer.BadParameter(str(exc).removeprefix("--week ")) from None
    return value


def check_until(value: datetime | None) -> datetime | None:
    """``--until``: a date whose window fits the calendar (9999-12-31 overflowed: exit 1)."""
    if value is None:
        return None
    from kneeflags.journeys import UsageProblem, check_report_date

    try:
        check_report_date(value.date(), value.date().isoformat())
    except UsageProblem as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def check_workers(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise typer.BadParameter("must be at least 1")
    return value


def output_file(value: str) -> Path:
    """``-o``: a file, a new path, a device/FIFO/stream, or ``-``; never empty or a folder."""
    if value == "-":
        return Path(value)
    if not value.strip():
        raise typer.BadParameter("is empty; give a file name or '-' for stdout")
    path = Path(value).expanduser()
    if path.is_dir():
        raise typer.BadParameter(f"{value} is a folder; give a file name inside it")
    return path


def output_folder(value: str) -> Path:
    """``--out-dir``: a folder (made if missing); never empty, never an existing file."""
    if not value.strip():
        raise typer.BadParameter("is empty; give a folder")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{value} exists and is not a folder")
    return path


def cache_folder(value: str) -> Path:
    """``--cache-dir``: never empty (that used to cache into the working folder)."""
    if not value.strip():
        raise typer.BadParameter("is empty; give a folder, or use --no-cache")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{value} exists and is not a folder")
    return path


OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        parser=output_file,
        help="Write here (default: stdout). Devices and pipes are written in place.",
    ),
]


PathsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="PATH",
        help="Activity files (.fit .gpx .tcx, also .gz), folders, Strava/Garmin export "
        "ZIPs, or quoted globs such as '~/runs/**/*.fit'.",
        show_default=False,
    ),
]
TzOpt = Annotated[
    str | None,
    typer.Option(
        "--tz",
        metavar="ZONE",
        callback=check_tz,
        help="IANA time zone for files that carry no UTC offset (default: config, "
        "then this machine's zone).",
    ),
]
WeeksOpt = Annotated[
    int,
    typer.Option(
        "--weeks",
        metavar="N",
        callback=check_weeks,
        help="Weeks shown in the report; earlier data still serves as baseline.",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", metavar="FILE", help="TOML file overriding rule thresholds and week start."
    ),
]
AthleteOpt = Annotated[
    str | None,
    typer.Option(
        "--athlete",
        metavar="NAME",
        help="Athlete name in the report (default: the folder or ZIP given, else 'athlete').",
    ),
]
JournalOpt = Annotated[
    Path | None,
    typer.Option(
        "--journal",
        metavar="PATH",
        help="Knee journal to read (default: $KNEEFLAGS_JOURNAL, else the user data folder, "
        "as for 'kneeflags log'); opened read-only, never created.",
    ),
]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Neither read nor write the parse cache.")
]
RehashOpt = Annotated[
    bool,
    typer.Option(
        "--rehash",
        help="Read and hash every input for the cache look-up, even files whose size, "
        "times and inode are unchanged since they were last hashed.",
    ),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        parser=cache_folder,
        help="Parse cache folder (default: user cache).",
    ),
]
DecoderOpt = Annotated[
    Decoder,
    typer.Option(
        "--decoder",
        help="FIT decoder: fast (columnar), fitparse (reference), auto (fast, falling back).",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show debug logs and full tracebacks.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no notes on stderr.")
]
FailOnOpt = Annotated[
    FailOn | None,
    typer.Option(
        "--fail-on",
        help="Exit with code 3 when the report's last week (or the athlete as a whole) has "
        "a flag of this severity or higher.",
    ),
]


def check_rule_ids(value: list[str] | None) -> list[str]:
    if not value:  # the usual case: no need to import the rules (and polars) to parse options
        return []
    from kneeflags.rules.catalogue import RULES

    known = [r.id for r in RULES]
    for v in value or []:
        if v not in known:
            raise typer.BadParameter(f"unknown rule {v!r} (rules: {', '.join(known)})")
    return list(value or [])


FailOnRuleOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-on-rule",
        metavar="RULE",
        callback=check_rule_ids,
        help="Also exit with code 3 on any current flag of RULE (repeatable). strength-gap "
        "is left out of --fail-on unless named here.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-j",
        metavar="N",
        callback=check_workers,
        help="Worker processes (default: one per CPU core).",
    ),
]


# ---------------------------------------------------------------------------------------
# plumbing


class _OneLineFormatter(logging.Formatter):
    """Each log record is one stderr line: a path or message from an input (a file name
    holding a newline, U+2028 or a bidi override) cannot forge another line. Tracebacks
    (``--debug`` only) keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        from kneeflags.report.fmt import clean

        return clean(super().formatMessage(record))


def setup_logging(debug: bool, quiet: bool) -> None:
    """Log kneeflags' own messages to stderr: all with --debug, errors only with --quiet.

    Only the ``kneeflags`` logger is configured (never the root logger), and library
    warnings are silenced unless --debug: deprecation chatter is not for users.
    """
    level = logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING
    logger = logging.getLogger("kneeflags")
    for handler in [h for h in logger.handlers if getattr(h, "_kneeflags_cli", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("kneeflags: %(levelname)s: %(message)s"))
    handler._kneeflags_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    # Libraries' log warnings (e.g. matplotlib on an unwritable cache folder) would
    # otherwise reach stderr through logging's last-resort handler and break the
    # "silent on success" promise of the cron command; --debug shows them.
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_kneeflags_cli", False)]:
        root.removeHandler(old)
    lib: logging.Handler
    if debug:
        lib = logging.StreamHandler(sys.stderr)
        lib.setLevel(logging.WARNING)
        lib.setFormatter(_OneLineFormatter("kneeflags: %(name)s: %(levelname)s: %(message)s"))
        lib.addFilter(lambda record: not record.name.startswith("kneeflags"))
    else:
        lib = logging.NullHandler()
    lib._kneeflags_cli = True  # type: ignore[attr-defined]
    root.addHandler(lib)
    if not debug:
        warnings.filterwarnings("ignore")


def cli_config(path: Path | None) -> object:
    from kneeflags.config import ConfigError, load_config
    from kneeflags.timezones import validate_tz

    try:
        cfg = load_config(path.expanduser() if path else None)
        validate_tz(cfg.timezone)
    except (ConfigError, ValueError) as exc:
        where = f"{path}: " if path and str(path) not in str(exc) else ""
        raise typer.BadParameter(f"{where}{exc}", param_hint="'--config'") from None
    return cfg


def stderr_console():  # -> rich Console
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False)


@contextlib.contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[object]:
    """A rich progress bar on stderr, or ``None`` when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def note(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"kneeflags: {message}", file=sys.stderr)


def emit(text: str, output: Path | None) -> None:
    """Write a rendered document to ``output`` or to stdout.

    A regular file is replaced atomically; a device, FIFO or stream path is written in
    place (see :mod:`kneeflags.report.atomic`).
    """
    from kneeflags.report.atomic import write_output

    if output is None or str(output) == "-":
        # UTF-8 bytes whatever the locale: under LANG=C a text stream would refuse the
        # report's first en dash and lose the whole report.
        write_output("-", text.encode("utf-8"))
        return

    write_output(output.expanduser(), text.encode("utf-8"))


def exit_code(
    report: object,
    fail_on: FailOn | None,
    fail_on_rules: list[str] | None = None,
    *,
    stale_fails: bool = False,
) -> int:
    """3 when --fail-on is reached (or, with ``stale_fails`` and --fail-on, when an
    athlete's data is stale), else 1 when files could not be read, else 0."""
    level = fail_on.value if fail_on is not None else None
    if report.reached(level, fail_on_rules or ()):  # type: ignore[attr-defined]
        return EXIT_FAIL_ON
    asked = fail_on is not None or bool(fail_on_rules)
    if stale_fails and asked and any(a.stale for a in report.athletes):  # type: ignore[attr-defined]
        return EXIT_FAIL_ON
    if report.errors:  # type: ignore[attr-defined]
        return EXIT_INPUT
    return EXIT_OK


def print_current_flags(
    report: object, fail_on: FailOn | None, fail_on_rules: list[str] | None = None
) -> None:
    """What made --fail-on trigger, for the cron mail (stdout)."""
    from kneeflags.report import fmt
    from kneeflags.report.model import fail_on_hits
    from kneeflags.report.this_week import this_week

    level = fail_on.value if fail_on is not None else None
    for a in report.athletes:  # type: ignore[attr-defined]
        hits = fail_on_hits(a, level, fail_on_rules or ())
        if a.stale:  # what made a stale athlete fail: the data stopped (stderr said so too)
            tw = this_week(a)
            print(f"kneeflags: {fmt.clean(a.athlete)}, {tw.week_name}: {tw.status_sentence()}")
            continue
        if not hits:
            continue
        tw = this_week(a)
        what = [f"at or above {level}"] if level else []
        what += [", ".join(fail_on_rules or ())] if fail_on_rules else []
        print(f"kneeflags: {fmt.clean(a.athlete)}, {tw.week_name}: {tw.status_sentence()}")
        print(f"  {fmt.plural(len(hits), 'flag')} {' or '.join(what)}:")
        for f in hits:
            print(f"  [{f.severity.upper()}] {f.rule}: {fmt.clean(f.evidence)}")
        if tw.numbers:
            print("  This week: " + "; ".join(f"{k.lower()} {v}" for k, v in tw.numbers))


def print_stale(report: object) -> None:
    """One stderr line per athlete whose data stopped before the reported week."""
    from kneeflags.report import fmt
    from kneeflags.report.this_week import this_week

    for a in report.athletes:  # type: ignore[attr-defined]
        if a.stale:
            tw = this_week(a)
            print(
                f"kneeflags: warning: {fmt.clean(a.athlete)}: {tw.stale_since} "
                f"(nothing in the {tw.week_name} or the 2 weeks before it)",
                file=sys.stderr,
            )


def print_errors(report: object) -> None:
    """Unreadable files, one line each on stderr.

    Printed even with --quiet: they are why the exit code is 1 and what the cron mail says.
    """
    from kneeflags.report import fmt

    for p in report.errors:  # type: ignore[attr-defined]
        print(f"kneeflags: {fmt.clean(p.path)}: {fmt.clean(p.message)}", file=sys.stderr)


def write_report(report: object, fmt: str, output: Path | None) -> None:
    from kneeflags.report import render

    if fmt == "text" and (output is None or str(output) == "-") and sys.stdout.isatty():
        from rich.console import Console

        from kneeflags.report.text import render as render_text

        console = Console(highlight=False, markup=False, emoji=False)
        console.width = min(console.width, 100)
        render_text(report, console)  # type: ignore[arg-type]
        return
    emit(render(report, fmt), output)  # type: ignore[arg-type]


@contextlib.contextmanager
def journal_errors() -> Iterator[None]:
    """A :class:`~kneeflags.journal.JournalError` or a
    :class:`~kneeflags.journeys.UsageProblem` (a path that does not exist, no activity file
    at all) becomes one stderr line and exit 2: both are found before anything is written."""
    from kneeflags.journal.store import JournalError
    from kneeflags.journeys import UsageProblem

    try:
        yield
    except (JournalError, UsageProblem) as exc:
        print(f"kneeflags: error: {describe_exception(exc)}", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE) from None


def describe_exception(exc: BaseException) -> str:
    """One line: the message (OSError names its file), else the exception type."""
    from kneeflags.model import safe_text
    from kneeflags.report.fmt import clean

    if isinstance(exc, OSError) and exc.filename:
        reason = exc.strerror or str(exc)
        return clean(safe_text(f"{exc.filename}: {reason}"))
    text = clean(safe_text(" ".join(str(exc).split())))
    return text if text else type(exc).__name__
