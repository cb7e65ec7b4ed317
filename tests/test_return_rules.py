"""Each ``rtr-*`` breach in both conditions, on generated fixtures with exact expectations."""

from __future__ import annotations

from journal_fixtures import Story, day, itbs_story, pfps_story

from kneeflags.findings import Flag
from kneeflags.rules.catalogue import RETURN_RULES, RULES_BY_ID
from kneeflags.rules.return_to_run import return_flags


def flags(story: Story, as_of: int, rule: str | None = None) -> list[Flag]:
    out = return_flags(story.episodes(as_of))
    return [f for f in out if rule is None or f.rule == rule]


def brief(fs: list[Flag]) -> list[tuple[str, str, str | None]]:
    return [(f.rule, f.severity, f.activity) for f in fs]


def test_catalogue_holds_the_return_rules_with_guide_quotes() -> None:
    ids = [r.id for r in RETURN_RULES]
    assert ids[:5] == [
        "rtr-session-cap",
        "rtr-weekly-cap",
        "rtr-downhill",
        "rtr-speed-work",
        "rtr-progression",
    ]
    for r in RETURN_RULES:
        assert r.guide_quote and "“" in r.guide_quote
        assert RULES_BY_ID[r.id] is r
        assert r.threshold_lines() and r.advice_keys


def test_clean_return_has_no_breach() -> None:
    s = itbs_story().ok_runs(range(4, 12, 2), [4.0, 4.6, 5.2, 5.9])
    assert flags(s, 12) == []
    p = pfps_story().ok_runs(range(1, 14, 3), 5.0)
    assert flags(p, 14) == []


# --- rtr-session-cap ------------------------------------------------------------------------


def test_itbs_run_before_criteria_check_is_high() -> None:
    s = Story().history().pain(0, during=6, onset_km=8.0).run(2, 3.0)
    f = flags(s, 3, "rtr-session-cap")
    assert brief(f) == [("rtr-session-cap", "high", "run-+002-07")]
    assert f[0].conditions == ("ITBS",)
    assert "before the ITBS criteria check" in f[0].evidence
    assert f[0].activity_label == "Wed 7 Jan 2026, 3.0 km"


def test_itbs_session_over_cap_watch_and_high() -> None:
    s = itbs_story().ok_runs(range(4, 5), 4.0)  # cap now 4.6
    s.run(6, 5.0).ok(6)  # 8.7 % over
    s.run(8, 7.5).ok(8)  # cap 5.7 (5.0 + 15 %): 31.6 % over
    f = flags(s, 9, "rtr-session-cap")
    assert [(x.severity, x.activity, round(x.value or 0, 1)) for x in f] == [
        ("high", "run-+008-07", 31.6),
        ("watch", "run-+006-07", 8.7),
    ]
    assert f[0].evidence == (
        "Run on Tue 13 Jan 2026: 7.5 km in the ITBS build by session phase, 32 % over the "
        "5.7 km session cap."
    )


def test_pfps_session_over_reduced_cap() -> None:
    s = pfps_story().run(2, 7.0).ok(2)  # cap 6.0 (half of 12 km)
    assert brief(flags(s, 3, "rtr-session-cap")) == [("rtr-session-cap", "watch", "run-+002-07")]
    s.run(4, 9.0)
    assert brief(flags(s, 5, "rtr-session-cap"))[0] == ("rtr-session-cap", "high", "run-+004-07")


# --- rtr-weekly-cap -------------------------------------------------------------------------


def test_pfps_week_over_reduced_cap() -> None:
    s = pfps_story().ok_runs(range(1, 7), 4.0)  # 24 km against a 15 km week cap
    f = flags(s, 6, "rtr-weekly-cap")
    assert [(x.severity, x.week_start, x.activity) for x in f] == [("high", day(0), None)]
    assert "60 % over the 15.0 km week cap" in f[0].evidence


def test_itbs_week_over_cap() -> None:
    s = itbs_story().ok_runs(range(4, 5), 4.0)  # day 4 Friday; week 2 starts day 7
    s.ok_runs(range(7, 14), 4.5)  # 31.5 km vs max(4.0*1.1, 3 × 4.6 = 13.8)
    f = flags(s, 13, "rtr-weekly-cap")
    assert [(x.severity, x.week_start) for x in f] == [("high", day(7))]


# --- rtr-downhill ---------------------------------------------------------------------------


def test_itbs_downhill_in_flat_phase_high_then_watch() -> None:
    s = itbs_story().ok_runs(range(4, 40, 2), 4.0)
    s.run(15, 4.0, downhill=1.0).ok(15)  # 11 days of flat running: high
    s.run(29, 4.0, downhill=1.0).ok(29)  # 25 days: watch (3–4 weeks)
    s.run(33, 4.0, downhill=1.0).ok(33)  # hills phase from day 32: allowed
    s.run(17, 4.0, downhill=0.4).ok(17)  # below 0.5 km: ignored
    f = flags(s, 34, "rtr-downhill")
    assert [(x.severity, x.activity) for x in f] == [
        ("high", "run-+015-07"),
        ("watch", "run-+029-07"),
    ]


def test_pfps_downhill_first_weeks_back() -> None:
    s = pfps_story()
    s.run(5, 5.0, downhill=1.0).ok(5)  # day 6 back: high
    s.run(16, 5.0, downhill=1.0).ok(16)  # day 17: watch
    s.run(22, 5.0, downhill=1.0).ok(22)  # day 23: allowed
    f = flags(s, 23, "rtr-downhill")
    assert [(x.severity, x.activity) for x in f] == [
        ("high", "run-+005-07"),
        ("watch", "run-+016-07"),
    ]


