"""The return-to-running plan: next week's :class:`~kneeflags.plan.model.Plan` while a
knee-pain episode is open, from the guide's protocol (:mod:`kneeflags.plan.protocol`).

:func:`return_status` is what the report shows for an open episode: condition and side, day
N and the phase, the pain-free streak, the next session's and next week's caps, whether hills
and speed work are allowed, the onset pattern, and the clinician reminders (the guide's, always,
plus one when pain above 5/10 was logged or the episode has outlasted the guide's range).
:func:`return_plan` is its :class:`Plan` (``state="return"``), every number with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from kneeflags.config import Config
from kneeflags.findings import CLINICIAN_REMINDER, Flag
from kneeflags.journal.episodes import Episode
from kneeflags.journal.symptoms import SymptomEntry, link_runs
from kneeflags.plan.model import Plan, PlanReason
from kneeflags.plan.protocol import CONDITION_LABELS, PHASES_BY_ID, ProtocolConfig
from kneeflags.records import record

ITBS_RESOLVE_WEEKS = (4, 8)
"""Guide: most ITBS cases resolve within 4–8 weeks of consistent load management."""
PFPS_REVIEW_WEEKS = (6, 8)
"""Guide: if pain is not improving after 6–8 weeks of consistent strengthening, get help."""


@record(frozen=True)
class ReturnStatus:
    """An open episode as the report shows it (see the module docstring)."""

    condition: str
    condition_label: str
    side: str | None
    episode_start: date
    day: int
    """Day N of the episode (the start is day 1), counted to the report's last day."""
    phase: str
    phase_name: str
    phase_summary: str
    pain_free_streak: int
    next_session_km_max: float | None
    next_week_km_max: float | None
    downhill_allowed: bool
    speed_work_allowed: bool
    onset_km: float | None
    runs_past_onset: tuple[str, ...]
    """Labels of the episode's runs longer than the median onset distance."""
    max_pain: int
    reminders: tuple[str, ...]
    plan: Plan

    def to_dict(self) -> dict[str, Any]:
        return {
            "condition": self.condition_label,
            "side": self.side,
            "episode_start": self.episode_start.isoformat(),
            "day": self.day,
            "phase": self.phase,
            "phase_name": self.phase_name,
            "pain_free_streak_days": self.pain_free_streak,
            "next_session_km_max": self.next_session_km_max,
            "next_week_km_max": self.next_week_km_max,
            "downhill_allowed": self.downhill_allowed,
            "speed_work_allowed": self.speed_work_allowed,
            "onset_km_median": self.onset_km,
            "runs_past_onset": list(self.runs_past_onset),
            "reminders": list(self.reminders),
        }


def reminders(episode: Episode, as_of: date) -> tuple[str, ...]:
    """The guide's clinician reminder, plus one for severe or long-lasting pain."""
    out = [CLINICIAN_REMINDER]
    t = episode.trace
    if t.max_pain > 5 and t.max_pain_day is not None:
        out.append(
            f"You logged pain of {t.max_pain}/10 on {t.max_pain_day.isoformat()}: pain above "
            "5/10 is more than a return protocol should meet; have it assessed by a GP, "
            "physiotherapist or sports medicine physician."
        )
    # Day N of the episode, as the report counts it (the start is day 1): "beyond 8 weeks"
    # is day 57 on, and the text says the days, so "lasted 8 weeks, beyond 4-8 weeks"
    # (8.1 weeks rounded) can never be printed.
    days = ((episode.end or as_of) - episode.start).days + 1
    if episode.condition == "ITBS" and days > 7 * ITBS_RESOLVE_WEEKS[1]:
        out.append(
            f"This episode has lasted {days} days, beyond the 4–8 weeks in which most IT "
            "band cases settle with load management and hip strengthening: a physiotherapist "
            "or sports medicine physician can look for what keeps it going."
        )
    elif episode.condition != "ITBS" and days > 7 * PFPS_REVIEW_WEEKS[1]:
        out.append(
            f"This episode has lasted {days} days: if the pain is not improving after "
            "6–8 weeks of consistent strengthening, the guide suggests a physiotherapist and a "
            "gait analysis."
        )
    return tuple(out)


