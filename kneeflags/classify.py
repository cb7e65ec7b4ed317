"""Classification stage: each session classed by what was done, not only by its label.

Runs right after parsing, on canonical :class:`~kneeflags.model.Activity` objects, before
anything is summarised (so a reclassified run gets its cadence histogram and downhill
figures like any other run, and the parse cache stores the result). Two cases, both with a
provenance note on the activity (``Provenance.reclassified_from`` + ``classification``):

* **Unlabelled FIT sessions** (``sport = generic``, or no sport at all) are classed from
  what the samples show: median moving speed, the 95th percentile of speed (a bike's
  descents give it away), cadence in steps/min when there is any, duration and descent.

  ========== =====================================================================
  class      when
  ========== =====================================================================
  running    median moving speed 1.9–5.5 m/s (≈ 8:45 to 3:00 /km), p95 speed
             ≤ 7 m/s, cadence (if recorded) 140–220 spm, ≥ 60 s and ≥ 200 m
  hiking     median moving speed < 1.9 m/s, cadence (if any) < 140 spm, and at
             least 90 minutes with ≥ 200 m of descent (multi-hour mountain outings)
  walking    the same walking pace without the hours and the descent
  (kept)     anything else (faster: a bike or a car; no samples and no distance)
  ========== =====================================================================

  A session without samples (a session-only FIT) is classed on distance ÷ time alone,
  and only as a run (the same pace band); nothing else can be told from one number.
  The x3cl corpus history's FR910XT ``generic`` evening sessions (≈ 4.3 km at
  6:00–6:15 /km, no footpod) are the real-world case.

* **Tiny "runs"**: a session labelled running that lasts under :data:`TINY_RUN_S`, or
  covers under :data:`TINY_RUN_M` in under :data:`TINY_RUN_MAX_S`, is a watch started by
  mistake, not a run: it is classed ``other`` (so it is neither running volume nor a
  longest-run baseline) and the note says why.

The thresholds are engineering defaults [eng]: walk-to-run transition ≈ 2 m/s and
≈ 140 spm (evidence.md §3, cadence filter), running faster than 5.5 m/s for a whole
unlabelled session is rare, and bicycles exceed 7 m/s on any descent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import polars as pl

from kneeflags.model import Activity, Sport, epoch_seconds
from kneeflags.records import record

if TYPE_CHECKING:  # numpy is imported where samples are read: a warm run reads none
    import numpy as np

CLASSIFY_VERSION = "1"
"""Part of the summaries' cache key: bump when a decision below changes."""

RUN_SPEED_MPS = (1.9, 5.5)
RUN_MAX_P95_SPEED_MPS = 7.0
RUN_CADENCE_SPM = (140.0, 220.0)
RUN_MIN_S = 60.0
RUN_MIN_M = 200.0
WALK_MIN_SPEED_MPS = 0.3
HIKE_MIN_S = 90 * 60.0
HIKE_MIN_DESCENT_M = 200.0
MOVING_MPS = 0.5
"""Samples slower than this are standing still and say nothing about the pace."""

TINY_RUN_S = 60.0
TINY_RUN_M = 100.0
TINY_RUN_MAX_S = 600.0

DESCENT_HYSTERESIS_M = 5.0
"""Altitude must fall this much below the last high before it counts as descent."""


@record(frozen=True)
class Features:
    """What the classifier looks at, for one session."""

    moving_speed_mps: float | None
    p95_speed_mps: float | None
    cadence_spm: float | None
    duration_s: float
    distance_m: float | None
    descent_m: float
    n_samples: int


def _is_unlabelled(act: Activity) -> bool:
    """FIT sessions whose sport says nothing: ``generic`` or absent (``unknown``)."""
    if act.format != "fit" or act.sport is not Sport.OTHER:
        return False
    return act.sport_detail.startswith(("generic/", "unknown/")) or not act.sport_detail


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float | None:
    import numpy as np

    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return None
    v, w = values[ok], weights[ok]
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, cum[-1] / 2.0)])


