"""The activity listing: every activity read, what it was classed as, and whether it counts.

``kneeflags activities`` shows it (and JSON puts it in ``athletes[].activities_listed``);
it is what a runner reads before correcting the record with ``kneeflags correct``. Built
by the pipeline from the same decisions the analysis uses, so the listing and the report
can never disagree.

Columns (one row per activity, by local start):

================== ========= ==============================================================
column             dtype     meaning
================== ========= ==============================================================
activity_id        String    stable id (file content hash prefix + session index)
local_start        Datetime  start in the athlete's local time
sport              String    the sport counted (after classification and corrections)
file_sport         String    the sport the file gave
reclassified       Boolean   the classification stage changed the sport
corrected          Boolean   the sport was set by hand (journal)
distance_km        Float64   distance
duration_s         Float64   duration (timer, else elapsed)
source             String    the file (``archive.zip!member`` inside an archive)
status             String    ``kept``, ``duplicate`` (of another recording), ``copy``
                             (the same file read twice), ``excluded`` (by a correction)
duplicate_of       String    the id of the record kept instead (duplicate / copy)
duplicate_source   String    its file
reason             String    why: the dedupe reason, the left-running warning, the
                             classification note, or the correction
================== ========= ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from kneeflags.records import record

if TYPE_CHECKING:
    from kneeflags.corrections import Applied
    from kneeflags.dedupe import Resolution

LISTING_SCHEMA: dict[str, pl.DataType] = {
    "activity_id": pl.String(),
    "local_start": pl.Datetime("us"),
    "sport": pl.String(),
    "file_sport": pl.String(),
    "reclassified": pl.Boolean(),
    "corrected": pl.Boolean(),
    "distance_km": pl.Float64(),
    "duration_s": pl.Float64(),
    "source": pl.String(),
    "status": pl.String(),
    "duplicate_of": pl.String(),
    "duplicate_source": pl.String(),
    "reason": pl.String(),
}

STATUSES: tuple[str, ...] = ("kept", "duplicate", "copy", "excluded")


def empty_listing() -> pl.DataFrame:
    return pl.DataFrame(schema=LISTING_SCHEMA)


def build_listing(
    read_as: pl.DataFrame,
    counted: pl.DataFrame,
    resolution: Resolution,
    corrected: Applied,
    copies: Sequence[tuple[str, str, str]] = (),
) -> pl.DataFrame:
    """The listing of one athlete's load.

    ``read_as``: the summaries as parsed (one row per distinct activity); ``counted``: the
    same after the corrections stage (``resolution`` tokens index its rows); ``copies``:
    ``(source, first source, activity id)`` of files read twice.
    """
    if read_as.height == 0:
        return empty_listing()
    ids = counted["activity_id"].to_list()
    sources = counted["source"].to_list()
    status = {aid: "kept" for aid in ids}
    dup_of: dict[str, str] = {}
    dup_src: dict[str, str] = {}
    reason: dict[str, str] = {}
    for token, (kept, why) in resolution.dropped.items():
        status[ids[token]] = "duplicate"
        dup_of[ids[token]] = ids[kept]
        dup_src[ids[token]] = sources[kept]
        reason[ids[token]] = why
    for token, why in resolution.set_aside.items():
        reason[ids[token]] = f"{why}; {reason[ids[token]]}" if ids[token] in reason else why
    for aid in corrected.excluded:
        status[aid] = "excluded"
        reason[aid] = "excluded by a correction (kneeflags correct --exclude)"
    sport_now = dict(zip(ids, counted["sport"].to_list(), strict=True))
    base = read_as.select(
        "activity_id",
        pl.col("local_start").cast(pl.Datetime("us")),
        pl.col("sport").alias("file_sport"),
        pl.col("reclassified_from"),
        "classification",
        "distance_km",
        "duration_s",
        "source",
    )
    rows = []
    for r in base.iter_rows(named=True):
        aid = r["activity_id"]
        hand = aid in corrected.resported
        file_sport = r["reclassified_from"] or r["file_sport"]
        why = reason.get(aid)
        if why is None and hand:
            why = f"sport set by hand (was {r['file_sport']})"
        elif why is None and r["reclassified_from"]:
            why = r["classification"]
        rows.append(
            {
                "activity_id": aid,
                "local_start": r["local_start"],
                "sport": sport_now.get(aid, r["file_sport"]),
                "file_sport": file_sport,
                "reclassified": bool(r["reclassified_from"]),
                "corrected": hand,
                "distance_km": r["distance_km"],
                "duration_s": r["duration_s"],
                "source": r["source"],
                "status": status.get(aid, "excluded"),
                "duplicate_of": dup_of.get(aid),
                "duplicate_source": dup_src.get(aid),
                "reason": why,
            }
        )
    by_id = {row["activity_id"]: row for row in rows}
    for source, first, aid in copies:
        original = by_id.get(aid)
        if original is None:  # pragma: no cover - a copy's original is always listed
            continue
        rows.append(
            {
                **original,
                "source": source,
                "status": "copy",
                "duplicate_of": aid,
                "duplicate_source": first,
                "reason": f"identical copy of {first}",
            }
        )
    return pl.DataFrame(rows, schema=LISTING_SCHEMA).sort("local_start", "activity_id", "source")


@record(frozen=True)
class ListedActivity:
    """One row of the listing, for the report model and the renderers."""

    activity_id: str
    local_start: datetime | None
    sport: str
    file_sport: str
    reclassified: bool
    corrected: bool
    distance_km: float | None
    duration_s: float | None
    source: str
    status: str
    duplicate_of: str | None
    duplicate_source: str | None
    reason: str | None

    @property
    def sport_label(self) -> str:
        """``running``, ``running (reclassified from generic)``, ``walking (set by hand)``."""
        if self.corrected:
            return f"{self.sport} (set by hand, file: {self.file_sport})"
        if self.reclassified:
            return f"{self.sport} (reclassified from {self.file_sport})"
        return self.sport

    @property
    def status_label(self) -> str:
        if self.status == "kept":
            return "kept"
        if self.status == "excluded":
            return "excluded"
        what = "copy of" if self.status == "copy" else "duplicate of"
        return f"{what} {self.duplicate_of} ({self.duplicate_source})"


def listed(listing: pl.DataFrame) -> tuple[ListedActivity, ...]:
    """The listing frame as report rows."""
    return tuple(ListedActivity(**row) for row in listing.iter_rows(named=True))
