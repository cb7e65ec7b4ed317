"""The ``rtr-*`` rules: every run of an open (or recently closed) knee-pain episode checked
against the return-to-running protocol.

The protocol fold (:func:`kneeflags.plan.protocol.follow`) has already recorded the state in
force before each run and at the start of each week; this module only judges those records
with the thresholds of ``config.rules.rtr_*`` and writes the flags, which are ordinary
:class:`~kneeflags.findings.Flag` objects: a per-run breach names its run in ``activity``
and ``activity_label`` as ``session-spike`` does, so every renderer, ``--fail-on`` and the
batch ranking treat them like any other flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from kneeflags.config import Config
from kneeflags.findings import Flag
from kneeflags.journal.episodes import Episode
from kneeflags.plan.protocol import CONDITION_LABELS, PHASES_BY_ID, RunCheck
from kneeflags.rules.advice import advice_lines
from kneeflags.rules.catalogue import RULES_BY_ID, Rule
from kneeflags.rules.engine import day_label, run_label, sort_flags


def _week_of(day: date, week_start_index: int) -> date:
    return day - timedelta(days=(day.weekday() - week_start_index) % 7)


def _conditions(episode: Episode) -> tuple[str, ...]:
    return (episode.condition,) if episode.condition in ("ITBS", "PFPS") else ("ITBS", "PFPS")


def _flag(
    rule: Rule,
    episode: Episode,
    severity: str,
    week_start: date | None,
    value: float | None,
    threshold: float | None,
    evidence: str,
    check: RunCheck | None = None,
) -> Flag:
    return Flag(
        rule=rule.id,
        conditions=_conditions(episode),  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        week_start=week_start,
        value=None if value is None else round(float(value), 4),
        threshold=threshold,
        evidence=evidence,
        advice=advice_lines(rule.advice_keys),
        reference=rule.reference,
        activity=check.run.activity_id if check else None,
        activity_label=run_label(check.run.local_start, check.run.distance_km) if check else None,
        day=check.run.local_date if check else None,
    )


def _run_on(c: RunCheck) -> str:
    return f"Run on {c.run.local_start:%a} {day_label(c.run.local_date)}"


def _phase_name(c: RunCheck, episode: Episode) -> str:
    return f"the {CONDITION_LABELS[episode.condition]} {PHASES_BY_ID[c.phase].name} phase"


def return_flags(episodes: Iterable[Episode], config: Config | None = None) -> list[Flag]:
    """Every ``rtr-*`` breach of ``episodes``' runs and weeks, sorted like all flags."""
    cfg = config or Config()
    r = cfg.rules
    proto = r.return_to_run
    wsi = cfg.week_start_index
    flags: list[Flag] = []
    for ep in episodes:
        itbs = ep.condition == "ITBS"
        for c in ep.trace.runs:
            km = c.run.distance_km
            week = _week_of(c.run.local_date, wsi)
            phase = PHASES_BY_ID[c.phase]
            # rtr-session-cap
            rule = RULES_BY_ID["rtr-session-cap"]
            cap = c.session_cap_km
            if not phase.running:
                flags.append(
                    _flag(
                        rule,
                        ep,
                        "high",
                        week,
                        km,
                        0.0,
                        f"{_run_on(c)}: {km:.1f} km before the ITBS criteria check was passed "
                        "(no running until then).",
                        c,
                    )
                )
            elif cap is not None and cap > 0:
                over = (km / cap - 1.0) * 100.0
                sev = (
                    "high"
                    if over > r.rtr_session_cap.high_over_pct
                    else "watch"
                    if over > r.rtr_session_cap.watch_over_pct
                    else None
                )
                if sev:
                    flags.append(
                        _flag(
                            rule,
                            ep,
                            sev,
                            week,
                            over,
                            r.rtr_session_cap.high_over_pct
                            if sev == "high"
                            else r.rtr_session_cap.watch_over_pct,
                            f"{_run_on(c)}: {km:.1f} km in {_phase_name(c, ep)}, "
                            f"{over:.0f} % over the {cap:.1f} km session cap.",
                            c,
                        )
                    )
            # rtr-downhill
            down = c.run.downhill_km
            if not phase.downhill_allowed and down is not None:
                rule = RULES_BY_ID["rtr-downhill"]
                if down > r.rtr_downhill.min_downhill_km:
                    if itbs:
                        days, early, late = (
                            c.flat_days,
                            proto.itbs_hills_early_days,
                            (proto.itbs_hills_after_days),
                        )
                        when = (
                            f"after {days} days of pain-free flat running "
                            "(ITBS: hills after 3–4 weeks)"
                        )
                    else:
                        days, early, late = (
                            c.return_days,
                            proto.pfps_downhill_early_days,
                            (proto.pfps_downhill_after_days),
                        )
                        when = f"on day {days + 1} back (no downhill for the first 2–3 weeks)"
                    if days < late:
                        sev = "high" if days < early else "watch"
                        flags.append(
                            _flag(
                                rule,
                                ep,
                                sev,
                                week,
                                down,
                                r.rtr_downhill.min_downhill_km,
                                f"{_run_on(c)}: {down:.1f} km downhill {when}.",
                                c,
                            )
                        )
            # rtr-speed-work
            if c.run.speed_work and not phase.speed_work_allowed:
                rule = RULES_BY_ID["rtr-speed-work"]
                if itbs:
                    days, early = c.flat_days, proto.itbs_hills_early_days
                    when = (
                        f"after {days} days of pain-free flat running (ITBS: speed work comes "
                        "back with the hills, after 3–4 weeks)"
                    )
                else:
                    days, early = c.build_days, proto.pfps_full_early_days
                    when = (
                        f"in {_phase_name(c, ep)}"
                        + (f", day {days + 1} of the build" if c.phase.endswith("build") else "")
                        + " (speed work 4–6 weeks after pain-free flat running is established)"
                    )
                how = c.run.speed_work_reason or "speed work detected"
                flags.append(
                    _flag(
                        rule,
                        ep,
                        "high" if days < early else "watch",
                        week,
                        None,
                        None,
                        f"{_run_on(c)}: {how}, {when}.",
                        c,
                    )
                )
            # rtr-progression
            if c.after_setback is not None:
                rule = RULES_BY_ID["rtr-progression"]
                day, hurt_km, run_day = c.after_setback
                ratio = r.rtr_progression.same_load_ratio
                if hurt_km and km >= ratio * hurt_km:  # no run to compare with: nothing to say
                    its_run = (
                        f"its run: {hurt_km:.1f} km"
                        if run_day == day or run_day is None
                        else f"the last run before it, {run_day:%a} {day_label(run_day)}: "
                        f"{hurt_km:.1f} km"
                    )
                    flags.append(
                        _flag(
                            rule,
                            ep,
                            "high",
                            week,
                            km / hurt_km,
                            ratio,
                            f"{_run_on(c)}: {km:.1f} km, after the setback logged for "
                            f"{day:%a} {day_label(day)} ({its_run}) without stepping back.",
                            c,
                        )
                    )
            # rtr-onset
            if c.onset_km and km > c.onset_km * (1 + r.rtr_onset.over_pct / 100.0):
                rule = RULES_BY_ID["rtr-onset"]
                flags.append(
                    _flag(
                        rule,
                        ep,
                        "watch",
                        week,
                        km - c.onset_km,
                        c.onset_km,
                        f"{_run_on(c)}: {km:.1f} km, past your median onset distance of "
                        f"{c.onset_km:.1f} km.",
                        c,
                    )
                )
        # rtr-weekly-cap
        rule = RULES_BY_ID["rtr-weekly-cap"]
        for w in ep.trace.weeks:
            if w.cap_km is None or w.cap_km <= 0 or w.run_km <= 0:
                continue  # 0 km cap (ITBS criteria): the session rule already says it
            over = (w.run_km / w.cap_km - 1.0) * 100.0
            c = r.rtr_weekly_cap
            sev = "high" if over > c.high_over_pct else "watch" if over > c.watch_over_pct else None
            if sev:
                name = PHASES_BY_ID[w.phase].name
                flags.append(
                    _flag(
                        rule,
                        ep,
                        sev,
                        w.week_start,
                        over,
                        c.high_over_pct if sev == "high" else c.watch_over_pct,
                        f"Week of {day_label(w.week_start)}: {w.run_km:.1f} km in the "
                        f"{CONDITION_LABELS[ep.condition]} {name} phase, {over:.0f} % over the "
                        f"{w.cap_km:.1f} km week cap"
                        + ("" if w.complete else " (week still running)")
                        + ".",
                    )
                )
    return sort_flags(flags)