def descent_m(altitude: np.ndarray, hysteresis: float = DESCENT_HYSTERESIS_M) -> float:
    """Total descent with a hysteresis band, so GPS jitter on the flat adds nothing.

    A vectorised pass would need a scan; this runs once per *unlabelled* session only
    (a handful per history), so a plain loop over the altitude turning points is cheap:
    the profile is first reduced to the points where the direction changes.
    """
    import numpy as np

    alt = altitude[np.isfinite(altitude)]
    if alt.size < 2:
        return 0.0
    d = np.diff(alt)
    keep = np.concatenate(([True], np.sign(d[1:]) != np.sign(d[:-1]), [True]))
    pts = alt[keep]
    total = 0.0
    high = low = float(pts[0])
    falling = False
    for x in pts[1:]:
        x = float(x)
        if falling:
            if x < low:
                low = x
            elif x - low >= hysteresis:
                total += high - low
                falling, high = False, x
        else:
            if x > high:
                high = x
            elif high - x >= hysteresis:
                falling, low = True, x
    if falling:
        total += high - low
    return total


def _floats(col: pl.Series) -> np.ndarray:
    """``col.cast(pl.Float64).fill_null(np.nan).to_numpy()``; a Float64 column (the
    canonical schema) without the two polars queries: its nulls come out as NaN."""
    import numpy as np

    if col.dtype == pl.Float64:
        return col.to_numpy()
    return col.cast(pl.Float64).fill_null(np.nan).to_numpy()


def _extent(act: Activity) -> tuple[float, float | None]:
    """Duration and distance of one session (what :func:`tiny_run` reads)."""
    s = act.samples
    duration = float(act.duration_s or act.elapsed_s or 0.0)
    if s.height and not duration:
        duration = float(s["elapsed_s"].max() or 0.0)
    distance = act.distance_m
    if distance is None and s.height:
        d = s["distance_m"].drop_nulls()
        distance = float(d.max() - d.min()) if d.len() else None  # type: ignore[operator]
    return duration, distance


def features(act: Activity) -> Features:
    """Pace, cadence (steps/min), duration, distance and descent of one session."""
    import numpy as np

    s = act.samples
    duration, distance = _extent(act)
    if s.height < 2:
        speed = (distance / duration) if distance and duration > 0 else None
        return Features(speed, None, None, duration, distance, 0.0, s.height)
    ts = epoch_seconds(s["timestamp"])
    w = np.concatenate(([0.0], np.clip(np.diff(ts), 0.0, 10.0)))
    v = _floats(s["speed_mps"])
    moving = np.isfinite(v) & (v >= MOVING_MPS)
    mv = _weighted_median(v[moving], w[moving]) if moving.any() else None
    p95 = float(np.percentile(v[moving], 95)) if moving.any() else None
    cad = _floats(s["cadence_spm"])
    if act.provenance.cadence_unit in ("none", "unknown") and act.format == "fit":
        cad = cad * 2.0  # FIT keeps raw strides/min for a sport it does not know
    cm = moving & np.isfinite(cad) & (cad > 0)
    cadence = _weighted_median(cad[cm], w[cm]) if cm.sum() >= 10 else None
    alt = _floats(s["altitude_m"])
    return Features(mv, p95, cadence, duration, distance, descent_m(alt), s.height)


def _fmt_pace(speed: float) -> str:
    sec = 1000.0 / speed
    return f"{int(sec // 60)}:{round(sec % 60):02d} /km"


