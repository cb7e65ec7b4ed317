"""``kneeflags correct``: correct the record in the athlete's journal.

Thin over :func:`kneeflags.corrections.add` / :func:`~kneeflags.corrections.undo`: every
value is validated there before the one write, so an unknown id, a bad sport, or a journal
that is unreadable, locked or newer is one line on stderr, exit 2, and nothing written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kneeflags.cli.application import app
from kneeflags.cli.common import EXIT_USAGE, journal_errors

CORRECT_HELP = (
    "Correct the record: an activity's sport, exclusion, or sameness with another.\n\n"
    "One activity (ids from 'kneeflags activities'): set its sport, "
    "exclude it, mark it as the same outing as another or as a different one, or undo the "
    "latest correction of it. Kept in the athlete's journal; applied after parsing by every "
    "report (the parse cache stays valid), and every report says how many were applied."
)


def _fail(message: str) -> None:
    print(f"kneeflags: error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


@app.command(help=CORRECT_HELP)
def correct(
    activity_id: Annotated[
        str, typer.Argument(metavar="ID", help="Activity id, as 'kneeflags activities' prints.")
    ],
    sport: Annotated[
        str | None,
        typer.Option("--sport", metavar="running|walking|hiking|other", help="Set the sport."),
    ] = None,
    exclude: Annotated[bool, typer.Option("--exclude", help="Do not count it at all.")] = False,
    same_as: Annotated[
        str | None,
        typer.Option("--same-as", metavar="ID2", help="One outing with ID2: count it once."),
    ] = None,
    not_same_as: Annotated[
        str | None,
        typer.Option("--not-same-as", metavar="ID2", help="Two outings: never merge with ID2."),
    ] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="Undo the latest correction of this activity.")
    ] = False,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal",
            metavar="PATH",
            help="Journal file (default: $KNEEFLAGS_JOURNAL, else the user data folder).",
        ),
    ] = None,
    athlete: Annotated[
        str | None,
        typer.Option(
            "--athlete",
            metavar="NAME",
            help="Whose activity, when several athletes' listings hold this id.",
        ),
    ] = None,
) -> None:
    """``kneeflags correct``: see :data:`CORRECT_HELP`."""
    chosen = [
        name
        for name, given in (
            ("--sport", sport is not None),
            ("--exclude", exclude),
            ("--same-as", same_as is not None),
            ("--not-same-as", not_same_as is not None),
            ("--undo", undo),
        )
        if given
    ]
    if len(chosen) != 1:
        _fail(
            "give exactly one of --sport, --exclude, --same-as, --not-same-as, --undo"
            + (f" (got {', '.join(chosen)})" if chosen else "")
        )
    from kneeflags import corrections
    from kneeflags.journal import open_journal
    from kneeflags.journal.store import default_journal_path

    where = journal.expanduser() if journal is not None else default_journal_path()
    if not where.exists():  # nothing is known yet: say so, and create no journal for it
        _fail(
            f"unknown activity id {activity_id}: no journal at {where} yet "
            "(run `kneeflags activities PATHS` first; it lists and records the ids)"
        )
    with journal_errors(), open_journal(journal) as j:
        if undo:
            done = corrections.undo(j, activity_id, athlete=athlete)
            print(f"undone: {done.describe()} (entered {done.entered_utc})")
            return
        if sport is not None:
            action, value = "sport", sport
        elif exclude:
            action, value = "exclude", ""
        elif same_as is not None:
            action, value = "same-as", same_as
        else:
            action, value = "not-same-as", not_same_as or ""
        entry, target = corrections.add(j, activity_id, action, value, athlete=athlete)
    print(
        f"{entry.describe()} for {target['athlete']} "
        f"({target['local_start']}, {target['sport']}, {target['source']}); "
        "every report applies it from now on"
    )
