"""The Markdown report: the terminal report's content, readable in a mail or a git repo.

Every string from an input file (athlete folder name, activity name, file path,
problem message) and every evidence line goes through :func:`fmt.md_escape`, so a
GPX ``<name>`` of ``<script>alert(1)</script>`` renders as that text, never as
HTML, and no file name can inject a link, a heading or a table cell.
"""

from __future__ import annotations

from collections.abc import Sequence

from kneeflags.model import Problem
from kneeflags.plan.model import Plan
from kneeflags.report import fmt
from kneeflags.report.fmt import md_code
from kneeflags.report.fmt import md_escape as esc
from kneeflags.report.journal_lines import athlete_label, journal_block
from kneeflags.report.model import AthleteReport, Report, RuleFlags
from kneeflags.report.plan_lines import plan_lines, plan_title
from kneeflags.report.this_week import (
    last_run_cell,
    status_reason,
    this_week,
    week_flag_cell,
    week_km_cell,
)

SEVERITY_LABEL = {"high": "HIGH", "watch": "WATCH"}


def render_markdown(report: Report) -> str:
    out: list[str] = []
    for i, a in enumerate(report.athletes):
        if i:
            out += ["", "---", ""]
        out += athlete_lines(a, report)
    out += ["", *problem_lines(report.errors, report.warnings, report.skipped)]
    out += ["", "---", "", f"> {esc(report.reminder)}", ""]
    return "\n".join(out)


def athlete_lines(a: AthleteReport, report: Report) -> list[str]:
    s = a.summary
    lines = [
        f"# kneeflags report: {esc(a.athlete)}",
        "",
        f"Window **{fmt.date_range(a.window.start, a.window.end)}** ({a.window.weeks} weeks), "
        f"local time {esc(a.timezone)}. {esc(report.generated_by)}, report for the week "
        f"ending {fmt.long_date(a.window.end)}.",
        "",
    ]
    if not a.has_data:
        lines += ["**No activity could be read for this athlete.**", ""]
    else:
        runs = fmt.plural(s.runs_in_window, "run")
        lines += [f"{runs}, {fmt.km(s.km_in_window)} km in the window.", ""]
    if a.has_data:
        lines += this_week_lines(a)
        if a.plan is not None:
            lines += ["", *plan_md_lines(a.plan)]
        if a.returns or a.journal:
            lines += ["", *journal_md_lines(a)]
        lines += ["", *flag_lines(a)]
        lines += ["", f"## Weekly table ({a.window.weeks} weeks)", "", *weekly_lines(a)]
    if a.notes:
        lines += ["", "## Notes", "", *(f"- {esc(n)}" for n in a.notes)]
    while len(lines) > 1 and lines[-1] == "" and lines[-2] == "":
        lines.pop()
    return lines


def this_week_lines(a: AthleteReport) -> list[str]:
    """The reported week first: status, the flags causing it, the week's numbers."""
    tw = this_week(a)
    lines = [f"## This week: {esc(tw.week_name)}", ""]
    if tw.status in ("high", "watch") and tw.causes:
        lines.append(f"**{SEVERITY_LABEL[tw.status]} this week**: {esc(tw.explanation())}.")
    else:
        lines.append(f"**{esc(tw.status_sentence())}**")
    if tw.last_run:
        lines += ["", f"Latest data: **{esc(tw.last_run)}**."]
    if tw.causes:
        lines.append("")
        lines += [f"- {c.severity}: {esc(c.evidence)} (`{c.rule}`)" for c in tw.causes]
    if tw.advisories:
        lines.append("")
        lines += [f"- Also: {esc(x)}" for x in tw.advisories]
    if tw.numbers:
        lines += ["", "| This week | |", "|:--|--:|"]
        lines += [f"| {esc(k)} | {esc(v)} |" for k, v in tw.numbers]
    return lines


def flag_lines(a: AthleteReport) -> list[str]:
    high = sum(1 for f in a.flags if f.severity == "high")
    watch = sum(1 for f in a.flags if f.severity == "watch")
    if not a.flags:
        return [
            "## Flags in the window",
            "",
            "No flags in this window: no risk pattern from the rule catalogue was found.",
        ]
    lines = [f"## Flags in the window: {high} high, {watch} watch"]
    for group in a.groups:
        label = f" ({esc(group.label)})" if group.label else ""
        lines += ["", f"### {esc(group.condition)}{label}"]
        for rf in group.rules:
            lines += ["", *rule_lines(rf)]
    return lines


def rule_lines(rf: RuleFlags) -> list[str]:
    lines = [
        f"#### {SEVERITY_LABEL.get(rf.severity, rf.severity)}: {esc(rf.title)} "
        f"(`{rf.rule}`; {', '.join(esc(c) for c in rf.conditions)})",
        "",
        *(f"- {esc(fmt.occurrence_prefix(rf, f))}{esc(f.evidence)}" for f in rf.flags),
    ]
    if rf.advice:
        lines += ["", "What to do:", "", *(f"- {esc(x)}" for x in rf.advice)]
    if rf.references:
        lines += ["", f"*Reference: {'; '.join(esc(r) for r in rf.references)}*"]
    return lines


