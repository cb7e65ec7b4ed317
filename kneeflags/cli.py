"""The ``kneeflags`` command line (typer): thin calls of :mod:`kneeflags.journeys`.

Exit codes (also in ``--help``): 0 success; 1 some input files could not be read
(the report for all the others is still complete) or the run failed; 2 usage error;
3 the ``--fail-on`` threshold was reached (3 wins over 1 when both apply).

No traceback ever reaches the user unless ``--debug`` is given: :func:`main` catches
everything and prints one ``kneeflags: error: ...`` line to stderr. The progress bar
goes to stderr, and only when stderr is a terminal and ``--quiet`` is not given, so
nothing but the report reaches a pipe, a file or a cron mail.
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

from kneeflags import __version__

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


app = typer.Typer(
    name="kneeflags",
    help=(
        "Flag training habits linked to runner's knee (PFPS) and IT band syndrome (ITBS) "
        "in FIT, GPX and TCX files and whole Strava/Garmin exports.\n\n"
        "Educational guidance, not a diagnosis: persistent, worsening or severe knee pain "
        "needs a GP, physiotherapist or sports medicine physician."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

cache_app = typer.Typer(help="Inspect or clear the parse cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


# ---------------------------------------------------------------------------------------
# option validation


def _check_tz(value: str | None) -> str | None:
    if value is None:
        return None
    from kneeflags.timezones import validate_tz

    try:
        validate_tz(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _check_weeks(value: int) -> int:
    if value < 1 or value > 520:
        raise typer.BadParameter("must be between 1 and 520")
    return value


def _check_week_label(value: str | None) -> str | None:
    if value is None:
        return None
    from kneeflags.journeys import UsageProblem, parse_week

    try:
        parse_week(value)
    except UsageProblem as exc:
        raise typer.BadParameter(str(exc).removeprefix("--week ")) from None
    return value


def _check_workers(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise typer.BadParameter("must be at least 1")
    return value


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
        callback=_check_tz,
        help="IANA time zone for files that carry no UTC offset (default: config, "
        "then this machine's zone).",
    ),
]
WeeksOpt = Annotated[
    int,
    typer.Option(
        "--weeks",
        metavar="N",
        callback=_check_weeks,
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
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Neither read nor write the parse cache.")
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", metavar="DIR", help="Parse cache folder (default: user cache)."),
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
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-j",
        metavar="N",
        callback=_check_workers,
        help="Worker processes (default: one per CPU core).",
    ),
]


# ---------------------------------------------------------------------------------------
# plumbing


def _setup(debug: bool, quiet: bool) -> None:
    """Log kneeflags' own messages to stderr: all with --debug, errors only with --quiet.

    Only the ``kneeflags`` logger is configured (never the root logger), and library
    warnings are silenced unless --debug: deprecation chatter is not for users.
    """
    level = logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING
    logger = logging.getLogger("kneeflags")
    for handler in [h for h in logger.handlers if getattr(h, "_kneeflags_cli", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("kneeflags: %(levelname)s: %(message)s"))
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
        lib.setFormatter(logging.Formatter("kneeflags: %(name)s: %(levelname)s: %(message)s"))
        lib.addFilter(lambda record: not record.name.startswith("kneeflags"))
    else:
        lib = logging.NullHandler()
    lib._kneeflags_cli = True  # type: ignore[attr-defined]
    root.addHandler(lib)
    if not debug:
        warnings.filterwarnings("ignore")


def _config(path: Path | None) -> object:
    from kneeflags.config import ConfigError, load_config
    from kneeflags.timezones import validate_tz

    try:
        cfg = load_config(path.expanduser() if path else None)
        validate_tz(cfg.timezone)
    except (ConfigError, ValueError) as exc:
        where = f"{path}: " if path and str(path) not in str(exc) else ""
        raise typer.BadParameter(f"{where}{exc}", param_hint="'--config'") from None
    return cfg


def _stderr_console():  # -> rich Console
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False)


@contextlib.contextmanager
def _progress(enabled: bool, label: str) -> Iterator[object]:
    """A rich progress bar on stderr, or ``None`` when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=_stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def _note(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"kneeflags: {message}", file=sys.stderr)


