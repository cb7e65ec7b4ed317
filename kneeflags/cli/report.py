"""``kneeflags report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kneeflags.cli.application import app
from kneeflags.cli.common import (
    EXIT_CODES_HELP,
    EXIT_FAIL_ON,
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
    PathsArg,
    QuietOpt,
    RehashOpt,
    TzOpt,
    WeeksOpt,
    WorkersOpt,
    check_week_label,
    cli_config,
    exit_code,
    journal_errors,
    output_folder,
    print_current_flags,
    print_errors,
    print_stale,
    progress_bar,
    setup_logging,
)

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
            parser=output_folder,
            help="Writes DIR/<athlete>/<YYYY>-W<ww>.md, .html and .json.",
        ),
    ] = Path("reports"),
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            metavar="YYYY-Www",
            callback=check_week_label,
            help="ISO week to report, e.g. 2026-W05 (default: the last complete local week).",
        ),
    ] = None,
    weeks: WeeksOpt = 12,
    tz: TzOpt = None,
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
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what was written.")] = False,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """``kneeflags report``: see :data:`REPORT_HELP`."""
    setup_logging(debug, quiet)
    from kneeflags import prestart

    # Worker processes start importing now, beside this process's own imports (below).
    with prestart.early_workers(workers, use_cache=not no_cache, cache_dir=cache_dir, paths=paths):
        from kneeflags.journeys import write_weekly_report

        cfg = cli_config(config)
        with journal_errors(), progress_bar(not quiet, "Reading files") as progress:
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
                rehash=rehash,
                workers=workers,
                progress=progress,  # type: ignore[arg-type]
                journal=journal,
            )
    rep = result.report
    if verbose:
        from kneeflags.report import fmt

        a = rep.athletes[0]
        print(
            f"kneeflags: {a.athlete}, week {a.window.week_label}: "
            f"{fmt.plural(a.summary.flags_this_week, 'current flag')}, "
            f"{fmt.plural(len(rep.errors), 'file error')}"
        )
        for p in result.paths:
            state = "wrote" if p in result.written else "unchanged"
            print(f"  {state} {p}")
    print_errors(rep)
    print_stale(rep)
    code = exit_code(rep, fail_on, fail_on_rule, stale_fails=True)
    if code == EXIT_FAIL_ON:
        print_current_flags(rep, fail_on, fail_on_rule)
    raise typer.Exit(code)
