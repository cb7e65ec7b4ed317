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
"""

from __future__ import annotations

import gc


def main(argv: list[str] | None = None) -> None:
    """Run the command line (see :func:`kneeflags.cli.main`)."""
    from kneeflags.cli import main as cli_main

    try:
        cli_main(argv)
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
