"""Stage 1: everything per-sample about one activity, reduced to one row and one histogram.

:func:`summarize` is a pure function of the canonical :class:`~kneeflags.model.Activity`
and the metrics part of the :class:`~kneeflags.config.Config`. It is the only code that
touches samples; the weekly table and the rules read its output only. That split is what
lets the parse cache (issue 5) store stage 1 as Parquet and skip the samples on a warm run:
a cached :class:`ActivitySummary` plus :func:`kneeflags.analysis.analyze` gives the same
result as re-reading the files. Bump :data:`METRICS_VERSION` whenever a number in the row or
the histogram would change for the same input.

``ActivitySummary.row`` follows :data:`ACTIVITY_SUMMARY_SCHEMA` exactly:

===================== ======================= ==============================================
column                dtype                   meaning
===================== ======================= ==============================================
activity_id           String                  :attr:`Activity.activity_id` (hash:part)
source                String                  file path (``path!member`` inside archives)
format                String                  fit / gpx / tcx
name                  String (null)           activity name from the file or Strava CSV
sport                 String                  :class:`~kneeflags.model.Sport` value
sport_detail          String                  raw sport/sub-sport as the file says
device                String (null)           manufacturer/product
start_utc             Datetime(us, UTC)       start instant
local_start           Datetime(us)            start in the athlete's wall-clock time (naive)
local_date            Date                    local calendar date: weeks are built on this
utc_offset_s          Int64                   offset used for local time, seconds
utc_offset_source     String                  fit_local_timestamp/option/config/system
distance_km           Float64                 session distance (file), else from samples
duration_s            Float64                 timer time, else elapsed, else sample span
moving_s              Float64                 time-weighted samples at ≥ 0.5 m/s (capped)
is_running            Boolean                 counts as running volume (treadmill included)
has_terrain           Boolean                 running outdoors: downhill is meaningful
is_strength           Boolean                 strength_training session
is_cross_training     Boolean                 cycling / swimming / rowing / other
has_elevation         Boolean                 a usable altitude profile exists
elevation_source      String                  barometric / gps / unknown / none (provenance)
graded_km             Float64 (null)          km with a valid grade; null = unknown terrain
downhill_km           Float64 (null)          km at grade ≤ −5 %; null = unknown, never 0
steep_km              Float64 (null)          km at grade ≤ −10 %; null = unknown
elevation_loss_m      Float64 (null)          descent, 3 m hysteresis, smoothed profile
has_cadence           Boolean                 the samples carry cadence at all
cadence_unit          String                  provenance: strides/steps/none/unknown
cadence_reason        String                  provenance: why that unit was chosen
cadence_seconds       Float64                 time-weighted running samples (cadence filter)
cadence_spm_median    Float64 (null)          time-weighted median spm of running samples
run_speed_median_mps  Float64 (null)          time-weighted median speed (0.25 m/s bin centre)
partial               Boolean                 the file was truncated (kept records only)
n_samples             Int64                   number of samples
reclassified_from     String (null)           the file's sport when :mod:`kneeflags.classify`
                                              classed the session otherwise
classification        String (null)           why (provenance note of the reclassification)
speed_work            Boolean (null)          the run held repeated fast laps or stretches
                                              (:mod:`kneeflags.metrics.speed_work`); null =
                                              not a run, or nothing to judge it by
speed_work_reason     String (null)           what showed it (FIT lap intensity, marked
                                              laps, or grade-adjusted pace structure)
===================== ======================= ==============================================

Downhill columns are computed for every activity on foot outdoors (runs, walks, hikes:
descent on foot loads the knee too, shown as information) and are null for other
sports, treadmill/indoor runs and activities without a usable altitude profile; only
runs count towards the downhill rules. ``cadence_hist`` holds running samples
(:data:`~kneeflags.metrics.cadence.CADENCE_HIST_SCHEMA`) of every activity on foot, so a
sport corrected to running later (``kneeflags correct``) has its cadence without a
re-parse; the analysis keeps the rows of running activities only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from kneeflags.classify import CLASSIFY_VERSION
from kneeflags.config import Config, ConfigError
from kneeflags.metrics.cadence import (
    CadenceHist,
    cadence_hist_arrays,
    hist_frame,
    hist_medians,
    sample_weights,
)
from kneeflags.model import Activity, Sport, epoch_seconds, safe_text
from kneeflags.records import record

if TYPE_CHECKING:  # numpy is imported where samples are read: a warm run reads none
    import numpy as np

METRICS_VERSION = f"4.{CLASSIFY_VERSION}"
"""Part of every cache key for summaries: bump when summarize() output changes.

