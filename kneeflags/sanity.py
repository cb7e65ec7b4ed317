"""Impossible values, caught on the per-activity summaries before anything is counted.

Parsers keep what a file says; some files say things no run can be. One such activity
used to swamp every weekly figure without a word: a session-only FIT claiming 200 km in
60 minutes, a GPX whose last point is dated 9999-12-31 (4.19e9 minutes of running), a
first point from 1995 (a thirty-year "run"), a clock that went backwards (1.8 km in 0.0
min), a cadence byte of 254 (509 spm), the same session repeated 5,000 times in one file
(a 7,503 km week).

This stage runs on the summary frame (cached and fresh rows alike, so a warm run says the
same as a cold one), in a few vectorised expressions: a row that cannot be true is left out
with an error naming its file, a value that cannot be true is cleared with a warning.
It sits after parsing and caching and before copies, corrections and deduplication, so no
impossible activity can win a duplicate contest or a week.
"""

from __future__ import annotations

from dataclasses import field

import polars as pl

from kneeflags.model import Problem
from kneeflags.records import record

MAX_RUN_SPEED_KMH = 36.0
"""Average speed no run reaches over :data:`MIN_KM_FOR_SPEED` or more [eng]: the 1 km
world record averages 27 km/h, the marathon one 21 km/h. Set well above them because real
exports hold runs a little faster than possible (a GPS jump, a stretch on a bus: the NRC
corpus counts a 22 km run in 48 min, 28 km/h), which the runner's own app counted too."""

RECORD_RUN_SPEED_KMH = 24.0
"""Average speed over :data:`MIN_KM_FOR_RECORD` or more that beats the 5 km world record
(12:35, 23.8 km/h; the 10 km one averages 22.9 km/h). Below :data:`MAX_RUN_SPEED_KMH` such
a run is kept, as the runner's own app counted it, but never silently: a warning names the
file and says how to leave it out (``kneeflags correct ID --exclude``)."""

MIN_KM_FOR_RECORD = 3.0
"""Shorter runs are not compared with the world records (a GPS-shortened track segment)."""

MIN_KM_FOR_SPEED = 1.0
"""Shorter runs are not judged on their speed (a 100 m sprint averages 36 km/h)."""

MAX_DURATION_H = 168.0
"""One activity lasts at most a week [eng]: the longest mountain ultras allow 150 h. Longer
is a timestamp far from the others (9999-12-31, or a first point from 1995)."""

MAX_SPM = 250.0
"""Cadence above this is not running [eng]: distance runners stay under 220 spm and
sprinters peak near 250. A FIT cadence byte of 254 reads as 509 spm."""


@record
class Checked:
    """The summaries and cadence rows that can be true, and what was said about the rest."""

    acts: pl.DataFrame
    hist: pl.DataFrame
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check_summaries(acts: pl.DataFrame, hist: pl.DataFrame) -> Checked:
    """Leave out impossible activities, clear impossible cadence, collapse repeated sessions.

    ``acts`` follows :data:`~kneeflags.metrics.summary.ACTIVITY_SUMMARY_SCHEMA` with
    ``source`` set to the current path; ``hist`` is the cadence histogram.
    """
    out = Checked(acts, hist)
    if acts.height == 0:
        return out
    km = pl.col("distance_km").fill_null(0.0)
    secs = pl.col("duration_s")
    hours = secs / 3600.0
    too_long = secs.is_not_null() & (hours > MAX_DURATION_H)
    no_time = (km > 0.1) & (secs.is_null() | (secs <= 0.0))
    too_fast = (
        pl.col("is_running").fill_null(False)
        & (km >= MIN_KM_FOR_SPEED)
        & (secs > 0.0)
        & (km / hours > MAX_RUN_SPEED_KMH)
    )
    reason = (
        pl.when(too_long)
        .then(
            pl.format(
                "lasts {} h (over the {} h cap: a timestamp far from the others): not used",
                hours.round(0).cast(pl.Int64),
                pl.lit(f"{MAX_DURATION_H:g}"),
            )
        )
        .when(no_time)
        .then(
            pl.format(
                "{} km in 0.0 min (timestamps going backwards or missing): not used",
                km.round(2),
            )
        )
        .when(too_fast)
        .then(
            pl.format(
                "implausible for a run: {} km in {} min ({} km/h, over {} km/h): not used",
                km.round(1),
                (secs / 60.0).round(0).cast(pl.Int64),
                (km / hours).round(0).cast(pl.Int64),
                pl.lit(f"{MAX_RUN_SPEED_KMH:g}"),
            )
        )
        .otherwise(None)
        .alias("_reason")
    )
    # Repeated sessions: same file, same start, same time and distance, kept once.
    repeat = pl.int_range(pl.len()).over("source", "start_utc", "duration_s", "distance_km") > 0
    flagged = acts.with_columns(reason, repeat.alias("_repeat"))
    bad = flagged.filter(pl.col("_reason").is_not_null())
    out.errors = [Problem(src, msg) for src, msg in bad.select("source", "_reason").iter_rows()]
    kept = flagged.filter(pl.col("_reason").is_null())
    repeats = kept.filter(pl.col("_repeat")).group_by("source", maintain_order=True).len()
    out.warnings = [
        Problem(
            src,
            f"{n:,} session(s) repeat another of this file exactly (same start, time and "
            "distance): counted once",
            "warning",
        )
        for src, n in repeats.iter_rows()
    ]
    kept = kept.filter(~pl.col("_repeat"))

    # Faster than any runner, yet not impossible for a recording: kept, and said.
    hurried = kept.filter(
        pl.col("is_running").fill_null(False)
        & (km >= MIN_KM_FOR_RECORD)
        & (secs > 0.0)
        & (km / hours > RECORD_RUN_SPEED_KMH)
    )
    out.warnings += [
        Problem(
            src,
            f"{dist:.1f} km in {mins:.0f} min ({dist / mins * 60.0:.0f} km/h) is faster than "
            "the 5 km world record: a GPS jump or a stretch in a vehicle? Counted as "
            f"recorded ('kneeflags correct {aid} --exclude' leaves it out)",
            "warning",
        )
        for src, aid, dist, mins in hurried.select(
            "source", "activity_id", "distance_km", (pl.col("duration_s") / 60.0)
        ).iter_rows()
    ]

    # Cadence: a median no runner reaches means the unit or the byte is wrong.
    wild = kept.filter(pl.col("cadence_spm_median") > MAX_SPM)
    out.warnings += [
        Problem(
            src,
            f"cadence {spm:.0f} spm is impossible (over {MAX_SPM:g}): cadence not used",
            "warning",
        )
        for src, spm in wild.select("source", "cadence_spm_median").iter_rows()
    ]
    wild_ids = wild["activity_id"]
    kept = kept.with_columns(
        pl.when(pl.col("cadence_spm_median") > MAX_SPM)
        .then(None)
        .otherwise(pl.col("cadence_spm_median"))
        .alias("cadence_spm_median")
    ).drop("_reason", "_repeat")
    if hist.height:
        hist = hist.filter(
            pl.col("activity_id").is_in(kept["activity_id"].implode())
            & ~(pl.col("activity_id").is_in(wild_ids.implode()) & (pl.col("spm") > MAX_SPM))
        )
    out.acts, out.hist = kept, hist
    return out


__all__ = [
    "MAX_DURATION_H",
    "MAX_RUN_SPEED_KMH",
    "MAX_SPM",
    "RECORD_RUN_SPEED_KMH",
    "Checked",
    "check_summaries",
]