def _emit(text: str, output: Path | None) -> None:
    """Write a rendered document to ``output`` (atomically) or to stdout."""
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from kneeflags.report.atomic import atomic_write_text

    atomic_write_text(output.expanduser(), text)


def _exit_code(report: object, fail_on: FailOn | None) -> int:
    if fail_on is not None and report.reached(fail_on.value):  # type: ignore[attr-defined]
        return EXIT_FAIL_ON
    if report.errors:  # type: ignore[attr-defined]
        return EXIT_INPUT
    return EXIT_OK


def _print_current_flags(report: object, fail_on: FailOn) -> None:
    """What made --fail-on trigger, for the cron mail (stdout)."""
    from kneeflags.findings import SEVERITY_RANK
    from kneeflags.report import fmt

    floor = SEVERITY_RANK[fail_on.value]
    for a in report.athletes:  # type: ignore[attr-defined]
        hits = [f for f in a.current_flags if SEVERITY_RANK.get(f.severity, 0) >= floor]
        if not hits:
            continue
        print(
            f"kneeflags: {fmt.clean(a.athlete)}, week {a.window.week_label}: "
            f"{len(hits)} flag(s) at or above {fail_on.value}"
        )
        for f in hits:
            print(f"  [{f.severity.upper()}] {f.rule}: {fmt.clean(f.evidence)}")


def _print_errors(report: object) -> None:
    """Unreadable files, one line each on stderr.

    Printed even with --quiet: they are why the exit code is 1 and what the cron mail says.
    """
    from kneeflags.report import fmt

    for p in report.errors:  # type: ignore[attr-defined]
        print(f"kneeflags: {fmt.clean(p.path)}: {fmt.clean(p.message)}", file=sys.stderr)


def _version(value: bool) -> None:
    if value:
        print(f"kneeflags {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Flag training habits linked to runner's knee (PFPS) and IT band syndrome (ITBS)."""


# ---------------------------------------------------------------------------------------
# commands


ANALYZE_HELP = (
    "Analyse one athlete's files and print the report.\n\n"
    "Flags come first, grouped by condition (ITBS, PFPS) and severity, each with its "
    "evidence and advice; then the weekly table of the report window, file problems and "
    "the reminder to see a clinician."
)


@app.command(help=ANALYZE_HELP, epilog=EXIT_CODES_HELP)
def analyze(
    paths: PathsArg,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Report format.")
    ] = OutputFormat.text,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here (default: stdout)."),
    ] = None,
    tz: TzOpt = None,
    weeks: WeeksOpt = 12,
    until: Annotated[
        datetime | None,
        typer.Option(
            "--until",
            metavar="DATE",
            formats=["%Y-%m-%d"],
            help="End the report window with the week of DATE (YYYY-MM-DD) instead of the "
            "week of the latest activity.",
        ),
    ] = None,
    config: ConfigOpt = None,
    athlete: AthleteOpt = None,
    fail_on: FailOnOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    decoder: DecoderOpt = Decoder.auto,
    workers: WorkersOpt = None,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """``kneeflags analyze``: see :data:`ANALYZE_HELP`."""
    _setup(debug, quiet)
    from kneeflags.journeys import analyze_paths

    cfg = _config(config)
    with _progress(not quiet, "Reading files") as progress:
        report = analyze_paths(
            paths,
            tz=tz,
            config=cfg,  # type: ignore[arg-type]
            athlete=athlete,
            decoder=decoder.value,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            workers=workers,
            weeks=weeks,
            until=until.date() if until else None,
            progress=progress,  # type: ignore[arg-type]
        )
    _write_report(report, format.value, output)
    code = _exit_code(report, fail_on)
    if report.errors and format is not OutputFormat.text and output is None:
        _note(f"{len(report.errors)} file(s) could not be read (listed in the report)", quiet)
    raise typer.Exit(code)


def _write_report(report: object, fmt: str, output: Path | None) -> None:
    from kneeflags.report import render

    if fmt == "text" and (output is None or str(output) == "-") and sys.stdout.isatty():
        from rich.console import Console

        from kneeflags.report.text import render as render_text

        console = Console(highlight=False, markup=False, emoji=False)
        console.width = min(console.width, 100)
        render_text(report, console)  # type: ignore[arg-type]
        return
    _emit(render(report, fmt), output)  # type: ignore[arg-type]