def _reasons(episode: Episode, cfg: ProtocolConfig) -> tuple[PlanReason, ...]:
    t = episode.trace
    phase = PHASES_BY_ID[t.phase]
    itbs = episode.condition == "ITBS"
    out = [PlanReason("phase", t.phase, phase.summary, phase.guide)]
    s = t.session_cap_km
    if itbs:
        if not phase.running:
            text = "No running until the criteria check is logged as passed (kneeflags log check)."
        elif t.last_pain_free_km is not None and t.phase != "itbs-restart":
            text = (
                f"{s:.1f} km: {cfg.itbs_step_low * 100:.0f}–{cfg.itbs_step * 100:.0f} % over your "
                f"last pain-free run ({t.last_pain_free_km:.1f} km)."
            )
        elif t.onset_km is not None:
            text = (
                f"{s:.1f} km: {cfg.itbs_start_fraction_low * 100:.0f}–"
                f"{cfg.itbs_start_fraction * 100:.0f} % of the distance at which your pain came "
                f"on ({t.onset_km:.1f} km)."
            )
        else:
            text = (
                "No cap can be computed: log the distance at which the pain came on "
                "(--onset-km) or keep the painful run's file with the others."
            )
        out.append(
            PlanReason(
                "next_session_km_max", "rtr-session-cap", text, "Return to Running After ITBS"
            )
        )
        w = t.week_cap_km
        out.append(
            PlanReason(
                "next_week_km_max",
                "rtr-weekly-cap",
                "No running this week until the criteria check is passed."
                if not phase.running
                else f"{w:.1f} km: {cfg.itbs_week_sessions} sessions at the cap or 10 % over last "
                "week, whichever is more [eng] (the guide caps ITBS by session)."
                if w is not None
                else "No week cap without a session cap.",
                "Return to Running After ITBS; Prevention (no more than 10 % per week)",
            )
        )
        out.append(
            PlanReason(
                "cross_training",
                "rtr-session-cap",
                "Cycling, pool running or rowing keep your fitness meanwhile.",
                "IT Band Syndrome — Treatment (reduce IT band friction zones)",
            )
        )
    else:
        if t.phase.endswith("reduced"):
            text = (
                f"{s:.1f} km: half your longest run of the 30 days before the episode "
                f"({t.baseline_longest_km:.1f} km) [eng]."
                if s is not None and t.baseline_longest_km is not None
                else "No cap can be computed: no run was recorded in the 30 days before the "
                "episode; keep runs short, flat and easy."
            )
            wtext = (
                f"{t.week_cap_km:.1f} km: half your weekly mean of the 4 weeks before the "
                f"episode ({t.baseline_week_km:.1f} km) [eng]; hold it 2 weeks while you "
                "strengthen."
                if t.week_cap_km is not None and t.baseline_week_km is not None
                else "No cap can be computed: no running recorded in the 4 weeks before the "
                "episode."
            )
        else:
            text = (
                f"{s:.1f} km: 10 % over your longest pain-free run of the episode [eng]."
                if s is not None
                else "No cap can be computed."
            )
            wtext = (
                f"{t.week_cap_km:.1f} km: no more than 10 % over last week."
                if t.week_cap_km is not None
                else "No cap can be computed."
            )
        out.append(
            PlanReason(
                "next_session_km_max", "rtr-session-cap", text, "Return to Running After PFPS"
            )
        )
        out.append(
            PlanReason("next_week_km_max", "rtr-weekly-cap", wtext, "Return to Running After PFPS")
        )
    out.append(
        PlanReason(
            "downhill_allowed",
            "rtr-downhill",
            "Downhill and hills may come back gradually."
            if _downhill_ok(episode, cfg)
            else (
                "Flat only: hills and downhill after 3–4 weeks of pain-free flat running."
                if itbs
                else "No downhill or stairs in the first 2–3 weeks back."
            ),
            phase.guide,
        )
    )
    out.append(
        PlanReason(
            "speed_work_allowed",
            "rtr-speed-work",
            "Speed work may come back."
            if phase.speed_work_allowed
            else (
                "No speed work yet: it comes back with the hills, last."
                if itbs
                else "No speed work yet: 4–6 weeks after pain-free flat running is established."
            ),
            phase.guide,
        )
    )
    out.append(
        PlanReason(
            "pain_monitoring",
            "rtr-progression",
            "Pain up to about 3/10 that settles by the next morning is acceptable; above 5/10, "
            "or worse the next morning, step back one phase.",
            "Priority 2: Load Management; evidence.md §7 (Silbernagel 2007)",
        )
    )
    return tuple(out)


def _downhill_ok(episode: Episode, cfg: ProtocolConfig) -> bool:
    t = episode.trace
    if PHASES_BY_ID[t.phase].downhill_allowed:
        return True
    # PFPS: downhill (not hill training) comes back after the first 2–3 weeks back
    return (
        episode.condition != "ITBS"
        and t.phase.endswith("build")
        and (t.return_days >= cfg.pfps_downhill_after_days)
    )


def return_plan(episode: Episode, week_start: date, config: ProtocolConfig | None = None) -> Plan:
    """Next week's plan for an open episode (``week_start`` = the week the plan is for)."""
    cfg = config or ProtocolConfig()
    t = episode.trace
    phase = PHASES_BY_ID[t.phase]
    return Plan(
        state="return",
        week_start=week_start,
        next_week_km_max=t.week_cap_km,
        long_run_km_max=t.session_cap_km,
        downhill_km_max=None if _downhill_ok(episode, cfg) else 0.0,
        condition=CONDITION_LABELS[episode.condition],
        side=episode.side,
        phase=t.phase,
        episode_start=episode.start,
        next_session_km_max=t.session_cap_km,
        downhill_allowed=_downhill_ok(episode, cfg),
        speed_work_allowed=phase.speed_work_allowed,
        reasons=_reasons(episode, cfg),
    )


