"""``kneeflags analyze``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from kneeflags.cli.application import app
from kneeflags.cli.common import (
    EXIT_CODES_HELP,
    AthleteOpt,
    CacheDirOpt,
    ConfigOpt,
    DebugOpt,
    Decoder,
    DecoderOpt,
    FailOnOpt,
    FailOnRuleOpt,
    JournalOpt,
    NoCacheOpt,
    OutputFormat,
    OutputOpt,
    PathsArg,
    QuietOpt,
    RehashOpt,
    TzOpt,
    WeeksOpt,
    WorkersOpt,
    check_until,
    cli_config,
    exit_code,
    journal_errors,
    print_errors,
    progress_bar,
    resolve_format,
    setup_logging,
    write_report,
)

ANALYZE_HELP = (
    "Analyse one athlete's files and print the report.\n\n"
    "This week comes first: its status, the flags behind it and for which condition (ITBS, "
    "PFPS), its numbers, then next week's plan; then every flag of the window (one card per "
    "rule, with evidence and advice), the weekly table, file problems and the reminder to "
    "see a clinician."
)


@app.command(help=ANALYZE_HELP, epilog=EXIT_CODES_HELP)
def analyze(
    paths: PathsArg,
    format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="Report format (default: from the -o file's extension, else text).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
    tz: TzOpt = None,
    weeks: WeeksOpt = 12,
    until: Annotated[
        datetime | None,
        typer.Option(
            "--until",
            metavar="DATE",
            formats=["%Y-%m-%d"],
            callback=check_until,
            help="End the report window with the week of DATE (YYYY-MM-DD) instead of the "
            "week of the latest run.",
        ),
    ] = None,
    config: ConfigOpt = None,
    journal: JournalOpt = None,
    athlete: AthleteOpt = None,
    fail_on: FailOnOpt = None,
    fail_on_rule: FailOnRuleOpt = None,
    no_cache: NoCacheOpt = False,
    rehash: RehashOpt = False,
    cache_dir: CacheDirOpt = None,
    decoder: DecoderOpt = Decoder.auto,
    workers: WorkersOpt = None,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """``kneeflags analyze``: see :data:`ANALYZE_HELP`."""
    setup_logging(debug, quiet)
    from kneeflags import prestart

    # Worker processes start importing now, beside this process's own imports (below).
    with prestart.early_workers(workers, use_cache=not no_cache, cache_dir=cache_dir, paths=paths):
        from kneeflags.journeys import analyze_paths

        fmt = resolve_format(format, output, OutputFormat)
        cfg = cli_config(config)
        with journal_errors(), progress_bar(not quiet, "Reading files") as progress:
            report = analyze_paths(
                paths,
                tz=tz,
                config=cfg,  # type: ignore[arg-type]
                athlete=athlete,
                decoder=decoder.value,
                cache_dir=cache_dir,
                use_cache=not no_cache,
                rehash=rehash,
                workers=workers,
                weeks=weeks,
                until=until.date() if until else None,
                progress=progress,  # type: ignore[arg-type]
                journal=journal,
            )
    write_report(report, fmt, output)
    code = exit_code(report, fail_on, fail_on_rule)
    if report.errors and (fmt != "text" or output is not None):
        # the report holds them, but a report written to a file or a pipe says nothing
        # on the terminal: name each unreadable file on stderr, as `report` does
        print_errors(report)
    raise typer.Exit(code)
