"""Speed work in one run: what ``rtr-speed-work`` checks during a return to running.

The guide brings speed work back last after knee pain, so a return needs to know whether a
run held intervals. Two sources, in this order:

1. **FIT laps, where the watch wrote them.** A structured workout writes its repeats as
   ``active`` (or ``interval``) laps between ``rest``/``recovery`` laps: that is speed work
   by the watch's own account (every lap labelled ``interval`` with no recovery between is
   not: some watches label a steady run that way). Without intensities, laps the runner
   marked with the lap button (``manual`` trigger; auto-laps by distance or time say
   nothing) that are short and much faster than the run's median lap are repeats too.
   Lap speeds are grade-adjusted like the pace below.
2. **Pace structure, else.** The speed over a :attr:`~MetricsConfig.speed_smooth_s` window
   on a 1 s grid, *grade-adjusted* (a slow climb is not a recovery), compared with the
   run's median grade-adjusted speed: at least :attr:`~MetricsConfig.speed_min_repeats`
   separate stretches of at least :attr:`~MetricsConfig.speed_segment_min_s` that are
   :attr:`~MetricsConfig.speed_fast_pct` % faster, each starting within
   :attr:`~MetricsConfig.speed_recovery_max_s` of the previous one's end (repeats come in a
   block with recoveries between them). One fast stretch (a tempo finish, a race to the
   bus) is not *repeated* fast segments, and neither are surges scattered over hours. The
   median is taken over samples at running speed, so the walking breaks of a run-walk do
   not make its runs look fast. Stretches on a descent (below :data:`DESCENT_GRADE_PCT`),
   across a recording gap, or faster than :data:`MAX_PLAUSIBLE_MPS` (a GPS jump) are never
   fast: on the corpus's mountain and ultra histories that is what keeps hills from being
   read as intervals (30 of 162 x3cl runs without it, 2 glitchy files with it).

Grade adjustment: an empirical grade-adjusted-pace curve, relative effort
``1 + 0.0294·g + 0.0018·g²`` for a grade ``g`` in % (from −8.2 %, its cheapest point at
about 0.88 of flat, up to +25 %), a fit of the shape of the published running-economy-by-
grade curves (+10 % costs about 1.47 of flat). [eng] It only has to stop hills being read
as intervals, not to predict a race time.

Runs without samples and without laps cannot be judged: ``None``, never ``False`` (the
summary also leaves it null for every sport that is not running).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kneeflags.config import MetricsConfig
from kneeflags.metrics.grade import all_finite, running_max
from kneeflags.model import Lap

REST_INTENSITIES = frozenset({"rest", "recovery"})
FAST_INTENSITIES = frozenset({"active", "interval"})
MARKED_TRIGGERS = frozenset({"manual"})
"""Laps the runner marked with the lap button. Auto-laps (``distance``, ``time``,
``position_*``) cut every run into equal pieces and say nothing about its structure."""
MAX_GRADE_PCT = 25.0
EASIEST_GRADE_PCT = -8.2
"""Where the effort curve is lowest; steeper descents are not counted as harder (runners
brake on them, and GPS grades there are the least reliable)."""
DESCENT_GRADE_PCT = -2.0
"""A fast stretch on a descent steeper than this is the hill, not a repeat: the grade from
a GPS profile is too rough to say how much of the speed the slope gave. [eng]"""
MAX_SPAN_S = 48 * 3600.0
"""Longer recordings are not read for pace structure (an ultra is no interval session,
and a corrupt time stamp must not build a grid of a hundred million seconds)."""
MAX_PLAUSIBLE_MPS = 7.5
"""Faster than this over the smoothing window is a GPS jump, never a repeat."""


def grade_effort(grade_pct: np.ndarray) -> np.ndarray:
    """Relative effort of running at ``grade_pct`` (flat = 1; NaN grade counts as flat)."""
    # NaN is flat; an infinity lands on the clip's bounds as through np.nan_to_num (slower)
    return _effort(np.where(np.isnan(grade_pct), 0.0, grade_pct))


def _effort(grade_pct: np.ndarray) -> np.ndarray:
    """:func:`grade_effort` of grades without NaN: ``1 + 0.0294·g + 0.0018·g²``, evaluated
    in that order, in place in two buffers (the same roundings as the expression)."""
    g = np.clip(grade_pct, EASIEST_GRADE_PCT, MAX_GRADE_PCT)
    out = np.multiply(g, 0.0294)
    out += 1.0
    sq = np.multiply(g, 0.0018)
    sq *= g
    out += sq
    return out


def _median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a 1-D float64 array, to the bit, in a few calls.

    The same partition (the middle index or two, and the last one to see a NaN) and the
    same mean of the middle pair (their sum, halved), without ``np.median``'s generic
    machinery, which costs more than the partition on a run's few thousand seconds.
    """
    n = values.size
    if n == 0:
        return float(np.median(values))
    mid = n // 2
    lo = mid if n % 2 else mid - 1
    part = np.partition(values, (lo, mid, -1) if lo < mid else (mid, -1))
    res = part[lo : mid + 1].sum() / (mid + 1 - lo)  # np.mean's sum (-0.0 + 0.0 is 0.0)
    if np.isnan(part[-1]):
        return float(part[-1])
    return float(res)


