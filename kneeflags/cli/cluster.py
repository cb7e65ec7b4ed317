"""``kneeflags batch``'s options for many athletes: ``--manifest``, ``--scheduler``,
``--retries``, and what the command says about failed and unchanged athletes.

Kept apart from :mod:`kneeflags.cli.batch` so that module stays a thin call of
:func:`kneeflags.journeys.run_batch`; the executors themselves live in
:mod:`kneeflags.executors` (no Dask import here: ``--scheduler`` loads it on use).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from kneeflags.cli.common import EXIT_USAGE, note


def _check_retries(value: int) -> int:
    if value < 0:
        raise typer.BadParameter("must be 0 or more")
    return value


ManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        metavar="FILE",
        help="A .csv or .parquet table with columns 'athlete' and 'path' (a file, folder, "
        "quoted glob or URL; several rows per athlete): athletes without one folder each.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run the athletes on a Dask cluster: tcp://HOST:PORT of a running scheduler, "
        "or local\\[:N] to start N local workers (default 2). Needs kneeflags\\[dask]. "
        "Without it: a process pool on this machine.",
    ),
]
RetriesOpt = Annotated[
    int,
    typer.Option(
        "--retries",
        metavar="N",
        callback=_check_retries,
        help="Run an athlete's task up to N more times when its worker dies or it fails; "
        "then it is reported by name and the others complete.",
    ),
]


def usage_error(message: str) -> NoReturn:
    """One ``kneeflags: error:`` line and exit code 2, before anything is written."""
    print(f"kneeflags: error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


@contextlib.contextmanager
def batch_executor(
    scheduler: str | None, workers: int | None, retries: int, debug: bool
) -> Iterator[Any]:
    """The executor of ``--scheduler`` (``None`` without it: run_batch makes its pool)."""
    if scheduler is None:
        yield None
        return
    from kneeflags.executors import ExecutorUsageError, make_executor

    try:
        executor = make_executor(scheduler, workers=workers or 1, retries=retries, debug=debug)
    except ExecutorUsageError as exc:
        usage_error(str(exc))
    with executor:
        yield executor


def report_batch_state(result: Any, out_dir: Path | None, quiet: bool) -> None:
    """Name every athlete whose task failed (stderr), and say what a rerun skipped."""
    if result.failed:
        names = "; ".join(f"{name} ({reason})" for name, reason in result.failed)
        note(f"{len(result.failed)} athlete(s) could not be analysed: {names}", False)
    if out_dir is not None and result.unchanged:
        note(
            f"{result.unchanged} athlete(s) unchanged since the last run "
            "(same inputs, options and kneeflags version): not analysed or rendered again",
            quiet,
        )
