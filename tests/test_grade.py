"""Downhill detection (rules.md "Grade", evidence.md §2) on runs whose slope is known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synth import descend, flat, hills, local, make_run

from kneeflags.config import Config, MetricsConfig
from kneeflags.metrics.grade import _rolling_median, compute_grade, descent_with_hysteresis
from kneeflags.metrics.summary import summarize
from kneeflags.model import Sport


def _share(row: dict) -> float:
    return row["downhill_km"] / row["graded_km"]


@pytest.mark.parametrize("interval", [1.0, "smart"])
def test_flat_run_with_gps_noise_is_not_downhill(interval: float | str) -> None:
    run = make_run(
        local(2026, 1, 6), km=10, altitude=flat(noise_m=1.0, seed=3), interval_s=interval
    )
    row = summarize(run).row
    assert row["graded_km"] > 9.0
    assert _share(row) < 0.05
    assert row["steep_km"] == pytest.approx(0.0, abs=0.05)
    assert row["elevation_loss_m"] < 10.0


@pytest.mark.parametrize("interval", [1.0, "smart"])
def test_half_the_run_at_minus_six_percent_is_half_downhill(interval: float | str) -> None:
    run = make_run(local(2026, 1, 6), km=10, altitude=descend(0.06, 0.5), interval_s=interval)
    row = summarize(run).row
    assert 0.45 <= _share(row) <= 0.55
    assert row["steep_km"] == pytest.approx(0.0, abs=0.05)  # -6 % is not steep
    assert row["elevation_loss_m"] == pytest.approx(300.0, rel=0.05)


def test_steep_descent_counts_as_steep() -> None:
    run = make_run(local(2026, 1, 6), km=8, altitude=descend(0.12, 0.75))
    row = summarize(run).row
    assert row["steep_km"] == pytest.approx(2.0, abs=0.25)
    assert row["downhill_km"] == pytest.approx(2.0, abs=0.25)


def test_barometric_profile_uses_shorter_windows() -> None:
    run = make_run(
        local(2026, 1, 6), km=4, altitude=descend(0.06, 0.5), elevation_source="barometric"
    )
    row = summarize(run).row
    # Shorter windows lose less at the transition: closer to exactly half.
    assert 0.47 <= _share(row) <= 0.53


def test_rolling_hills_are_about_half_downhill() -> None:
    run = make_run(local(2026, 1, 6), km=10, altitude=hills(amplitude_m=40, wavelength_m=1500))
    share = _share(summarize(run).row)
    assert 0.3 < share < 0.5


def test_segments_break_at_gaps_and_impossible_grades_are_invalid() -> None:
    cfg = MetricsConfig()
    t = np.arange(0, 2000.0)
    d = t * 3.0
    h = np.full(t.size, 100.0)
    h[1000:] = 400.0  # a 300 m cliff: |grade| far beyond 40 %
    res = compute_grade(t, d, h, barometric=False, cfg=cfg)
    assert res.downhill_km == 0.0
    assert res.graded_km < 6.0  # the cliff region is invalid, not flat
    # A time gap of 5 minutes splits the profile; no grade across it.
    t2 = np.concatenate((t[:1000], t[1000:] + 300))
    res2 = compute_grade(t2, d, np.full(t.size, 100.0), barometric=False, cfg=cfg)
    assert res2.graded_km == pytest.approx(6.0 - 2 * 0.1, abs=0.05)


def test_treadmill_and_missing_elevation_give_unknown_not_zero() -> None:
    treadmill = make_run(local(2026, 1, 6), km=8, altitude=flat(), sport=Sport.TREADMILL_RUNNING)
    no_ele = make_run(local(2026, 1, 7), km=8, altitude=None)
    zeros = make_run(local(2026, 1, 8), km=8, altitude=flat(base_m=0.0))
    for act in (treadmill, no_ele, zeros):
        row = summarize(act).row
        assert row["downhill_km"] is None
        assert row["graded_km"] is None
        assert row["steep_km"] is None


def test_hysteresis_ignores_small_wiggles() -> None:
    wiggle = 100 + 1.0 * np.sin(np.linspace(0, 40 * np.pi, 2000))
    assert descent_with_hysteresis(wiggle, 3.0) == 0.0
    profile = np.concatenate((np.linspace(100, 150, 100), np.linspace(150, 90, 100)))
    assert descent_with_hysteresis(profile, 3.0) == pytest.approx(60.0)


def test_grade_config_is_respected() -> None:
    run = make_run(local(2026, 1, 6), km=10, altitude=descend(0.06, 0.5))
    cfg = Config.from_dict({"metrics": {"downhill_grade_pct": -7.0}})
    assert summarize(run, cfg).row["downhill_km"] == pytest.approx(0.0, abs=0.05)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-1e4, max_value=1e4, allow_nan=False) | st.integers(-50, 50),
        min_size=1,
        max_size=40,
    ),
    k=st.sampled_from([1, 3, 5, 7, 9]),
)
def test_rolling_median_matches_polars_exactly(values: list[float], k: int) -> None:
    """The numpy despiker must give polars' numbers bit for bit (cached summaries stay valid)."""
    h = np.asarray(values, dtype=np.float64)
    ours = _rolling_median(h, k)
    if k <= 1 or h.size < k:
        assert ours is h
        return
    theirs = pl.Series(h).rolling_median(window_size=k, center=True, min_samples=1).to_numpy()
    assert np.array_equal(ours, theirs)  # exact, up to the sign of a zero


def test_per_sample_grade_is_optional() -> None:
    run = make_run(local(2026, 1, 6), km=5, altitude=hills(amplitude_m=20.0, wavelength_m=800.0))
    cfg = Config().metrics
    ts = run.samples["timestamp"].dt.epoch("us").cast(pl.Float64).to_numpy() / 1e6
    d = run.samples["distance_m"].to_numpy()
    h = run.samples["altitude_m"].to_numpy()
    full = compute_grade(ts, d, h, barometric=False, cfg=cfg)
    lean = compute_grade(ts, d, h, barometric=False, cfg=cfg, per_sample=False)
    assert lean.sample_grade_pct is None and full.sample_grade_pct is not None
    assert (lean.graded_km, lean.downhill_km, lean.elevation_loss_m) == (
        full.graded_km,
        full.downhill_km,
        full.elevation_loss_m,
    )
