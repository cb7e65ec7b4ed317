"""The return-to-running protocol on generated fixtures: every phase transition of both
conditions, with exact days and caps (see tests/journal_fixtures.py)."""

from __future__ import annotations

from journal_fixtures import Story, day, itbs_story, pfps_story

from kneeflags.plan.protocol import ProtocolConfig


def phases(story: Story, as_of: int) -> list[tuple[int, str]]:
    ep = story.episode(as_of)
    return [((c.day - day(0)).days, c.phase) for c in ep.trace.changes]


# --- ITBS --------------------------------------------------------------------------------


def test_itbs_opens_in_criteria_and_passing_check_restarts_at_half_the_onset() -> None:
    s = itbs_story()
    ep = s.episode(2)
    assert (ep.condition, ep.side, ep.start) == ("ITBS", "left", day(0))
    assert ep.trace.phase == "itbs-criteria"
    assert ep.trace.session_cap_km == 0.0 and ep.trace.week_cap_km == 0.0
    ep = s.episode(3)
    assert ep.trace.phase == "itbs-restart"
    assert ep.trace.session_cap_km == 4.0  # 50 % of the 8 km onset
    assert ep.trace.week_cap_km == 12.0  # three sessions at the cap
    assert phases(s, 3) == [(0, "itbs-criteria"), (3, "itbs-restart")]


def test_itbs_failed_check_keeps_criteria() -> None:
    s = Story().history().pain(0, during=6, onset_km=8.0).check(3, failed=("stairs-down",))
    assert s.episode(10).trace.phase == "itbs-criteria"
    assert s.episode(10).trace.failed_check == ("stairs-down",)
    s.check(11)
    assert s.episode(11).trace.phase == "itbs-restart"


def test_itbs_build_cap_follows_last_pain_free_run_not_previous_cap() -> None:
    s = itbs_story().ok_runs(range(4, 5), 4.0)
    ep = s.episode(4)
    assert ep.trace.phase == "itbs-build"
    assert ep.trace.session_cap_km == 4.6  # 4.0 + 15 %
    s.ok_runs(range(6, 7), 3.0)  # ran less than the cap, pain-free
    assert s.episode(6).trace.session_cap_km == 3.4  # 15 % over 3.0 (3.45, down), not 4.6 + 15 %
    assert s.episode(6).trace.last_pain_free_km == 3.0


def test_itbs_run_without_entry_does_not_progress() -> None:
    s = itbs_story().run(4, 4.0)
    ep = s.episode(5)
    assert ep.trace.phase == "itbs-restart" and ep.trace.session_cap_km == 4.0


def test_itbs_hills_after_28_days_of_pain_free_flat_running_then_closes() -> None:
    s = itbs_story().ok_runs(range(4, 60, 2), 4.0)
    assert phases(s, 31) == [(0, "itbs-criteria"), (3, "itbs-restart"), (4, "itbs-build")]
    assert phases(s, 32)[-1] == (32, "itbs-hills")  # day 4 + 28
    ep = s.episode(45)
    assert ep.is_open and ep.trace.phase == "itbs-hills"
    closed = s.episode(60)
    assert closed.trace.closed_on == day(46)  # hills held 14 days without pain
    assert not closed.is_open


def test_itbs_setback_in_build_steps_back_to_restart_cap() -> None:
    s = itbs_story().ok_runs(range(4, 9, 2), [4.0, 4.6, 5.2])
    assert s.episode(8).trace.session_cap_km == 5.9  # 5.2 + 15 % = 5.98, down
    s.run(10, 5.8).pain(10, during=6, after=5)
    ep = s.episode(10)
    assert ep.trace.phase == "itbs-restart"
    assert ep.trace.session_cap_km == 4.0
    assert phases(s, 10)[-1] == (10, "itbs-restart")