4: speed work is read from FIT laps or pace structure (``speed_work`` columns), and files
once refused or skipped are read (issue 10: UTF-16 GPX with a BOM, long comments before the
root, a GPX namespace bound to a prefix only); their cached outcomes must go."""

ACTIVITY_SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "activity_id": pl.String(),
    "source": pl.String(),
    "format": pl.String(),
    "name": pl.String(),
    "sport": pl.String(),
    "sport_detail": pl.String(),
    "device": pl.String(),
    "start_utc": pl.Datetime("us", "UTC"),
    "local_start": pl.Datetime("us"),
    "local_date": pl.Date(),
    "utc_offset_s": pl.Int64(),
    "utc_offset_source": pl.String(),
    "distance_km": pl.Float64(),
    "duration_s": pl.Float64(),
    "moving_s": pl.Float64(),
    "is_running": pl.Boolean(),
    "has_terrain": pl.Boolean(),
    "is_strength": pl.Boolean(),
    "is_cross_training": pl.Boolean(),
    "has_elevation": pl.Boolean(),
    "elevation_source": pl.String(),
    "graded_km": pl.Float64(),
    "downhill_km": pl.Float64(),
    "steep_km": pl.Float64(),
    "elevation_loss_m": pl.Float64(),
    "has_cadence": pl.Boolean(),
    "cadence_unit": pl.String(),
    "cadence_reason": pl.String(),
    "cadence_seconds": pl.Float64(),
    "cadence_spm_median": pl.Float64(),
    "run_speed_median_mps": pl.Float64(),
    "partial": pl.Boolean(),
    "n_samples": pl.Int64(),
    "reclassified_from": pl.String(),
    "classification": pl.String(),
    "speed_work": pl.Boolean(),
    "speed_work_reason": pl.String(),
}
"""Column -> dtype of one per-activity summary row (see module docstring)."""


@record(frozen=True)
class ActivitySummary:
    """Stage-1 result for one activity: a plain row plus its cadence histogram.

    Both parts hold plain values and arrays, no polars frame: this is what a worker process
    returns per file, and frames are built once for all files by :func:`summaries_to_frames`
    (which also writes them to Parquet; :func:`summaries_from_frames` brings them back).
    """

    row: dict[str, Any]
    hist: CadenceHist

    @property
    def activity_id(self) -> str:
        return str(self.row["activity_id"])

    @property
    def cadence_hist(self) -> pl.DataFrame:
        """The histogram as :data:`~kneeflags.metrics.cadence.CADENCE_HIST_SCHEMA` rows."""
        return self.hist.frame(self.activity_id)


def _resolve_offset(activity: Activity, config: Config) -> tuple[int, str]:
    """UTC offset for local time: the file's, else the configured zone, else the system's."""
    if activity.utc_offset_s is not None:
        return int(activity.utc_offset_s), activity.utc_offset_source or "fit_local_timestamp"
    start = activity.start_utc.astimezone(UTC)
    if config.timezone:
        try:
            zone = ZoneInfo(config.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone {config.timezone!r}") from None
        off = start.astimezone(zone).utcoffset() or timedelta(0)
        return int(off.total_seconds()), "config"
    off = start.astimezone().utcoffset() or timedelta(0)
    return int(off.total_seconds()), "system"


def _column(samples: pl.DataFrame, name: str) -> np.ndarray:
    """A sample column as float64 with NaN for nulls (the canonical schema is Float64)."""
    import numpy as np

    col = samples.get_column(name)
    if col.dtype != pl.Float64:
        col = col.cast(pl.Float64)
    return col.to_numpy().astype(np.float64, copy=False)


def summarize(activity: Activity, config: Config | None = None) -> ActivitySummary:
    """Reduce one activity to its summary row and cadence histogram (pure, vectorised)."""
    import numpy as np

    # numpy modules, imported here: a warm run imports this module for its schema only
    from kneeflags.metrics.grade import compute_grade
    from kneeflags.metrics.speed_work import detect_speed_work

    config = config or Config()
    cfg = config.metrics
    samples = activity.samples
    sport = activity.sport
    n = samples.height

    ts, ts_finite = np.zeros(0), True
    if n:
        timestamps = samples.get_column("timestamp")
        ts = epoch_seconds(timestamps)
        ts_finite = not timestamps.null_count()  # every time: a (finite) number of seconds
    dist = _column(samples, "distance_m") if n else np.zeros(0)
    alt = _column(samples, "altitude_m") if n else np.zeros(0)
    speed = _column(samples, "speed_mps") if n else np.zeros(0)
    spm = _column(samples, "cadence_spm") if n else np.zeros(0)

    n_dist = int(np.count_nonzero(np.isfinite(dist)))  # positioned samples
    if n > 1 and n_dist > 1 and not np.isfinite(speed).any():
        # Speed from distance over time when the file gave none (ingest usually does this).
        with np.errstate(invalid="ignore", divide="ignore"):
            dd = np.diff(dist)
            dt = np.diff(ts)
            sp = np.where(dt > 0, dd / dt, np.nan)
        speed = np.concatenate(([sp[0]], sp))

    weights = sample_weights(ts, cfg.max_sample_weight_s)
    with np.errstate(invalid="ignore"):
        moving_s = float(weights[speed >= cfg.moving_min_speed_mps].sum()) if n else 0.0

    if activity.distance_m is not None:
        distance_km = float(activity.distance_m) / 1000.0
    elif n_dist:
        distance_km = float(np.nanmax(dist) - np.nanmin(dist)) / 1000.0
    else:
        distance_km = 0.0
    duration = activity.duration_s
    if duration is None:
        duration = float(ts[-1] - ts[0]) if n > 1 else 0.0

    # --- elevation / downhill -------------------------------------------------------
    alt_ok = np.isfinite(alt)
    n_alt = int(np.count_nonzero(alt_ok))
    has_elevation = (
        n_alt >= 2
        and n_alt >= cfg.min_altitude_coverage * max(n_dist, 1)
        # all-zero altitude is a placeholder, not sea level
        and bool(((alt if n_alt == n else alt[alt_ok]) != 0.0).any())
    )
    graded_km = downhill_km = steep_km = loss_m = None
    grade_pct: np.ndarray | None = None
    on_foot = sport.is_running or sport in (Sport.WALKING, Sport.HIKING)
    terrain = sport.has_terrain or sport in (Sport.WALKING, Sport.HIKING)
    if terrain and has_elevation:
        res = compute_grade(
            ts,
            dist,
            alt,
            barometric=activity.provenance.elevation_source == "barometric",
            cfg=cfg,
            # per-sample grade: the cadence filter (when on) and speed work (runs)
            per_sample=cfg.cadence_max_abs_grade_pct is not None or sport.is_running,
            finite=ts_finite and n_dist == n and n_alt == n,
        )
        grade_pct = res.sample_grade_pct
        if res.graded_km > 0:
            graded_km, downhill_km, steep_km = res.graded_km, res.downhill_km, res.steep_km
            loss_m = res.elevation_loss_m

    # --- cadence ---------------------------------------------------------------------
    # (nanmax(spm) > 0 once a value is finite: some value that is not NaN is above 0)
    has_cadence = bool(np.isfinite(spm).any() and (spm > 0).any()) if n else False
    hist = (
        cadence_hist_arrays(ts, speed, spm, grade_pct, cfg, weights)
        if on_foot and has_cadence
        else CadenceHist.empty()
    )
    cad_seconds = float(hist.seconds.sum()) if hist.size else 0.0
    cad_median = spd_median = None
    if hist.size:
        cad_median, speed_bin = hist_medians(hist)
        spd_median = speed_bin + cfg.speed_bin_mps / 2.0

    # --- speed work (rtr-speed-work) ---------------------------------------------------
    speed_work: bool | None = None
    speed_reason: str | None = None
    if sport.is_running and (n > 1 or activity.laps):
        speed_work, speed_reason = detect_speed_work(
            ts - activity.start_utc.timestamp(),  # laps count from the session start
            dist,
            grade_pct if sport.has_terrain else None,
            activity.laps,
            cfg,
            finite=ts_finite and n_dist == n,
        )

    offset_s, offset_src = _resolve_offset(activity, config)
    start_utc = activity.start_utc.astimezone(UTC)
    local_start = (start_utc + timedelta(seconds=offset_s)).replace(tzinfo=None)
    prov = activity.provenance
    row: dict[str, Any] = {
        "activity_id": activity.activity_id,
        "source": safe_text(str(activity.source)),
        "format": activity.format,
        "name": activity.name,
        "sport": sport.value,
        "sport_detail": activity.sport_detail,
        "device": activity.device,
        "start_utc": start_utc,
        "local_start": local_start,
        "local_date": local_start.date(),
        "utc_offset_s": offset_s,
        "utc_offset_source": offset_src,
        "distance_km": distance_km,
        "duration_s": float(duration),
        "moving_s": moving_s,
        "is_running": sport.is_running,
        "has_terrain": sport.has_terrain,
        "is_strength": sport is Sport.STRENGTH_TRAINING,
        "is_cross_training": sport.is_cross_training,
        "has_elevation": has_elevation,
        "elevation_source": prov.elevation_source,
        "graded_km": graded_km,
        "downhill_km": downhill_km,
        "steep_km": steep_km,
        "elevation_loss_m": loss_m,
        "has_cadence": has_cadence,
        "cadence_unit": prov.cadence_unit,
        "cadence_reason": prov.cadence_reason,
        "cadence_seconds": cad_seconds,
        "cadence_spm_median": cad_median,
        "run_speed_median_mps": spd_median,
        "partial": prov.partial,
        "n_samples": n,
        "reclassified_from": prov.reclassified_from,
        "classification": prov.classification or None,
        "speed_work": speed_work,
        "speed_work_reason": speed_reason,
    }
    return ActivitySummary(row=row, hist=hist)


def summaries_to_frames(
    summaries: Sequence[ActivitySummary],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(activities frame in :data:`ACTIVITY_SUMMARY_SCHEMA`, concatenated cadence histogram).

    Activity rows are ordered by start time then activity id, histogram rows by activity id
    then (speed bin, spm), so the result never depends on the order the files were read in.
    One frame construction for any number of summaries: the cost is per call, not per row.
    """
    if len(summaries) <= 1:  # one file's single activity needs no sort
        return tagged_frames(summaries, {})
    # By id, the histograms concatenate in order (each one is sorted already).
    activities, hist = tagged_frames(sorted(summaries, key=lambda s: s.activity_id), {})
    return activities.sort("start_utc", "activity_id"), hist


