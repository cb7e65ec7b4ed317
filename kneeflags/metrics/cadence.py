"""Running cadence as a time-weighted histogram (rules.md "Running samples"; evidence.md §3).

Why a histogram and why time weights: Garmin "smart recording" writes a sample only when
something changes, so intervals vary from 1 s to ~10 s. A plain median over samples would
over-weight the seconds where the watch happened to write more often (often the irregular,
slow ones). Each sample therefore weighs the time since the previous one, capped (10 s by
default) so that a pause before a sample never counts as running.

A sample is *running* when, per rules.md/evidence.md:

* speed ≥ 2.0 m/s and cadence ≥ 135 spm (walk-to-run transition, Hum Mov Sci 2023);
* it is not within the first or last 60 s of the activity;
* optionally (``cadence_max_abs_grade_pct``, off by default) the local grade is small.

The histogram key is (speed bin of 0.25 m/s — its lower edge, cadence rounded to 1 spm).
Every weekly cadence figure (median, shares below/in/above 170–180 spm, the same-speed
comparison of ``cadence-drop``) is computed from these rows, so the cache needs nothing else.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

import polars as pl

from kneeflags.config import MetricsConfig
from kneeflags.records import record

if TYPE_CHECKING:  # numpy is imported where samples are read: a warm run reads none
    import numpy as np

CADENCE_HIST_SCHEMA: dict[str, pl.DataType] = {
    "activity_id": pl.String(),
    "speed_bin": pl.Float64(),
    "spm": pl.Int64(),
    "seconds": pl.Float64(),
}
"""One row per (activity, speed bin lower edge in m/s, cadence in whole spm): running seconds."""


_MAX_DENSE_CELLS = 1_000_000
"""Above this many (bin, spm) cells between a run's extremes, group by sorting instead."""


def empty_hist() -> pl.DataFrame:
    return pl.DataFrame(schema=CADENCE_HIST_SCHEMA)


def sample_weights(ts_s: np.ndarray, cap_s: float) -> np.ndarray:
    """Seconds each sample stands for: time since the previous sample, capped.

    A sample closes the interval since its predecessor, so the first sample weighs 0 and
    the weights of an unpaused activity add up to its duration.
    """
    import numpy as np

    if ts_s.size == 0:
        return np.zeros(0)
    w = np.empty(ts_s.size, dtype=np.float64)
    w[0] = 0.0
    # an infinity lands on the clip's bounds (as through np.nan_to_num, whose ±inf handling
    # made it 3x slower than this); the clip keeps a NaN, which then weighs 0
    np.clip(ts_s[1:] - ts_s[:-1], 0.0, cap_s, out=w[1:])
    nan = np.isnan(w)
    if nan.any():
        w[nan] = 0.0
    return w


def running_mask(
    ts_s: np.ndarray,
    speed: np.ndarray,
    spm: np.ndarray,
    grade_pct: np.ndarray | None,
    cfg: MetricsConfig,
) -> np.ndarray:
    """Boolean mask of samples that count as running for cadence purposes."""
    import numpy as np

    if ts_s.size == 0:
        return np.zeros(0, dtype=bool)
    with np.errstate(invalid="ignore"):
        mask = (speed >= cfg.run_min_speed_mps) & (spm >= cfg.run_min_cadence_spm)
        mask &= ts_s - ts_s[0] >= cfg.edge_exclude_s
        mask &= ts_s[-1] - ts_s >= cfg.edge_exclude_s
        if cfg.cadence_max_abs_grade_pct is not None and grade_pct is not None:
            mask &= np.abs(grade_pct) <= cfg.cadence_max_abs_grade_pct
    return mask


@record(frozen=True)
class CadenceHist:
    """One activity's histogram as three aligned arrays, sorted by (speed bin, spm).

    Arrays rather than a frame because this is built once per file on the cold path, where a
    polars frame costs more to set up than the arithmetic; many of them become one frame at
    once (:func:`hist_frame`).
    """

    speed_bin: np.ndarray
    """Lower edge of the speed bin, m/s (float64)."""
    spm: np.ndarray
    """Cadence in whole steps per minute (int64)."""
    seconds: np.ndarray
    """Running seconds in that cell (float64)."""

    @property
    def size(self) -> int:
        return int(self.spm.size)

    @classmethod
    def empty(cls) -> CadenceHist:
        import numpy as np

        return cls(np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0))

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> CadenceHist:
        """From rows of :data:`CADENCE_HIST_SCHEMA` (one activity's), in any order."""
        if frame.height == 0:
            return cls.empty()
        rows = frame.sort("speed_bin", "spm")
        return cls(
            rows.get_column("speed_bin").cast(pl.Float64).to_numpy(),
            rows.get_column("spm").cast(pl.Int64).to_numpy(),
            rows.get_column("seconds").cast(pl.Float64).to_numpy(),
        )

    def frame(self, activity_id: str) -> pl.DataFrame:
        return hist_frame([activity_id], [self])


