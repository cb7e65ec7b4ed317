"""The plan for next week: what the report model carries and every renderer shows.

The plan stage sits beside the rules: it reads the same analysis (weekly table,
activities, the rules' baselines) and, for a runner who already hurts, the journal's open
episode, and produces one :class:`Plan` per athlete. Two producers fill it:

* prevention (no open episode): caps that keep next week inside the rules' thresholds;
* return to running (an open episode): the guide's protocol for the episode's condition.

Every number carries its reason (:class:`PlanReason`): the rule or protocol step and the
guide section it comes from, so a reader can trace each cap back to the guide.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date
from typing import Any, Literal

from kneeflags.records import record

PlanState = Literal["prevention", "return"]


@record(frozen=True)
class PlanReason:
    """Why one line of the plan says what it says."""

    item: str
    """Which field it explains, e.g. ``next_week_km_max``."""
    rule: str
    """Rule id (``volume-jump``) or protocol step id (``rtr-session-cap``)."""
    text: str
    """One sentence with the athlete's own numbers."""
    guide: str
    """Guide section the advice comes from."""

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "rule": self.rule, "text": self.text, "guide": self.guide}


@record(frozen=True)
class Plan:
    """Next week's plan for one athlete. ``None`` fields mean "no cap can be computed"
    (e.g. no running history) and are said so by renderers, never shown as 0."""

    state: PlanState
    week_start: date
    """First day of the week the plan is for (the week after the reported one)."""
    next_week_km_max: float | None = None
    long_run_km_max: float | None = None
    downhill_km_max: float | None = None
    cadence_target_spm: tuple[float, float] | None = None
    strength_sessions_target: int | None = 2
    # return to running only
    condition: str | None = None
    """``ITBS``, ``PFPS`` or ``knee pain (site unclear)``."""
    side: str | None = None
    phase: str | None = None
    episode_start: date | None = None
    next_session_km_max: float | None = None
    downhill_allowed: bool | None = None
    speed_work_allowed: bool | None = None
    reasons: tuple[PlanReason, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``athletes[].plan`` (documented in ``report/schema.json``)."""
        return {
            "state": self.state,
            "week_start": self.week_start.isoformat(),
            "next_week_km_max": self.next_week_km_max,
            "long_run_km_max": self.long_run_km_max,
            "downhill_km_max": self.downhill_km_max,
            "cadence_target_spm": list(self.cadence_target_spm)
            if self.cadence_target_spm
            else None,
            "strength_sessions_target": self.strength_sessions_target,
            "condition": self.condition,
            "side": self.side,
            "phase": self.phase,
            "episode_start": self.episode_start.isoformat() if self.episode_start else None,
            "next_session_km_max": self.next_session_km_max,
            "downhill_allowed": self.downhill_allowed,
            "speed_work_allowed": self.speed_work_allowed,
            "reasons": [r.to_dict() for r in self.reasons],
        }
