"""Running cadence: which samples count and how much each one weighs (rules.md, evidence §3)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synth import local, make_run, make_walk

from kneeflags.config import MetricsConfig
from kneeflags.metrics.cadence import (
    cadence_histogram,
    running_mask,
    sample_weights,
    weighted_median,
)
from kneeflags.metrics.summary import summarize


def test_weights_are_real_intervals_capped() -> None:
    ts = np.array([0.0, 1.0, 3.0, 10.0, 70.0, 71.0])
    w = sample_weights(ts, 10.0)
    assert w.tolist() == [0.0, 1.0, 2.0, 7.0, 10.0, 1.0]


def test_running_mask_thresholds_and_edges() -> None:
    cfg = MetricsConfig()
    ts = np.arange(0.0, 301.0)
    speed = np.full(ts.size, 3.0)
    spm = np.full(ts.size, 170.0)
    speed[100] = 1.99  # below the walk/run transition
    spm[101] = 134.0  # below 135 spm
    spm[102] = 135.0  # exactly 135 counts
    mask = running_mask(ts, speed, spm, None, cfg)
    assert not mask[:60].any() and not mask[-60:].any()  # first/last 60 s excluded
    assert mask[60] and mask[240]
    assert not mask[100] and not mask[101] and mask[102]


def test_smart_recording_is_time_weighted() -> None:
    """Irregular sampling: the median follows running *time*, not sample count."""
    cfg = MetricsConfig()
    # 900 s at 160 spm written every 6 s (150 samples), then 400 s at 180 spm at 1 Hz.
    ts = np.concatenate((np.arange(0, 900, 6.0), 900 + np.arange(0, 400, 1.0)))
    spm = np.where(ts < 900, 160.0, 180.0)
    hist = cadence_histogram("a", ts, np.full(ts.size, 3.0), spm, None, cfg)
    by = dict(zip(hist["spm"].to_list(), hist["seconds"].to_list(), strict=True))
    # Samples 60..894 s at 6 s each; 900..1239 s at 1 s each (the 900 s one closes a 6 s gap).
    assert by[160] == pytest.approx(140 * 6.0)
    assert by[180] == pytest.approx(6.0 + 339 * 1.0)
    median = hist.select(weighted_median(pl.col("spm"), pl.col("seconds"))).item()
    assert median == 160  # a per-sample median would say 180


def test_pause_does_not_count_as_running() -> None:
    cfg = MetricsConfig()
    ts = np.concatenate((np.arange(0.0, 600.0), 2400.0 + np.arange(0.0, 600.0)))
    hist = cadence_histogram("a", ts, np.full(ts.size, 3.0), np.full(ts.size, 172.0), None, cfg)
    # 1200 s of samples minus the 2×60 s edges, plus one capped 10 s sample after the pause.
    assert hist["seconds"].sum() == pytest.approx(1200 - 120 - 1 + 10, abs=1.0)


def test_summary_cadence_and_speed_bins() -> None:
    run = make_run(local(2026, 1, 6), km=10, pace_min_km=5.0, cadence_spm=171.4)
    s = summarize(run)
    assert s.row["cadence_spm_median"] == 171.0
    assert s.row["run_speed_median_mps"] == pytest.approx(3.375)  # 3.33 m/s -> bin 3.25
    assert s.cadence_hist["speed_bin"].unique().to_list() == [3.25]
    assert s.cadence_hist.schema == pl.Schema(
        {"activity_id": pl.String, "speed_bin": pl.Float64, "spm": pl.Int64, "seconds": pl.Float64}
    )
    assert s.row["cadence_seconds"] == pytest.approx(3000 - 120, abs=1.0)


def test_walk_and_slow_jog_have_no_running_cadence() -> None:
    walk = summarize(make_walk(local(2026, 1, 6)))
    assert walk.cadence_hist.height == 0 and walk.row["cadence_spm_median"] is None
    shuffle = summarize(make_run(local(2026, 1, 6), km=3, pace_min_km=9.0))  # 1.85 m/s
    assert shuffle.cadence_hist.height == 0
    assert shuffle.row["cadence_seconds"] == 0.0


def test_run_without_cadence_sensor() -> None:
    s = summarize(make_run(local(2026, 1, 6), km=5, cadence_spm=None))
    assert s.row["has_cadence"] is False
    assert s.cadence_hist.height == 0


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=900),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    spread=st.sampled_from([1.0, 15.0, 400.0]),
)
def test_histogram_grouping_is_the_same_dense_or_sorted(n: int, seed: int, spread: float) -> None:
    """The bincount grouping (usual runs) and the sorting one (corrupt, wide-spread values)
    must give the same cells in the same (speed bin, spm) order with the same seconds."""
    from unittest import mock

    import kneeflags.metrics.cadence as cadence

    rng = np.random.default_rng(seed)
    cfg = MetricsConfig()
    ts = np.cumsum(rng.choice([1.0, 1.0, 2.0, 5.0, 12.0], n)) + 1000.0
    speed = rng.normal(3.0, 0.8, n)
    spm = rng.normal(165.0, spread, n)
    speed[rng.random(n) < 0.05] = np.nan
    spm[rng.random(n) < 0.05] = np.inf
    dense = cadence.cadence_hist_arrays(ts, speed, spm, None, cfg)
    with mock.patch.object(cadence, "_MAX_DENSE_CELLS", 0):
        sorted_ = cadence.cadence_hist_arrays(ts, speed, spm, None, cfg)
    assert np.array_equal(dense.speed_bin, sorted_.speed_bin)
    assert np.array_equal(dense.spm, sorted_.spm)
    assert np.allclose(dense.seconds, sorted_.seconds, rtol=1e-12, atol=0.0)
    keys = list(zip(dense.speed_bin.tolist(), dense.spm.tolist(), strict=True))
    assert keys == sorted(set(keys))
    assert dense.seconds.sum() == pytest.approx(
        sample_weights(ts, cfg.max_sample_weight_s)[
            running_mask(ts, speed, spm, None, cfg) & np.isfinite(speed) & np.isfinite(spm)
        ].sum()
    )
