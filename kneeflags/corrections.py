"""Corrections of the record, kept in the athlete's journal and applied after parsing.

Real data always holds cases no rule gets right, so a runner or coach corrects the record
without editing files (inputs are never modified):

* ``sport``: the activity's sport set by hand (``running``, ``walking``, ``hiking``,
  ``other``); it also spares the activity from the left-running test of
  :mod:`kneeflags.dedupe`;
* ``exclude``: the activity is not counted at all;
* ``same-as`` / ``not-same-as``: two activities are one outing (the credible record is
  kept, :mod:`kneeflags.dedupe` rule 3) or two (never merged).

Each correction is one row of the journal's ``activity_corrections`` table (component
``corrections``), naming its athlete and the activity by its stable id
(``<first 16 hex digits of the file's SHA-256>:<session index>``, the id ``kneeflags
activities`` prints: the same file gives the same id wherever it lies). Rows are never
deleted: ``--undo`` marks the latest correction of an activity undone, so the history
stays readable. For a pair, the latest of ``same-as`` / ``not-same-as`` wins; for a
sport, the latest ``sport`` row wins.

Corrections apply to the cached per-activity summaries, after parsing, in
:func:`apply_to_summaries` (the pipeline calls it before deduplication): they are not part
of the parse cache's key, so adding one never re-parses a file. A sport set by hand changes
the sport columns of the summary; figures that only exist for some sports (downhill for
activities on foot, running cadence) stay as the file's sport produced them.

``kneeflags activities`` records the activities it lists in ``known_activities`` so that
``kneeflags correct`` can refuse an unknown id (one line, exit 2) and say which outing a
correction concerns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import field
from typing import Any

import polars as pl

from kneeflags.journal.store import Journal, JournalError, now_utc
from kneeflags.model import Sport
from kneeflags.records import record

COMPONENT = "corrections"
VERSION = 1
TABLE = "activity_corrections"
KNOWN_TABLE = "known_activities"

ACTIONS: tuple[str, ...] = ("sport", "exclude", "same-as", "not-same-as")
SPORTS: tuple[str, ...] = ("running", "walking", "hiking", "other")
"""The sports a correction may set (the issue's four; finer labels come from files)."""

ACTIVITY_ID = re.compile(r"^[0-9a-f]{16}:\d{1,6}$")

TABLES: dict[str, tuple[dict[str, Any], str | tuple[str, ...]]] = {
    TABLE: (
        {
            "id": int,
            "athlete": str,
            "activity_id": str,
            "action": str,
            "value": str,
            "entered_utc": str,
            "undone_utc": str,
        },
        "id",
    ),
    KNOWN_TABLE: (
        {
            "athlete": str,
            "activity_id": str,
            "local_start": str,
            "sport": str,
            "distance_km": float,
            "source": str,
            "seen_utc": str,
        },
        ("athlete", "activity_id"),
    ),
}


def athlete_key(name: str | None) -> str:
    """How athletes are matched (the knee journal's rule: case and spacing do not matter)."""
    return " ".join(str(name or "").split()).casefold()


@record(frozen=True)
class Correction:
    """One stored correction (``value``: the sport, or the other activity's id)."""

    id: int
    athlete: str
    activity_id: str
    action: str
    value: str
    entered_utc: str

    def describe(self) -> str:
        if self.action == "sport":
            return f"{self.activity_id}: sport set to {self.value}"
        if self.action == "exclude":
            return f"{self.activity_id}: excluded"
        return f"{self.activity_id}: {self.action} {self.value}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "athlete": self.athlete,
            "activity_id": self.activity_id,
            "action": self.action,
            "value": self.value or None,
            "entered_utc": self.entered_utc,
        }


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@record
class Corrections:
    """The effective corrections of one athlete (latest wins), ready to apply."""

    sport: dict[str, str] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)
    same: set[tuple[str, str]] = field(default_factory=set)
    different: set[tuple[str, str]] = field(default_factory=set)
    rows: tuple[Correction, ...] = ()

    @classmethod
    def of(cls, rows: Iterable[Correction]) -> Corrections:
        ordered = sorted(rows, key=lambda c: c.id)
        out = cls(rows=tuple(ordered))
        for c in ordered:
            if c.action == "sport":
                out.sport[c.activity_id] = c.value
            elif c.action == "exclude":
                out.excluded.add(c.activity_id)
            else:
                pair = _pair(c.activity_id, c.value)
                (out.same if c.action == "same-as" else out.different).add(pair)
                (out.different if c.action == "same-as" else out.same).discard(pair)
        return out

    def __bool__(self) -> bool:
        return bool(self.rows)

    @property
    def effective(self) -> int:
        """How many corrections are in force (a later one of a pair or sport replaces)."""
        return len(self.sport) + len(self.excluded) + len(self.same) + len(self.different)

    def ids(self) -> set[str]:
        """Every activity id a correction mentions."""
        return {
            *self.sport,
            *self.excluded,
            *(i for p in self.same | self.different for i in p),
        }


