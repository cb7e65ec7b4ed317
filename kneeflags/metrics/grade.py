"""Downhill running from an elevation profile (rules.md "Grade"; evidence.md §2 algorithm).

Why this shape: raw GPS altitude is noisy by metres from second to second, and a per-sample
grade (Δh/Δd over 3 m) turns ±1 m of noise into ±30 % "slopes". Resampling onto a fixed
distance grid first makes every later window a fixed number of points, so despiking,
smoothing and the grade are plain array operations whatever the recording rate (1 Hz or
Garmin "smart recording"):

1. distance axis from ``distance_m``; a new segment starts at a gap > 30 s or > 200 m
   (a tunnel or a paused watch must not be bridged by a straight line);
2. linear resampling onto a 5 m grid, despiked by a ≈25 m centred rolling median;
3. centred moving average, ≈150 m for GPS/unknown altitude, ≈50 m for barometric;
4. grade g(d) = [h(d + L/2) − h(d − L/2)] / L with L = 100 m (GPS) or 50 m (barometric);
   points within L/2 of a segment end have no grade, and |g| > 40 % is invalid;
5. downhill = g ≤ −5 %, steep = g ≤ −10 % [eng]; each valid grid point stands for 5 m.

Descent (``elevation_loss_m``) uses a 3 m hysteresis on the smoothed profile, evaluated only
at its turning points. Everything else is numpy over whole arrays.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from kneeflags.config import MetricsConfig
from kneeflags.records import record

MAX_GRID_POINTS = 200_000
"""Grid points per activity (1,000 km at 5 m) [eng]. Resampling expands sparse samples:
records 199 m apart (just under the segment gap) made ~40 points each, and a 26 MB FIT
needed 5.9 GB. No run is 1,000 km long; past the cap the activity has no grade (unknown,
not flat) instead of a grid that outgrows memory."""


@record(frozen=True)
class GradeResult:
    """Downhill metrics of one run; all distances in km, ``None`` when unknowable."""

    graded_km: float
    """Distance with a valid grade: the denominator of the downhill share."""
    downhill_km: float
    steep_km: float
    elevation_loss_m: float
    sample_grade_pct: np.ndarray | None
    """Grade (%) interpolated back onto the input samples (NaN where unknown); ``None``
    unless asked for (``per_sample``)."""


def _odd_points(length_m: float, step_m: float) -> int:
    """Window length in grid points, odd so the window is centred."""
    n = max(1, round(length_m / step_m))
    return n if n % 2 else n + 1


def _median_sorted(values: list[float]) -> float:
    """Median with the even-count midpoint written as lo + (hi - lo) / 2 (as polars does).

    Over a plain list: the few end windows of a rolling median are a handful of values,
    for which ``np.sort`` costs more in calls than the sort (Python floats are the same
    doubles, and ``lo + (hi - lo) * 0.5`` rounds the same as in numpy).
    """
    s = sorted(values)
    mid = len(s) // 2
    if len(s) % 2:
        return s[mid]
    lo, hi = s[mid - 1], s[mid]
    return lo + (hi - lo) * 0.5


MAX_NETWORK_WINDOW = 9
"""Largest despike window (points) whose median is taken by a sorting network."""


def _window_median_network(h: np.ndarray, k: int) -> np.ndarray:
    """Median of every full window of ``k`` (odd) points, by an odd-even transposition sort.

    Why: ``np.median`` over a strided window view copies and partitions each window, 0.22 ms
    of a one-hour run's 0.85 ms summary for k = 5; ``k`` rounds of element-wise
    ``minimum``/``maximum`` over the ``k`` shifted columns sort every window at once in a
    fifth of that. Min and max only pick values, never compute one, so the middle column is
    the very median ``np.median`` (and polars) return. No NaN reaches here (the profile is
    interpolated from finite samples).
    """
    m = h.size - k + 1
    cols = [h[j : j + m] for j in range(k)]
    for r in range(k):
        for j in range(r % 2, k - 1, 2):
            a, b = cols[j], cols[j + 1]
            cols[j], cols[j + 1] = np.minimum(a, b), np.maximum(a, b)
    return cols[k // 2]


def _window_median5(h: np.ndarray) -> np.ndarray:
    """:func:`_window_median_network` for ``k = 5`` (the default despike window), in ten
    ``minimum``/``maximum`` calls instead of twenty.

    Sort the pairs (a, b) and (c, d); the smaller of the two pair minima is below three
    values and the larger of the two pair maxima above three, so neither is the median of
    five: it is the median of the other two and e. Only selections again, so the same
    median value (no NaN reaches here); of two equal values another may be picked, which
    only 0.0 and -0.0 can tell apart, and no grade, count or descent downstream does.
    """
    m = h.size - 4
    a, b, c, d, e = (h[j : j + m] for j in range(5))
    lo = np.maximum(np.minimum(a, b), np.minimum(c, d))
    hi = np.minimum(np.maximum(a, b), np.maximum(c, d))
    return np.maximum(np.minimum(lo, hi), np.minimum(np.maximum(lo, hi), e))


def _rolling_median(h: np.ndarray, k: int) -> np.ndarray:
    """Centred rolling median over ``k`` (odd) points; the window shrinks at the ends.

    Numbers equal to polars' ``rolling_median(k, center=True, min_samples=1)`` (tested),
    at a fraction of its cost on a run's ~2,000 grid points: the interior is one vectorised
    median over all windows (:func:`_window_median_network`), the ``k - 1`` end points are
    done one by one.
    """
    if k <= 1 or h.size < k:
        return h
    half = k // 2
    n = h.size
    out = np.empty(n, dtype=np.float64)
    if k == 5:
        out[half : n - half] = _window_median5(h)
    elif k <= MAX_NETWORK_WINDOW:
        out[half : n - half] = _window_median_network(h, k)
    else:
        out[half : n - half] = np.median(sliding_window_view(h, k), axis=1)
    head = h[: k - 1].tolist()
    tail = h[n - k + 1 :].tolist()  # the last k - 1 points
    for i in range(half):
        out[i] = _median_sorted(head[: i + half + 1])
        out[n - 1 - i] = _median_sorted(tail[k - 2 - i - half :])
    return out


def _moving_average(h: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average; the window shrinks symmetrically-ish at the ends.

    Point ``i`` is ``(csum[hi] - csum[lo]) / (hi - lo)`` over the running sum ``csum``,
    with ``lo = max(i - k // 2, 0)`` and ``hi = min(i + k // 2 + 1, n)``: one slice for
    the interior (every window whole), the ``k - 1`` end points one by one in Python
    floats (the same doubles), so no index arrays are built for the whole profile.
    """
    if k <= 1 or h.size < 2:
        return h
    half = k // 2
    w = 2 * half + 1
    n = h.size
    csum = np.empty(n + 1, dtype=np.float64)
    csum[0] = 0.0
    np.cumsum(h, out=csum[1:])
    if n < w:  # no whole window: every point is an end point
        idx = np.arange(n)
        lo = np.clip(idx - half, 0, n)
        hi = np.clip(idx + half + 1, 0, n)
        return (csum[hi] - csum[lo]) / (hi - lo)
    out = np.empty(n, dtype=np.float64)
    np.divide(csum[w:] - csum[: n + 1 - w], w, out=out[half : n - half])
    head = csum[:w].tolist()
    tail = csum[n + 1 - w :].tolist()  # csum[n - 2 * half :]
    top = tail[-1]
    for i in range(half):
        hi = i + half + 1
        out[i] = (head[hi] - head[0]) / hi
        lo = n - 1 - i - half
        out[n - 1 - i] = (top - tail[lo - (n - 2 * half)]) / (n - lo)
    return out