def _window_speed(d: np.ndarray, half: int) -> np.ndarray:
    """Speed over ``±half`` seconds of a 1 s distance grid, the window cut at the ends:
    ``(d[min(i + half, n - 1)] - d[max(i - half, 0)]) / max(width, 1)``.

    The interior divides by the whole width (one slice); the ``2·half`` end points take
    their own widths. Same operands, same divisors as building the shifted and padded
    arrays and a width per point (which the short-run fallback still does).
    """
    n = d.size
    if n <= 2 * half:
        ahead = np.concatenate((d[half:], np.full(half, d[-1])))
        behind = np.concatenate((np.full(half, d[0]), d[:-half]))
        width = np.minimum(np.arange(n) + half, n - 1) - np.maximum(np.arange(n) - half, 0)
        return (ahead - behind) / np.maximum(width, 1)
    speed = np.empty(n, dtype=np.float64)
    np.divide(d[2 * half :] - d[: n - 2 * half], 2 * half, out=speed[half : n - half])
    ends = np.arange(half, 2 * half)  # widths of the first points; the last mirror them
    np.divide(d[half : 2 * half] - d[0], ends, out=speed[:half])
    np.divide(d[-1] - d[n - 2 * half : n - half], ends[::-1], out=speed[n - half :])
    return speed


def _from_intensity(laps: Sequence[Lap], cfg: MetricsConfig) -> str | None:
    """``N fast laps between recovery laps (FIT lap intensity)``, or ``None``."""
    kinds = [lap.intensity for lap in laps]
    if not any(k in REST_INTENSITIES for k in kinds):
        # no recoveries: some watches write every lap of an easy run as "interval"
        return None
    fast = 0
    for i, k in enumerate(kinds):
        if k not in FAST_INTENSITIES:
            continue
        prev = kinds[i - 1] if i > 0 else None
        nxt = kinds[i + 1] if i + 1 < len(kinds) else None
        if prev in REST_INTENSITIES or nxt in REST_INTENSITIES:
            fast += 1
    if fast >= cfg.speed_min_repeats:
        return f"{fast} fast laps between recovery laps (FIT lap intensity)"
    return None