def test_itbs_worse_next_morning_in_hills_steps_back_to_build() -> None:
    s = itbs_story().ok_runs(range(4, 34, 2), 4.0)
    assert s.episode(33).trace.phase == "itbs-hills"
    s.run(34, 4.5).pain(34, during=2, after=1, next_morning=3)
    ep = s.episode(35)
    assert ep.trace.phase == "itbs-build"
    assert ep.trace.flat_days == 0  # the flat-running clock starts again
    assert ep.trace.session_cap_km == 4.6  # still 15 % over the last pain-free run


def test_itbs_acceptable_pain_holds_phase_and_cap() -> None:
    s = itbs_story().ok_runs(range(4, 5), 4.0)
    s.run(6, 4.6).pain(6, during=2, after=1, next_morning=1)
    ep = s.episode(7)
    assert ep.trace.phase == "itbs-build"
    assert ep.trace.session_cap_km == 4.6  # no progression on a painful run
    assert ep.trace.pain_free_streak == 0


def test_itbs_onset_falls_back_to_painful_runs_then_minutes() -> None:
    s = Story().run(0, 10.0).pain(0, during=5).run(2, 6.0).pain(2, during=4)
    assert s.episode(3).trace.onset_km == 8.0  # median of the painful runs 10 and 6
    m = Story().run(0, 10.0, minutes=60).pain(0, during=5, onset_min=30.0)
    assert m.episode(1).trace.onset_km == 5.0  # 30 of 60 minutes of a 10 km run


# --- PFPS --------------------------------------------------------------------------------


def test_pfps_reduced_caps_are_half_the_pre_episode_running() -> None:
    ep = pfps_story().episode(1)
    assert ep.condition == "PFPS" and ep.trace.phase == "pfps-reduced"
    assert ep.trace.baseline_week_km == 30.0 and ep.trace.baseline_longest_km == 12.0
    assert ep.trace.session_cap_km == 6.0 and ep.trace.week_cap_km == 15.0


def test_pfps_build_after_two_pain_free_weeks_then_full_then_closed() -> None:
    s = pfps_story().ok_runs(range(1, 120, 2), 5.0)
    assert s.episode(14).trace.phase == "pfps-reduced"
    assert phases(s, 15) == [(0, "pfps-reduced"), (15, "pfps-build")]
    ep = s.episode(16)
    assert ep.trace.session_cap_km == 6.0  # 10 % over 5 km is below the reduced cap
    assert phases(s, 57)[-1] == (57, "pfps-full")  # 42 days after the build began
    assert s.episode(70).is_open
    assert s.episode(71).trace.closed_on == day(71)  # full phase held 14 days


def test_pfps_acceptable_pain_restarts_the_two_weeks() -> None:
    s = pfps_story().ok_runs(range(1, 40, 2), 5.0)
    s.run(8, 5.0).pain(8, site="front", during=2, after=1, next_morning=1)
    assert s.episode(20).trace.phase == "pfps-reduced"
    assert phases(s, 30)[-1] == (23, "pfps-build")  # 14 clear days after day 8


def test_pfps_failed_check_blocks_build_until_passed() -> None:
    s = pfps_story().ok_runs(range(1, 40, 2), 5.0).check(5, "PFPS", ("calf-raises",))
    assert s.episode(20).trace.phase == "pfps-reduced"
    s.check(21, "PFPS")
    assert phases(s, 25)[-1] == (22, "pfps-build")


def test_pfps_setback_in_build_steps_back_to_reduced() -> None:
    s = pfps_story().ok_runs(range(1, 20, 2), 5.0)
    assert s.episode(20).trace.phase == "pfps-build"
    s.run(21, 6.0).pain(21, site="front", during=6)
    ep = s.episode(22)
    assert ep.trace.phase == "pfps-reduced" and ep.trace.build_days == 0