def tagged_frames(
    summaries: Sequence[ActivitySummary], tags: Mapping[str, pl.Series]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Summaries as frames, rows in the order given, both frames gaining one column per tag
    (one value per summary, e.g. the input file it came from).

    This is how the pipeline turns every freshly parsed file into frames in one go.
    """
    import numpy as np

    activities = pl.DataFrame(
        {name: [s.row[name] for s in summaries] for name in ACTIVITY_SUMMARY_SCHEMA},
        schema=ACTIVITY_SUMMARY_SCHEMA,
    )
    hists = [s.hist for s in summaries]
    hist = hist_frame([s.activity_id for s in summaries], hists)
    per_row = np.repeat(np.arange(len(summaries)), [h.size for h in hists])
    for name, values in tags.items():
        if values.len() != len(summaries):
            raise ValueError(f"tag {name!r} has {values.len()} values for {len(summaries)} rows")
        activities = activities.with_columns(values.alias(name))
        hist = hist.with_columns(values.gather(per_row).alias(name))
    return activities, hist


def summaries_from_frames(
    activities: pl.DataFrame, cadence_hist: pl.DataFrame
) -> list[ActivitySummary]:
    """Inverse of :func:`summaries_to_frames` (e.g. after a Parquet round trip)."""
    by_id = (
        {k[0]: g for k, g in cadence_hist.group_by("activity_id")} if cadence_hist.height else {}
    )
    out = []
    for row in activities.cast(ACTIVITY_SUMMARY_SCHEMA).iter_rows(named=True):
        rows = by_id.get(row["activity_id"])
        hist = CadenceHist.empty() if rows is None else CadenceHist.from_frame(rows)
        if isinstance(row["start_utc"], datetime) and row["start_utc"].tzinfo is None:
            row["start_utc"] = row["start_utc"].replace(tzinfo=UTC)
        out.append(ActivitySummary(row=row, hist=hist))
    return out