def _from_marked_laps(
    laps: Sequence[Lap], t: np.ndarray, effort: np.ndarray | None, cfg: MetricsConfig
) -> str | None:
    """``N fast laps of M laps marked by hand, …% over the median lap``, or ``None``."""
    speeds: list[float] = []
    durations: list[float] = []
    # Conformed samples are in time order: each lap's samples are one slice, found by
    # bisection (a mask over every sample per lap made laps x samples work).
    ordered = effort is not None and t.size > 0 and bool(np.all(t[1:] >= t[:-1]))
    for lap in laps:
        if not lap.elapsed_s or not lap.distance_m or lap.elapsed_s <= 0 or lap.distance_m <= 0:
            continue
        v = lap.distance_m / lap.elapsed_s
        if effort is not None and t.size:
            end = lap.start_s + lap.elapsed_s
            if ordered:
                a, b = np.searchsorted(t, (lap.start_s, end), side="left")
                inside = effort[a:b]
            else:
                inside = effort[(t >= lap.start_s) & (t < end)]
            if inside.size:
                v *= float(np.mean(inside))
        speeds.append(v)
        durations.append(lap.elapsed_s)
    if len(speeds) < cfg.speed_min_repeats + 1:
        return None
    median = float(np.median(speeds))
    limit = median * (1.0 + cfg.speed_fast_pct / 100.0)
    fast = [
        v
        for v, d in zip(speeds, durations, strict=True)
        if v >= limit and cfg.speed_segment_min_s <= d <= cfg.speed_lap_max_s
    ]
    if len(fast) < cfg.speed_min_repeats:
        return None
    over = (float(np.median(fast)) / median - 1.0) * 100.0
    return (
        f"{len(fast)} fast laps of {len(speeds)} laps marked by hand, {over:.0f} % over the "
        "median lap (FIT lap triggers)"
    )


