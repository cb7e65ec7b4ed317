"""Property tests: volumes add up, order never matters, other sports never become running."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synth import make_activity, make_ride, make_strength, make_walk

import kneeflags
from kneeflags.model import Sport

BASE = datetime(2025, 12, 1)
RUN_SPORTS = [Sport.RUNNING, Sport.TRAIL_RUNNING, Sport.TREADMILL_RUNNING, Sport.TRACK_RUNNING]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

activity_spec = st.tuples(
    st.integers(min_value=0, max_value=120 * 24 * 4),  # start, in quarter hours from BASE
    st.floats(min_value=0.5, max_value=45.0, allow_nan=False),  # km
    st.sampled_from([*RUN_SPORTS, Sport.CYCLING, Sport.WALKING, Sport.STRENGTH_TRAINING]),
    st.sampled_from([0, -8 * 3600, 3600, 5 * 3600 + 1800, 13 * 3600]),  # UTC offset
)


def _build(specs: list[tuple[int, float, Sport, int]]) -> list:
    acts = []
    for i, (quarter, km, sport, tz) in enumerate(specs):
        start = BASE + timedelta(minutes=15 * quarter)
        kw = {"tz": tz, "uid": i, "with_samples": False}
        if sport is Sport.STRENGTH_TRAINING:
            acts.append(make_strength(start, **kw))
        else:
            acts.append(make_activity(start, sport=sport, km=km, **kw))
    return acts


@SETTINGS
@given(st.lists(activity_spec, min_size=1, max_size=25))
def test_weekly_km_is_the_sum_of_run_distances(specs) -> None:
    acts = _build(specs)
    weekly = kneeflags.analyze(acts).weekly
    runs = [a for a in acts if a.sport.is_running]
    assert weekly["run_km"].sum() == pytest.approx(sum(a.distance_m / 1000 for a in runs))
    assert weekly["runs"].sum() == len(runs)
    # Each run lands in the week of its *local* date.
    for a in runs:
        week = weekly.filter(pl.col("week_start") <= a.local_date).tail(1)
        assert week["run_km"][0] >= a.distance_m / 1000 - 1e-9
        assert (a.local_date - week["week_start"][0]).days < 7


@SETTINGS
@given(st.lists(activity_spec, min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_input_order_never_changes_the_result(specs, rnd) -> None:
    acts = _build(specs)
    shuffled = list(acts)
    rnd.shuffle(shuffled)
    a, b = kneeflags.analyze(acts), kneeflags.analyze(shuffled)
    assert a.weekly.equals(b.weekly)
    assert a.activities.equals(b.activities)
    assert a.flags == b.flags
    assert a.notes == b.notes


@SETTINGS
@given(
    st.lists(activity_spec.filter(lambda s: s[2] in RUN_SPORTS), min_size=1, max_size=15),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=120 * 24 * 4),
            st.sampled_from(["ride", "walk", "strength"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_other_sports_never_change_running_volume(runs_spec, extras) -> None:
    runs = _build(runs_spec)
    builders = {"ride": make_ride, "walk": make_walk, "strength": make_strength}
    others = [
        builders[kind](BASE + timedelta(minutes=15 * q), uid=f"x{i}", with_samples=False)
        for i, (q, kind) in enumerate(extras)
    ]
    before = kneeflags.analyze(runs).weekly
    after = kneeflags.analyze(runs + others).weekly
    cols = ["week_start", "run_km", "runs", "run_minutes", "longest_run_km"]
    joined = after.select(cols).join(before.select(cols), on="week_start", how="left")
    # Weeks that exist in both are identical; weeks only added by other sports have no running.
    for row in joined.iter_rows(named=True):
        if row["run_km_right"] is None:
            assert row["run_km"] == 0 and row["runs"] == 0
        else:
            assert row["run_km"] == row["run_km_right"]
            assert row["runs"] == row["runs_right"]
            assert row["longest_run_km"] == row["longest_run_km_right"]
    assert after["run_km"].sum() == pytest.approx(before["run_km"].sum())
    flags_before = {(f.rule, f.week_start) for f in kneeflags.analyze(runs).flags}
    flags_after = {(f.rule, f.week_start) for f in kneeflags.analyze(runs + others).flags}
    vol = {"volume-jump", "downhill-share", "downhill-jump", "low-cadence", "cadence-drop"}
    assert {f for f in flags_before if f[0] in vol} == {f for f in flags_after if f[0] in vol}