def descent_with_hysteresis(h: np.ndarray, threshold_m: float) -> float:
    """Total descent counting only reversals larger than ``threshold_m``.

    Only the profile's turning points can change the running max/min, so the (short)
    sequential part runs over those, not over every sample.
    """
    if h.size < 2:
        return 0.0
    d = h[1:] - h[:-1]
    sign = np.sign(d)
    moving = d != 0  # (a NaN moves, as for nonzero())
    if moving.all():  # no flat step: no gather needed
        turns = (sign[1:] != sign[:-1]).nonzero()[0] + 1  # index in h where direction changes
    else:
        nz = moving.nonzero()[0]
        if nz.size == 0:
            return 0.0
        sign = sign[nz]
        turns = nz[(sign[1:] != sign[:-1]).nonzero()[0]] + 1
    pts = h[np.concatenate(([0], turns, [h.size - 1]))].tolist()
    total = 0.0
    ref = pts[0]
    # Dead band: a move counts once it leaves ±threshold around the last counted level.
    for v in pts[1:]:
        if ref - v >= threshold_m:
            total += ref - v
            ref = v
        elif v - ref >= threshold_m:
            ref = v
    return total


def _segments(ts_s: np.ndarray, dist: np.ndarray, cfg: MetricsConfig) -> np.ndarray:
    """Segment id per sample: a new one after a time or distance gap."""
    brk = np.zeros(dist.size, dtype=bool)
    if dist.size > 1:
        brk[1:] = (np.diff(ts_s) > cfg.segment_gap_s) | (np.diff(dist) > cfg.segment_gap_m)
    return np.cumsum(brk)


