"""The return-to-running protocol's numbers, apart from the protocol itself.

Why a module of its own: the configuration (:mod:`kneeflags.config`) carries these numbers
for every command, while the protocol's phases and its day-by-day fold
(:mod:`kneeflags.plan.protocol`) are needed only when the journal holds a knee-pain
episode. Kept apart, a run without one does not build the protocol's classes at start-up
(issue 15: a warm ``analyze`` is ~0.3 s, and each class costs ~0.5 ms to create).
"""

from __future__ import annotations

from kneeflags.records import record


@record(frozen=True)
class ProtocolConfig:
    """The protocol's numbers. Guide ranges are taken at their cautious end; values the
    guide does not give are engineering defaults ([eng]) and say so in the reasons."""

    itbs_start_fraction: float = 0.5
    """Guide: start at 30–50 % of the onset distance; the cap is the 50 % end."""
    itbs_start_fraction_low: float = 0.3
    itbs_step: float = 0.15
    """Guide: +10–15 % per pain-free session; the cap is the 15 % end."""
    itbs_step_low: float = 0.10
    itbs_hills_after_days: int = 28
    """Guide: 3–4 weeks of pain-free flat running (28 = the cautious end; 21 = the early end)."""
    itbs_hills_early_days: int = 21
    itbs_week_sessions: int = 3
    """[eng] The guide caps ITBS by session; the week allows this many capped sessions, or
    10 % over the previous week, whichever is more."""
    pfps_reduced_fraction: float = 0.5
    """[eng] "Significantly reduced volume": half the 4 weeks before the episode."""
    pfps_hold_days: int = 14
    """Guide: hold 2 weeks; build after 2 consecutive pain-free weeks."""
    weekly_step: float = 0.10
    """Guide: no more than 10 % a week."""
    pfps_session_step: float = 0.10
    """[eng] Session cap 10 % over the longest pain-free run (Frandsen 2025's 10 % band)."""
    pfps_downhill_after_days: int = 21
    """Guide: no downhill or stairs for the first 2–3 weeks back (21 = cautious end)."""
    pfps_downhill_early_days: int = 14
    pfps_full_after_days: int = 42
    """Guide: speed and hills 4–6 weeks after pain-free flat running is established."""
    pfps_full_early_days: int = 28
    acceptable_pain: int = 3
    """Pain-monitoring model: at or below 3/10 during, settled next morning = acceptable."""
    setback_pain: int = 5
    """Pain-monitoring model: above 5/10 = too much, step back one phase."""
    close_after_days: int = 14
    """[eng] The final phase held this long without pain closes the episode."""
    baseline_days: int = 28
    longest_window_days: int = 30