def hist_frame(activity_ids: Sequence[str], hists: Sequence[CadenceHist]) -> pl.DataFrame:
    """Many activities' histograms as one :data:`CADENCE_HIST_SCHEMA` frame (input order)."""
    import numpy as np

    sizes = [h.size for h in hists]
    if not sum(sizes):
        return empty_hist()
    per_row = np.repeat(np.arange(len(sizes)), sizes)
    return pl.DataFrame(
        {
            "activity_id": pl.Series(list(activity_ids), dtype=pl.String).gather(per_row),
            "speed_bin": np.concatenate([h.speed_bin for h in hists]),
            "spm": np.concatenate([h.spm for h in hists]),
            "seconds": np.concatenate([h.seconds for h in hists]),
        },
        schema=CADENCE_HIST_SCHEMA,
    )


def cadence_hist_arrays(
    ts_s: np.ndarray,
    speed: np.ndarray,
    spm: np.ndarray,
    grade_pct: np.ndarray | None,
    cfg: MetricsConfig,
    weights: np.ndarray | None = None,
) -> CadenceHist:
    """Time-weighted (speed bin, spm) histogram of one run's running samples.

    ``weights``: :func:`sample_weights` of ``ts_s`` when the caller has them already.
    """
    import numpy as np

    if weights is None:
        weights = sample_weights(ts_s, cfg.max_sample_weight_s)
    mask = running_mask(ts_s, speed, spm, grade_pct, cfg)
    mask &= weights > 0
    mask &= np.isfinite(speed)  # a corrupt infinity has no bin
    mask &= np.isfinite(spm)
    if not mask.any():
        return CadenceHist.empty()
    # Group (speed bin, spm) with numpy: a polars group-by/sort costs more in set-up than
    # the arithmetic itself for one activity. Cells are numbered (bin, spm) in order over
    # the few bins and cadences a run spans, so one bincount groups them without a sort.
    sp = speed[mask]
    np.divide(sp, cfg.speed_bin_mps, out=sp)
    bin_index = np.floor(sp, out=sp).astype(np.int64)
    spm_whole = np.rint(spm[mask]).astype(np.int64)
    w = weights[mask]
    b0, s0 = int(bin_index.min()), int(spm_whole.min())
    n_spm = int(spm_whole.max()) - s0 + 1
    n_cells = (int(bin_index.max()) - b0 + 1) * n_spm
    if n_cells <= _MAX_DENSE_CELLS:
        bin_index -= b0
        bin_index *= n_spm
        spm_whole -= s0
        bin_index += spm_whole  # the cell number
        seconds = np.bincount(bin_index, weights=w, minlength=n_cells)
        # every weight is > 0, so a cell has seconds exactly when it has samples
        used = seconds.nonzero()[0]
        bin_no, spm_no = np.divmod(used, n_spm)
        bin_no += b0
        spm_no += s0
        return CadenceHist(bin_no * cfg.speed_bin_mps, spm_no, seconds[used])
    # Implausibly spread values (corrupt data): sort instead of a huge dense table.
    keys = np.stack((bin_index, spm_whole))
    uniq, inverse = np.unique(keys, axis=1, return_inverse=True)
    seconds = np.bincount(inverse.ravel(), weights=w, minlength=uniq.shape[1])
    return CadenceHist(uniq[0] * cfg.speed_bin_mps, uniq[1], seconds)


def cadence_histogram(
    activity_id: str,
    ts_s: np.ndarray,
    speed: np.ndarray,
    spm: np.ndarray,
    grade_pct: np.ndarray | None,
    cfg: MetricsConfig,
) -> pl.DataFrame:
    """:func:`cadence_hist_arrays` as a :data:`CADENCE_HIST_SCHEMA` frame."""
    return cadence_hist_arrays(ts_s, speed, spm, grade_pct, cfg).frame(activity_id)