def plan_md_lines(plan: Plan) -> list[str]:
    lines = [f"## {esc(plan_title(plan))}", ""]
    for line in plan_lines(plan):
        lines.append(f"- **{esc(line.label)}**: {esc(line.value)}")
        lines += [f"  - {esc(r.text)} (`{r.rule}`; guide: {esc(r.guide)})" for r in line.reasons]
    return lines


def journal_md_lines(a: AthleteReport) -> list[str]:
    """The knee journal: each open episode's state and reminders, then recent entries."""
    block = journal_block(a.returns, a.journal)
    lines = ["## Knee journal"]
    for ep in block.episodes:
        lines += ["", f"### {esc(ep.title)}", ""]
        lines += [f"- **{esc(label)}**: {esc(value)}" for label, value in ep.lines]
        lines += ["", *(f"> {esc(r)}" for r in ep.reminders)]
    if block.entries:
        lines += ["", "Entries in the window (newest first):", ""]
        lines += [f"- {esc(e)}" for e in block.entries]
        if block.more_entries:
            lines.append(f"- and {block.more_entries} earlier")
    return lines


def weekly_lines(a: AthleteReport) -> list[str]:
    if not a.weeks:
        return ["No weeks with data in the window."]
    head = (
        "| Week | km | Δ | Runs | Longest | Downhill | Cadence | Strength | Cross-training "
        "| Walk/hike | Descent on foot | ACWR | Flag |"
    )
    lines = [head, "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:--|"]
    for w in a.weeks:
        flag = week_flag_cell(w)
        if w.flag_severity == "high":
            flag = "**" + flag.replace("high", "high**", 1)
        lines.append(
            "| "
            + " | ".join(
                [
                    fmt.day_month(w.week_start),
                    fmt.km(w.run_km),
                    fmt.pct(w.change_pct, signed=True),
                    fmt.count(w.runs),
                    fmt.km(w.longest_run_km),
                    fmt.share(w.downhill_share),
                    fmt.spm(w.cadence_spm_median),
                    fmt.count(w.strength_sessions),
                    f"{fmt.minutes(w.cross_training_minutes)} min",
                    f"{fmt.minutes(w.walk_minutes + w.hike_minutes)} min",
                    fmt.metres(w.descent_on_foot_m),
                    fmt.ratio(w.acwr),
                    flag,
                ]
            )
            + " |"
        )
    lines += [
        "",
        "*km: running volume; Δ: change on the previous week; Longest: longest run (km); "
        "Downhill: share of running distance at ≤ −5 % grade; Cadence: median steps/min; "
        "Walk/hike and descent on foot: walking and hiking (they load the knee too); "
        "ACWR: acute:chronic workload ratio; these three for information only.*",
    ]
    return lines


def problem_lines(
    errors: Sequence[Problem], warnings: Sequence[Problem], skipped: int
) -> list[str]:
    lines = ["## Files", ""]
    if not errors and not warnings:
        lines.append("All files were read without problems.")
    if errors:
        lines += [f"**Not used ({len(errors)}):**", ""]
        lines += [f"- {md_code(p.path)}: {esc(p.message)}" for p in errors]
        lines.append("")
    if warnings:
        lines += [f"**Used with caveats ({len(warnings)}):**", ""]
        lines += [f"- {md_code(p.path)}: {esc(p.message)}" for p in warnings]
        lines.append("")
    if skipped:
        lines.append(
            f"{fmt.plural(skipped, 'file')} skipped: not activities (CSV, images, settings)."
        )
    return lines


def render_summary_markdown(
    report: Report, ranked: Sequence[int], links: dict[int, str] | None = None
) -> str:
    """The coach's ranked summary as a Markdown table (links to reports if given)."""
    lines = [
        f"# kneeflags batch: {len(report.athletes)} athletes",
        "",
        "| # | Athlete | Status | Why | Last run | Flags (week/window) | Week km | Δ | Cadence "
        "| Downhill | Files |",
        "|--:|:--|:--|:--|:--|--:|--:|--:|--:|--:|--:|",
    ]
    for rank, idx in enumerate(ranked, 1):
        a = report.athletes[idx]
        s = a.summary
        name = esc(athlete_label(a))
        if links and idx in links:
            name = f"[{name}](<{links[idx]}>)"
        lines.append(
            f"| {rank} | {name} | {a.status} | {esc(status_reason(a))} | {last_run_cell(a)} "
            f"| {s.flags_this_week}/{s.flags_in_window} "
            f"| {week_km_cell(a)} | {fmt.pct(s.change_pct, signed=True)} "
            f"| {fmt.spm(s.cadence_spm_median)} | {fmt.share(s.downhill_share)} "
            f"| {len(a.errors) or 'ok'} |"
        )
    lines += ["", *problem_lines(report.errors, report.warnings, report.skipped)]
    lines += ["", "---", "", f"> {esc(report.reminder)}", ""]
    return "\n".join(lines)
