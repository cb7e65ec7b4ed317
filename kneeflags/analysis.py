"""``analyze``: canonical activities (or cached summaries) in, :class:`Analysis` out.

The notebook entry point and what the CLI pipeline calls::

    import kneeflags
    loaded = kneeflags.load(["~/runs/"], tz="Europe/London")
    analysis = kneeflags.analyze(loaded.activities)
    analysis.weekly        # polars, one row per local week
    analysis.flags         # sorted, high first

Two stages: :func:`kneeflags.metrics.summary.summarize` per activity (cacheable), then the
weekly table, the rules and the athlete-level notes from the summaries alone. Passing
``summaries=`` (e.g. from the parse cache) skips stage 1 for those activities; the result is
the same as passing the activities.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date

import polars as pl

from kneeflags.config import Config
from kneeflags.findings import Analysis
from kneeflags.metrics.cadence import CADENCE_HIST_SCHEMA, empty_hist
from kneeflags.metrics.summary import (
    ACTIVITY_SUMMARY_SCHEMA,
    ActivitySummary,
    summaries_to_frames,
    summarize,
)
from kneeflags.metrics.weekly import weekly_table
from kneeflags.model import Activity, plural
from kneeflags.rules.engine import evaluate, run_label
from kneeflags.sanity import check_summaries


def analyze(
    activities: Sequence[Activity] | None = None,
    config: Config | None = None,
    *,
    summaries: Sequence[ActivitySummary] | None = None,
    athlete: str = "athlete",
    timezone: str = "",
) -> Analysis:
    """Weekly table, flags and per-activity summaries for one athlete.

    ``activities`` and ``summaries`` may both be given (e.g. fresh files plus cache hits);
    an activity id present in both is counted once. Input order never matters.
    ``timezone`` only labels the report (local time itself comes from each activity's
    UTC offset, resolved at ingest).
    """
    config = config or Config()
    by_id: dict[str, ActivitySummary] = {}
    for s in summaries or ():
        by_id.setdefault(s.activity_id, s)
    for a in activities or ():
        if a.activity_id not in by_id:
            by_id[a.activity_id] = summarize(a, config)
    acts, hist = summaries_to_frames(list(by_id.values()))
    # The command line's sanity stage (kneeflags.sanity): impossible values never count
    # here either; what it left out or cleared is said in the notes (no problem list here).
    checked = check_summaries(acts, hist)
    analysis = analyze_frames(
        checked.acts, checked.hist, config, athlete=athlete, timezone=timezone
    )
    said = [f"{p.path}: {p.message}" for p in checked.errors + checked.warnings]
    analysis.notes.extend(said)
    analysis.run_notes.extend(said)  # kept when a report cuts the analysis to its window
    return analysis


def analyze_frames(
    activities: pl.DataFrame,
    cadence_hist: pl.DataFrame,
    config: Config | None = None,
    *,
    athlete: str = "athlete",
    timezone: str = "",
) -> Analysis:
    """Stage 2 on stage-1 frames (``ACTIVITY_SUMMARY_SCHEMA`` rows + cadence histogram).

    What the pipeline calls with cached frames: no per-activity Python objects are
    built, so a warm run over thousands of files stays a handful of frame operations.
    Activity ids must be unique; rows are re-sorted, so input order never matters.
    """
    config = config or Config()
    acts = (
        activities.select(list(ACTIVITY_SUMMARY_SCHEMA))
        .cast(ACTIVITY_SUMMARY_SCHEMA)  # type: ignore[arg-type]
        .sort("start_utc", "activity_id")
    )
    hist = (
        cadence_hist.select(list(CADENCE_HIST_SCHEMA))
        .cast(CADENCE_HIST_SCHEMA)  # type: ignore[arg-type]
        .sort("activity_id", "speed_bin", "spm")
        if cadence_hist.height
        else empty_hist()
    )
    # Histograms exist for every activity on foot (a sport corrected to running keeps its
    # cadence); only running activities' rows are running cadence.
    if hist.height:
        hist = hist.filter(
            pl.col("activity_id").is_in(
                acts.filter(pl.col("is_running"))["activity_id"].unique().to_list()
            )
        )
    weekly = weekly_table(acts, hist, config)
    flags = evaluate(weekly, acts, hist, config)
    return Analysis(
        athlete=athlete,
        timezone=timezone or config.timezone or "local time (system)",
        weekly=weekly,
        activities=acts,
        flags=flags,
        cadence_hist=hist,
        notes=athlete_notes(acts),
    )


def reclassification_notes(acts: pl.DataFrame) -> list[str]:
    """How many sessions the classification stage classed otherwise than their label."""
    if "reclassified_from" not in acts.columns:
        return []
    re = acts.filter(pl.col("reclassified_from").is_not_null())
    if re.height == 0:
        return []
    counts = re.group_by("reclassified_from", "sport").len().sort("reclassified_from", "sport")
    parts = [f"{n} {frm} → {to}" for frm, to, n in counts.iter_rows()]
    what = "session was" if re.height == 1 else "sessions were"
    return [
        f"{re.height} {what} reclassified by pace, cadence and duration ({', '.join(parts)}); "
        "`kneeflags activities` lists them and `kneeflags correct` overrides."
    ]


def analysis_up_to(analysis: Analysis, last_day: date, config: Config | None = None) -> Analysis:
    """The analysis as it would have been with the data up to ``last_day`` (local date).

    A report about week W must not change when later files arrive: rules, baselines,
    strength detection and notes see nothing after W. When no activity is later than
    ``last_day`` the analysis is returned as it is; otherwise stage 2 is rerun on the
    earlier summaries (frame operations only, no file is read again).
    """
    acts = analysis.activities
    if acts.height == 0 or "local_date" not in acts.columns:
        return analysis
    later = acts.get_column("local_date").max()
    if not isinstance(later, date) or later <= last_day:
        return analysis
    kept = acts.filter(pl.col("local_date") <= last_day)
    hist = analysis.cadence_hist
    if hist.height and "activity_id" in hist.columns:
        hist = hist.filter(pl.col("activity_id").is_in(kept.get_column("activity_id").implode()))
    if not set(ACTIVITY_SUMMARY_SCHEMA) <= set(acts.columns):
        # a hand-made analysis (not stage-1 frames): cut it, it cannot be recomputed
        weekly = analysis.weekly
        if weekly.height and "week_start" in weekly.columns:
            weekly = weekly.filter(pl.col("week_start") <= last_day)
        return Analysis(
            athlete=analysis.athlete,
            timezone=analysis.timezone,
            weekly=weekly,
            activities=kept,
            flags=[f for f in analysis.flags if f.week_start is None or f.week_start <= last_day],
            cadence_hist=hist,
            notes=list(analysis.notes),
            run_notes=list(analysis.run_notes),
        )
    cut = analyze_frames(kept, hist, config, athlete=analysis.athlete, timezone=analysis.timezone)
    cut.notes.extend(analysis.run_notes)
    cut.run_notes.extend(analysis.run_notes)
    return cut


NAMED_RUNS = 3
"""How many runs a note names before it says "and N more"."""

OFFSET_SOURCE_WORDS: dict[str, str] = {
    "option": "the time zone given with --tz",
    "config": "the config file's time zone",
    "system": "this machine's time zone",
}


def _named(runs: pl.DataFrame) -> str:
    """``Tue 3 Nov 2026, 5.0 km (run.gpx); ... and 4 more``: which runs a note means."""
    rows = runs.sort("start_utc", "activity_id").head(NAMED_RUNS)
    names = [
        f"{run_label(r['local_start'], r['distance_km'] or 0.0)} "
        f"({os.path.basename(str(r['source']).split('!')[-1])})"
        for r in rows.select("local_start", "distance_km", "source").iter_rows(named=True)
    ]
    more = runs.height - len(names)
    return "; ".join(names) + (f" and {more} more" if more > 0 else "")


def athlete_notes(acts: pl.DataFrame) -> list[str]:
    """Caveats that change how the numbers should be read (one line each).

    A caveat about some runs names them (the first :data:`NAMED_RUNS`, then "and N
    more"), so the reader can tell which recordings lack what.
    """
    notes: list[str] = []
    if acts.height == 0:
        return ["No activities were found, so there is nothing to analyse."]
    notes.extend(reclassification_notes(acts))
    runs = acts.filter(pl.col("is_running"))
    n = runs.height
    if n == 0:
        notes.append("No runs were found: running volume, downhill and cadence are empty.")
        return notes

    no_cad = runs.filter(~pl.col("has_cadence"))
    if no_cad.height == n:
        notes.append("No run has cadence data, so the cadence rules could not be checked.")
    elif no_cad.height:
        verb = "has" if no_cad.height == 1 else "have"
        notes.append(
            f"{no_cad.height} of {plural(n, 'run')} {verb} no cadence data "
            f"({_named(no_cad)}); cadence figures use the other runs."
        )
    unknown_unit = runs.filter(pl.col("has_cadence") & (pl.col("cadence_unit") == "unknown"))
    if unknown_unit.height:
        verb = "has" if unknown_unit.height == 1 else "have"
        notes.append(
            f"{plural(unknown_unit.height, 'run')} {verb} cadence in an undetermined unit "
            f"(strides or steps): {_named(unknown_unit)}."
        )
    indoor = runs.filter(~pl.col("has_terrain")).height
    if indoor:
        notes.append(
            f"{indoor} treadmill/indoor "
            + ("runs count as volume but are" if indoor != 1 else "run counts as volume but is")
            + " excluded from downhill figures."
        )
    outdoor = runs.filter(pl.col("has_terrain"))
    no_ele = outdoor.filter(pl.col("graded_km").is_null())
    if no_ele.height and no_ele.height == outdoor.height:
        notes.append(
            "No outdoor run has usable elevation data, so downhill share is unknown "
            "(not zero) and the downhill rules could not be checked."
        )
    elif no_ele.height:
        notes.append(
            f"{plural(no_ele.height, 'outdoor run')} without usable elevation data "
            f"({_named(no_ele)}): downhill share is unknown for "
            f"{'it' if no_ele.height == 1 else 'them'}, not zero."
        )
    partial = int(acts["partial"].sum())
    if partial:
        notes.append(
            f"{plural(partial, 'activity', 'activities')} came from truncated files; "
            "the records before the break were used."
        )
    for source, words in OFFSET_SOURCE_WORDS.items():
        guessed = acts.filter(pl.col("utc_offset_source") == source).height
        if guessed:
            verb = "carries" if guessed == 1 else "carry"
            notes.append(
                f"{plural(guessed, 'activity', 'activities')} {verb} no UTC offset in the "
                f"file; {'its' if guessed == 1 else 'their'} local week comes from {words}."
            )
    return notes