def all_finite(*arrays: np.ndarray) -> bool:
    """Every value of every (same-length) array is finite: one pass over their sum.

    A NaN or an infinity anywhere makes the sum non-finite; so can an overflow of finite
    values, which only sends the caller to its exact (masking) path.
    """
    total = arrays[0]
    for a in arrays[1:]:
        total = total + a
    return bool(np.isfinite(total).all())


def running_max(values: np.ndarray) -> np.ndarray:
    """``np.maximum.accumulate(values)``; the array itself when it never decreases.

    Why: the accumulation is a slow sequential loop (14 µs over a one-hour run's samples),
    and the distance of nearly every file never runs backwards; checking that is a third
    of the cost. (The values are the same; only a ``-0.0`` followed by ``0.0`` could
    differ in the sign of a zero, which no comparison or difference downstream sees.)
    """
    if values.size < 2 or bool((values[1:] >= values[:-1]).all()):
        return values
    return np.maximum.accumulate(values)


def _on_grid_points(
    grid: np.ndarray, grade: np.ndarray, d: np.ndarray, step: float
) -> np.ndarray | None:
    """Grade (%) at the grid point at or below each distance ``d``, NaN when that point is
    more than ``step`` below it or there is none: what ``np.searchsorted(grid, d, "right")
    - 1`` and the checks after it give, or ``None`` when this shortcut cannot say.

    Why: that search is the largest single cost of a run's summary (40 µs for a one-hour
    run: a binary search per sample). The grid is evenly spaced from ``grid[0]``, so
    ``(d - grid[0]) / step`` names the point; each guess is then *checked* against the
    definition (``grid[i] <= d < grid[i + 1]``, the grid strictly increasing), and a
    distance whose guess fails (rounding at a grid point; never seen on real runs) is
    searched for. Either way the index is the one the search gives.
    """
    m = grid.size
    ext = np.empty(m + 1, dtype=np.float64)
    ext[:m] = grid
    ext[m] = np.inf
    guess = np.subtract(d, grid[0])
    guess /= step
    with np.errstate(invalid="ignore"):  # a corrupt 1e20 m overflows: clamped below
        at = guess.astype(np.intp)  # truncation: only a guess
    np.maximum(at, 0, out=at)  # (np.clip on integers costs several times these two)
    np.minimum(at, m - 1, out=at)
    below = ext[at]
    ok = below <= d
    ok &= ext[1:][at] > d  # the next grid point (inf after the last)
    if not ok.all():
        bad = (~ok).nonzero()[0]
        found = np.searchsorted(grid, d[bad], side="right") - 1
        if found.min() < 0:  # a distance before the grid: left to the caller's search
            return None
        at[bad] = found
        below[bad] = grid[found]
    # below <= d, so |below - d| is d - below exactly (rounding is symmetric)
    inside = (d - below) <= step
    vals = grade[at]
    if not inside.all():
        vals[~inside] = np.nan
    vals *= 100.0
    return vals


