"""``python -m kneeflags`` and the ``kneeflags`` command's entry point.

What a command may do that a library must not:

* It is the entry point rather than :mod:`kneeflags.cli` because a worker process (spawned,
  not forked) first re-imports the module its parent was started from: from here that costs
  nothing, from :mod:`kneeflags.cli` it would load the CLI framework in every worker.
* When the command has finished, the objects it made are moved out of the garbage
  collector's sight (``gc.freeze``) before the interpreter shuts down. The normal exit still
  runs (atexit handlers, flushing, multiprocessing clean-up); only the collector's passes over
  every object of numpy, polars and matplotlib are skipped, which took ~0.1 s of each run.
  Tests that call :func:`kneeflags.cli.main` in-process are unaffected.
* The collector's young generation is collected every :data:`GC_YOUNG_THRESHOLD`
  allocations instead of every 700: importing polars, typer and the rules allocates
  hundreds of thousands of objects that all live until exit, and the default made ~110
  collector passes over them, ~15 ms of a ~0.28 s warm run (issue 15). Garbage cycles
  are still collected, in passes of at most that many objects (a few MiB at worst).
"""

from __future__ import annotations

import gc

GC_YOUNG_THRESHOLD = 100_000
"""Allocations between two passes of the young generation (CPython's default: 700)."""


def main(argv: list[str] | None = None) -> None:
    """Run the command line (see :func:`kneeflags.cli.main`)."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
    from kneeflags.cli import main as cli_main

    try:
        cli_main(argv)
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
