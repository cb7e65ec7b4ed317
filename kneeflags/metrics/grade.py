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


def _median_sorted(values: np.ndarray) -> float:
    """Median with the even-count midpoint written as lo + (hi - lo) / 2 (as polars does)."""
    s = np.sort(values)
    mid = s.size // 2
    if s.size % 2:
        return float(s[mid])
    lo, hi = float(s[mid - 1]), float(s[mid])
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
    out = np.empty(h.size, dtype=np.float64)
    out[half : h.size - half] = (
        _window_median_network(h, k)
        if k <= MAX_NETWORK_WINDOW
        else np.median(sliding_window_view(h, k), axis=1)
    )
    for i in range(half):
        out[i] = _median_sorted(h[: i + half + 1])
        out[h.size - 1 - i] = _median_sorted(h[h.size - 1 - i - half :])
    return out


def _moving_average(h: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average; the window shrinks symmetrically-ish at the ends."""
    if k <= 1 or h.size < 2:
        return h
    half = k // 2
    csum = np.concatenate(([0.0], np.cumsum(h)))
    idx = np.arange(h.size)
    lo = np.clip(idx - half, 0, h.size)
    hi = np.clip(idx + half + 1, 0, h.size)
    return (csum[hi] - csum[lo]) / (hi - lo)


def descent_with_hysteresis(h: np.ndarray, threshold_m: float) -> float:
    """Total descent counting only reversals larger than ``threshold_m``.

    Only the profile's turning points can change the running max/min, so the (short)
    sequential part runs over those, not over every sample.
    """
    if h.size < 2:
        return 0.0
    d = np.diff(h)
    nz = np.flatnonzero(d)
    if nz.size == 0:
        return 0.0
    sign = np.sign(d[nz])
    turns = nz[np.flatnonzero(np.diff(sign))] + 1  # index in h where direction changes
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


def compute_grade(
    ts_s: np.ndarray,
    dist_m: np.ndarray,
    alt_m: np.ndarray,
    *,
    barometric: bool,
    cfg: MetricsConfig,
    per_sample: bool = True,
) -> GradeResult:
    """Downhill metrics for one run from aligned sample arrays.

    ``ts_s`` seconds (any origin), ``dist_m`` cumulative metres, ``alt_m`` metres; NaN
    marks a missing value. Samples lacking distance or altitude are dropped before the
    profile is built. ``per_sample=False`` skips mapping the grade back onto the samples
    (only the cadence grade filter needs it).
    """
    n_all = ts_s.size
    sample_grade = np.full(n_all, np.nan) if per_sample else None
    ok = np.isfinite(ts_s) & np.isfinite(dist_m) & np.isfinite(alt_m)
    idx_ok = np.flatnonzero(ok)
    if idx_ok.size < 2:
        return GradeResult(0.0, 0.0, 0.0, 0.0, sample_grade)
    t = ts_s[ok]
    d = np.maximum.accumulate(dist_m[ok])  # distance never runs backwards
    h = alt_m[ok]
    seg = _segments(t, d, cfg)

    step = cfg.resample_m
    k_spike = _odd_points(cfg.despike_m, step)
    k_smooth = _odd_points(cfg.smooth_baro_m if barometric else cfg.smooth_gps_m, step)
    half_l = max(1, round((cfg.grade_baro_m if barometric else cfg.grade_gps_m) / step / 2))
    span_m = 2 * half_l * step

    valid_pts = down_pts = steep_pts = 0
    loss = 0.0
    bounds = np.flatnonzero(np.diff(seg)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [seg.size]))
    if float(np.sum(d[ends - 1] - d[starts])) / step > MAX_GRID_POINTS:
        return GradeResult(0.0, 0.0, 0.0, 0.0, sample_grade)  # see MAX_GRID_POINTS
    grid_all: list[np.ndarray] = []
    grade_all: list[np.ndarray] = []
    # One iteration per *segment* (a handful per run), never per sample.
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        ds, hs = d[a:b], h[a:b]
        # np.interp needs strictly increasing x: keep the last altitude of equal distances.
        keep = np.concatenate((ds[1:] > ds[:-1], [True]))
        ds, hs = ds[keep], hs[keep]
        if ds.size < 2 or ds[-1] - ds[0] < span_m:
            continue
        grid = np.arange(ds[0], ds[-1] + 1e-9, step)
        hg = np.interp(grid, ds, hs)
        hg = _moving_average(_rolling_median(hg, k_spike), k_smooth)
        loss += descent_with_hysteresis(hg, cfg.descent_hysteresis_m)
        g = np.full(grid.size, np.nan)
        if grid.size > 2 * half_l:
            g[half_l:-half_l] = (hg[2 * half_l :] - hg[: -2 * half_l]) / span_m
        g[np.abs(g) > cfg.max_abs_grade_pct / 100.0] = np.nan
        finite = np.isfinite(g)
        valid_pts += int(finite.sum())
        down_pts += int((g[finite] <= cfg.downhill_grade_pct / 100.0).sum())
        steep_pts += int((g[finite] <= cfg.steep_grade_pct / 100.0).sum())
        grid_all.append(grid)
        grade_all.append(g)

    if grid_all and sample_grade is not None:
        grid_cat = np.concatenate(grid_all)
        grade_cat = np.concatenate(grade_all)
        # Back onto the samples: nearest grid point at or below each sample's distance.
        pos = np.searchsorted(grid_cat, d, side="right") - 1
        inside = (pos >= 0) & (np.abs(grid_cat[np.clip(pos, 0, None)] - d) <= step)
        vals = np.where(inside, grade_cat[np.clip(pos, 0, None)], np.nan) * 100.0
        sample_grade[idx_ok] = vals

    km = step / 1000.0
    return GradeResult(
        graded_km=valid_pts * km,
        downhill_km=down_pts * km,
        steep_km=steep_pts * km,
        elevation_loss_m=loss,
        sample_grade_pct=sample_grade,
    )
