"""The summary's shortcuts (issue 15) give the very numbers of the plain numpy they replace.

Each shortcut is compared, by its bytes, with the straightforward expression it stands
for (written out here as it was in the code before), on seeded random inputs that include
ties, exact grid hits, values one ulp off, NaN and signed zeros where they may occur.
"""

from __future__ import annotations

import numpy as np
import pytest

from kneeflags.config import MetricsConfig
from kneeflags.metrics.cadence import CadenceHist, hist_medians, weighted_median_np
from kneeflags.metrics.grade import (
    _moving_average,
    _on_grid_points,
    compute_grade,
    descent_with_hysteresis,
)
from kneeflags.metrics.speed_work import _median, _window_speed


def _same(a: object, b: object) -> bool:
    x, y = np.asarray(a), np.asarray(b)
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def _searched(grid: np.ndarray, grade: np.ndarray, d: np.ndarray, step: float) -> np.ndarray:
    pos = np.searchsorted(grid, d, side="right") - 1
    at = np.clip(pos, 0, None)
    inside = (pos >= 0) & (np.abs(grid[at] - d) <= step)
    return np.where(inside, grade[at], np.nan) * 100.0


def test_grid_point_shortcut_is_the_search() -> None:
    rng = np.random.default_rng(15)
    for trial in range(400):
        step = float(rng.choice([5.0, 1.0, 2.5, 0.1, 7.3]))
        start = float(rng.choice([0.0, 1234.567, 1e6 + 0.1, 0.1 + 0.2]))
        grid = np.arange(start, start + float(rng.uniform(2, 5000)) * step + 1e-9, step)
        grade = rng.normal(0.0, 0.05, grid.size)
        grade[rng.random(grid.size) < 0.1] = np.nan
        k = int(rng.integers(1, 3000))
        on_points = rng.choice(grid, k)
        d = {
            0: rng.uniform(start, grid[-1] + 2 * step, k),
            1: on_points,
            2: np.nextafter(on_points, -np.inf),  # one ulp below a grid point
        }[trial % 3]
        d = np.sort(np.maximum(d, grid[0]))
        ours = _on_grid_points(grid, grade, d, step)
        assert ours is not None
        assert _same(ours, _searched(grid, grade, d, step))
    # a distance before the grid is left to the search
    grid = np.arange(10.0, 100.0, 5.0)
    assert _on_grid_points(grid, np.zeros(grid.size), np.array([3.0, 50.0]), 5.0) is None


def _moving_average_by_index(h: np.ndarray, k: int) -> np.ndarray:
    half = k // 2
    csum = np.concatenate(([0.0], np.cumsum(h)))
    idx = np.arange(h.size)
    lo = np.clip(idx - half, 0, h.size)
    hi = np.clip(idx + half + 1, 0, h.size)
    return (csum[hi] - csum[lo]) / (hi - lo)


def test_moving_average_is_the_indexed_formula() -> None:
    rng = np.random.default_rng(16)
    for _ in range(300):
        n = int(rng.integers(2, 400))
        h = rng.normal(300.0, 30.0, n)
        if rng.random() < 0.3:
            h = np.round(h)
        for k in (3, 5, 11, 31, 4):
            assert _same(_moving_average(h, k), _moving_average_by_index(h, k))


def _descent_by_nonzero(h: np.ndarray, threshold_m: float) -> float:
    d = np.diff(h)
    nz = np.flatnonzero(d)
    if nz.size == 0:
        return 0.0
    sign = np.sign(d[nz])
    turns = nz[np.flatnonzero(np.diff(sign))] + 1
    total, ref = 0.0, float(h[0])
    for v in h[np.concatenate(([0], turns, [h.size - 1]))].tolist()[1:]:
        if ref - v >= threshold_m:
            total += ref - v
            ref = v
        elif v - ref >= threshold_m:
            ref = v
    return total


def test_descent_with_and_without_flat_steps() -> None:
    rng = np.random.default_rng(17)
    for trial in range(500):
        h = np.cumsum(rng.normal(0.0, 1.0, int(rng.integers(2, 300))))
        if trial % 2:
            h = np.round(h)  # flat steps
        for threshold in (0.0, 1.0, 3.0):
            assert descent_with_hysteresis(h, threshold) == _descent_by_nonzero(h, threshold)


@pytest.mark.parametrize("kind", ["normal", "ties", "zeros", "nan"])
def test_median_is_numpys(kind: str) -> None:
    rng = np.random.default_rng(18)
    for _ in range(300):
        n = int(rng.integers(1, 200))
        if kind == "normal":
            x = rng.normal(3.0, 1.0, n)
        elif kind == "ties":
            x = np.round(rng.normal(0.0, 2.0, n))
        elif kind == "zeros":
            x = rng.choice([0.0, -0.0, 1.0], n)
        else:
            x = rng.choice([0.0, 1.0, 2.5, np.nan], n)
        expected = float(np.median(x))
        assert _same(_median(x), expected) or (np.isnan(expected) and np.isnan(_median(x)))


def test_window_speed_is_the_padded_formula() -> None:
    rng = np.random.default_rng(19)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        d = np.cumsum(rng.uniform(0.0, 5.0, n))
        for half in (1, 2, 10, 17):
            if n <= half:
                continue  # the padded arrays do not line up: an error either way
            ahead = np.concatenate((d[half:], np.full(half, d[-1])))
            behind = np.concatenate((np.full(half, d[0]), d[:-half]))
            width = np.minimum(np.arange(n) + half, n - 1) - np.maximum(np.arange(n) - half, 0)
            assert _same(_window_speed(d, half), (ahead - behind) / np.maximum(width, 1))


def test_hist_medians_are_the_weighted_medians() -> None:
    rng = np.random.default_rng(20)
    for _ in range(500):
        n_spm = int(rng.integers(1, 40))
        cells = np.unique(rng.integers(0, 12 * n_spm, int(rng.integers(1, 80))))
        bins, spm = np.divmod(cells, n_spm)
        seconds = rng.choice([1.0, 0.5, 2.0, 10.0, 0.1, 3.3], cells.size) * rng.integers(
            1, 50, cells.size
        )
        hist = CadenceHist((bins + 8) * 0.25, spm + 150, seconds)
        expected = (
            weighted_median_np(hist.spm, hist.seconds),
            weighted_median_np(hist.speed_bin, hist.seconds),
        )
        assert hist_medians(hist) == expected


def test_finite_hint_changes_nothing() -> None:
    rng = np.random.default_rng(21)
    cfg = MetricsConfig()
    t = np.arange(3000.0)
    d = np.cumsum(rng.uniform(2.0, 4.0, t.size))
    h = 300.0 + 20.0 * np.sin(d / 500.0) + rng.normal(0.0, 0.5, t.size)
    plain = compute_grade(t, d, h, barometric=False, cfg=cfg)
    hinted = compute_grade(t, d, h, barometric=False, cfg=cfg, finite=True)
    assert plain.graded_km == hinted.graded_km > 0
    assert (plain.downhill_km, plain.elevation_loss_m) == (
        hinted.downhill_km,
        hinted.elevation_loss_m,
    )
    assert _same(plain.sample_grade_pct, hinted.sample_grade_pct)