@record
class Applied:
    """What :func:`apply_to_summaries` did: the corrected frame and how many applied."""

    summaries: pl.DataFrame
    applied: int
    excluded: list[str] = field(default_factory=list)
    resported: dict[str, str] = field(default_factory=dict)
    """activity id -> the sport the file (or classification) gave it."""


def ensure(journal: Journal) -> None:
    """Create the component's tables on a writable journal; refuse a newer one."""
    journal.ensure_component(COMPONENT, VERSION, TABLES)


def read(journal: Journal, athlete: str | None = None) -> dict[str, Corrections]:
    """Every athlete's effective corrections keyed by :func:`athlete_key` (or one)."""
    ensure(journal)
    if TABLE not in journal.db.table_names():
        return {}
    rows: dict[str, list[Correction]] = {}
    for r in journal.db.query(f"select * from {TABLE} where undone_utc is null order by id"):
        key = athlete_key(r["athlete"])
        if athlete is not None and key != athlete_key(athlete):
            continue
        rows.setdefault(key, []).append(
            Correction(
                r["id"],
                r["athlete"],
                r["activity_id"],
                r["action"],
                r["value"] or "",
                r["entered_utc"],
            )
        )
    return {k: Corrections.of(v) for k, v in rows.items()}


def apply_to_summaries(acts: pl.DataFrame, corrections: Corrections | None) -> Applied:
    """The summaries with sports set and exclusions removed; pair corrections are applied
    by :func:`kneeflags.dedupe.resolve` (``same_as`` / ``not_same_as``).

    ``applied`` counts the athlete's corrections that concern an activity of this load
    (a correction of a file not read this time is kept but not counted).
    """
    if not corrections or acts.height == 0:
        return Applied(acts, 0)
    present = set(acts["activity_id"].to_list())
    applied = sum(1 for aid in corrections.sport if aid in present) + sum(
        1 for aid in corrections.excluded if aid in present
    )
    applied += sum(
        1 for a, b in corrections.same | corrections.different if a in present and b in present
    )
    before = dict(zip(acts["activity_id"].to_list(), acts["sport"].to_list(), strict=True))
    resported = {
        aid: before[aid]
        for aid, sport in corrections.sport.items()
        if aid in present and before[aid] != sport
    }
    if corrections.sport:
        mapping = {aid: s for aid, s in corrections.sport.items() if aid in present}
        sport = pl.col("activity_id").replace_strict(mapping, default=pl.col("sport"))
        flags = {
            "is_running": {s: Sport(s).is_running for s in SPORTS},
            "has_terrain": {s: Sport(s).has_terrain for s in SPORTS},
            "is_strength": {s: False for s in SPORTS},
            "is_cross_training": {s: Sport(s).is_cross_training for s in SPORTS},
        }
        corrected = pl.col("activity_id").is_in(list(mapping))
        acts = acts.with_columns(
            sport.alias("sport"),
            # A hand correction supersedes the classification stage's guess.
            pl.when(corrected)
            .then(None)
            .otherwise(pl.col("reclassified_from"))
            .alias("reclassified_from"),
            pl.when(corrected)
            .then(pl.lit("sport set by hand (kneeflags correct)"))
            .otherwise(pl.col("classification"))
            .alias("classification"),
            *(
                pl.when(corrected)
                .then(sport.replace_strict(table, default=None))
                .otherwise(pl.col(name))
                .alias(name)
                for name, table in flags.items()
            ),
        )
    excluded = sorted(present & corrections.excluded)
    if excluded:
        acts = acts.filter(~pl.col("activity_id").is_in(excluded))
    return Applied(acts, applied, excluded, resported)


def note(applied: int, total: int, resported: int) -> str:
    """The report line that says how many corrections were applied."""
    if total == 0:
        return "No corrections in the journal (`kneeflags correct` records them)."
    what = "correction" if applied == 1 else "corrections"
    tail = f", {resported} sport(s) set by hand" if resported else ""
    unused = f" ({total - applied} concern files not read this time)" if total > applied else ""
    return f"{applied} {what} from the journal applied{tail}{unused}."


# -- writes (kneeflags activities / kneeflags correct) ------------------------------------


