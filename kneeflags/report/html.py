"""The HTML report: one self-contained, printable file that works offline and as an attachment.

* Everything inline: CSS in a ``<style>`` element, charts as inline SVG from
  :mod:`kneeflags.report.charts`. No script, no font, no image, no link to fetch.
* A restrictive Content-Security-Policy meta tag (``default-src 'none'``; only inline
  styles and ``data:`` images allowed), so even a string that slipped through could
  not load or run anything.
* Every string from input files (and every evidence line, which may quote a run's
  name) is escaped with :func:`html.escape` after control characters are removed.
* Polyglot markup: the page is also well-formed XML (void elements closed, only
  XML-safe entities), which is what the tests check with an XML parser.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from kneeflags.model import Problem
from kneeflags.plan.model import Plan
from kneeflags.report import fmt
from kneeflags.report.charts import NATURAL_WIDTH_PX, TIME_CHARTS
from kneeflags.report.journal_lines import journal_block, return_marker
from kneeflags.report.model import AthleteReport, Report, RuleFlags
from kneeflags.report.plan_lines import plan_lines, plan_title
from kneeflags.report.this_week import (
    NO_DATA_WEEK,
    last_run_cell,
    status_reason,
    this_week,
    week_km_cell,
    week_name,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# A chart is never shown narrower than its natural size (NATURAL_WIDTH_PX): it scrolls
# sideways in its figure instead, so its smallest text stays >= 11 CSS px on a phone,
# and wider screens scale it up. (charts imports matplotlib lazily: this import is cheap.)
# A time chart's scroller is right-to-left so a phone opens it on the latest weeks, the
# ones the report is about; the chart itself stays left-to-right.
CSS = """
:root { --ink:#1d2330; --muted:#5b6372; --line:#dde1e7; --bg:#f6f7f9; --high:#c0392b;
  --watch:#b7791f; --watch-bg:#fdf3dc; --high-bg:#fbe6e3; --ok:#2e7d4f; --accent:#4c78a8; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Liberation Sans", sans-serif; }
main, header.top, footer { max-width: 60rem; margin: 0 auto; padding: 0 1.25rem; }
header.top { padding-top: 1.5rem; padding-bottom: .5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h1 .who { color: var(--accent); }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; padding-bottom: .25rem;
  border-bottom: 2px solid var(--line); }
h2 small, h3 small { font-weight: normal; color: var(--muted); font-size: .8em; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
.meta { color: var(--muted); margin: 0 0 1rem; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: .75rem 0 0; }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .8rem;
  min-width: 8.5rem; background: var(--bg); }
.card .k { display: block; font-size: .75rem; text-transform: uppercase;
  letter-spacing: .04em; color: var(--muted); }
.card .v { font-size: 1.1rem; font-weight: 650; }
ul.causes { padding-left: 1.1rem; }
ul.causes li { margin: .2rem 0; }
.card.sev-high { background: var(--high-bg); border-color: var(--high); }
.card.sev-watch { background: var(--watch-bg); border-color: var(--watch); }
.badge { display: inline-block; font-size: .75rem; font-weight: 700; letter-spacing: .05em;
  padding: .1rem .45rem; border-radius: .3rem; vertical-align: .1em; color: #fff; }
.badge.high { background: var(--high); }
.badge.watch { background: var(--watch); }
.badge.ok { background: var(--ok); }
article.flag { border: 1px solid var(--line); border-left: 5px solid var(--line);
  border-radius: .4rem; padding: .6rem .9rem; margin: .6rem 0; break-inside: avoid; }
article.flag.high { border-left-color: var(--high); }
article.flag.watch { border-left-color: var(--watch); }
article.flag h4 { margin: 0 0 .35rem; font-size: 1rem; }
article.flag h4 code { font-size: .8rem; color: var(--muted); font-weight: normal; }
article.flag h5 { margin: .5rem 0 .2rem; font-size: .85rem; }
article.flag ul { margin: .2rem 0; padding-left: 1.2rem; }
.ref { color: var(--muted); font-size: .82rem; margin: .4rem 0 0; }
figure { margin: 1rem 0 1.5rem; break-inside: avoid; }
.chart-scroll { overflow-x: auto; }
.chart-scroll.latest { direction: rtl; }
.chart-scroll > svg { direction: ltr; }
figure svg.chart { width: 100%; height: auto; display: block; min-width: CHART_MIN_PX; }
figcaption { color: var(--muted); font-size: .82rem; margin-top: .25rem; }
table { border-collapse: collapse; width: 100%; font-size: .86rem;
  font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .45rem; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
th { background: var(--bg); font-weight: 600; position: sticky; top: 0; }
td.l, th.l { text-align: left; }
td.flags { white-space: normal; min-width: 8.5rem; }
table.weeks th { vertical-align: bottom; }
table.weeks th.w { white-space: normal; }
table.weeks th, table.weeks td { padding-left: .4rem; padding-right: .4rem; }
table.weeks th:first-child, table.weeks td:first-child { position: sticky; left: 0;
  background: #fff; z-index: 1; }
table.weeks th:first-child { background: var(--bg); z-index: 2; }
table.weeks tr.high td:first-child { background: var(--high-bg); }
table.weeks tr.watch td:first-child { background: var(--watch-bg); }
td.name { white-space: normal; max-width: 18rem; overflow-wrap: anywhere; }
tr.high td { background: var(--high-bg); }
tr.watch td { background: var(--watch-bg); }
tr.nodata td { color: var(--muted); }
.scroll { overflow-x: auto; }
.legend { color: var(--muted); font-size: .8rem; }
.problems li { overflow-wrap: anywhere; }
section.plan dl { margin: .4rem 0; }
section.plan dt { font-weight: 650; margin-top: .5rem; }
section.plan dd { margin: 0 0 0 1rem; }
section.plan ul { margin: .15rem 0; padding-left: 1.1rem; color: var(--muted); }
.err { color: var(--high); }
footer { margin-top: 2rem; padding-bottom: 2rem; }
.reminder { border: 1px solid var(--line); background: var(--bg); border-radius: .5rem;
  padding: .8rem 1rem; font-style: italic; }
.gen { color: var(--muted); font-size: .8rem; }
.athlete + .athlete { border-top: 3px double var(--line); margin-top: 2.5rem; }
@media print {
  html { font-size: 11pt; }
  main, header.top, footer { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  th { position: static; }
  figure svg.chart { min-width: 0; }
  .chart-scroll { overflow: visible; }
  tr, article.flag, figure { break-inside: avoid; }
  .athlete + .athlete { break-before: page; }
  a { color: inherit; text-decoration: none; }
}
""".replace("CHART_MIN_PX", f"{NATURAL_WIDTH_PX}px")


def esc(text: object) -> str:
    """Escape any text (from input files or ours) for HTML/XML text and attributes."""
    return html.escape(fmt.clean(text), quote=True)


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}" />\n'
        '<meta name="referrer" content="no-referrer" />\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"{body}</body>\n</html>\n"
    )


def render_html(report: Report, *, charts: bool = True) -> str:
    """The whole report as one HTML page (one section per athlete)."""
    names = ", ".join(a.athlete for a in report.athletes) or "no athlete"
    weeks = sorted({a.window.week_label for a in report.athletes})
    title = f"kneeflags report: {names}" + (f" ({weeks[-1]})" if weeks else "")
    parts = []
    for a in report.athletes:
        parts.append(athlete_section(a, report, charts=charts))
    parts.append('<main class="tail">' + files_section(report) + "</main>\n")
    parts.append(footer(report))
    return page(title, "".join(parts))


def week_ending(report: Report) -> str:
    """``week ending Sun 8 Feb 2026``: the last day of the (latest) reported week.

    The page's stamp is what it is about, not when it was written: a rerun writes the
    same words, and no invented generation time suggests fresher data than there is.
    """
    ends = [a.window.end for a in report.athletes]
    return f"week ending {fmt.long_date(max(ends))}" if ends else ""


def footer(report: Report) -> str:
    stamp = week_ending(report)
    about = f", report for the {esc(stamp)}" if stamp else ""
    return (
        f'<footer><p class="reminder">{esc(report.reminder)}</p>\n'
        f'<p class="gen">{esc(report.generated_by)}{about}. Flags describe training patterns '
        "linked to ITBS and PFPS in the research the rule catalogue cites; they are not a "
        "diagnosis.</p></footer>\n"
    )


def _card(key: str, value: str, cls: str = "") -> str:
    klass = f"card {cls}".strip()
    return (
        f'<div class="{klass}"><span class="k">{esc(key)}</span>'
        f'<span class="v">{value}</span></div>'
    )


def athlete_section(a: AthleteReport, report: Report, *, charts: bool) -> str:
    out = [
        '<div class="athlete">\n<header class="top">\n',
        f'<h1>Knee-risk training report: <span class="who">{esc(a.athlete)}</span></h1>\n',
        f'<p class="meta">Window {esc(fmt.date_range(a.window.start, a.window.end))} '
        f"({a.window.weeks} weeks, last week {esc(a.window.week_label)}), local time "
        f"{esc(a.timezone)}.</p>\n",
    ]
    if not a.has_data:
        out.append('<p class="err"><strong>No activity could be read.</strong></p>')
    else:
        out.append(this_week_section(a))
    out.append("</header>\n<main>\n")
    if a.has_data:
        if a.plan is not None:
            out.append(plan_section(a.plan))
        if a.returns or a.journal:
            out.append(journal_section(a))
        out.append(flags_section(a))
        if charts:
            out.append(charts_section(a))
        out.append(weekly_section(a))
        out.append(activities_section(a))
    if a.notes:
        out.append("<section><h2>Notes</h2><ul>")
        out.extend(f"<li>{esc(n)}</li>" for n in a.notes)
        out.append("</ul></section>\n")
    out.append("</main>\n</div>\n")
    return "".join(out)


def this_week_section(a: AthleteReport) -> str:
    """The reported week first: status, the flags that cause it, the week's numbers."""
    tw = this_week(a)
    s = a.summary
    sev = tw.status if tw.status in ("high", "watch") else ""
    if sev and tw.causes:
        head = f'<span class="badge {sev}">{sev.upper()}</span> this week: {esc(tw.explanation())}.'
    else:
        cls = "err" if tw.status == "stale" else ""
        head = f'<span class="{cls}">{esc(tw.status_sentence())}</span>'
    out = [
        f'<section id="this-week" class="this-week"><h2>This week '
        f"<small>{esc(tw.week_name)}</small></h2>\n<p><strong>{head}</strong></p>\n"
    ]
    if tw.last_run:
        out.append(f'<p class="err"><strong>Latest data: {esc(tw.last_run)}.</strong></p>\n')
    if tw.causes:
        out.append('<ul class="causes">')
        out.extend(
            f'<li><span class="badge {esc(c.severity)}">{esc(c.severity.upper())}</span> '
            f"{esc(c.evidence)} <code>{esc(c.rule)}</code></li>"
            for c in tw.causes
        )
        out.append("</ul>\n")
    if tw.advisories:
        out.append('<ul class="causes">')
        out.extend(f"<li>Also: {esc(x)}</li>" for x in tw.advisories)
        out.append("</ul>\n")
    if tw.numbers:
        out.append('<div class="cards">')
        out.extend(_card(k, esc(v), "") for k, v in tw.numbers)
        out.append(
            _card(
                f"{a.window.weeks} weeks",
                f"{fmt.plural(s.runs_in_window, 'run')} "
                f"<small>{esc(fmt.km(s.km_in_window))} km</small>",
            )
        )
        out.append("</div>\n")
    out.append("</section>\n")
    return "".join(out)


def flags_section(a: AthleteReport) -> str:
    high = sum(1 for f in a.flags if f.severity == "high")
    watch = sum(1 for f in a.flags if f.severity == "watch")
    if not a.flags:
        return (
            '<section id="flags"><h2>Flags in the window</h2><p>No flags in this window: no '
            "risk pattern from the rule catalogue was found.</p></section>\n"
        )
    out = [
        f'<section id="flags"><h2>Flags in the window <small>{high} high · {watch} watch'
        "</small></h2>\n"
    ]
    for g in a.groups:
        label = f" <small>{esc(g.label)}</small>" if g.label else ""
        out.append(f'<section class="condition"><h3>{esc(g.condition)}{label}</h3>\n')
        out.extend(rule_article(rf) for rf in g.rules)
        out.append("</section>\n")
    out.append("</section>\n")
    return "".join(out)


def rule_article(rf: RuleFlags) -> str:
    sev = esc(rf.severity)
    out = [
        f'<article class="flag {sev}"><h4><span class="badge {sev}">{sev.upper()}</span> '
        f"{esc(rf.title)} <code>{esc(rf.rule)}</code> <small>{esc(', '.join(rf.conditions))}"
        '</small></h4>\n<ul class="evidence">',
        *(f"<li>{esc(fmt.occurrence_prefix(rf, f))}{esc(f.evidence)}</li>" for f in rf.flags),
        "</ul>\n",
    ]
    if rf.advice:
        out.append('<h5>What to do</h5><ul class="advice">')
        out.extend(f"<li>{esc(x)}</li>" for x in rf.advice)
        out.append("</ul>\n")
    if rf.references:
        out.append(f'<p class="ref">Reference: {esc("; ".join(rf.references))}</p>\n')
    out.append("</article>\n")
    return "".join(out)


def plan_section(plan: Plan) -> str:
    out = [f'<section id="plan" class="plan"><h2>{esc(plan_title(plan))}</h2>\n<dl>']
    for line in plan_lines(plan):
        out.append(f"<dt>{esc(line.label)}</dt><dd><strong>{esc(line.value)}</strong>")
        if line.reasons:
            out.append("<ul>")
            out.extend(
                f"<li>{esc(r.text)} <small><code>{esc(r.rule)}</code> · guide: "
                f"{esc(r.guide)}</small></li>"
                for r in line.reasons
            )
            out.append("</ul>")
        out.append("</dd>\n")
    out.append("</dl></section>\n")
    return "".join(out)


def journal_section(a: AthleteReport) -> str:
    """The knee journal: each open episode's state and reminders, then recent entries."""
    block = journal_block(a.returns, a.journal)
    out = ['<section id="journal" class="plan"><h2>Knee journal</h2>\n']
    for ep in block.episodes:
        out.append(f"<h3>{esc(ep.title)}</h3>\n<dl>")
        out.extend(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in ep.lines)
        out.append("</dl>\n")
        out.extend(f'<p class="reminder">{esc(r)}</p>\n' for r in ep.reminders)
    if block.entries:
        out.append("<h3>Entries in the window (newest first)</h3>\n<ul>")
        out.extend(f"<li>{esc(e)}</li>" for e in block.entries)
        if block.more_entries:
            out.append(f"<li>and {block.more_entries} earlier</li>")
        out.append("</ul>\n")
    out.append("</section>\n")
    return "".join(out)


def charts_section(a: AthleteReport) -> str:
    from kneeflags.report.charts import all_charts

    out = ['<section id="charts"><h2>Charts</h2>\n']
    try:
        figures = all_charts(a)
    except Exception as exc:  # a chart must never cost the user the whole report
        return (
            '<section id="charts"><h2>Charts</h2><p class="err">The charts could not be '
            f"drawn: {esc(exc)}</p></section>\n"
        )
    for caption, svg in figures:
        latest = " latest" if any(f'id="chart-{n}"' in svg[:400] for n in TIME_CHARTS) else ""
        out.append(
            f'<figure><div class="chart-scroll{latest}">{svg}</div>'
            f"<figcaption>{esc(caption)}</figcaption></figure>\n"
        )
    out.append("</section>\n")
    return "".join(out)


def weekly_section(a: AthleteReport) -> str:
    """Every week of the window, newest last; Flags comes right after the week.

    Flags is the column a reader scans for, so it sits second (on screen at any width)
    rather than last behind eleven numbers; the week column stays put while the table
    scrolls sideways on a phone. Weeks before the athlete's first activity are not data
    (not 0 km), so they are left out and the table says so.
    """
    out = [f'<section id="weeks"><h2>Weekly table <small>{a.window.weeks} weeks</small></h2>\n']
    if not a.weeks:
        return out[0] + "<p>No weeks with data in the window.</p></section>\n"
    missing = (a.weeks[0].week_start - a.window.first_week).days // 7
    if missing > 0:
        out.append(
            f'<p class="legend">The window starts {fmt.plural(missing, "week")} before the '
            f"first recorded activity (week of {esc(fmt.short_date(a.weeks[0].week_start))}); "
            "those weeks are not shown, and the charts leave them empty.</p>\n"
        )
    heads = [
        ("Week", "l"),
        ("Flags", "l"),
        ("Run km", "w"),
        ("Change", ""),
        ("Runs", ""),
        ("Longest km", "w"),
        ("Downhill", ""),
        ("Steep km", "w"),
        ("Cadence", ""),
        ("In 170–180", ""),
        ("Strength", ""),
        ("Cross-train min", "w"),
        ("Walk/hike min", "w"),
        ("Descent on foot m", "w"),
        ("ACWR", ""),
    ]
    # a window across New Year names the year on every row ("12 Feb" twice is ambiguous)
    day = fmt.short_date if a.window.start.year != a.window.end.year else fmt.day_month
    out.append('<div class="scroll"><table class="weeks"><thead><tr>')
    out.extend(f'<th class="{c}">{esc(h)}</th>' if c else f"<th>{esc(h)}</th>" for h, c in heads)
    out.append("</tr></thead><tbody>\n")
    for w in a.weeks:
        cls = w.flag_severity or ("nodata" if not w.has_data else "")
        row_class = f' class="{cls}"' if cls else ""
        flag_names = [*w.flag_rules, *([] if w.has_data else [NO_DATA_WEEK])]
        cells = [
            fmt.km(w.run_km),
            fmt.pct(w.change_pct, signed=True),
            fmt.count(w.runs),
            fmt.km(w.longest_run_km),
            fmt.share(w.downhill_share),
            fmt.km(w.steep_km),
            fmt.spm(w.cadence_spm_median),
            fmt.share(w.cadence_in_share),
            fmt.count(w.strength_sessions),
            fmt.minutes(w.cross_training_minutes),
            fmt.minutes(w.walk_minutes + w.hike_minutes),
            fmt.metres(w.descent_on_foot_m),
            fmt.ratio(w.acwr),
        ]
        out.append(
            f'<tr{row_class}><td class="l">{esc(day(w.week_start))}</td>'
            f'<td class="l flags">{esc(", ".join(flag_names))}</td>'
        )
        out.extend(f"<td>{esc(c)}</td>" for c in cells)
        out.append("</tr>\n")
    out.append("</tbody></table></div>\n")
    out.append(
        '<p class="legend">Change: running km against the previous week (the km chart labels '
        "flagged weeks against the volume-jump baseline instead, the number that rule "
        "compares). Downhill: share of running distance at −5 % grade or steeper; steep: "
        "−10 % or steeper. Cadence: median steps per minute of running time. Walk/hike "
        "and descent on foot: walking and hiking, which load the knee too. ACWR: "
        "acute:chronic workload ratio (EWMA 7/28 days). These three are shown for "
        "information only; they never raise a flag.</p></section>\n"
    )
    return "".join(out)


def activities_section(a: AthleteReport) -> str:
    if not a.activities:
        return ""
    out = [
        f'<section id="activities"><h2>Activities <small>{len(a.activities)} in the window'
        '</small></h2>\n<div class="scroll"><table><thead><tr>'
        '<th class="l">Start</th><th class="l">Sport</th><th class="l">Name</th>'
        "<th>km</th><th>Minutes</th><th>Cadence</th><th>Downhill</th>"
        "<th>Longest prev. 30 d</th></tr></thead><tbody>\n"
    ]
    for r in a.activities:
        cls = f' class="{esc(r.flag_severity)}"' if r.flag_severity else ""
        name = fmt.clean(r.name) if r.name else ""
        title = esc(r.source)
        minutes = fmt.minutes(r.duration_s / 60.0) if r.duration_s is not None else fmt.DASH
        start = fmt.local_time(r.local_start) if r.local_start else fmt.DASH
        partial = " (partial)" if r.partial else ""
        out.append(
            f'<tr{cls}><td class="l">{esc(start)}</td><td class="l">'
            f"{esc(r.sport.replace('_', ' '))}</td>"
            f'<td class="l name" title="{title}">{esc(name)}{esc(partial)}</td>'
            f"<td>{esc(fmt.km(r.distance_km))}</td><td>{esc(minutes)}</td>"
            f"<td>{esc(fmt.spm(r.cadence_spm_median))}</td>"
            f"<td>{esc(fmt.share(r.downhill_share))}</td>"
            f"<td>{esc(fmt.km(r.prior_longest_km))}</td></tr>\n"
        )
    out.append("</tbody></table></div></section>\n")
    return "".join(out)


def problem_list(problems: Sequence[Problem]) -> str:
    items = "".join(f"<li><code>{esc(p.path)}</code>: {esc(p.message)}</li>" for p in problems)
    return f'<ul class="problems">{items}</ul>'


def files_section(report: Report) -> str:
    out = ['<section id="files"><h2>Files</h2>\n']
    if not report.errors and not report.warnings:
        out.append("<p>All files were read without problems.</p>\n")
    if report.errors:
        out.append(f'<h3 class="err">Not used ({len(report.errors)})</h3>')
        out.append(problem_list(report.errors))
    if report.warnings:
        out.append(f"<h3>Used with caveats ({len(report.warnings)})</h3>")
        out.append(problem_list(report.warnings))
    if report.skipped:
        out.append(
            f"<p>{fmt.plural(report.skipped, 'file')} skipped: not activities "
            "(CSV, images, settings).</p>"
        )
    out.append("</section>\n")
    return "".join(out)


def render_index_html(report: Report, ranked: Sequence[int], links: dict[int, str]) -> str:
    """The coach's ``index.html``: the ranked summary, each athlete linking to its report."""
    weeks = sorted({a.window.last_week for a in report.athletes})
    week = week_name(weeks[-1]) if weeks else ""
    out = [
        '<header class="top"><h1>kneeflags: ',
        f"{len(report.athletes)} athletes</h1>\n",
        f'<p class="meta">{esc(week[:1].upper() + week[1:])}. Ranked high, watch, then stale '
        "or unreadable athletes, then ok.</p></header>\n<main>\n"
        '<div class="scroll"><table><thead><tr>'
        '<th>#</th><th class="l">Athlete</th><th class="l">Status</th><th class="l">Why</th>'
        '<th class="l">Last run</th>'
        "<th>Flags (week / window)</th><th>Week km</th><th>Change</th><th>Cadence</th>"
        "<th>Downhill</th><th>Files not read</th></tr></thead><tbody>\n",
    ]
    for rank, idx in enumerate(ranked, 1):
        a = report.athletes[idx]
        s = a.summary
        status = a.status
        cls_name = status if status in ("high", "watch") else "ok" if status == "ok" else ""
        badge = (
            f'<span class="badge {cls_name}">{esc(status.upper())}</span>'
            if cls_name
            else f'<span class="err">{esc(status)}</span>'
        )
        name = esc(a.athlete)
        if idx in links:
            name = f'<a href="{esc(links[idx])}">{name}</a>'
        if a.returns:
            name += f' <small class="return">{esc(return_marker(a))}</small>'
        cls = f' class="{status}"' if status in ("high", "watch") else ""
        out.append(
            f'<tr{cls}><td>{rank}</td><td class="l">{name}</td><td class="l">{badge}</td>'
            f'<td class="l name">{esc(status_reason(a))}</td>'
            f'<td class="l">{esc(last_run_cell(a))}</td>'
            f"<td>{s.flags_this_week} / {s.flags_in_window}</td>"
            f"<td>{esc(week_km_cell(a))}</td><td>{esc(fmt.pct(s.change_pct, signed=True))}</td>"
            f"<td>{esc(fmt.spm(s.cadence_spm_median))}</td>"
            f"<td>{esc(fmt.share(s.downhill_share))}</td><td>{len(a.errors)}</td></tr>\n"
        )
    out.append("</tbody></table></div>\n")
    out.append(files_section(report))
    out.append("</main>\n")
    out.append(footer(report))
    return page(f"kneeflags batch ({week})", "".join(out))
