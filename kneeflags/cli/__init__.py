"""The ``kneeflags`` command line (typer): thin calls of :mod:`kneeflags.journeys`.

One module per command (``analyze``, ``report``, ``batch``, ``rules``, ``cache``), each
registering itself on :data:`kneeflags.cli.application.app`; what they share is in
:mod:`kneeflags.cli.common`.

Exit codes (also in ``--help``): 0 success; 1 some input files could not be read
(the report for all the others is still complete) or the run failed; 2 usage error;
3 the ``--fail-on`` threshold was reached (3 wins over 1 when both apply).

No traceback ever reaches the user unless ``--debug`` is given: :func:`main` catches
everything and prints one ``kneeflags: error: ...`` line to stderr. The progress bar
goes to stderr, and only when stderr is a terminal and ``--quiet`` is not given, so
nothing but the report reaches a pipe, a file or a cron mail.
"""

from __future__ import annotations

import importlib
import sys

from kneeflags.cli.application import app
from kneeflags.cli.common import EXIT_INPUT, describe_exception

__all__ = ["app", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "analyze",
    "report",
    "batch",
    "plan",
    "log",
    "rules",
    "cache",
)
"""Importing a command module registers its command; this order is the order in --help."""

for _name in COMMAND_MODULES:
    importlib.import_module(f"kneeflags.cli.{_name}")


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
        print(f"kneeflags: error: {describe_exception(exc)}", file=sys.stderr)
        sys.exit(EXIT_INPUT)
