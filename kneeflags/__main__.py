"""``python -m kneeflags`` and the ``kneeflags`` command's entry point.

The entry point lives here rather than in :mod:`kneeflags.cli` because a worker process
(spawned, not forked) first re-imports the module its parent was started from: from here
that costs nothing, from :mod:`kneeflags.cli` it would load the CLI framework in every
worker before its first file.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    """Run the command line (see :func:`kneeflags.cli.main`)."""
    from kneeflags.cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":
    main()
