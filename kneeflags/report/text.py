"""The terminal report (rich): flags first, then the weekly table, files, the reminder.

Designed for 80 columns. On a terminal it uses colour; piped or written to a file
(cron mail) it degrades to plain text: no ANSI codes, ASCII table rules and
``[HIGH]``/``[WATCH]`` badges, so nothing depends on colour to be understood.
Every string that came from an input file goes through :func:`fmt.clean` and is
wrapped in :class:`rich.text.Text`, never parsed as rich markup, so a file name
like ``[bold]`` or an escape sequence in a GPX ``<name>`` prints as itself.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from kneeflags.model import Problem
from kneeflags.plan.model import Plan
from kneeflags.report import fmt
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

ASCII_RULES = box.Box(
    "    \n"  # top
    "    \n"  # head
    " -- \n"  # head_row
    "    \n"  # mid
    " -- \n"  # row
    " -- \n"  # foot_row
    "    \n"  # foot
    "    \n",  # bottom
    ascii=True,
)
"""Plain-text table rules: a dashed line under the header, nothing else."""

SEVERITY_STYLE = {"high": "bold white on red", "watch": "bold black on yellow"}
SEVERITY_FG = {"high": "bold red", "watch": "yellow"}
MAX_WARNINGS = 20


def make_console(
    file: io.TextIOBase | None = None, *, color: bool | None = None, width: int | None = None
) -> Console:
    """A console that is plain unless it writes to a terminal (or ``color=True``)."""
    return Console(
        file=file,
        force_terminal=color,
        no_color=color is False,
        width=width,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )


def to_text(report: Report, *, width: int = 80, color: bool = False, verbose: bool = False) -> str:
    """The whole report as a string (plain unless ``color``)."""
    buf = io.StringIO()
    console = make_console(buf, color=color, width=width)
    render(report, console, verbose=verbose)
    return buf.getvalue() if color else strip_trailing(buf.getvalue())


def strip_trailing(text: str) -> str:
    """Drop the padding rich adds to fill the width: plain text for mail and files."""
    return "\n".join(line.rstrip() for line in text.split("\n"))


def render(report: Report, console: Console, *, verbose: bool = False) -> None:
    """Print the report: each athlete, then file problems, then the clinician reminder."""
    plain = not console.is_terminal or console.no_color
    for i, athlete in enumerate(report.athletes):
        if i:
            console.print()
        for part in athlete_parts(athlete, plain=plain):
            console.print(part)
    console.print()
    problems = problems_part(report.errors, report.warnings, report.skipped, verbose=verbose)
    console.print(problems, crop=False)  # long paths overflow rather than fold
    console.print()
    console.print(Text(report.reminder, style="italic"), width=min(console.width, 80))
    console.print(Text(f"{report.generated_by}", style="dim"))


def athlete_parts(a: AthleteReport, *, plain: bool) -> list[RenderableType]:
    """This week first (status, its causes, its numbers), next week's plan, then history."""
    parts: list[RenderableType] = [header(a), Text("")]
    if a.has_data:  # without any activity, flags and weeks would only say "nothing"
        parts.append(this_week_part(a, plain=plain))
        parts.append(Text(""))
        if a.plan is not None:
            parts.append(plan_part(a.plan))
            parts.append(Text(""))
        if a.returns or a.journal:
            parts.append(journal_part(a))
            parts.append(Text(""))
        parts.append(flags_part(a, plain=plain))
        parts.append(Text(""))
        parts.append(heading("Weekly table", f"{a.window.weeks} weeks"))
        parts.append(weekly_table(a, plain=plain))
    if a.notes:
        parts.append(Text(""))
        parts.append(heading("Notes"))
        parts.extend(bullet(fmt.clean(n)) for n in a.notes)
    return parts


def heading(text: str, detail: str = "") -> Text:
    """A section title: upper case (readable without colour), optional detail after it."""
    out = Text(text.upper(), style="bold underline")
    if detail:
        out.append(f"  {detail}", style="bold")
    return out