def decide(act: Activity, f: Features) -> tuple[Sport, str] | None:
    """The class of an unlabelled session and why, or ``None`` to keep its label."""
    v = f.moving_speed_mps
    if v is None:
        return None
    lo, hi = RUN_SPEED_MPS
    cad = f.cadence_spm
    avg = (f.distance_m / f.duration_s) if f.distance_m and f.duration_s > 0 else None
    evidence = (f"pace {_fmt_pace(avg)}, " if avg else "") + f"median moving {_fmt_pace(v)}"
    evidence += f", cadence {cad:.0f} spm" if cad is not None else ", no cadence"
    evidence += f", {f.duration_s / 60:.0f} min"
    if f.n_samples < 2:
        if lo <= v <= hi and f.duration_s >= RUN_MIN_S and (f.distance_m or 0) >= RUN_MIN_M:
            return Sport.RUNNING, f"{act.sport_detail} session classed as running ({evidence})"
        return None
    run_cadence = cad is None or RUN_CADENCE_SPM[0] <= cad <= RUN_CADENCE_SPM[1]
    if (
        lo <= v <= hi
        and (f.p95_speed_mps or 0.0) <= RUN_MAX_P95_SPEED_MPS
        and run_cadence
        and f.duration_s >= RUN_MIN_S
        and (f.distance_m or 0.0) >= RUN_MIN_M
    ):
        return Sport.RUNNING, f"{act.sport_detail} session classed as running ({evidence})"
    if WALK_MIN_SPEED_MPS <= v < lo and (cad is None or cad < RUN_CADENCE_SPM[0]):
        if f.duration_s >= HIKE_MIN_S and f.descent_m >= HIKE_MIN_DESCENT_M:
            return Sport.HIKING, (
                f"{act.sport_detail} session classed as hiking "
                f"({evidence}, {f.descent_m:.0f} m of descent)"
            )
        return Sport.WALKING, f"{act.sport_detail} session classed as walking ({evidence})"
    return None


def tiny_run(act: Activity, f: Features) -> str | None:
    """Why a session labelled running is too small to be one, or ``None``."""
    if not act.sport.is_running:
        return None
    dist = f.distance_m
    short = f.duration_s < TINY_RUN_S
    tiny = dist is not None and dist < TINY_RUN_M and f.duration_s < TINY_RUN_MAX_S
    if not (short or tiny):
        return None
    what = f"{f.duration_s:.0f} s" + (f", {dist:.0f} m" if dist is not None else "")
    return f"{act.sport.value} session of {what} is too short to be a run: classed as other"


def classify(act: Activity) -> Activity:
    """``act`` itself, or a copy with the sport it was classed as and a provenance note."""
    unlabelled = _is_unlabelled(act)
    if not unlabelled and not act.sport.is_running:
        return act
    if unlabelled:
        verdict = decide(act, features(act))
    else:
        # A labelled run is only checked for being too small, which needs its duration and
        # distance alone: the medians, percentiles and descent of features() went unused
        # (a fifth of each FIT file's cost).
        duration, distance = _extent(act)
        extent = Features(None, None, None, duration, distance, 0.0, act.samples.height)
        why = tiny_run(act, extent)
        verdict = (Sport.OTHER, why) if why else None
    if verdict is None:
        return act
    sport, why = verdict
    prov = act.provenance
    new_prov = type(prov)(
        cadence_unit=prov.cadence_unit,
        cadence_reason=prov.cadence_reason,
        elevation_source=prov.elevation_source,
        distance_source=prov.distance_source,
        partial=prov.partial,
        decoder=prov.decoder,
        notes=[*prov.notes, why],
        reclassified_from=(act.sport_detail.split("/")[0] or "unknown")
        if unlabelled
        else act.sport.value,
        classification=why,
    )
    samples = act.samples
    on_foot = sport in (Sport.RUNNING, Sport.WALKING, Sport.HIKING)
    cad = samples["cadence_spm"]
    if (
        on_foot
        and act.format == "fit"
        and prov.cadence_unit in ("none", "unknown")
        and cad.null_count() < samples.height
    ):
        # The builder kept raw values for a sport it did not know; on foot, FIT cadence
        # is strides/min.
        samples = samples.with_columns(pl.col("cadence_spm") * 2.0)
        new_prov.cadence_unit = "strides"
        new_prov.cadence_reason = (
            "FIT record cadence is strides/min: spm = 2 x (cadence + fractional_cadence)"
        )
    return act.replace(sport=sport, samples=samples, provenance=new_prov)


def classify_all(activities: Iterable[Activity]) -> list[Activity]:
    """:func:`classify` over a parse result's activities (order kept)."""
    return [classify(a) for a in activities]


__all__ = [
    "CLASSIFY_VERSION",
    "Features",
    "classify",
    "classify_all",
    "decide",
    "descent_m",
    "features",
    "tiny_run",
]