def test_unknown_downhill_is_not_flagged() -> None:
    s = pfps_story().run(3, 5.0, downhill=None).ok(3)
    assert flags(s, 4, "rtr-downhill") == []


# --- rtr-speed-work -------------------------------------------------------------------------


def test_itbs_speed_work_before_hills() -> None:
    s = itbs_story().ok_runs(range(4, 40, 2), 4.0)
    s.run(9, 4.0, speed=True).ok(9)
    s.run(27, 4.0, speed=True).ok(27)
    s.run(35, 4.0, speed=True).ok(35)  # hills phase: allowed
    f = flags(s, 36, "rtr-speed-work")
    assert [(x.severity, x.activity) for x in f] == [
        ("high", "run-+009-07"),
        ("watch", "run-+027-07"),
    ]


def test_pfps_speed_work_before_full_phase() -> None:
    s = pfps_story().ok_runs(range(1, 80, 2), 5.0)  # build from day 15, full from 57
    s.run(20, 5.0, speed=True).ok(20)  # build day 6: high
    s.run(48, 5.0, speed=True).ok(48)  # build day 34: watch
    s.run(60, 5.0, speed=True).ok(60)  # full: allowed
    f = flags(s, 61, "rtr-speed-work")
    assert [(x.severity, x.activity) for x in f] == [
        ("high", "run-+020-07"),
        ("watch", "run-+048-07"),
    ]
    assert "day 6 of the build" in f[0].evidence


# --- rtr-progression ------------------------------------------------------------------------


def test_itbs_running_on_after_worse_next_morning() -> None:
    s = itbs_story().ok_runs(range(4, 7, 2), [4.0, 4.6])
    s.run(8, 5.0).pain(8, during=2, after=2, next_morning=4)  # worse next morning
    s.run(10, 5.0)  # same distance: no step back
    f = flags(s, 11, "rtr-progression")
    assert [(x.severity, x.activity, x.value) for x in f] == [("high", "run-+010-07", 1.0)]


def test_pfps_step_back_after_setback_is_not_flagged() -> None:
    s = pfps_story().run(3, 5.0).pain(3, site="front", during=6)
    s.run(5, 3.0)
    assert flags(s, 6, "rtr-progression") == []
    s.run(7, 5.5)  # not the first run after the setback any more
    assert flags(s, 8, "rtr-progression") == []
    t = pfps_story().run(3, 5.0).pain(3, site="front", during=6).run(5, 5.5)
    assert brief(flags(t, 6, "rtr-progression")) == [("rtr-progression", "high", "run-+005-07")]


# --- rtr-onset ------------------------------------------------------------------------------


def test_runs_past_the_median_onset_distance() -> None:
    s = Story().history().pain(0, during=4, onset_km=6.0).pain(2, during=4, onset_km=7.0)
    s.check(3).run(4, 6.0).ok(4).run(6, 7.0).ok(6)
    f = flags(s, 7, "rtr-onset")
    assert [(x.activity, x.threshold) for x in f] == [("run-+006-07", 6.5)]


def test_the_painful_run_that_opened_the_episode_is_not_a_breach() -> None:
    # Day 0: a 9 km run on which the pain came on (the entry opens the episode). It is the
    # evidence the protocol starts from (the onset), not a run made under the protocol, so
    # no "before the criteria check" or cap breach names it; the run of day 1 is one.
    s = Story().history().run(0, 9.0).pain(0, during=4, onset_km=7.0).run(1, 5.0)
    f = flags(s, 6, "rtr-session-cap")
    assert [x.activity for x in f] == ["run-+001-07"]
    assert "before the ITBS criteria check was passed" in f[0].evidence


def test_setback_logged_for_a_day_without_a_run_refers_to_the_last_run() -> None:
    """Pain worse the next morning logged for a rest day (or the morning after): the load
    that hurt is the last run before it, and running that far again is no step back.
    Before the audit such a setback never gave rtr-progression (no run that day)."""
    s = itbs_story().ok_runs(range(4, 7, 2), [4.0, 4.6]).run(8, 5.0).ok(8)
    s.pain(9, during=2, after=2, next_morning=4)  # no run on day 9
    s.run(10, 5.0)
    f = flags(s, 11, "rtr-progression")
    assert [(x.severity, x.activity, x.value) for x in f] == [("high", "run-+010-07", 1.0)]
    assert f[0].evidence == (
        "Run on Thu 15 Jan 2026: 5.0 km, after the setback logged for Wed 14 Jan 2026 (the "
        "last run before it, Tue 13 Jan 2026: 5.0 km) without stepping back."
    )
    stepped_back = itbs_story().ok_runs(range(4, 7, 2), [4.0, 4.6]).run(8, 5.0).ok(8)
    stepped_back.pain(9, during=2, after=2, next_morning=4).run(10, 3.0)
    assert flags(stepped_back, 11, "rtr-progression") == []


def test_a_setback_on_a_rest_day_is_not_tied_to_a_run_from_months_before() -> None:
    """The last run before a rest-day setback is the load that hurt only when it is recent:
    a run from before the longest-run window (30 days) before the episode is not it."""
    s = Story().run(-90, 3.0).pain(0, during=6, after=4, next_morning=3).check(3)
    s.pain(4, during=2, after=2, next_morning=4)  # a setback, no run since day -90
    s.run(6, 3.0)
    assert flags(s, 7, "rtr-progression") == []
    recent = Story().run(-2, 3.0).pain(0, during=6, after=4, next_morning=3).check(3)
    recent.pain(4, during=2, after=2, next_morning=4).run(6, 3.0)
    assert [f.severity for f in flags(recent, 7, "rtr-progression")] == ["high"]