def remember(journal: Journal, athlete: str, listing: pl.DataFrame) -> None:
    """Record the activities ``kneeflags activities`` listed, so ``correct`` knows them."""
    ensure(journal)
    if listing.height == 0:
        return
    stamp = now_utc()
    rows = [
        {
            "athlete": athlete,
            "activity_id": r["activity_id"],
            "local_start": r["local_start"].replace(microsecond=0).isoformat(sep=" ")
            if r["local_start"] is not None
            else "",
            "sport": r["sport"],
            "distance_km": r["distance_km"],
            "source": r["source"],
            "seen_utc": stamp,
        }
        for r in listing.iter_rows(named=True)
    ]
    with journal.transaction() as db:
        db[KNOWN_TABLE].upsert_all(rows, pk=("athlete", "activity_id"))


def known(journal: Journal, activity_id: str) -> list[dict[str, Any]]:
    """The listed activities with this id (one per athlete that listed it)."""
    if KNOWN_TABLE not in journal.db.table_names():
        return []
    return list(
        journal.db.query(f"select * from {KNOWN_TABLE} where activity_id = ?", [activity_id])
    )


def _check_id(activity_id: str) -> str:
    aid = activity_id.strip().lower()
    if not ACTIVITY_ID.match(aid):
        raise JournalError(
            f"{activity_id!r} is not an activity id (like 3f2a9c0d1e4b5a67:0; "
            "`kneeflags activities PATHS` lists them)"
        )
    return aid


def _resolve_athlete(journal: Journal, activity_id: str, athlete: str | None) -> dict[str, Any]:
    seen = known(journal, activity_id)
    if athlete is not None:
        seen = [r for r in seen if athlete_key(r["athlete"]) == athlete_key(athlete)]
    if not seen:
        who = f" for athlete {athlete!r}" if athlete else ""
        raise JournalError(
            f"unknown activity id {activity_id}{who} in {journal.label} "
            "(run `kneeflags activities PATHS` first; it lists and records the ids)"
        )
    if len(seen) > 1:
        names = ", ".join(sorted(r["athlete"] for r in seen))
        raise JournalError(
            f"activity {activity_id} is listed for several athletes ({names}): give --athlete"
        )
    return seen[0]


def add(
    journal: Journal,
    activity_id: str,
    action: str,
    value: str = "",
    *,
    athlete: str | None = None,
) -> tuple[Correction, dict[str, Any]]:
    """Validate and store one correction; returns it and the activity it concerns.

    Everything is checked before the one write: an unknown id, an unknown sport, a pair
    with itself or with an activity of another athlete is a :class:`JournalError` and
    nothing is written.
    """
    ensure(journal)
    if action not in ACTIONS:
        raise JournalError(f"unknown correction {action!r} (choose from {', '.join(ACTIONS)})")
    aid = _check_id(activity_id)
    target = _resolve_athlete(journal, aid, athlete)
    who = target["athlete"]
    if action == "sport":
        value = value.strip().lower()
        if value not in SPORTS:
            raise JournalError(f"--sport must be one of {', '.join(SPORTS)}, not {value!r}")
    elif action in ("same-as", "not-same-as"):
        value = _check_id(value)
        if value == aid:
            raise JournalError(f"--{action} needs another activity, not {aid} itself")
        _resolve_athlete(journal, value, who)
    else:
        value = ""
    with journal.transaction() as db:
        stamp = now_utc()
        row = {
            "athlete": who,
            "activity_id": aid,
            "action": action,
            "value": value,
            "entered_utc": stamp,
            "undone_utc": None,
        }
        db[TABLE].insert(row)
        new_id = db.execute("select last_insert_rowid()").fetchone()[0]
    return Correction(new_id, who, aid, action, value, stamp), target


def undo(journal: Journal, activity_id: str, *, athlete: str | None = None) -> Correction:
    """Mark the latest active correction that mentions ``activity_id`` undone."""
    ensure(journal)
    aid = _check_id(activity_id)
    who = _resolve_athlete(journal, aid, athlete)["athlete"]
    with journal.transaction() as db:
        rows = [
            r
            for r in db.query(
                f"select * from {TABLE} where undone_utc is null and "
                "(activity_id = ? or value = ?) order by id desc",
                [aid, aid],
            )
            if athlete_key(r["athlete"]) == athlete_key(who)
        ]
        if not rows:
            raise JournalError(f"{aid}: no correction to undo in {journal.label}")
        r = rows[0]
        db[TABLE].update(r["id"], {"undone_utc": now_utc()})
    return Correction(
        r["id"], r["athlete"], r["activity_id"], r["action"], r["value"] or "", r["entered_utc"]
    )


def listing_columns() -> Sequence[str]:
    """The columns of the activity listing (``kneeflags activities``), in order."""
    return (
        "activity_id",
        "local_start",
        "sport",
        "file_sport",
        "reclassified",
        "corrected",
        "distance_km",
        "duration_s",
        "source",
        "status",
        "duplicate_of",
        "duplicate_source",
        "reason",
    )
