"""``kneeflags plan``: just next week's plan, in text, Markdown or JSON.

The same :class:`~kneeflags.plan.model.Plan` and the same wording
(:mod:`kneeflags.report.plan_lines`) as the full reports, without the rest of them.
"""

from __future__ import annotations

from typing import Any

from kneeflags.report import fmt
from kneeflags.report.jsonout import dumps, plan_dict
from kneeflags.report.model import SCHEMA_VERSION, Report
from kneeflags.report.plan_lines import plan_lines, plan_title

PLAN_FORMATS: tuple[str, ...] = ("text", "markdown", "json")


def _no_plan(name: str) -> str:
    return f"{name}: no plan, because no run could be read."


def plan_text(report: Report) -> str:
    out: list[str] = []
    for a in report.athletes:
        if out:
            out.append("")
        name = fmt.clean(a.athlete)
        if a.plan is None:
            out.append(_no_plan(name))
            continue
        out.append(f"{name}: {plan_title(a.plan)}")
        for line in plan_lines(a.plan):
            out.append(f"  {line.label}: {line.value}".rstrip(": "))
            out.extend(
                f"    - {fmt.clean(r.text)} ({r.rule}; guide: {fmt.clean(r.guide)})"
                for r in line.reasons
            )
    out += ["", report.reminder, ""]
    return "\n".join(out)


def plan_markdown(report: Report) -> str:
    from kneeflags.report.fmt import md_escape as esc
    from kneeflags.report.markdown import plan_md_lines

    out: list[str] = []
    for a in report.athletes:
        out += [f"# {esc(a.athlete)}", ""]
        out += plan_md_lines(a.plan) if a.plan is not None else [esc(_no_plan(a.athlete))]
        out.append("")
    out += ["---", "", f"> {esc(report.reminder)}", ""]
    return "\n".join(out)


def plan_document(report: Report) -> dict[str, Any]:
    """``{"schema_version", "athletes": [{"athlete", "reported_week", "plan"}]}``; ``plan``
    has the shape of ``athletes[].plan`` in the full report (``schema.json``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "athletes": [
            {
                "athlete": a.athlete,
                "reported_week": a.window.last_week.isoformat(),
                "plan": plan_dict(a.plan),
            }
            for a in report.athletes
        ],
        "reminder": report.reminder,
    }


def render_plan(report: Report, fmt_name: str) -> str:
    if fmt_name == "text":
        return plan_text(report)
    if fmt_name == "markdown":
        return plan_markdown(report)
    if fmt_name == "json":
        return dumps(plan_document(report))
    raise ValueError(f"unknown plan format {fmt_name!r} (choose from {', '.join(PLAN_FORMATS)})")