def header(a: AthleteReport) -> Group:
    s = a.summary
    title = Text("kneeflags report: ", style="bold")
    title.append(fmt.clean(a.athlete), style="bold cyan")
    lines = [title]
    lines.append(
        Text(
            f"Window {fmt.date_range(a.window.start, a.window.end)} ({a.window.weeks} weeks), "
            f"local time {fmt.clean(a.timezone)}",
            style="dim",
        )
    )
    if not a.has_data:
        lines.append(Text("No activity could be read for this athlete.", style="bold red"))
        return Group(*lines)
    runs = fmt.plural(s.runs_in_window, "run")
    lines.append(Text(f"{runs}, {fmt.km(s.km_in_window)} km in the window.", style="dim"))
    return Group(*lines)


def this_week_part(a: AthleteReport, *, plain: bool) -> RenderableType:
    """The reported week: status and the flags causing it, then the week's numbers."""
    tw = this_week(a)
    parts: list[RenderableType] = [heading("This week", tw.week_name)]
    if tw.status in ("high", "watch") and tw.causes:
        status = badge(tw.status, plain=plain)
        status.append(f" this week: {tw.explanation()}.", style="bold")
    else:
        style = "bold red" if tw.status == "stale" else "bold"
        status = Text(tw.status_sentence(), style=style)
    parts.append(status)
    if tw.last_run:
        parts.append(Text(f"Latest data: {tw.last_run}.", style="bold"))
    for c in tw.causes:
        parts.append(bullet(f"{c.severity}: {fmt.clean(c.evidence)} ({c.rule})", indent=2))
    for line in tw.advisories:
        parts.append(bullet(f"Also: {fmt.clean(line)}", indent=2))
    for label, value in tw.numbers:
        head = Text(f"{label}: ", style="bold")
        head.append(value)
        parts.append(Padding(head, (0, 0, 0, 2)))
    return Group(*parts)


def badge(severity: str, *, plain: bool) -> Text:
    if plain:
        return Text(f"[{severity.upper()}]")
    return Text(f" {severity.upper()} ", style=SEVERITY_STYLE.get(severity, "bold"))


def flags_part(a: AthleteReport, *, plain: bool) -> RenderableType:
    counts = {sev: sum(1 for f in a.flags if f.severity == sev) for sev in ("high", "watch")}
    if not a.flags:
        return Group(
            heading("Flags in the window"),
            Text("No flags in this window: no risk pattern from the rule catalogue was found."),
        )
    parts: list[RenderableType] = [
        heading("Flags in the window", f"{counts['high']} high, {counts['watch']} watch")
    ]
    for group in a.groups:
        parts.append(Text(""))
        title = Text(group.condition, style="bold magenta")
        if group.label:
            title.append(f" ({group.label})", style="magenta")
        parts.append(title)
        for rf in group.rules:
            parts.append(rule_block(rf, plain=plain))
    return Group(*parts)


def rule_block(rf: RuleFlags, *, plain: bool) -> RenderableType:
    head = badge(rf.severity, plain=plain)
    head.append(" ")
    head.append(rf.title, style="bold")
    head.append(f"  {rf.rule} · {', '.join(rf.conditions)}", style="dim")
    lines: list[RenderableType] = [head]
    lines.extend(
        bullet(fmt.occurrence_prefix(rf, f) + fmt.clean(f.evidence), indent=2) for f in rf.flags
    )
    if rf.advice:
        lines.append(Padding(Text("What to do:", style="bold"), (0, 0, 0, 2)))
        lines.extend(bullet(fmt.clean(line), indent=4, mark="-") for line in rf.advice)
    if rf.references:
        ref = Text("Reference: ", style="dim")
        ref.append("; ".join(fmt.clean(r) for r in rf.references), style="dim")
        lines.append(Padding(ref, (0, 0, 0, 2)))
    return Padding(Group(*lines), (1, 0, 0, 2))


def plan_part(plan: Plan) -> RenderableType:
    """Next week's plan: one line per number, each with its reason and guide section."""
    parts: list[RenderableType] = [heading("Next week"), Text(plan_title(plan), style="bold")]
    for line in plan_lines(plan):
        head = Text(f"{line.label}: ", style="bold")
        head.append(line.value)
        parts.append(bullet_text(head, indent=2))
        for r in line.reasons:
            parts.append(
                bullet(
                    f"{fmt.clean(r.text)} ({r.rule}; guide: {fmt.clean(r.guide)})",
                    indent=4,
                    mark="-",
                )
            )
    return Group(*parts)


