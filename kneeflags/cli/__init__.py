"""The ``kneeflags`` command line (typer): thin calls of :mod:`kneeflags.journeys`.

One module per command (``analyze``, ``report``, ``batch``, ``plan``, ``activities``,
``correct``, ``log``, ``rules``, ``cache``), each
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
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kneeflags.cli import application as _application
from kneeflags.cli.common import EXIT_INPUT, describe_exception

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "analyze",
    "report",
    "batch",
    "plan",
    "activities",
    "correct",
    "log",
    "rules",
    "cache",
)
"""Importing a command module registers its command; this order is the order in --help."""


def _register(names: Iterable[str]) -> None:
    for name in names:
        importlib.import_module(f"kneeflags.cli.{name}")


def __getattr__(name: str) -> typer.Typer:
    """``kneeflags.cli.app``: the application with every command registered.

    Registration is lazy (see :func:`main`); whoever asks for ``app`` gets all commands.
    """
    if name == "app":
        _register(COMMAND_MODULES)
        return _application.app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app; no traceback unless ``--debug``.

    Only the command being run is registered (its module imported, and typer building one
    click command instead of nine: ~20 ms of every start); with no known command (``--help``,
    a typo) every command is, so help and "no such command" list them all. The root takes
    no option with a value, so the first argument that is not an option names the command.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    command = next((a for a in args if not a.startswith("-")), None)
    _register([command] if command in COMMAND_MODULES else COMMAND_MODULES)
    try:
        _application.app(args=args, prog_name="kneeflags", standalone_mode=True)
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