def return_status(
    episode: Episode,
    week_start: date,
    as_of: date,
    config: ProtocolConfig | None = None,
    *,
    labels: dict[str, str] | None = None,
) -> ReturnStatus:
    """What the report shows for an open ``episode`` as of ``as_of``."""
    cfg = config or ProtocolConfig()
    t = episode.trace
    phase = PHASES_BY_ID[t.phase]
    plan = return_plan(episode, week_start, cfg)
    past = tuple(
        (labels or {}).get(c.run.activity_id)
        or f"{c.run.local_date.isoformat()}, {c.run.distance_km:.1f} km"
        for c in t.runs
        if c.onset_km and c.run.distance_km > c.onset_km
    )
    return ReturnStatus(
        condition=episode.condition,
        condition_label=CONDITION_LABELS[episode.condition],
        side=episode.side,
        episode_start=episode.start,
        day=(as_of - episode.start).days + 1,
        phase=t.phase,
        phase_name=phase.name,
        phase_summary=phase.summary,
        pain_free_streak=t.pain_free_streak,
        next_session_km_max=t.session_cap_km,
        next_week_km_max=t.week_cap_km,
        downhill_allowed=bool(plan.downhill_allowed),
        speed_work_allowed=bool(plan.speed_work_allowed),
        onset_km=t.onset_km,
        runs_past_onset=past,
        max_pain=t.max_pain,
        reminders=reminders(episode, as_of),
        plan=plan,
    )


def recent_entries(
    entries: Sequence[SymptomEntry], first: date, last: date
) -> tuple[SymptomEntry, ...]:
    """The journal entries of the report's window, by date then id."""
    return tuple(
        sorted((e for e in entries if first <= e.date <= last), key=lambda e: (e.date, e.id or 0))
    )


def _runs_by_date(activities: pl.DataFrame) -> dict[date, list[tuple[str, str]]]:
    """Per local date, its runs as ``(activity id, "8.0 km at 07:00")``, in start order."""
    out: dict[date, list[tuple[str, str]]] = {}
    if activities.height == 0 or "is_running" not in activities.columns:
        return out
    runs = activities.filter(pl.col("is_running")).sort("local_start", "activity_id")
    for r in runs.select("activity_id", "local_date", "local_start", "distance_km").iter_rows():
        aid, day, start, km = r
        out.setdefault(day, []).append((aid, f"{float(km or 0.0):.1f} km at {start:%H:%M}"))
    return out


def next_week_start(last_day: date, week_start_index: int) -> date:
    """First day of the week after the one holding ``last_day``."""
    this = last_day - timedelta(days=(last_day.weekday() - week_start_index) % 7)
    return this + timedelta(days=7)


@record(frozen=True)
class JournalReview:
    """What the knee journal adds to one athlete's report window."""

    episodes: tuple[Episode, ...]
    """Every episode up to the window's last day (open and closed)."""
    flags: tuple[Flag, ...]
    """``rtr-*`` breaches of those episodes (all weeks; the report windows them)."""
    returns: tuple[ReturnStatus, ...]
    """The episodes still open on the window's last day, as the report shows them."""
    entries: tuple[SymptomEntry, ...]
    """The athlete's journal entries dated inside the window."""
    plan: Plan | None
    """The return plan of the open episode that leads (ITBS first, then PFPS, then site
    unclear: the stricter protocol governs when two are open), else ``None``."""


def review_journal(
    activities: pl.DataFrame,
    entries: Sequence[SymptomEntry],
    *,
    first_day: date,
    last_day: date,
    config: Config | None = None,
    labels: dict[str, str] | None = None,
) -> JournalReview:
    """Episodes, breaches and the return plan for the report window ``first_day``..
    ``last_day``; nothing dated after ``last_day`` is used (no look-ahead)."""
    from kneeflags.journal.episodes import derive_episodes, runs_from_activities
    from kneeflags.rules.return_to_run import return_flags

    cfg = config or Config()
    proto = cfg.rules.return_to_run
    wsi = cfg.week_start_index
    episodes = derive_episodes(
        entries,
        runs_from_activities(activities),
        as_of=last_day,
        config=proto,
        week_start_index=wsi,
    )
    flags = tuple(return_flags(episodes, cfg))
    week = next_week_start(last_day, wsi)
    order = {"ITBS": 0, "PFPS": 1, "unclear": 2}
    opened = sorted((e for e in episodes if e.is_open), key=lambda e: (order[e.condition], e.start))
    returns = tuple(return_status(e, week, last_day, proto, labels=labels) for e in opened)
    return JournalReview(
        episodes=tuple(episodes),
        flags=flags,
        returns=returns,
        entries=link_runs(recent_entries(entries, first_day, last_day), _runs_by_date(activities)),
        plan=returns[0].plan if returns else None,
    )
