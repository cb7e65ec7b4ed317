"""``kneeflags plan``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
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
    JournalOpt,
    NoCacheOpt,
    OutputOpt,
    PathsArg,
    QuietOpt,
    TzOpt,
    WorkersOpt,
    check_until,
    cli_config,
    emit,
    exit_code,
    journal_errors,
    print_errors,
    progress_bar,
    resolve_format,
    setup_logging,
)

PLAN_HELP = (
    "Print next week's plan for one athlete, and nothing else.\n\n"
    "Weekly km cap, longest-run cap, downhill cap, a cadence target when yours is low, and "
    "strength sessions, each from your own data up to the end of the reported week and tied "
    "to a rule and the guide. The reported week is the week of the latest run, or of --until."
)


class PlanFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


@app.command(help=PLAN_HELP, epilog=EXIT_CODES_HELP)
def plan(
    paths: PathsArg,
    format: Annotated[
        PlanFormat | None,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="Output format (default: from the --output file's extension, else text).",
        ),
    ] = None,
    output: OutputOpt = None,
    tz: TzOpt = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            "--until",
            metavar="DATE",
            formats=["%Y-%m-%d"],
            callback=check_until,
            help="Plan for the week after the week of DATE (YYYY-MM-DD).",
        ),
    ] = None,
    config: ConfigOpt = None,
    journal: JournalOpt = None,
    athlete: AthleteOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    decoder: DecoderOpt = Decoder.auto,
    workers: WorkersOpt = None,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """``kneeflags plan``: see :data:`PLAN_HELP`."""
    setup_logging(debug, quiet)
    from kneeflags.journeys import analyze_paths
    from kneeflags.report.planout import render_plan

    fmt = resolve_format(format, output, PlanFormat)
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
            workers=workers,
            weeks=1,
            until=until.date() if until else None,
            progress=progress,  # type: ignore[arg-type]
            journal=journal,
        )
    emit(render_plan(report, fmt), output)
    print_errors(report)
    raise typer.Exit(exit_code(report, None))
