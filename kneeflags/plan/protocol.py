"""The guide's return-to-running protocols for ITBS and PFPS, as data, and the fold that
follows one episode through them day by day.

Phases (project's own words; the guide sections are quoted in the rule catalogue):

ITBS ("Return to Running After ITBS")
  1. ``itbs-criteria``: no running until the criteria check is passed (pain-free single-leg
     squat with no hip drop, pain-free walking downhill and down stairs); cross-train.
  2. ``itbs-restart``: the first runs at 30–50 % of the distance at which symptoms appeared
     (median of the logged onsets, else of the painful runs' distances); flat only.
  3. ``itbs-build``: after a session logged pain-free, the next cap is 10–15 % over the
     distance of the last pain-free session actually run (not over the previous cap).
  4. ``itbs-hills``: after 3–4 weeks of pain-free flat running, hills and downhill come back
     gradually (the guide says nothing on speed work for ITBS; it comes back with the hills).

PFPS ("Return to Running After PFPS"; "Priority 2: Load Management")
  1. ``pfps-reduced``: flat, easy running at a reduced volume that stays at or below about
     3/10 and is not worse the next morning; hold 2 weeks while strengthening.
  2. ``pfps-build``: once 2 consecutive pain-free weeks are logged, +10 % a week; no downhill
     or stairs for the first 2–3 weeks back.
  3. ``pfps-full``: speed work and hills, 4–6 weeks after pain-free flat running is
     established (the start of the build).

Knee pain with the site unclear follows the PFPS shape (reduced volume, two pain-free
weeks, +10 % a week, flat first, hills and speed last), the load-management advice both
conditions share.

Pain-monitoring model (Silbernagel 2007, evidence.md §7) decides each logged day: pain at
or below 3/10 during activity that settles by the next morning is acceptable (hold); pain
above 5/10, or worse the next morning, steps back one phase; a pain-free day lets the
protocol progress. An episode closes when its final phase has been held for
``close_after_days`` without pain (a mild pain day in it restarts the count).

The fold is a pure function of the entries and the runs up to ``as_of``: nothing after
``as_of`` is read (no look-ahead), and entries are aggregated per day with order-free
operations (max, any, union), so the result never depends on the order they were made.
It records the state in force before every run (:class:`RunCheck`) and at the start of
every week (:class:`WeekCheck`); the ``rtr-*`` rules judge those, the plan reads the final
state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import date, datetime, timedelta

from kneeflags.plan.protocol_config import ProtocolConfig
from kneeflags.records import record

CONDITION_LABELS: dict[str, str] = {
    "ITBS": "ITBS",
    "PFPS": "PFPS",
    "unclear": "knee pain (site unclear)",
}


@record(frozen=True)
class Phase:
    """One step of a protocol."""

    id: str
    name: str
    summary: str
    guide: str
    running: bool
    downhill_allowed: bool
    speed_work_allowed: bool


_ITBS_GUIDE = "Return to Running After ITBS"
_PFPS_GUIDE = "Return to Running After PFPS"

PROTOCOLS: dict[str, tuple[Phase, ...]] = {
    "ITBS": (
        Phase(
            "itbs-criteria",
            "criteria check",
            "No running yet: pass the criteria check first (pain-free single-leg squat with "
            "no hip drop, pain-free walking downhill and down stairs). Cycling, pool running "
            "or rowing keep your fitness meanwhile.",
            f"{_ITBS_GUIDE} (Criteria); ITBS Treatment (cross-train)",
            running=False,
            downhill_allowed=False,
            speed_work_allowed=False,
        ),
        Phase(
            "itbs-restart",
            "restart short",
            "Run flat, at 30–50 % of the distance at which your pain came on.",
            f"{_ITBS_GUIDE} (Return protocol)",
            running=True,
            downhill_allowed=False,
            speed_work_allowed=False,
        ),
        Phase(
            "itbs-build",
            "build by session",
            "After each pain-free run, the next may be 10–15 % longer than that run; "
            "still flat only.",
            f"{_ITBS_GUIDE} (Return protocol)",
            running=True,
            downhill_allowed=False,
            speed_work_allowed=False,
        ),
        Phase(
            "itbs-hills",
            "hills back",
            "After 3–4 weeks of pain-free flat running, bring hills and downhill back "
            "gradually; keep building 10–15 % per pain-free run.",
            f"{_ITBS_GUIDE} (Return protocol: hills and downhill last)",
            running=True,
            downhill_allowed=True,
            speed_work_allowed=True,
        ),
    ),
    "PFPS": (
        Phase(
            "pfps-reduced",
            "reduced and flat",
            "Flat, easy running at a clearly reduced volume that keeps pain at or below "
            "about 3/10 and no worse the next morning; hold it for 2 weeks while you "
            "strengthen your hips and thighs.",
            f"{_PFPS_GUIDE} (Return protocol); Priority 2: Load Management",
            running=True,
            downhill_allowed=False,
            speed_work_allowed=False,
        ),
        Phase(
            "pfps-build",
            "build by week",
            "After 2 consecutive pain-free weeks, add no more than 10 % a week; no downhill "
            "or stairs in the first 2–3 weeks back.",
            f"{_PFPS_GUIDE} (Return protocol)",
            running=True,
            downhill_allowed=False,
            speed_work_allowed=False,
        ),
        Phase(
            "pfps-full",
            "speed and hills back",
            "Speed work and hill training return last, 4–6 weeks after pain-free flat "
            "running is established.",
            f"{_PFPS_GUIDE} (Return protocol)",
            running=True,
            downhill_allowed=True,
            speed_work_allowed=True,
        ),
    ),
}
PROTOCOLS["unclear"] = tuple(
    Phase(
        p.id.replace("pfps-", "unclear-"),
        p.name,
        p.summary,
        p.guide,
        p.running,
        p.downhill_allowed,
        p.speed_work_allowed,
    )
    for p in PROTOCOLS["PFPS"]
)

PHASES_BY_ID: dict[str, Phase] = {p.id: p for ps in PROTOCOLS.values() for p in ps}


# --- inputs -----------------------------------------------------------------------------


@record(frozen=True)
class RunRef:
    """One run from the files, as the protocol sees it."""

    activity_id: str
    local_date: date
    local_start: datetime
    distance_km: float
    duration_s: float | None = None
    downhill_km: float | None = None
    speed_work: bool | None = None
    speed_work_reason: str | None = None


@record(frozen=True)
class DayLog:
    """What the journal says about one day for one episode (order-free aggregation)."""

    day: date
    pain: bool = False
    """A pain entry for this condition with any score above 0."""
    during: int | None = None
    after: int | None = None
    next_morning: int | None = None
    stopped: bool = False
    onsets_km: tuple[float, ...] = ()
    onsets_min: tuple[float, ...] = ()
    ok: bool = False
    checks_failed: tuple[tuple[str, ...], ...] = ()
    """One tuple per check entry (empty tuple = all criteria met)."""

    @property
    def worst(self) -> int:
        return max(
            (s for s in (self.during, self.after, self.next_morning) if s is not None), default=0
        )

    def verdict(self, cfg: ProtocolConfig) -> str:
        """``pain-free``, ``acceptable``, ``hold`` or ``setback`` (pain-monitoring model)."""
        if not self.pain:
            return "pain-free" if self.ok else "none"
        before = max((s for s in (self.during, self.after) if s is not None), default=None)
        worse_next_morning = (
            self.next_morning is not None and before is not None and self.next_morning > before
        )
        if self.worst > cfg.setback_pain or worse_next_morning:
            return "setback"
        settled = self.next_morning is not None and self.next_morning <= cfg.acceptable_pain
        if (self.during or 0) <= cfg.acceptable_pain and settled:
            return "acceptable"
        return "hold"


# --- outputs ----------------------------------------------------------------------------


@record(frozen=True)
class RunCheck:
    """A run and the protocol state in force before it."""

    run: RunRef
    phase: str
    session_cap_km: float | None
    flat_days: int
    """Days of pain-free flat running before this run (0 = none yet)."""
    return_days: int
    """Days since the episode started (PFPS: days back)."""
    build_days: int
    """PFPS: days since the build began (0 before it)."""
    onset_km: float | None
    """Median onset distance known before this day."""
    after_setback: tuple[date, float | None, date | None] | None
    """The setback this is the first run after: (its date, the km of the run that hurt,
    that run's date): the setback day's longest run, else the last run before it."""


@record(frozen=True)
class WeekCheck:
    """A local week of the episode: the cap in force at its start and what was run."""

    week_start: date
    cap_km: float | None
    run_km: float
    complete: bool
    phase: str


@record(frozen=True)
class PhaseChange:
    day: date
    phase: str
    why: str


@record
class Trace:
    """The fold's result for one episode."""

    condition: str
    start: date
    as_of: date
    phase: str
    closed_on: date | None
    session_cap_km: float | None
    week_cap_km: float | None
    flat_days: int
    pain_free_streak: int
    onset_km: float | None
    last_pain_free_km: float | None
    longest_pain_free_km: float | None
    baseline_week_km: float | None
    baseline_longest_km: float | None
    max_pain: int
    max_pain_day: date | None
    runs: list[RunCheck] = field(default_factory=list)
    weeks: list[WeekCheck] = field(default_factory=list)
    changes: list[PhaseChange] = field(default_factory=list)
    return_days: int = 0
    build_days: int = 0
    failed_check: tuple[str, ...] | None = None

    @property
    def end(self) -> date:
        return self.closed_on or self.as_of


def _round(x: float | None) -> float | None:
    """Caps to 0.1 km, rounded down: a cap is a maximum, so its display never exceeds it."""
    return None if x is None else math.floor(x * 10.0 + 1e-6) / 10.0


def _week_start(day: date, week_start_index: int) -> date:
    return day - timedelta(days=(day.weekday() - week_start_index) % 7)


def follow(
    condition: str,
    start: date,
    days: Mapping[date, DayLog],
    runs: Sequence[RunRef],
    as_of: date,
    cfg: ProtocolConfig | None = None,
    *,
    week_start_index: int = 0,
) -> Trace:
    """Follow one episode from ``start`` to ``as_of`` (or its close); see the module doc."""
    cfg = cfg or ProtocolConfig()
    phases = PROTOCOLS[condition]
    itbs = condition == "ITBS"
    by_day: dict[date, list[RunRef]] = {}
    for r in runs:
        by_day.setdefault(r.local_date, []).append(r)
    for lst in by_day.values():
        lst.sort(key=lambda r: (r.local_start, r.activity_id))

    before = [r for r in runs if r.local_date < start]
    base_from = start - timedelta(days=cfg.baseline_days)
    recent = [r for r in before if r.local_date >= base_from]
    baseline_week = sum(r.distance_km for r in recent) / (cfg.baseline_days / 7) if recent else None
    long_from = start - timedelta(days=cfg.longest_window_days)
    longest_prior = max((r.distance_km for r in before if r.local_date >= long_from), default=None)

    phase = 0
    phase_since = start
    changes = [PhaseChange(start, phases[0].id, "episode opened by a pain entry")]
    last_pf_km: float | None = None
    longest_pf_km: float | None = None
    flat_since: date | None = None
    last_pain: date | None = None
    build_since: date | None = None
    failed_check: tuple[str, ...] | None = None
    pending: tuple[date, float | None, date | None] | None = None
    # the latest day with a run so far and its longest run: the load that a setback
    # logged for a day without a run refers to (a run before the episode only from the
    # window its longest prior run is taken from: months-old runs are not that load)
    last_run: tuple[date, float] | None = None
    lately = [r for r in before if r.local_date >= long_from]
    if lately:
        last_day = max(r.local_date for r in lately)
        last_run = (last_day, max(r.distance_km for r in lately if r.local_date == last_day))
    onsets: list[float] = []
    painful_run_km: list[float] = []
    ok_days: set[date] = set()
    max_pain, max_pain_day = 0, None
    closed_on: date | None = None
    run_checks: list[RunCheck] = []
    week_checks: list[WeekCheck] = []
    week_km: dict[date, float] = {}
    week_cap: dict[date, tuple[float | None, str]] = {}

    def onset() -> float | None:
        # imported here: ``statistics`` (and the fractions and decimal it brings) was ~5 ms
        # of every start, for the few runs that follow an open knee episode
        import statistics

        if onsets:
            return statistics.median(onsets)
        if painful_run_km:
            return statistics.median(painful_run_km)
        return None

    def session_cap() -> float | None:
        if itbs:
            if phase == 0:
                return 0.0
            if last_pf_km is not None and phase >= 2:
                return last_pf_km * (1 + cfg.itbs_step)
            o = onset()
            return None if o is None else o * cfg.itbs_start_fraction
        floor = None if longest_prior is None else longest_prior * cfg.pfps_reduced_fraction
        if phase == 0 or longest_pf_km is None:
            return floor
        grown = longest_pf_km * (1 + cfg.pfps_session_step)
        return grown if floor is None else max(grown, floor)

    def weekly_cap(week: date) -> float | None:
        # the previous week's running within the episode (before it, the runner was
        # training normally: that volume is what the protocol cuts, not a base to grow)
        prev = sum(
            r.distance_km
            for r in runs
            if max(week - timedelta(days=7), start) <= r.local_date < week and r.local_date <= as_of
        )
        if itbs:
            s = session_cap()
            if s is None:
                return None
            if phase == 0:
                return 0.0
            return max(prev * (1 + cfg.weekly_step), s * cfg.itbs_week_sessions)
        floor = None if baseline_week is None else baseline_week * cfg.pfps_reduced_fraction
        if phase == 0:
            return floor
        grown = prev * (1 + cfg.weekly_step)
        return grown if floor is None else max(grown, floor)

    def move(to: int, day: date, why: str) -> None:
        nonlocal phase, phase_since
        if to != phase:
            phase, phase_since = to, day
            changes.append(PhaseChange(day, phases[to].id, why))

    def pain_free_weeks(day: date) -> bool:
        hold = cfg.pfps_hold_days
        if (day - start).days < hold:
            return False
        if last_pain is not None and (day - last_pain).days <= hold:
            return False
        half = hold // 2
        first = any(day - timedelta(days=hold) <= d < day - timedelta(days=half) for d in ok_days)
        second = any(day - timedelta(days=half) <= d < day for d in ok_days)
        return first and second

    day = start
    while day <= as_of:
        # 1. transitions earned by time (state up to yesterday)
        if (
            itbs
            and phase == 2
            and flat_since
            and (day - flat_since).days >= cfg.itbs_hills_after_days
        ):
            move(3, day, f"{cfg.itbs_hills_after_days} days of pain-free flat running")
        if not itbs and phase == 0 and failed_check is None and pain_free_weeks(day):
            move(1, day, "2 consecutive pain-free weeks logged")
            build_since = day
        if (
            not itbs
            and phase == 1
            and build_since
            and (day - build_since).days >= cfg.pfps_full_after_days
        ):
            move(2, day, f"{cfg.pfps_full_after_days} days of pain-free flat running")
        # The final phase is held once it has lasted close_after_days with no pain: an
        # acceptable (not setback) pain day in it restarts that count, it does not keep
        # the episode open for ever (it used to: last_pain >= phase_since never changed).
        held_from = phase_since
        if last_pain is not None and last_pain >= phase_since:
            held_from = last_pain + timedelta(days=1)
        if phase == len(phases) - 1 and (day - held_from).days >= cfg.close_after_days:
            closed_on = day
            changes.append(PhaseChange(day, "closed", "final phase held without pain"))
            break
        ws = _week_start(day, week_start_index)
        if ws not in week_cap:
            week_cap[ws] = (weekly_cap(ws), phases[phase].id)
        log = days.get(day, DayLog(day))
        # 2. criteria checks logged that day come before its run
        for failed in sorted(log.checks_failed):
            if failed:
                failed_check = failed
            else:
                failed_check = None
                if itbs and phase == 0:
                    move(1, day, "criteria check passed")
        # 3. the day's runs against the state in force
        todays = by_day.get(day, [])
        # The runs of the day whose pain opened the episode are what hurt, not runs made
        # under the protocol: they give the onset, and are never checked against it.
        checked = todays if day != start else []
        for r in checked:
            run_checks.append(
                RunCheck(
                    run=r,
                    phase=phases[phase].id,
                    session_cap_km=_round(session_cap()),
                    flat_days=(day - flat_since).days if flat_since else 0,
                    return_days=(day - start).days,
                    build_days=(day - build_since).days if build_since else 0,
                    onset_km=_round(onset()),
                    after_setback=pending,
                )
            )
            week_km[ws] = week_km.get(ws, 0.0) + r.distance_km
            pending = None
        longest_today = max((r.distance_km for r in todays), default=None)
        # 4. what the day's entries say about it
        if log.pain:
            if log.worst > max_pain:
                max_pain, max_pain_day = log.worst, day
            onsets.extend(log.onsets_km)
            for minutes in log.onsets_min:
                r = max(todays, key=lambda x: x.distance_km) if todays else None
                if r and r.duration_s:
                    onsets.append(r.distance_km * minutes * 60.0 / r.duration_s)
            if longest_today is not None:
                painful_run_km.append(longest_today)
            last_pain = day
            flat_since = None
            verdict = log.verdict(cfg)
            if verdict == "setback":
                if longest_today is not None:
                    pending = (day, longest_today, day)
                elif last_run is not None:
                    # pain logged for a day without a run (the morning after, a rest day):
                    # the load that hurt is the last run before it
                    pending = (day, last_run[1], last_run[0])
                else:
                    pending = (day, None, None)
                why = (
                    f"pain {log.worst}/10 (above {cfg.setback_pain}/10)"
                    if log.worst > cfg.setback_pain
                    else "pain worse the next morning"
                )
                if itbs and phase == 2:
                    last_pf_km = None
                if not itbs and phase == 1:
                    build_since = None
                if not itbs and phase == 2:
                    build_since = day
                move(max(phase - 1, 0), day, f"step back: {why}")
        elif log.ok:
            ok_days.add(day)
            if flat_since is None and (todays or not itbs):
                flat_since = day
            if longest_today is not None:
                if itbs and phase >= 1:
                    last_pf_km = longest_today
                    if phase == 1:
                        move(2, day, "a pain-free run at the restart distance")
                if not itbs:
                    longest_pf_km = max(longest_pf_km or 0.0, longest_today)
        if longest_today is not None:
            last_run = (day, longest_today)
        day += timedelta(days=1)

    end = closed_on or as_of
    for ws in sorted(week_cap):
        cap, ph = week_cap[ws]
        week_checks.append(
            WeekCheck(
                week_start=ws,
                cap_km=_round(cap),
                run_km=round(week_km.get(ws, 0.0), 2),
                complete=ws + timedelta(days=6) <= end,
                phase=ph,
            )
        )
    streak_from = (last_pain + timedelta(days=1)) if last_pain else start
    streak = (end - streak_from).days + 1 if any(d >= streak_from for d in ok_days) else 0
    next_day = end + timedelta(days=1)
    return Trace(
        condition=condition,
        start=start,
        as_of=as_of,
        phase=phases[phase].id,
        closed_on=closed_on,
        session_cap_km=_round(session_cap()),
        week_cap_km=_round(weekly_cap(_week_start(end, week_start_index) + timedelta(days=7))),
        flat_days=(next_day - flat_since).days if flat_since else 0,
        pain_free_streak=max(streak, 0),
        onset_km=_round(onset()),
        last_pain_free_km=_round(last_pf_km),
        longest_pain_free_km=_round(longest_pf_km),
        baseline_week_km=_round(baseline_week),
        baseline_longest_km=_round(longest_prior),
        max_pain=max_pain,
        max_pain_day=max_pain_day,
        runs=run_checks,
        weeks=week_checks,
        changes=changes,
        return_days=(end - start).days + 1,
        build_days=(next_day - build_since).days if build_since else 0,
        failed_check=failed_check,
    )
