"""The ``kneeflags`` console script: warm up worker processes, then run the CLI.

Kept free of heavy imports on purpose: commands that parse files start their
worker processes here (see :mod:`kneeflags._warmup`) before the CLI imports
polars, so the two start-ups overlap instead of adding up.
"""

from __future__ import annotations

import sys

_PARSING_COMMANDS = frozenset({"analyze", "report"})


def _workers_option(args: list[str]) -> int | None:
    """The ``-j/--workers`` value if given (a bad one is left for the CLI to report)."""
    for i, arg in enumerate(args):
        value = None
        if arg in ("-j", "--workers") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-j") and len(arg) > 2:
            value = arg[2:]
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return 1
    return None


def wants_warm_workers(args: list[str]) -> bool:
    """Only a command that reads files, with more than one worker, and not ``--help``."""
    command = next((a for a in args if not a.startswith("-")), None)
    if command not in _PARSING_COMMANDS or {"-h", "--help"} & set(args):
        return False
    workers = _workers_option(args)
    return workers is None or workers > 1


def main() -> None:
    args = sys.argv[1:]
    warm = wants_warm_workers(args)
    if warm:
        from kneeflags import _warmup

        _warmup.start(_workers_option(args))
    try:
        from kneeflags.cli import main as cli_main

        cli_main(args)
    finally:
        if warm:
            _warmup.shutdown()