REPORT_HELP = (
    "Write one athlete's weekly report for cron; prints nothing on success.\n\n"
    "Writes DIR/<athlete>/<YYYY>-W<ww>.md, .html and .json for the last complete local "
    "week (or --week) atomically (temporary file, then rename) under a folder lock. A "
    "rerun on the same data writes identical bytes: the report is stamped with the end of "
    "its week (SOURCE_DATE_EPOCH overrides). Unreadable files are listed on stderr (exit "
    "1); with --fail-on, the flags that reached the threshold are printed (exit 3)."
)


@app.command(help=REPORT_HELP, epilog=EXIT_CODES_HELP)
def report(
    paths: PathsArg,
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out-dir",
            metavar="DIR",
            help="Writes DIR/<athlete>/<YYYY>-W<ww>.md, .html and .json.",
        ),
    ] = Path("reports"),
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            metavar="YYYY-Www",
            callback=_check_week_label,
            help="ISO week to report, e.g. 2026-W05 (default: the last complete local week).",
        ),
    ] = None,
    weeks: WeeksOpt = 12,
    tz: TzOpt = None,
    config: ConfigOpt = None,
    athlete: AthleteOpt = None,
    fail_on: FailOnOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    decoder: DecoderOpt = Decoder.auto,
    workers: WorkersOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what was written.")] = False,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """``kneeflags report``: see :data:`REPORT_HELP`."""
    _setup(debug, quiet)
    from kneeflags.journeys import write_weekly_report

    cfg = _config(config)
    with _progress(not quiet, "Reading files") as progress:
        result = write_weekly_report(
            paths,
            out_dir,
            week=week,
            athlete=athlete,
            tz=tz,
            config=cfg,  # type: ignore[arg-type]
            weeks=weeks,
            decoder=decoder.value,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            workers=workers,
            progress=progress,  # type: ignore[arg-type]
        )
    rep = result.report
    if verbose:
        a = rep.athletes[0]
        print(
            f"kneeflags: {a.athlete}, week {a.window.week_label}: "
            f"{a.summary.flags_this_week} current flag(s), {len(rep.errors)} file error(s)"
        )
        for p in result.paths:
            state = "wrote" if p in result.written else "unchanged"
            print(f"  {state} {p}")
    _print_errors(rep)
    code = _exit_code(rep, fail_on)
    if code == EXIT_FAIL_ON and fail_on is not None:
        _print_current_flags(rep, fail_on)
    raise typer.Exit(code)


BATCH_HELP = (
    "Analyse a coach's athletes in parallel and print a ranked summary.\n\n"
    "Each immediate subfolder or .zip export of DIR is one athlete, named after it. "
    "Athletes are ranked by this week's highest flag severity, then the number of flags; "
    "each row shows this week's km and change, cadence and downhill share. All athletes "
    "share one window, ending with the week of the latest activity of any of them."
)


@app.command(help=BATCH_HELP, epilog=EXIT_CODES_HELP)
def batch(
    dirs: Annotated[
        list[str],
        typer.Argument(
            metavar="DIR",
            help="Folders whose immediate subfolders and .zip exports are one athlete each.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            metavar="DIR",
            help="Also write each athlete's reports (DIR/<athlete>/<YYYY>-W<ww>.md, .html, "
            ".json) and DIR/index.html linking them.",
        ),
    ] = None,
    format: Annotated[
        BatchFormat,
        typer.Option(
            "--format", "-f", help="Summary format; json holds every athlete in one document."
        ),
    ] = BatchFormat.text,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the summary here."),
    ] = None,
    weeks: WeeksOpt = 12,
    until: Annotated[
        datetime | None,
        typer.Option(
            "--until",
            metavar="DATE",
            formats=["%Y-%m-%d"],
            help="End every athlete's window with the week of DATE (default: the week of "
            "the latest activity of any athlete).",
        ),
    ] = None,
    tz: TzOpt = None,
    config: ConfigOpt = None,
    fail_on: FailOnOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    decoder: DecoderOpt = Decoder.auto,
    workers: WorkersOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every file warning.")
    ] = False,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """``kneeflags batch``: see :data:`BATCH_HELP`."""
    _setup(debug, quiet)
    from kneeflags.journeys import UsageProblem, run_batch

    cfg = _config(config)
    try:
        with _progress(not quiet, "Athletes") as progress:
            result = run_batch(
                dirs,
                out_dir=out_dir,
                tz=tz,
                config=cfg,  # type: ignore[arg-type]
                weeks=weeks,
                until=until.date() if until else None,
                decoder=decoder.value,
                cache_dir=cache_dir,
                use_cache=not no_cache,
                workers=workers,
                progress=progress,  # type: ignore[arg-type]
            )
    except UsageProblem as exc:
        raise typer.BadParameter(str(exc), param_hint="'DIR...'") from None
    rep = result.report
    fmt_value = format.value
    if fmt_value == "text":
        from kneeflags.report.text import make_console, render_summary, summary_to_text

        if (output is None or str(output) == "-") and sys.stdout.isatty():
            console = make_console()
            console.width = min(console.width, 100)
            render_summary(rep, result.ranked, console, verbose=verbose)
        else:
            _emit(summary_to_text(rep, result.ranked, verbose=verbose) + "\n", output)
    elif fmt_value == "markdown":
        from kneeflags.report.markdown import render_summary_markdown

        _emit(render_summary_markdown(rep, result.ranked), output)
    elif fmt_value == "csv":
        from kneeflags.report.csvout import render_summary_csv

        _emit(render_summary_csv(rep, result.ranked), output)
    else:
        from kneeflags.report.jsonout import render_json

        _emit(render_json(rep), output)
    if out_dir is not None and verbose:
        changed = len(result.written)
        _note(f"{len(result.paths)} report files in {out_dir} ({changed} changed)", False)
    code = _exit_code(rep, fail_on)
    if rep.errors and fmt_value != "text":
        _note(f"{len(rep.errors)} file(s) could not be read (listed in the report)", quiet)
    raise typer.Exit(code)


@app.command()
def rules(
    rule: Annotated[
        str | None,
        typer.Argument(metavar="RULE", help="Show only this rule id.", show_default=False),
    ] = None,
    format: Annotated[
        RulesFormat, typer.Option("--format", "-f", help="Output format.")
    ] = RulesFormat.text,
    config: ConfigOpt = None,
) -> None:
    """List the rule catalogue: what each rule measures, thresholds, conditions, why."""
    from kneeflags.report.catalogue import render_rules

    cfg = _config(config)
    try:
        text = render_rules(
            format.value,
            rule=rule,
            config=cfg,
            color=format is RulesFormat.text and sys.stdout.isatty(),
        )
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]) if exc.args else str(exc)) from None
    sys.stdout.write(text)


@cache_app.command("info")
def cache_info(cache_dir: CacheDirOpt = None) -> None:
    """Where the parse cache is and how big it is."""
    from kneeflags.cache import cache_info as info
    from kneeflags.cache import default_cache_dir

    data = info(cache_dir or default_cache_dir())
    keys = data.get("keys") or []
    print(f"cache: {data['path']}")
    print(f"size:  {int(data['bytes']) / 1e6:.1f} MB in {len(keys)} key(s)")  # type: ignore[call-overload]
    for k in keys:  # type: ignore[union-attr]
        print(f"  {k['key']}: {k['files']} files, {k['activities']} activities")


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDirOpt = None) -> None:
    """Delete the parse cache (it is rebuilt on the next run)."""
    from kneeflags.cache import clear_cache, default_cache_dir

    root = cache_dir or default_cache_dir()
    freed = clear_cache(root)
    print(f"cache cleared: {root} ({freed / 1e6:.1f} MB freed)")


# ---------------------------------------------------------------------------------------
# entry point


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app; no traceback unless ``--debug``."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="kneeflags", standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("kneeflags: interrupted", file=sys.stderr)
        sys.exit(130)
    except BaseException as exc:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"kneeflags: error: {_describe(exc)}", file=sys.stderr)
        sys.exit(EXIT_INPUT)


def _describe(exc: BaseException) -> str:
    """One line: the message (OSError names its file), else the exception type."""
    if isinstance(exc, OSError) and exc.filename:
        reason = exc.strerror or str(exc)
        return f"{exc.filename}: {reason}"
    text = " ".join(str(exc).split())
    return text if text else type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    main()
