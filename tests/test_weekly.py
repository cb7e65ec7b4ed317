"""The weekly table: local weeks, zero-filled gaps, unknown-is-null, cross-training apart."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from synth import flat, local, make_ride, make_run, make_strength, make_walk, weekly_runs

from kneeflags.config import Config
from kneeflags.metrics.summary import summaries_to_frames, summarize
from kneeflags.metrics.weekly import WEEKLY_SCHEMA, week_of, weekly_table
from kneeflags.model import Sport


def _weekly(acts, config: Config | None = None) -> pl.DataFrame:
    config = config or Config()
    frames = summaries_to_frames([summarize(a, config) for a in acts])
    return weekly_table(*frames, config)


def _week(table: pl.DataFrame, day: date) -> dict:
    rows = table.filter(pl.col("week_start") == day).to_dicts()
    assert len(rows) == 1, f"no week starting {day}"
    return rows[0]


def test_schema_and_zero_filled_gaps() -> None:
    acts = weekly_runs([20, 0, 0, 30], runs_per_week=2)
    table = _weekly(acts)
    assert table.schema == pl.Schema(WEEKLY_SCHEMA)
    assert table["week_start"].to_list() == [
        date(2026, 1, 5),
        date(2026, 1, 12),
        date(2026, 1, 19),
        date(2026, 1, 26),
    ]
    assert table["run_km"].to_list() == pytest.approx([20, 0, 0, 30])
    assert table["runs"].to_list() == [2, 0, 0, 2]
    assert table["longest_run_km"].to_list() == pytest.approx([10, 0, 0, 15])
    # change vs previous week: unknown after a zero week, not infinite
    assert table["change_pct"].to_list()[1:] == [-100.0, None, None]
    # baseline = max(previous week, mean of previous ≤4 weeks in the data)
    assert table["baseline_km"].to_list() == pytest.approx([None, 20, 10, 20 / 3])


def test_sunday_evening_run_in_utc_minus_8_stays_in_its_local_week() -> None:
    # Sunday 25 Jan 2026 18:30 in Los Angeles is Monday 02:30 UTC.
    run = make_run(local(2026, 1, 25, 18, 30), km=10, tz="America/Los_Angeles")
    assert run.start_utc.weekday() == 0  # Monday in UTC
    table = _weekly([run])
    assert table["week_start"].to_list() == [date(2026, 1, 19)]
    # A Sunday-first week puts the same run in the week starting that Sunday.
    sunday = _weekly([run], Config(week_start="sunday"))
    assert sunday["week_start"].to_list() == [date(2026, 1, 25)]


def test_local_weeks_across_a_dst_change() -> None:
    # US DST starts Sunday 8 Mar 2026 02:00. Late-evening Sunday runs either side of it.
    before = make_run(local(2026, 3, 1, 23, 30), km=5, tz="America/Los_Angeles", uid=1)
    after = make_run(local(2026, 3, 8, 23, 30), km=7, tz="America/Los_Angeles", uid=2)
    monday = make_run(local(2026, 3, 9, 0, 15), km=9, tz="America/Los_Angeles", uid=3)
    assert before.utc_offset_s == -8 * 3600 and after.utc_offset_s == -7 * 3600
    table = _weekly([monday, after, before])
    assert table["week_start"].to_list() == [date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9)]
    assert table["run_km"].to_list() == pytest.approx([5, 7, 9])


def test_week_of_matches_expression() -> None:
    for d in (date(2026, 1, 25), date(2026, 1, 26), date(2024, 2, 29)):
        for wsi in range(7):
            frame = pl.DataFrame({"d": [d]}).with_columns(
                __import__("kneeflags.metrics.weekly", fromlist=["x"])
                .week_start_expr("d", wsi)
                .alias("w")
            )
            assert frame["w"][0] == week_of(d, wsi)
            assert week_of(d, wsi).weekday() == wsi


def test_treadmill_and_no_elevation_weeks_have_null_downhill_share() -> None:
    acts = [
        make_run(local(2026, 1, 6), km=8, altitude=flat(), sport=Sport.TREADMILL_RUNNING),
        make_run(local(2026, 1, 13), km=8, altitude=None, uid=2),
        make_run(local(2026, 1, 20), km=8, altitude=flat(), uid=3),
    ]
    table = _weekly(acts)
    assert table["downhill_share"].to_list()[:2] == [None, None]
    assert table["downhill_km"].to_list()[:2] == [None, None]
    assert table["elevation_loss_m"].to_list()[:2] == [None, None]
    assert table["downhill_share"][2] == 0.0  # known flat is 0, unknown is null
    assert table["run_km"].to_list() == pytest.approx([8, 8, 8])


def test_mixed_week_share_uses_only_runs_with_terrain() -> None:
    from synth import descend

    acts = [
        make_run(local(2026, 1, 6), km=10, altitude=descend(0.06, 0.5), uid=1),
        make_run(local(2026, 1, 7), km=10, sport=Sport.TREADMILL_RUNNING, uid=2),
    ]
    row = _weekly(acts).row(0, named=True)
    assert row["run_km"] == pytest.approx(20)
    assert row["downhill_share"] == pytest.approx(0.5, abs=0.05)  # not 0.25


def test_cadence_columns_are_time_weighted_shares() -> None:
    acts = [
        make_run(local(2026, 1, 6), km=10, pace_min_km=5.0, cadence_spm=165, uid=1),
        make_run(local(2026, 1, 8), km=10, pace_min_km=5.0, cadence_spm=175, uid=2),
        make_run(local(2026, 1, 10), km=20, pace_min_km=5.0, cadence_spm=185, uid=3),
    ]
    row = _weekly(acts).row(0, named=True)
    # Running time after the 60 s edges: 48, 48 and 98 minutes.
    assert row["cadence_minutes"] == pytest.approx(48 + 48 + 98, abs=0.1)
    assert row["cadence_below_share"] == pytest.approx(48 / 194, rel=1e-3)
    assert row["cadence_in_share"] == pytest.approx(48 / 194, rel=1e-3)
    assert row["cadence_above_share"] == pytest.approx(98 / 194, rel=1e-3)
    assert row["cadence_spm_median"] == 185.0  # more than half of the time is at 185
    assert row["cadence_speed_mps"] == pytest.approx(3.375)


def test_other_sports_are_not_running_volume() -> None:
    acts = [
        make_run(local(2026, 1, 6), km=10, uid=1),
        make_ride(local(2026, 1, 7), km=40, minutes=90),
        make_walk(local(2026, 1, 8), minutes=50),
        make_strength(local(2026, 1, 9), minutes=30),
        make_strength(local(2026, 1, 11), minutes=30, uid=2),
    ]
    row = _weekly(acts).row(0, named=True)
    assert row["run_km"] == pytest.approx(10)
    assert row["runs"] == 1
    assert row["cross_training_minutes"] == pytest.approx(90)
    assert row["xt_cycling_minutes"] == pytest.approx(90)
    assert row["walk_minutes"] == pytest.approx(50)
    assert row["strength_sessions"] == 2
    assert row["cadence_spm_median"] == 170.0  # bike cadence never leaks in


def test_acwr_is_information_after_28_days() -> None:
    acts = weekly_runs([20, 20, 20, 20, 20, 40], runs_per_week=2)
    table = _weekly(acts)
    acwr = table["acwr"].to_list()
    assert acwr[:3] == [None, None, None]
    assert acwr[4] == pytest.approx(1.0, abs=0.35)
    assert acwr[5] > acwr[4]


def test_empty_input_gives_empty_table() -> None:
    assert _weekly([]).shape == (0, len(WEEKLY_SCHEMA))


def test_week_start_is_a_date_even_for_datetimes_near_midnight() -> None:
    run = make_run(datetime(2026, 1, 11, 23, 59), km=5, tz=3600)
    assert _weekly([run])["week_start"].to_list() == [date(2026, 1, 5)]
