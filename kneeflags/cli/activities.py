"""``kneeflags activities``: every activity read, and whether it counts.

Thin over :func:`kneeflags.journeys.list_activities` and
:mod:`kneeflags.report.listingout`. The ids it prints are what ``kneeflags correct``
takes; it records them in the journal so ``correct`` can refuse an unknown id.
"""

from __future__ import annotations

from pathlib import Path
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
    NoCacheOpt,
    OutputFormat,
    OutputOpt,
    PathsArg,
    QuietOpt,
    TzOpt,
    WorkersOpt,
    cli_config,
    emit,
    exit_code,
    journal_errors,
    print_errors,
    progress_bar,
    resolve_format,
    setup_logging,
)

ACTIVITIES_HELP = (
    "List every activity read, and whether it counts.\n\n"
    "For each activity of one athlete's files: stable id, local start, sport (and whether "
    "it was reclassified or set by hand), distance, duration, file, and whether it counts "
    "or was dropped as a duplicate (and of what).\n\n"
    "The ids are what 'kneeflags correct' takes; they are recorded in the journal so that "
    "'correct' can check them (--no-record: do not)."
)

JournalRwOpt = Annotated[
    Path | None,
    typer.Option(
        "--journal",
        metavar="PATH",
        help="Journal holding the corrections (default: $KNEEFLAGS_JOURNAL, else the user "
        "data folder, as for 'kneeflags log' and 'kneeflags correct').",
    ),
]


@app.command(help=ACTIVITIES_HELP, epilog=EXIT_CODES_HELP)
def activities(
    paths: PathsArg,
    format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="Output format (default: from the -o file's extension, else text).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
    tz: TzOpt = None,
    config: ConfigOpt = None,
    journal: JournalRwOpt = None,
    athlete: AthleteOpt = None,
    no_record: Annotated[
        bool, typer.Option("--no-record", help="Do not record the listed ids in the journal.")
    ] = False,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    decoder: DecoderOpt = Decoder.auto,
    workers: WorkersOpt = None,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """``kneeflags activities``: see :data:`ACTIVITIES_HELP`."""
    setup_logging(debug, quiet)
    from kneeflags.journeys import list_activities
    from kneeflags.report.listingout import render_listing

    fmt = resolve_format(format, output, OutputFormat)
    cfg = cli_config(config)
    with journal_errors(), progress_bar(not quiet, "Reading files") as progress:
        report = list_activities(
            paths,
            tz=tz,
            config=cfg,  # type: ignore[arg-type]
            athlete=athlete,
            decoder=decoder.value,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            workers=workers,
            progress=progress,  # type: ignore[arg-type]
            journal=journal,
            record=not no_record,
        )
    emit(render_listing(report, fmt), output)
    print_errors(report)
    raise typer.Exit(exit_code(report, None))
