"""The typer application object that every command module registers itself on."""

from __future__ import annotations

from typing import Annotated

import typer

from kneeflags import __version__
from kneeflags.cli.common import EXIT_CODES_HELP, EXIT_OK

app = typer.Typer(
    name="kneeflags",
    help=(
        "Flag training habits linked to runner's knee (PFPS) and IT band syndrome (ITBS) "
        "in FIT, GPX and TCX files and whole Strava/Garmin exports.\n\n"
        "Educational guidance, not a diagnosis: persistent, worsening or severe knee pain "
        "needs a GP, physiotherapist or sports medicine physician."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

cache_app = typer.Typer(help="Inspect or clear the parse cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _version(value: bool) -> None:
    if value:
        print(f"kneeflags {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Flag training habits linked to runner's knee (PFPS) and IT band syndrome (ITBS)."""
