"""The report model: window, flag filtering and grouping, weekly rows, runs, summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from report_helpers import FIRST_MONDAY, empty_analysis, make_analysis

from kneeflags.findings import Flag
from kneeflags.model import Problem
from kneeflags.report.model import (
    build_athlete_report,
    build_report,
    generated_at_now,
    make_window,
)

WEEKS = 14
LAST_MONDAY = FIRST_MONDAY + timedelta(weeks=WEEKS - 1)


def test_window_ends_with_week_of_latest_activity() -> None:
    a = make_analysis(weeks=WEEKS)
    win = make_window(a, weeks=12)
    assert win.last_week == LAST_MONDAY
    assert win.first_week == LAST_MONDAY - timedelta(weeks=11)
    assert win.end == LAST_MONDAY + timedelta(days=6)
    assert win.week_label == "2026-W06"


def test_until_moves_the_window_and_earlier_flags_drop_out() -> None:
    a = make_analysis(weeks=WEEKS)
    until = FIRST_MONDAY + timedelta(weeks=5, days=3)  # a Thursday
    r = build_athlete_report(a, weeks=4, until=until)
    assert r.window.last_week == FIRST_MONDAY + timedelta(weeks=5)
    assert [w.week_start for w in r.weeks] == [
        FIRST_MONDAY + timedelta(weeks=k) for k in range(2, 6)
    ]
    # every dated flag of the fixture is after week 5; only the athlete-level one stays
    assert [f.rule for f in r.flags] == ["strength-gap"]
    assert all(act.local_start.date() <= r.window.end for act in r.activities)


def test_flags_outside_window_are_dropped_and_athlete_flags_kept() -> None:
    a = make_analysis(weeks=WEEKS)
    old = Flag(
        rule="volume-jump",
        conditions=("ITBS", "PFPS"),
        severity="high",
        week_start=FIRST_MONDAY,
        value=50.0,
        threshold=30.0,
        evidence="old",
        advice=(),
        reference="",
    )
    a.flags.append(old)
    r = build_athlete_report(a, weeks=3)
    assert old not in r.flags
    assert any(f.week_start is None for f in r.flags)
    assert all(f.week_start is None or r.window.contains(f.week_start) for f in r.flags)
    # high first, then most recent week first
    sev = [f.severity for f in r.flags]
    assert sev == sorted(sev, key=lambda s: s != "high")


def test_flags_grouped_by_primary_condition_then_severity() -> None:
    r = build_athlete_report(make_analysis(weeks=WEEKS), weeks=12)
    assert [g.condition for g in r.groups] == ["ITBS", "PFPS"]
    itbs, pfps = r.groups
    assert [rf.severity for rf in itbs.rules] == ["high", "high", "watch", "watch"]
    assert {rf.rule for rf in itbs.rules} == {
        "volume-jump",
        "downhill-share",
        "session-spike",
        "strength-gap",
    }
    (cad,) = pfps.rules
    assert cad.rule == "low-cadence" and len(cad.flags) == 4
    assert cad.conditions == ("PFPS", "ITBS")
    # the same advice on four weekly flags is listed once, chronological evidence
    assert len(cad.advice) == 2
    weeks = [f.week_start for f in cad.flags]
    assert weeks == sorted(weeks)
    assert sum(g.count for g in r.groups) == len(r.flags)


def test_weekly_rows_carry_flags_and_metrics() -> None:
    r = build_athlete_report(make_analysis(weeks=WEEKS), weeks=12)
    assert len(r.weeks) == 12
    jump = next(w for w in r.weeks if w.week_start == LAST_MONDAY - timedelta(weeks=1))
    assert jump.run_km == pytest.approx(52.0)
    assert jump.volume_severity == "high" and jump.flag_severity == "high"
    assert "volume-jump" in jump.flag_rules
    treadmill = next(w for w in r.weeks if w.week_start == FIRST_MONDAY + timedelta(weeks=3))
    assert treadmill.downhill_share is None  # unknown, not 0
    assert dict(r.weeks[1].cross_training_by_sport) == {"cycling": 45.0}


def test_weeks_after_last_activity_are_zero_filled_and_before_first_are_not_shown() -> None:
    a = make_analysis(weeks=3)
    until = FIRST_MONDAY + timedelta(weeks=4)
    r = build_athlete_report(a, weeks=8, until=until)
    starts = [w.week_start for w in r.weeks]
    assert starts[0] == FIRST_MONDAY  # no invented weeks before the first activity
    assert starts[-1] == until
    tail = r.weeks[-2:]
    assert all(not w.has_data and w.run_km == 0.0 and w.runs == 0 for w in tail)
    assert all(w.cadence_spm_median is None and w.change_pct is None for w in tail)
    assert r.summary.run_km is None  # the reported week lies after the data: unknown, not 0


def test_prior_longest_uses_runs_before_the_window() -> None:
    a = make_analysis(weeks=WEEKS)
    r = build_athlete_report(a, weeks=1)
    first = r.activities[0]
    acts = a.activities.filter(
        (pl.col("local_start") < first.local_start)
        & (pl.col("local_start") >= first.local_start - timedelta(days=30))
    )
    assert first.prior_longest_km == pytest.approx(acts["distance_km"].max())
    spiked = [x for x in r.activities if x.flag_severity]
    assert [x.activity_id for x in spiked] == [f"{WEEKS - 1:04d}{2:012d}:0"]


def test_cadence_distribution_only_counts_window_runs() -> None:
    a = make_analysis(weeks=WEEKS)
    r = build_athlete_report(a, weeks=2)
    ids = {x.activity_id for x in r.activities}
    expected = (
        a.cadence_hist.filter(pl.col("activity_id").is_in(sorted(ids)))
        .group_by("spm")
        .agg(pl.col("seconds").sum())
        .sort("spm")
    )
    assert [s for s, _ in r.cadence_seconds] == expected["spm"].to_list()
    assert sum(t for _, t in r.cadence_seconds) == pytest.approx(expected["seconds"].sum())


def test_summary_and_fail_on_use_the_last_week_and_athlete_flags() -> None:
    r = build_athlete_report(make_analysis(weeks=WEEKS), weeks=12)
    s = r.summary
    assert s.week_start == LAST_MONDAY
    current = {f.rule for f in r.current_flags}
    assert current == {"downhill-share", "session-spike", "low-cadence", "strength-gap"}
    assert s.severity == "high" and s.flags_this_week == 4
    assert s.flags_in_window == len(r.flags)
    rep = build_report([r])
    assert rep.reached("watch") and rep.reached("high") and not rep.reached(None)
    # a window whose last week holds only watch flags does not reach "high"
    r2 = build_athlete_report(
        make_analysis(weeks=WEEKS), weeks=2, until=LAST_MONDAY - timedelta(weeks=3)
    )
    assert build_report([r2]).reached("watch")
    assert not build_report([r2]).reached("high")


def test_empty_analysis_has_no_weeks_and_no_data() -> None:
    r = build_athlete_report(
        empty_analysis(), errors=[Problem("/x/b.fit", "truncated FIT file")], until=date(2026, 1, 7)
    )
    assert not r.has_data and r.weeks == () and r.activities == ()
    rep = build_report([r])
    assert [p.path for p in rep.errors] == ["/x/b.fit"]


def test_problems_are_sorted_so_parallel_reading_cannot_reorder_them() -> None:
    probs = [Problem("/b.fit", "x"), Problem("/a.fit", "y"), Problem("/a.fit", "a")]
    r = build_athlete_report(make_analysis(), errors=probs)
    assert [(p.path, p.message) for p in r.errors] == [
        ("/a.fit", "a"),
        ("/a.fit", "y"),
        ("/b.fit", "x"),
    ]


def test_generated_at_pinned_by_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = datetime(2026, 2, 9, tzinfo=UTC)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert generated_at_now(pinned=pinned) == pinned
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert generated_at_now(pinned=pinned) == datetime.fromtimestamp(1700000000, tz=UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "not-a-number")
    assert generated_at_now(pinned=pinned) == pinned


def test_weeks_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make_window(make_analysis(), weeks=0)
