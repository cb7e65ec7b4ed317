"""``kneeflags rules``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kneeflags.cli.application import app
from kneeflags.cli.common import (
    ConfigOpt,
    RulesFormat,
    cli_config,
)


@app.command()
def rules(
    rule: Annotated[
        str | None,
        typer.Argument(metavar="RULE", help="Show only this rule id.", show_default=False),
    ] = None,
    format: Annotated[
        RulesFormat,
        typer.Option("--format", "-f", case_sensitive=False, help="Output format."),
    ] = RulesFormat.text,
    config: ConfigOpt = None,
) -> None:
    """List the rule catalogue: what each rule measures, thresholds, conditions, why."""
    from kneeflags.report.catalogue import render_rules

    cfg = cli_config(config)
    try:
        text = render_rules(
            format.value,
            rule=rule,
            config=cfg,
            color=format is RulesFormat.text and sys.stdout.isatty(),
        )
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]) if exc.args else str(exc)) from None
    sys.stdout.write(text)
