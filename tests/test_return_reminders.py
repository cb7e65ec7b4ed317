"""The clinician reminders of a return report (issue 14): the guide's, always, plus one when
pain above 5/10 was logged and one when the episode outlasts the guide's range (ITBS: most
cases settle within 4-8 weeks; PFPS: get help when not improving after 6-8 weeks)."""

from __future__ import annotations

from journal_fixtures import Story, day

from kneeflags.findings import CLINICIAN_REMINDER
from kneeflags.plan.return_to_run import reminders


def _still_hurting(site: str, last: int) -> Story:
    """Pain at ``site`` every week up to day ``last``: the episode never closes."""
    s = Story().history()
    for n in range(0, last + 1, 7):
        s.pain(n, site=site, during=4, after=3, next_morning=3)
    return s


def test_pain_up_to_five_keeps_only_the_guides_reminder() -> None:
    s = Story().history().pain(0, during=5, after=5, next_morning=4, onset_km=8.0)
    assert reminders(s.episode(10), day(10)) == (CLINICIAN_REMINDER,)


def test_pain_above_five_adds_a_reminder_naming_the_day() -> None:
    s = Story().history().pain(0, during=4, onset_km=8.0).pain(2, during=3, next_morning=6)
    assert reminders(s.episode(10), day(10)) == (
        CLINICIAN_REMINDER,
        "You logged pain of 6/10 on 2026-01-07: pain above 5/10 is more than a return "
        "protocol should meet; have it assessed by a GP, physiotherapist or sports medicine "
        "physician.",
    )


def test_itbs_beyond_eight_weeks_adds_a_reminder() -> None:
    s = _still_hurting("outer", 56)
    ep = s.episode(55)  # day 56 of the episode: 8 weeks, still within the guide's range
    assert reminders(ep, day(55)) == (CLINICIAN_REMINDER,)
    ep = s.episode(56)  # day 57
    assert reminders(ep, day(56)) == (
        CLINICIAN_REMINDER,
        "This episode has lasted 57 days, beyond the 4–8 weeks in which most IT band cases "
        "settle with load management and hip strengthening: a physiotherapist or sports "
        "medicine physician can look for what keeps it going.",
    )


def test_pfps_beyond_eight_weeks_adds_the_guides_referral() -> None:
    s = _still_hurting("front", 63)
    assert reminders(s.episode(55), day(55)) == (CLINICIAN_REMINDER,)
    got = reminders(s.episode(63), day(63))
    assert got[1] == (
        "This episode has lasted 64 days: if the pain is not improving after 6–8 weeks of "
        "consistent strengthening, the guide suggests a physiotherapist and a gait analysis."
    )