def journal_part(a: AthleteReport) -> RenderableType:
    """The knee journal: each open episode's state and reminders, then recent entries."""
    block = journal_block(a.returns, a.journal)
    parts: list[RenderableType] = [heading("Knee journal")]
    for ep in block.episodes:
        parts.append(Text(fmt.clean(ep.title), style="bold"))
        for label, value in ep.lines:
            head = Text(f"{label}: ", style="bold")
            head.append(fmt.clean(value))
            parts.append(bullet_text(head, indent=2))
        parts.extend(bullet(fmt.clean(r), indent=2, mark="!") for r in ep.reminders)
    if block.entries:
        parts.append(Text("Entries in the window (newest first)", style="bold"))
        parts.extend(bullet(fmt.clean(e), indent=2, mark="-") for e in block.entries)
        if block.more_entries:
            parts.append(bullet(f"and {block.more_entries} earlier", indent=2, mark="-"))
    return Group(*parts)


def bullet_text(text: Text, *, indent: int = 0, mark: str = "*") -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    grid.add_row(Text(mark), text)
    return Padding(grid, (0, 0, 0, indent))


def bullet(text: str, *, indent: int = 0, mark: str = "*") -> RenderableType:
    """A hanging-indent bullet, wrapped to the console width."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    grid.add_row(Text(mark), Text(text))
    return Padding(grid, (0, 0, 0, indent))


def problem_bullet(problem: Problem) -> RenderableType:
    """One file problem: the path whole on its own line, then the message, wrapped.

    A path folded across two lines cannot be copied or grepped from a terminal or a
    cron mail, so it is never wrapped (a long one overflows instead).
    """
    path = Text(f"  * {fmt.clean(problem.path)}:", no_wrap=True, overflow="ignore")
    return Group(path, Padding(Text(fmt.clean(problem.message)), (0, 0, 0, 4)))


def weekly_table(a: AthleteReport, *, plain: bool) -> RenderableType:
    if not a.weeks:
        return Text("No weeks with data in the window.")
    table = Table(
        box=ASCII_RULES if plain else box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        header_style="bold",
    )
    columns = [
        ("Week", "left"),
        ("km", "right"),
        ("Δ", "right"),
        ("Runs", "right"),
        ("Long", "right"),
        ("Down", "right"),
        ("Cad", "right"),
        ("Str", "right"),
        ("XT", "right"),
        ("Foot", "right"),
        ("Desc", "right"),
        ("Flag", "left"),
    ]
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for w in a.weeks:
        flag = Text(week_flag_cell(w))
        if w.flag_severity:
            flag.stylize(SEVERITY_FG.get(w.flag_severity, ""), 0, len(w.flag_severity))
        change = fmt.pct(w.change_pct, signed=True).replace(" %", "%")
        table.add_row(
            fmt.day_month(w.week_start),
            fmt.km(w.run_km),
            change,
            fmt.count(w.runs),
            fmt.km(w.longest_run_km),
            fmt.share(w.downhill_share).replace(" %", "%"),
            fmt.spm(w.cadence_spm_median),
            fmt.count(w.strength_sessions),
            fmt.minutes(w.cross_training_minutes),
            fmt.minutes(w.walk_minutes + w.hike_minutes),
            fmt.metres(w.descent_on_foot_m),
            flag,
            style="dim" if not w.has_data else None,
        )
    legend = Text(
        "km running volume, Δ change on the previous week, Long longest run (km), "
        "Down downhill share, Cad median cadence (spm), Str strength sessions, "
        "XT cross-training minutes, Foot walking and hiking minutes and Desc their descent "
        "(m), for information (the acute:chronic ratio is in the HTML, JSON and CSV reports).",
        style="dim",
    )
    return Group(table, legend)


def problems_part(
    errors: Sequence[Problem],
    warnings: Sequence[Problem],
    skipped: int,
    *,
    verbose: bool,
    max_warnings: int = MAX_WARNINGS,
    has_verbose_option: bool = False,
) -> RenderableType:
    """File problems; ``has_verbose_option``: the command offers --verbose to list them all
    (batch does; analyze does not, so it points at the HTML/JSON report instead)."""
    everything = (
        "--verbose or the HTML/JSON report lists them all"
        if has_verbose_option
        else "the HTML or JSON report, -f html|json, lists them all"
    )
    parts: list[RenderableType] = [heading("Files")]
    if not errors and not warnings:
        parts.append(Text("All files were read without problems."))
    if errors:
        parts.append(Text(f"Not used ({len(errors)}):", style="bold red"))
        parts.extend(problem_bullet(p) for p in errors)
    if warnings and not verbose and max_warnings == 0:
        parts.append(Text(f"{fmt.plural(len(warnings), 'file')} used with caveats ({everything})."))
    elif warnings:
        parts.append(Text(f"Used with caveats ({len(warnings)}):", style="bold yellow"))
        shown = warnings if verbose else warnings[:max_warnings]
        parts.extend(problem_bullet(p) for p in shown)
        if len(shown) < len(warnings):
            parts.append(
                Padding(
                    Text(f"... {len(warnings) - len(shown)} more ({everything})."),
                    (0, 0, 0, 2),
                )
            )
    if skipped:
        parts.append(
            Text(f"{fmt.plural(skipped, 'file')} skipped: not activities (CSV, images, settings).")
        )
    return Group(*parts)


# ---------------------------------------------------------------------------------------
# batch summary


def summary_table(report: Report, ranked: Sequence[int], *, plain: bool) -> Table:
    """The coach's ranked summary: one row per athlete, most urgent first."""
    table = Table(
        box=ASCII_RULES if plain else box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        header_style="bold",
    )
    for name, justify in (
        ("#", "right"),
        ("Athlete", "left"),
        ("Status", "left"),
        ("Last run", "left"),
        ("Flags", "right"),
        ("Week km", "right"),
        ("Δ", "right"),
        ("Cad", "right"),
        ("Down", "right"),
        ("Files", "right"),
    ):
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=name != "Athlete",
            min_width=8 if name == "Athlete" else None,
        )
    for rank, idx in enumerate(ranked, 1):
        a = report.athletes[idx]
        s = a.summary
        status = a.status
        style = SEVERITY_FG.get(status, "bold red" if status != "ok" else "green")
        table.add_row(
            str(rank),
            Text(fmt.clean(athlete_label(a))),
            Text(status, style=style),
            last_run_cell(a),
            f"{s.flags_this_week}/{s.flags_in_window}",
            week_km_cell(a),
            fmt.pct(s.change_pct, signed=True).replace(" %", "%"),
            fmt.spm(s.cadence_spm_median),
            fmt.share(s.downhill_share).replace(" %", "%"),
            str(len(a.errors)) if a.errors else "ok",
        )
    return table