def _from_pace(
    t: np.ndarray,
    dist: np.ndarray,
    grade_pct: np.ndarray | None,
    cfg: MetricsConfig,
    finite: bool = False,
) -> tuple[bool | None, str | None]:
    if t.size and (finite or all_finite(t, dist)):
        ok = None
    else:
        ok = (np.isfinite(t) & np.isfinite(dist)).nonzero()[0]
        if ok.size < 2:
            return None, None
        t, dist = t[ok], dist[ok]
        if grade_pct is not None:
            grade_pct = grade_pct[ok]
    if t.size < 2:
        return None, None
    dist = running_max(dist)
    span = float(t[-1] - t[0])
    if span < cfg.speed_segment_min_s * cfg.speed_min_repeats:
        return False, None
    if span > MAX_SPAN_S:
        # the 1 s grid must stay small: a damaged timestamp can make a "run" span years
        return False, None
    grid = np.arange(t[0], t[-1] + 0.5, 1.0)
    # A run recorded every second without a pause is its own grid: np.interp returns a
    # sample's value at its own time exactly, so the interpolations and the search below
    # would give the samples back (0.15 ms of a one-hour run's 0.5 ms here).
    on_grid = grid.size == t.size and bool((grid == t).all())
    d = dist if on_grid else np.interp(grid, t, dist)
    # seconds bridging a recording gap (auto-pause, lost signal) are interpolated: unknown
    if on_grid:  # grid[i] is t[i]: the search below finds interval min(i, n - 2)
        known = np.empty(t.size, dtype=bool)
        np.less_equal(t[1:] - t[:-1], cfg.segment_gap_s, out=known[:-1])
        known[-1] = known[-2]
    else:
        idx = np.searchsorted(t, grid, side="right")
        np.maximum(idx, 1, out=idx)  # np.clip(idx, 1, n - 1): its wrapper costs more on ints
        np.minimum(idx, t.size - 1, out=idx)
        known = (t[idx] - t[idx - 1]) <= cfg.segment_gap_s
    half = max(1, round(cfg.speed_smooth_s / 2.0))
    speed = _window_speed(d, half)
    adjusted = False
    if grade_pct is not None:
        finite = np.isfinite(grade_pct)
        n_finite = int(np.count_nonzero(finite))
        adjusted = n_finite > 0
    if adjusted:
        clean = True  # no NaN in g: the effort needs no NaN-as-flat pass
        if n_finite == finite.size:
            g = grade_pct
        elif n_finite + int(np.count_nonzero(np.isnan(grade_pct))) == finite.size:
            g = np.where(finite, grade_pct, 0.0)  # np.nan_to_num's NaN -> 0, no infinity
        else:
            g = np.nan_to_num(grade_pct, nan=0.0)  # type: ignore[arg-type]
            clean = False
        if not on_grid:
            g = np.interp(grid, t, g)
            clean = False  # interpolating huge grades could overflow into a NaN
        gap = speed * (_effort(g) if clean else grade_effort(g))
        # a fast stretch downhill is the hill, not an interval
        not_downhill: np.ndarray | None = g > DESCENT_GRADE_PCT
    else:
        gap = speed
        not_downhill = None
    plausible = known & (speed <= MAX_PLAUSIBLE_MPS)
    running = plausible & (speed >= cfg.run_min_speed_mps)
    if np.count_nonzero(running) < cfg.speed_segment_min_s:
        return False, None
    median = _median(gap[running])
    fast = plausible & (gap >= median * (1.0 + cfg.speed_fast_pct / 100.0))
    if not_downhill is not None:
        fast &= not_downhill
    # maximal stretches of fast seconds: where the padded run changes, rises and falls
    # alternate (it starts and ends at "not fast")
    padded = np.zeros(fast.size + 2, dtype=bool)
    padded[1:-1] = fast
    change = (padded[1:] != padded[:-1]).nonzero()[0]
    starts, ends = change[0::2], change[1::2]
    long_enough = (ends - starts) >= cfg.speed_segment_min_s
    starts_l, ends_l = starts[long_enough].tolist(), ends[long_enough].tolist()
    # Repeats come in a block: each within a recovery's length of the previous one. Surges
    # scattered over hours (a trail run's flat stretches between climbs) are not a session.
    best: tuple[int, int] = (0, 0)
    first = 0
    for k in range(1, len(starts_l) + 1):
        if k == len(starts_l) or starts_l[k] - ends_l[k - 1] > cfg.speed_recovery_max_s:
            if k - first > best[1] - best[0]:
                best = (first, k)
            first = k
    n = best[1] - best[0]
    if n < cfg.speed_min_repeats:
        return False, None
    seg_ok = [
        _median(gap[a:b])
        for a, b in zip(starts_l[best[0] : best[1]], ends_l[best[0] : best[1]], strict=True)
    ]
    over = (_median(np.asarray(seg_ok, dtype=np.float64)) / median - 1.0) * 100.0
    how = "grade-adjusted pace" if adjusted else "pace (no elevation: not grade-adjusted)"
    return True, (
        f"{n} fast segments of {cfg.speed_segment_min_s:g} s or more, {over:.0f} % over the "
        f"run's median {how}"
    )


def detect_speed_work(
    t: np.ndarray,
    dist: np.ndarray,
    grade_pct: np.ndarray | None,
    laps: Sequence[Lap],
    cfg: MetricsConfig,
    *,
    finite: bool = False,
) -> tuple[bool | None, str | None]:
    """(speed work?, why) for one run; see the module docstring.

    ``t`` seconds from the activity start, ``dist`` cumulative metres, ``grade_pct`` the
    per-sample grade (NaN unknown) or ``None`` when the run has no elevation profile.
    ``finite=True`` says the caller knows every value of ``t`` and ``dist`` is finite.
    """
    reason = _from_intensity(laps, cfg)
    if reason:
        return True, reason
    marked = [lap for lap in laps if lap.trigger in MARKED_TRIGGERS]
    if len(marked) > cfg.speed_min_repeats:  # the effort only when laps will be weighed
        effort = grade_effort(grade_pct) if grade_pct is not None and t.size else None
        reason = _from_marked_laps(marked, t, effort, cfg)
        if reason:
            return True, reason
    found, reason = _from_pace(t, dist, grade_pct, cfg, finite)
    if found is None and laps:
        return False, None
    return found, reason
