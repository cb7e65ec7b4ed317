"""Each rule of rules.md on both sides of each threshold, through analyze()."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from synth import local, make_ride, make_run, make_strength, weekly_runs

from kneeflags.analysis import analyze
from kneeflags.config import Config
from kneeflags.findings import Flag
from kneeflags.metrics.summary import ActivitySummary, summarize

MONDAY = datetime(2026, 1, 5)


def _flags(acts, rule: str, config: Config | None = None, **kw) -> list[Flag]:
    return [f for f in analyze(acts, config, **kw).flags if f.rule == rule]


def _severities(acts, rule: str, config: Config | None = None) -> list[str]:
    return [f.severity for f in _flags(acts, rule, config)]


# --- volume-jump ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_km", "expected"),
    [(32.97, []), (33.03, ["watch"]), (38.97, ["watch"]), (39.03, ["high"])],
    ids=["+9.9%", "+10.1%", "+29.9%", "+30.1%"],
)
def test_volume_jump_thresholds(last_km: float, expected: list[str]) -> None:
    acts = weekly_runs([30, 30, 30, 30, last_km])
    assert _severities(acts, "volume-jump") == expected


def test_volume_jump_evidence_sentence_and_fields() -> None:
    acts = weekly_runs([36, 36, 36, 36, 50])
    (flag,) = _flags(acts, "volume-jump")
    assert flag.evidence == "Week of 2 Feb 2026: 50.0 km, up 39 % on the 36.0 km baseline."
    assert flag.week_start == date(2026, 2, 2)
    assert flag.value == pytest.approx(38.8889, abs=1e-3)
    assert flag.threshold == 30.0
    assert flag.conditions == ("ITBS", "PFPS")
    assert flag.activity is None
    assert any("10 %" in line for line in flag.advice)
    assert "Nielsen" in flag.reference


def test_return_after_cut_back_week_is_not_a_jump() -> None:
    # 40, 40, 40, then a cut-back to 30, then back to 40: +33 % on last week, but the
    # 4-week mean (37.5 km) remembers the established level: +6.7 %.
    acts = weekly_runs([40, 40, 40, 30, 40])
    assert _severities(acts, "volume-jump") == []
    assert analyze(acts).weekly["baseline_km"][-1] == pytest.approx(37.5)


def test_small_rises_are_not_jumps() -> None:
    # +20 % but only +2 km: below the [eng] minimum rise of 3 km.
    assert _severities(weekly_runs([10, 10, 10, 10, 12]), "volume-jump") == []
    cfg = Config.from_dict({"rules": {"volume-jump": {"min_rise_km": 1.5}}})
    assert _severities(weekly_runs([10, 10, 10, 10, 12]), "volume-jump", cfg) == ["watch"]


def test_baseline_is_the_larger_of_last_week_and_the_mean() -> None:
    # Last week 40 km dominates the 4-week mean (25 km): 43.9 km is +9.75 %.
    acts = weekly_runs([20, 20, 20, 20, 40, 43.9])
    assert [f.week_start for f in _flags(acts, "volume-jump")] == [date(2026, 2, 2)]


def test_weeks_before_the_first_run_are_not_zero_km_history() -> None:
    # A ride logged a week before running starts must not make 0 km weeks the baseline:
    # 5 km, nothing, 5 km is no jump, ride or no ride (found by a hypothesis property).
    runs = [
        make_run(MONDAY + timedelta(days=7), km=5.0, with_samples=False, uid="r1"),
        make_run(MONDAY + timedelta(days=21), km=5.0, with_samples=False, uid="r2"),
    ]
    ride = make_ride(MONDAY, with_samples=False, uid="ride")
    assert _severities(runs, "volume-jump") == []
    assert _severities([ride, *runs], "volume-jump") == []
    weekly = analyze([ride, *runs]).weekly
    assert weekly["baseline_km"].to_list()[:2] == [None, None]
    assert weekly["baseline_km"][-1] == pytest.approx(2.5)


def test_first_week_has_no_baseline_and_a_return_is_judged_on_the_pre_break_level() -> None:
    assert _severities(weekly_runs([30]), "volume-jump") == []
    # back at the level of before the break: watch (tests/test_signal.py has the rest)
    assert _severities(weekly_runs([30, 0, 0, 0, 0, 30]), "volume-jump") == ["watch"]
    assert _severities(weekly_runs([30, 0, 0, 0, 0, 15]), "volume-jump") == []


# --- session-spike ----------------------------------------------------------------------------


def _spike_history(test_km: float, *, test_day: int = 35) -> list:
    return [
        make_run(MONDAY, km=10, with_samples=False, uid="a"),
        make_run(MONDAY + timedelta(days=29), km=10, with_samples=False, uid="b"),
        make_run(MONDAY + timedelta(days=test_day), km=test_km, with_samples=False, uid="c"),
    ]


@pytest.mark.parametrize(
    ("km", "expected"),
    [(10.99, []), (11.01, ["watch"]), (19.99, ["watch"]), (20.01, ["high"])],
    ids=["+9.9%", "+10.1%", "+99.9%", "+100.1%"],
)
def test_session_spike_thresholds(km: float, expected: list[str]) -> None:
    assert _severities(_spike_history(km), "session-spike") == expected


def test_session_spike_names_the_run() -> None:
    (flag,) = _flags(_spike_history(21.1), "session-spike")
    assert flag.activity is not None
    assert flag.activity_label == "Mon 9 Feb 2026, 21.1 km"
    assert flag.week_start == date(2026, 2, 9)
    assert flag.evidence == (
        "Run on Mon 9 Feb 2026: 21.1 km, 111 % longer than the longest run of the previous "
        "30 days (10.0 km)."
    )


def test_session_spike_needs_30_days_of_data_and_an_earlier_run() -> None:
    # Data starts 20 days before the long run: baseline unknown, not zero.
    acts = [
        make_run(MONDAY, km=5, with_samples=False, uid="a"),
        make_run(MONDAY + timedelta(days=20), km=15, with_samples=False, uid="b"),
    ]
    assert _severities(acts, "session-spike") == []
    # 30+ days of data but only a bike ride in the window: no earlier run, no baseline.
    acts = [
        make_run(MONDAY, km=5, with_samples=False, uid="a"),
        make_ride(MONDAY + timedelta(days=40), with_samples=False),
        make_run(MONDAY + timedelta(days=45), km=15, with_samples=False, uid="b"),
    ]
    assert _severities(acts, "session-spike") == []


def test_runs_older_than_30_days_are_not_the_baseline() -> None:
    acts = [
        make_run(MONDAY, km=30, with_samples=False, uid="a"),
        make_run(MONDAY + timedelta(days=10), km=10, with_samples=False, uid="b"),
        make_run(MONDAY + timedelta(days=35), km=12, with_samples=False, uid="c"),
    ]
    # The 30 km run is 35 days back; the 10 km run sets the baseline: +20 %.
    (flag,) = _flags(acts, "session-spike")
    assert flag.value == pytest.approx(20.0)


# --- downhill-share / downhill-jump (summaries with known terrain figures) -------------------


def _terrain(day: int, km: float, downhill_km: float | None, uid: str) -> ActivitySummary:
    """A run summary whose downhill figures are set directly (stage-2 input)."""
    s = summarize(make_run(MONDAY + timedelta(days=day), km=km, with_samples=False, uid=uid))
    row = dict(s.row)
    if downhill_km is not None:
        row.update(graded_km=km, downhill_km=downhill_km, steep_km=0.0, elevation_loss_m=0.0)
        row["has_elevation"] = True
    return ActivitySummary(row=row, hist=s.hist)


@pytest.mark.parametrize(
    ("down_km", "expected"),
    [(1.49, []), (1.51, ["watch"]), (2.49, ["watch"]), (2.5, ["high"])],
    ids=["14.9%", "15.1%", "24.9%", "25.0%"],
)
def test_downhill_share_thresholds(down_km: float, expected: list[str]) -> None:
    summaries = [_terrain(1, 10.0, down_km, "a")]
    flags = [f for f in analyze(summaries=summaries).flags if f.rule == "downhill-share"]
    assert [f.severity for f in flags] == expected
    if flags:
        assert "with elevation data was downhill" in flags[0].evidence
        assert flags[0].conditions == ("ITBS", "PFPS")


def test_unknown_downhill_never_flags_share() -> None:
    summaries = [_terrain(1, 10.0, None, "a"), _terrain(2, 10.0, None, "b")]
    analysis = analyze(summaries=summaries)
    assert analysis.weekly["downhill_share"].to_list() == [None]
    assert not [f for f in analysis.flags if f.rule.startswith("downhill")]


def _weeks_of_downhill(values: list[float | None]) -> list[ActivitySummary]:
    return [_terrain(7 * w + 1, 100.0, v, f"w{w}") for w, v in enumerate(values)]


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (5.19, []),  # 1.2975× the 4 km maximum
        (5.21, ["watch"]),  # 1.3025× and +1.21 km
        (7.99, ["watch"]),  # 1.9975×
        (8.01, ["high"]),  # 2.0025× and +4.01 km
    ],
)
def test_downhill_jump_thresholds(last: float, expected: list[str]) -> None:
    summaries = _weeks_of_downhill([4.0, 4.0, 3.0, 1.0, last])
    flags = [f for f in analyze(summaries=summaries).flags if f.rule == "downhill-jump"]
    assert [f.severity for f in flags] == expected


def test_downhill_jump_needs_the_absolute_rise_too() -> None:
    # 2.8× but only +0.9 km: not a jump.
    summaries = _weeks_of_downhill([0.5, 0.5, 0.5, 0.5, 1.4])
    assert not [f for f in analyze(summaries=summaries).flags if f.rule == "downhill-jump"]
    # From zero downhill to 2.5 km: unbounded ratio and +2.5 km -> high.
    summaries = _weeks_of_downhill([0.0, 0.0, 0.0, 0.0, 2.5])
    (flag,) = [f for f in analyze(summaries=summaries).flags if f.rule == "downhill-jump"]
    assert flag.severity == "high" and flag.value is None
    assert "up from 0.0 km" in flag.evidence


def test_downhill_jump_ignores_weeks_without_terrain_data() -> None:
    # Treadmill-only weeks before: baseline unknown, no flag.
    summaries = _weeks_of_downhill([None, None, 5.0])
    assert not [f for f in analyze(summaries=summaries).flags if f.rule == "downhill-jump"]
    # The maximum is taken over the weeks that have data.
    summaries = _weeks_of_downhill([4.0, None, None, 8.01])
    (flag,) = [f for f in analyze(summaries=summaries).flags if f.rule == "downhill-jump"]
    assert flag.severity == "high" and flag.value == pytest.approx(2.0025)


# --- low-cadence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spm", "expected"),
    [(170, []), (169, ["watch"]), (160, ["watch"]), (159, ["high"])],
)
def test_low_cadence_thresholds(spm: float, expected: list[str]) -> None:
    acts = [make_run(MONDAY + timedelta(days=1), km=6, cadence_spm=spm)]
    flags = _flags(acts, "low-cadence")
    assert [f.severity for f in flags] == expected
    if flags:
        assert flags[0].value == spm
        if expected == ["high"]:  # a week below the high level: a weekly flag
            assert flags[0].week_start is not None
            assert f"median running cadence {spm} spm" in flags[0].evidence
        else:  # the watch level is the usual cadence, one athlete-level line
            assert flags[0].week_start is None
            assert flags[0].evidence.startswith(f"Your usual running cadence is {spm} spm")
        assert "m/s" in flags[0].evidence and "/km" in flags[0].evidence
        assert flags[0].conditions == ("PFPS", "ITBS")


def test_low_cadence_needs_enough_running_time() -> None:
    # 8 minutes of running minus the 60 s edges: below the 10 min minimum.
    acts = [make_run(MONDAY + timedelta(days=1), km=1.6, pace_min_km=5.0, cadence_spm=150)]
    assert _flags(acts, "low-cadence") == []


def test_low_cadence_band_shares_in_evidence() -> None:
    acts = [
        make_run(MONDAY + timedelta(days=1), km=10, cadence_spm=164, uid=1),
        make_run(MONDAY + timedelta(days=3), km=5, cadence_spm=175, uid=2),
    ]
    (flag,) = _flags(acts, "low-cadence")
    assert "(68 % of running time below 170, 32 % within 170–180, 0 % above, at" in flag.evidence


# --- cadence-drop -----------------------------------------------------------------------------


def _cadence_weeks(last_spm: float, *, last_pace: float = 5.5, weeks: int = 8) -> list:
    acts = [
        make_run(MONDAY + timedelta(weeks=w, days=1), km=8, cadence_spm=170, uid=f"b{w}")
        for w in range(weeks)
    ]
    acts.append(
        make_run(
            MONDAY + timedelta(weeks=weeks, days=1),
            km=8,
            pace_min_km=last_pace,
            cadence_spm=last_spm,
            uid="last",
        )
    )
    return acts


@pytest.mark.parametrize(
    ("spm", "expected"),
    [(165, []), (164, ["watch"]), (162, ["watch"]), (161, ["high"])],
    ids=["-2.9%", "-3.5%", "-4.7%", "-5.3%"],
)
def test_cadence_drop_thresholds(spm: float, expected: list[str]) -> None:
    flags = _flags(_cadence_weeks(spm), "cadence-drop")
    assert [f.severity for f in flags] == expected
    if flags:
        assert flags[0].week_start == date(2026, 3, 2)
        assert flags[0].value == pytest.approx((spm / 170 - 1) * 100, abs=1e-3)
        assert f"{spm} vs 170 spm" in flags[0].evidence


def test_cadence_drop_compares_only_matched_speeds() -> None:
    # Slower running (another speed band) at a lower cadence is not a drop.
    assert _flags(_cadence_weeks(160, last_pace=7.0), "cadence-drop") == []


def test_cadence_drop_uses_at_most_8_previous_weeks() -> None:
    # 8 weeks at 180 spm, then 8 at 170. The pooled 8-week median stays at 180 until the
    # 170 weeks make up half of the window, so the first four 170 weeks are drops; the
    # final week at 169 is compared with 170 only (-0.6 %), the 180 weeks have left.
    old = [
        make_run(MONDAY + timedelta(weeks=w, days=2), km=8, cadence_spm=180, uid=f"o{w}")
        for w in range(8)
    ]
    recent = [
        make_run(MONDAY + timedelta(weeks=8 + w, days=2), km=8, cadence_spm=170, uid=f"r{w}")
        for w in range(8)
    ]
    last = make_run(MONDAY + timedelta(weeks=16, days=2), km=8, cadence_spm=169, uid="x")
    flags = _flags([*old, *recent, last], "cadence-drop")
    assert [f.week_start for f in flags] == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
        date(2026, 3, 23),
    ]
    assert {f.severity for f in flags} == {"high"}  # 170 vs 180 is -5.6 %


# --- strength-gap -----------------------------------------------------------------------------


def test_no_strength_recorded_gives_one_athlete_level_watch() -> None:
    acts = weekly_runs([20, 20, 20])
    (flag,) = _flags(acts, "strength-gap")
    assert flag.severity == "watch" and flag.week_start is None
    assert flag.evidence == (
        "No strength session recorded in the last 3 weeks (5 Jan 2026 to 25 Jan 2026); the "
        "guide advises two a week; if you train without recording it, ignore this."
    )


def test_strength_gap_is_one_watch_line_about_the_last_twelve_weeks() -> None:
    # 20 running weeks; two sessions in week 1 only: one athlete-level watch (never a
    # per-week HIGH), counting only the last 12 weeks, where none was recorded.
    acts = weekly_runs([20] * 20)
    acts += [make_strength(local(2026, 1, 6), uid=1), make_strength(local(2026, 1, 8), uid=2)]
    flags = _flags(acts, "strength-gap")
    assert [(f.week_start, f.severity) for f in flags] == [(None, "watch")]
    assert "No strength session recorded in the last 12 weeks" in flags[0].evidence


def test_strength_gap_counts_sessions_per_running_week() -> None:
    acts = weekly_runs([20, 20, 20, 20])
    acts += [make_strength(local(2026, 1, 6), uid=1), make_strength(local(2026, 1, 14), uid=2)]
    (flag,) = _flags(acts, "strength-gap")  # 2 in 4 running weeks: 0.5 a week
    assert flag.evidence.startswith("2 strength sessions recorded in the last 4 weeks")
    assert "0.5 per running week" in flag.evidence
    acts += [make_strength(local(2026, 1, 21), uid=3), make_strength(local(2026, 1, 28), uid=4)]
    assert _flags(acts, "strength-gap") == []  # one a week: no line


# --- engine-wide ------------------------------------------------------------------------------


def test_flags_sorted_high_first_then_week_then_rule() -> None:
    acts = weekly_runs([30, 30, 30, 30, 45], with_samples=True, cadence_spm=165)
    flags = analyze(acts).flags
    keys = [({"high": 0, "watch": 1}[f.severity], f.week_start or date.min, f.rule) for f in flags]
    assert keys == sorted(keys)
    assert flags[0].severity == "high"
    assert {f.rule for f in flags} >= {"volume-jump", "low-cadence", "strength-gap"}


def test_threshold_overrides_from_config() -> None:
    acts = weekly_runs([30, 30, 30, 30, 34])  # +13.3 %
    assert _severities(acts, "volume-jump") == ["watch"]
    cfg = Config.from_dict({"rules": {"volume-jump": {"watch_pct": 15}}})
    assert _severities(acts, "volume-jump", cfg) == []
    cfg = Config.from_dict({"rules": {"low-cadence": {"watch_below_spm": 166}}})
    run = [make_run(MONDAY + timedelta(days=1), km=6, cadence_spm=167)]
    assert _severities(run, "low-cadence") == ["watch"]
    assert _severities(run, "low-cadence", cfg) == []


def test_no_strength_flag_without_running() -> None:
    assert _flags([make_ride(MONDAY, with_samples=False)], "strength-gap") == []