def render_summary(
    report: Report, ranked: Sequence[int], console: Console, *, verbose: bool = False
) -> None:
    """Print the batch summary, then file problems, then the reminder."""
    plain = not console.is_terminal or console.no_color
    weeks = {a.window.week_label for a in report.athletes}
    title = Text(f"kneeflags batch: {len(report.athletes)} athletes", style="bold")
    if len(weeks) == 1:
        title.append(f", week {weeks.pop()}")
    console.print(title)
    console.print(summary_table(report, ranked, plain=plain))
    console.print(
        Text(
            "Status: this week's highest flag (stale: no activity in the week or the 2 "
            "before). Flags: this week / whole window. Δ: change on the previous week. "
            "Cad: median cadence (spm). Down: downhill share.",
            style="dim",
        )
    )
    reasons = [(i, status_reason(report.athletes[i])) for i in ranked]
    if any(r for _, r in reasons):
        console.print()
        console.print(heading("Why"))
        for i, why in reasons:
            a = report.athletes[i]
            if why:
                console.print(bullet(f"{fmt.clean(a.athlete)}: {a.status}, {fmt.clean(why)}"))
    console.print()
    console.print(
        problems_part(
            report.errors,
            report.warnings,
            report.skipped,
            verbose=verbose,
            max_warnings=0,
            has_verbose_option=True,
        ),
        crop=False,
    )
    console.print()
    console.print(Text(report.reminder, style="italic"), width=min(console.width, 80))


def summary_to_text(
    report: Report, ranked: Sequence[int], *, width: int = 80, verbose: bool = False
) -> str:
    buf = io.StringIO()
    render_summary(report, ranked, make_console(buf, color=False, width=width), verbose=verbose)
    return strip_trailing(buf.getvalue())