def compute_grade(
    ts_s: np.ndarray,
    dist_m: np.ndarray,
    alt_m: np.ndarray,
    *,
    barometric: bool,
    cfg: MetricsConfig,
    per_sample: bool = True,
    finite: bool = False,
) -> GradeResult:
    """Downhill metrics for one run from aligned sample arrays.

    ``ts_s`` seconds (any origin), ``dist_m`` cumulative metres, ``alt_m`` metres; NaN
    marks a missing value. Samples lacking distance or altitude are dropped before the
    profile is built. ``per_sample=False`` skips mapping the grade back onto the samples
    (only the cadence grade filter needs it). ``finite=True`` says the caller knows every
    value of the three arrays is finite (it is not checked again).
    """
    n_all = ts_s.size

    def unknown() -> GradeResult:
        return GradeResult(0.0, 0.0, 0.0, 0.0, np.full(n_all, np.nan) if per_sample else None)

    idx_ok: np.ndarray | None = None  # None: every sample is usable (no copies needed)
    if n_all and (finite or all_finite(ts_s, dist_m, alt_m)):
        t, d, h = ts_s, dist_m, alt_m
    else:
        ok = np.isfinite(ts_s) & np.isfinite(dist_m) & np.isfinite(alt_m)
        idx_ok = ok.nonzero()[0]
        t, d, h = ts_s[idx_ok], dist_m[idx_ok], alt_m[idx_ok]
    if t.size < 2:
        return unknown()
    d = running_max(d)  # distance never runs backwards
    dd = d[1:] - d[:-1]
    # Segment bounds: a new segment after a time or distance gap.
    bounds = (((t[1:] - t[:-1]) > cfg.segment_gap_s) | (dd > cfg.segment_gap_m)).nonzero()[0]

    step = cfg.resample_m
    k_spike = _odd_points(cfg.despike_m, step)
    k_smooth = _odd_points(cfg.smooth_baro_m if barometric else cfg.smooth_gps_m, step)
    half_l = max(1, round((cfg.grade_baro_m if barometric else cfg.grade_gps_m) / step / 2))
    span_m = 2 * half_l * step
    max_g = cfg.max_abs_grade_pct / 100.0
    down_g, steep_g = cfg.downhill_grade_pct / 100.0, cfg.steep_grade_pct / 100.0

    valid_pts = down_pts = steep_pts = 0
    loss = 0.0
    if bounds.size:
        bounds += 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [t.size]))
        total_m = float(np.sum(d[ends - 1] - d[starts]))
        spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
    else:  # one segment (np.sum of one difference is that difference)
        total_m = float(d[-1] - d[0])
        spans = [(0, t.size)]
    if total_m / step > MAX_GRID_POINTS:
        return unknown()  # see MAX_GRID_POINTS
    grid_all: list[np.ndarray] = []
    grade_all: list[np.ndarray] = []
    # One iteration per *segment* (a handful per run), never per sample.
    for a, b in spans:
        ds, hs = d[a:b], h[a:b]
        # np.interp needs strictly increasing x: keep the last altitude of equal distances.
        rising = dd[a : b - 1] > 0  # ds[1:] > ds[:-1]
        if not rising.all():
            keep = np.concatenate((rising, [True]))
            ds, hs = ds[keep], hs[keep]
        if ds.size < 2 or ds[-1] - ds[0] < span_m:
            continue
        grid = np.arange(ds[0], ds[-1] + 1e-9, step)
        hg = np.interp(grid, ds, hs)
        hg = _moving_average(_rolling_median(hg, k_spike), k_smooth)
        loss += descent_with_hysteresis(hg, cfg.descent_hysteresis_m)
        m = grid.size
        g = np.full(m, np.nan)
        if m > 2 * half_l:
            inner = g[half_l : m - half_l]
            np.divide(hg[2 * half_l :] - hg[: m - 2 * half_l], span_m, out=inner)
            inner[np.abs(inner) > max_g] = np.nan
            # NaN compares false: counting over all points counts the finite ones, as
            # long as no infinity is left (only an infinite max_abs_grade_pct keeps one)
            finite = np.isfinite(inner)
            valid_pts += int(np.count_nonzero(finite))
            if math.isfinite(max_g):
                down_pts += int(np.count_nonzero(inner <= down_g))
                steep_pts += int(np.count_nonzero(inner <= steep_g))
            else:
                down_pts += int(np.count_nonzero((inner <= down_g) & finite))
                steep_pts += int(np.count_nonzero((inner <= steep_g) & finite))
        grid_all.append(grid)
        grade_all.append(g)

    sample_grade = None
    if grid_all and per_sample:
        # Back onto the samples: nearest grid point at or below each sample's distance.
        vals = _on_grid_points(grid_all[0], grade_all[0], d, step) if len(grid_all) == 1 else None
        if vals is None:
            grid_cat = np.concatenate(grid_all) if len(grid_all) > 1 else grid_all[0]
            grade_cat = np.concatenate(grade_all) if len(grade_all) > 1 else grade_all[0]
            pos = np.searchsorted(grid_cat, d, side="right") - 1
            at = np.maximum(pos, 0)
            inside = (pos >= 0) & (np.abs(grid_cat[at] - d) <= step)
            vals = np.where(inside, grade_cat[at], np.nan) * 100.0
        if idx_ok is None:
            sample_grade = vals
        else:
            sample_grade = np.full(n_all, np.nan)
            sample_grade[idx_ok] = vals
    elif per_sample:
        sample_grade = np.full(n_all, np.nan)

    km = step / 1000.0
    return GradeResult(
        graded_km=valid_pts * km,
        downhill_km=down_pts * km,
        steep_km=steep_pts * km,
        elevation_loss_m=loss,
        sample_grade_pct=sample_grade,
    )