def test_pfps_week_cap_grows_ten_percent_over_last_week_in_build() -> None:
    s = pfps_story().ok_runs(range(1, 30, 1), 3.0)  # 21 km a week, 3 km a day
    ep = s.episode(27)  # Saturday of week 4; next week starts day 28
    assert ep.trace.phase == "pfps-build"
    assert ep.trace.week_cap_km == 23.1  # 21 km last 7 days before day 28 + 10 %


# --- both ------------------------------------------------------------------------------------


def test_two_sites_give_two_episodes() -> None:
    s = itbs_story().pain(1, site="front", during=3)
    eps = s.episodes(5)
    assert [(e.condition, e.start) for e in eps] == [("ITBS", day(0)), ("PFPS", day(1))]


def test_site_unclear_follows_the_shared_shape() -> None:
    s = Story().history().pain(0, site="other", during=3)
    ep = s.episode(2)
    assert ep.condition == "unclear" and ep.label == "knee pain (site unclear)"
    assert ep.trace.phase == "unclear-reduced"


def test_new_pain_after_close_opens_a_new_episode() -> None:
    s = itbs_story().ok_runs(range(4, 60, 2), 4.0).pain(70, during=4)
    eps = s.episodes(72)
    assert [(e.start, e.is_open) for e in eps] == [(day(0), False), (day(70), True)]


def test_nothing_after_as_of_is_used() -> None:
    base = itbs_story().ok_runs(range(4, 10, 2), 4.0)
    later = itbs_story().ok_runs(range(4, 10, 2), 4.0).pain(20, during=8).run(20, 20.0)
    assert base.episode(12).summary_key() == later.episode(12).summary_key()


def test_config_numbers_are_used() -> None:
    s = itbs_story()
    from kneeflags.journal.episodes import derive_episodes

    cfg = ProtocolConfig(itbs_start_fraction=0.3)
    ep = derive_episodes(s.entries, s.runs, as_of=day(4), config=cfg)[0]
    assert ep.trace.session_cap_km == 2.4


# --- transitions and closes added by the audit --------------------------------------------


def test_itbs_setback_in_restart_steps_back_to_the_criteria_check() -> None:
    s = itbs_story().run(4, 4.0).pain(4, during=6, after=6)  # first run back hurt
    ep = s.episode(5)
    assert phases(s, 5) == [(0, "itbs-criteria"), (3, "itbs-restart"), (4, "itbs-criteria")]
    assert ep.trace.session_cap_km == 0.0  # no running until the check is passed again
    s.check(7)
    assert s.episode(7).trace.phase == "itbs-restart"


def test_pfps_setback_in_full_steps_back_to_build_and_the_clock_restarts() -> None:
    s = pfps_story().ok_runs(range(1, 140, 2), 5.0)
    s.run(60, 5.0).pain(60, site="front", during=7)  # full since day 57
    assert phases(s, 61)[-2:] == [(57, "pfps-full"), (60, "pfps-build")]
    assert s.episode(101).trace.phase == "pfps-build"
    assert phases(s, 102)[-1] == (102, "pfps-full")  # 42 days after the setback


def test_mild_pain_in_the_final_phase_delays_the_close_not_for_ever() -> None:
    """An acceptable pain day (1/10, settled by the morning) in the final phase restarts
    the 14 days the phase must be held without pain. Before the audit it kept the episode
    open for good: 160 pain-free days later it was still 'day 200 of the episode'."""
    s = itbs_story().ok_runs(range(4, 200, 2), 4.0)
    s.run(40, 4.0).pain(40, during=1, after=1, next_morning=0)  # hills since day 32
    assert s.episode(40).trace.phase == "itbs-hills"
    assert s.episode(54).is_open
    assert s.episode(55).trace.closed_on == day(55)  # 14 clear days from day 41
    p = pfps_story().ok_runs(range(1, 200, 2), 5.0)
    p.run(61, 5.0).pain(61, site="front", during=2, after=1, next_morning=1)  # full since 57
    (ep,) = p.episodes(199)
    assert ep.trace.phase == "pfps-full" and ep.trace.closed_on == day(76)