def weighted_median_np(values: np.ndarray, weights: np.ndarray) -> float | None:
    """Lower weighted median, as :func:`weighted_median` computes it, for plain arrays."""
    import numpy as np

    if values.size == 0:
        return None
    if values.size > 1 and bool((values[1:] >= values[:-1]).all()):
        # already in order (a histogram's speed bins): the stable order is the identity
        cum = np.cumsum(weights)
        pos = int(np.searchsorted(cum, cum[-1] / 2.0, side="left"))
        return float(values[min(pos, values.size - 1)])
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    pos = int(np.searchsorted(cum, cum[-1] / 2.0, side="left"))
    return float(values[order][min(pos, values.size - 1)])


def hist_medians(hist: CadenceHist) -> tuple[float, float]:
    """(median spm, median speed bin) of a non-empty histogram, time-weighted: exactly
    ``weighted_median_np(hist.spm, hist.seconds)`` and ``weighted_median_np(hist.speed_bin,
    hist.seconds)``, over plain lists.

    Why: a run's histogram has some 50 cells, where numpy's calls cost more than the work
    (12 µs for the two, 5 here). Same steps: a stable sort (the speed bins are in order
    already, the histogram being sorted by bin), cumulative seconds added in that order
    (``np.cumsum`` adds one after another too), and the same bisection as
    ``np.searchsorted(..., side="left")`` (seconds are positive: no NaN to order).
    """
    secs = hist.seconds.tolist()
    last = len(secs) - 1
    cum = list(accumulate(secs))
    speed_bin = float(hist.speed_bin[min(bisect_left(cum, cum[-1] / 2.0), last)])
    spm = hist.spm.tolist()
    order = sorted(range(len(spm)), key=spm.__getitem__)
    cum = list(accumulate([secs[i] for i in order]))
    cadence = float(spm[order[min(bisect_left(cum, cum[-1] / 2.0), last)]])
    return cadence, speed_bin


NUMPY_PAIRWISE_BLOCK = 128
"""Up to this many values numpy's float64 sum is one block of eight accumulators."""


def float_sum(values: Sequence[float]) -> float:
    """``float(np.array(values).sum())``, to the bit, without importing numpy.

    Why: a warm run (every file served from the parse cache) must not import numpy (~0.07 s
    of a ~0.3 s command) for the few weekly numbers the rules add up, and the report must
    not change by a bit. numpy sums float64 pairwise: under 8 values in order from 0.0;
    up to :data:`NUMPY_PAIRWISE_BLOCK`, eight running sums (element ``i`` into sum
    ``i % 8``, whole blocks of eight only) combined as ``((0+1)+(2+3))+((4+5)+(6+7))``,
    then the tail in order. Longer inputs (never a report's weeks) are summed by numpy.
    """
    n = len(values)
    if n > NUMPY_PAIRWISE_BLOCK:
        import numpy as np

        return float(np.asarray(values, dtype=np.float64).sum())
    if n < 8:
        res = 0.0
        for v in values:
            res += v
        return res
    acc = [float(v) for v in values[:8]]
    whole = n - n % 8
    for start in range(8, whole, 8):
        for j in range(8):
            acc[j] += values[start + j]
    res = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    for v in values[whole:]:
        res += v
    return res


def weighted_median_list(values: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """:func:`weighted_median_np` over plain lists (``None`` counts as NaN), same result.

    For the rules' few weekly rows, so a warm run needs no numpy: a stable sort with NaN
    last (as ``np.argsort``), cumulative weights added in order (as ``np.cumsum``), and
    the first position whose cumulative weight reaches half the total (``searchsorted``,
    left).
    """
    if not values:
        return None
    vals = [math.nan if v is None else float(v) for v in values]
    order = sorted(range(len(vals)), key=lambda i: (math.isnan(vals[i]), vals[i]))
    cum: list[float] = []
    run = 0.0
    for i in order:
        run += weights[i]
        cum.append(run)
    half = cum[-1] / 2.0
    pos = next((k for k, c in enumerate(cum) if c >= half), len(cum))
    return vals[order[min(pos, len(vals) - 1)]]


def weighted_median(values: pl.Expr, weights: pl.Expr) -> pl.Expr:
    """Weighted median (lower) of ``values`` in an aggregation context.

    The smallest value whose cumulative weight reaches half the total: with 1-spm bins the
    result is a whole spm, which is the resolution the histogram keeps.
    """
    order = values.arg_sort()
    v = values.gather(order)
    w = weights.gather(order)
    return v.filter(w.cum_sum() >= w.sum() / 2.0).first()
