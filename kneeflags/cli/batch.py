"""``kneeflags batch``."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from kneeflags.cli.application import app
from kneeflags.cli.cluster import (
    ManifestOpt,
    RetriesOpt,
    SchedulerOpt,
    batch_executor,
    report_batch_state,
)
from kneeflags.cli.common import (
    EXIT_CODES_HELP,
    BatchFormat,
    CacheDirOpt,
    ConfigOpt,
    DebugOpt,
    Decoder,
    DecoderOpt,
    FailOnOpt,
    FailOnRuleOpt,
    JournalOpt,
    NoCacheOpt,
    QuietOpt,
    RehashOpt,
    TzOpt,
    WeeksOpt,
    WorkersOpt,
    check_until,
    cli_config,
    emit,
    exit_code,
    journal_errors,
    note,
    output_file,
    output_folder,
    progress_bar,
    resolve_format,
    setup_logging,
)

BATCH_HELP = (
    "Analyse a coach's athletes in parallel and print a ranked summary.\n\n"
    "Each immediate subfolder or .zip export of DIR is one athlete, named after it. "
    "Athletes are ranked by this week's highest flag severity, then the number of flags; "
    "each row shows this week's km and change, cadence and downhill share. All athletes "
    "share one window, ending with the week of the latest activity of any of them.\n\n"
    "--manifest reads athletes from a table instead of folders; --scheduler runs the "
    "athletes on a Dask cluster (the extra kneeflags\\[dask]); with --out-dir, "
    "weeks.parquet, flags.parquet and athletes.parquet hold the team as tables, and an "
    "athlete whose inputs and options are unchanged since the last run is not analysed again."
)


@app.command(help=BATCH_HELP, epilog=EXIT_CODES_HELP)
def batch(
    dirs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="DIR",
            help="Folders whose immediate subfolders and .zip exports are one athlete each.",
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            metavar="DIR",
            parser=output_folder,
            help="Also write each athlete's reports (DIR/<athlete>/<YYYY>-W<ww>.md, .html, "
            ".json) and DIR/index.html linking them.",
        ),
    ] = None,
    format: Annotated[
        BatchFormat | None,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="Summary format; json holds every athlete in one document (default: from "
            "the -o file's extension, else text).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", parser=output_file, help="Write the summary here."
        ),
    ] = None,
    weeks: WeeksOpt = 12,
    until: Annotated[
        datetime | None,
        typer.Option(
            "--until",
            metavar="DATE",
            formats=["%Y-%m-%d"],
            callback=check_until,
            help="End every athlete's window with the week of DATE (default: the last "
            "complete week today, in --tz or the config's zone; athletes whose data ends "
            "earlier are stale).",
        ),
    ] = None,
    tz: TzOpt = None,
    config: ConfigOpt = None,
    journal: JournalOpt = None,
    fail_on: FailOnOpt = None,
    fail_on_rule: FailOnRuleOpt = None,
    no_cache: NoCacheOpt = False,
    rehash: RehashOpt = False,
    cache_dir: CacheDirOpt = None,
    decoder: DecoderOpt = Decoder.auto,
    workers: WorkersOpt = None,
    manifest: ManifestOpt = None,
    scheduler: SchedulerOpt = None,
    retries: RetriesOpt = 1,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every file warning.")
    ] = False,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """``kneeflags batch``: see :data:`BATCH_HELP`."""
    setup_logging(debug, quiet)
    from kneeflags.journeys import run_batch

    if not dirs and manifest is None:
        raise typer.BadParameter("give at least one DIR, or --manifest", param_hint="'DIR...'")
    fmt_value = resolve_format(format, output, BatchFormat)
    cfg = cli_config(config)
    # a UsageProblem (no athlete, a bad manifest) is one line and exit 2: journal_errors
    with (
        journal_errors(),
        batch_executor(scheduler, workers, retries, debug) as executor,
        progress_bar(not quiet, "Athletes") as progress,
    ):
        result = run_batch(
            dirs or [],
            manifest=manifest,
            executor=executor,
            retries=retries,
            out_dir=out_dir,
            tz=tz,
            config=cfg,  # type: ignore[arg-type]
            weeks=weeks,
            until=until.date() if until else None,
            decoder=decoder.value,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            rehash=rehash,
            workers=workers,
            progress=progress,  # type: ignore[arg-type]
            journal=journal,
        )
    rep = result.report
    from kneeflags.report import fmt

    if fmt_value == "text":
        from kneeflags.report.text import make_console, render_summary, summary_to_text

        if (output is None or str(output) == "-") and sys.stdout.isatty():
            console = make_console()
            console.width = min(console.width, 100)
            render_summary(rep, result.ranked, console, verbose=verbose)
        else:
            emit(summary_to_text(rep, result.ranked, verbose=verbose) + "\n", output)
    elif fmt_value == "markdown":
        from kneeflags.report.markdown import render_summary_markdown

        emit(render_summary_markdown(rep, result.ranked), output)
    elif fmt_value == "csv":
        from kneeflags.report.csvout import render_summary_csv

        emit(render_summary_csv(rep, result.ranked), output)
    else:
        from kneeflags.report.jsonout import render_json

        emit(render_json(rep, result.ranked), output)
    if out_dir is not None and verbose:
        changed = len(result.written)
        note(f"{len(result.paths)} report files in {out_dir} ({changed} changed)", False)
    report_batch_state(result, out_dir, quiet)
    code = exit_code(rep, fail_on, fail_on_rule)
    if rep.errors and fmt_value != "text":
        note(
            f"{fmt.plural(len(rep.errors), 'file')} could not be read (listed in the report)", quiet
        )
    raise typer.Exit(code)
