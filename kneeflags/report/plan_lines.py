"""Next week's plan as labelled lines, the one wording every human renderer uses.

Built from the :class:`~kneeflags.plan.model.Plan` fields alone, whichever producer made
the plan: a prevention plan shows its caps, a return-to-running plan (``state="return"``)
its condition, phase, next-session cap and what is allowed yet, plus any caps it sets.
Each line carries the reasons the producer gave for that field (rule or protocol step
and guide section), and reasons about fields not listed here are kept, not dropped.
"""

from __future__ import annotations

from kneeflags.plan.model import Plan, PlanReason
from kneeflags.records import record
from kneeflags.report import fmt


@record(frozen=True)
class PlanLine:
    """One line of the plan: what, the number, and why."""

    item: str
    label: str
    value: str
    reasons: tuple[PlanReason, ...]


def plan_title(plan: Plan) -> str:
    """``Plan for the week of Mon 9 Feb 2026 (prevention)``."""
    if plan.state == "return":
        what = "return to running"
        detail = [x for x in (plan.condition, plan.side) if x]
        if detail:
            what += f": {', '.join(detail)}"
        if plan.episode_start:
            what += f", knee episode since {fmt.short_date(plan.episode_start)}"
    else:
        what = "prevention"
    return f"Plan for the week of {fmt.long_date(plan.week_start)} ({what})"


def phase_name(phase_id: str) -> str:
    """A protocol phase's name for people (``itbs-flat`` -> ``flat build-up``); ids the
    protocol does not know are shown as they are."""
    from kneeflags.plan.protocol import PHASES_BY_ID

    phase = PHASES_BY_ID.get(phase_id)
    return phase.name if phase is not None else phase_id


def _km_cap(x: float | None) -> str:
    return f"at most {fmt.km(x)} km" if x is not None else "no cap (see why)"


def _allowed(x: bool | None) -> str:
    return "allowed" if x else "not yet"


def plan_lines(plan: Plan) -> list[PlanLine]:
    """The plan's lines in reading order; fields a plan does not use are left out."""
    by_item: dict[str, list[PlanReason]] = {}
    for r in plan.reasons:
        by_item.setdefault(r.item, []).append(r)
    rows: list[tuple[str, str, str]] = []
    if plan.state == "return":
        if plan.condition:
            side = f" ({plan.side})" if plan.side else ""
            rows.append(("condition", "Condition", f"{plan.condition}{side}"))
        if plan.phase:
            rows.append(("phase", "Phase", phase_name(plan.phase)))
        if plan.next_session_km_max is not None or "next_session_km_max" in by_item:
            rows.append(("next_session_km_max", "Next run", _km_cap(plan.next_session_km_max)))
    for item, label in (
        ("next_week_km_max", "Weekly running"),
        ("long_run_km_max", "Longest run"),
        ("downhill_km_max", "Downhill running"),
    ):
        value = getattr(plan, item)
        if value is not None or item in by_item:
            rows.append((item, label, _km_cap(value)))
    if plan.state == "return":
        if plan.downhill_allowed is not None:
            rows.append(("downhill_allowed", "Downhill and hills", _allowed(plan.downhill_allowed)))
        if plan.speed_work_allowed is not None:
            rows.append(("speed_work_allowed", "Speed work", _allowed(plan.speed_work_allowed)))
    cad = plan.cadence_target_spm
    if cad is not None or "cadence_target_spm" in by_item:
        why = by_item.get("cadence_target_spm", [])
        if cad is not None:
            value = f"{cad[0]:.0f}–{cad[1]:.0f} spm at your usual easy pace"
        elif any(r.text.startswith("No change") for r in why):
            value = "no change needed"
        else:
            value = "no target (see why)"
        rows.append(("cadence_target_spm", "Cadence", value))
    if plan.strength_sessions_target is not None:
        n = plan.strength_sessions_target
        rows.append(
            (
                "strength_sessions_target",
                "Strength",
                f"{n} session{'s' if n != 1 else ''}",
            )
        )
    lines = [PlanLine(i, label, v, tuple(by_item.get(i, ()))) for i, label, v in rows]
    shown = {i for i, _, _ in rows}
    for item, reasons in by_item.items():
        if item not in shown:
            label = item.replace("_", " ").capitalize()
            lines.append(PlanLine(item, label, "", tuple(reasons)))
    return lines
