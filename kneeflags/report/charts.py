"""The HTML report's charts: matplotlib's SVG backend, inline, offline, deterministic.

* No pyplot and no GUI backend: each chart is a bare :class:`~matplotlib.figure.Figure`
  saved through the SVG canvas, so nothing depends on ``$DISPLAY`` or global state.
* Deterministic bytes: ``svg.hashsalt`` is fixed, the ``Date`` metadata is removed and
  so is the whole ``<metadata>`` block (it names the matplotlib version and a web
  address). Every id is prefixed with the chart's name, so several charts on one page
  keep unique ids and each clip path points at its own definition.
* Text is SVG ``<text>`` (``svg.fonttype = none``), styled with a generic sans-serif
  font list: no font file, no external reference, and the words stay searchable.

Readable at any window and any screen (issue 12):

* No layout engine: every chart has the same fixed plot area, and the time charts
  share one x-axis (days since the window's first day), so a week sits at the same
  place in each chart, before the first activity too.
* Text is never under :data:`MIN_FONT_PT` (8.5 pt = 11.3 CSS px at natural size) and
  the page never shows a chart below its natural width (:data:`NATURAL_WIDTH_PX`; it
  scrolls sideways on a phone), so no chart text is under 11 CSS px as rendered.
* Week ticks are thinned by the measured width of their labels; bar labels are placed
  in points before drawing (text measured with matplotlib's own font metrics, so the
  bytes stay deterministic) and lifted over each other instead of overlapping or being
  dropped: a flagged bar always carries the number its flag states.

Chart inputs are numbers and dates computed by kneeflags, never strings from input
files, so nothing here needs escaping.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Sequence
from datetime import date

from kneeflags.findings import Flag
from kneeflags.report import fmt, mpl
from kneeflags.report.model import SPIKE_RULES, VOLUME_RULES, ActivityRow, AthleteReport, WeekRow

MIN_BASELINE_KM = 1.0
"""No percentage against a baseline under 1 km (as the rules: float rounding after a
break must never read as a 10^18 % rise)."""

DOWNHILL_RULES = frozenset({"downhill-share"})

COLOR_BAR = "#4c78a8"
COLOR_WATCH = "#e8a317"
COLOR_HIGH = "#c0392b"
COLOR_LINE = "#333333"
COLOR_BAND = "#2e8b57"
COLOR_NODATA = "#c8c8c8"
COLOR_UNKNOWN = "#e4e4e4"
COLOR_MUTED = "#777777"

FIG_W_IN = 7.4
FIG_H_IN = 3.1
FIGSIZE = (FIG_W_IN, FIG_H_IN)
NATURAL_WIDTH_PX = math.ceil(FIG_W_IN * 96)
"""CSS px of a chart at scale 1 (SVG sizes are in pt, 96 px per inch). The page never
shows a chart narrower than this (it scrolls sideways instead), so every chart text,
at least :data:`MIN_FONT_PT` pt, is at least 11 CSS px on any screen."""

TIME_CHARTS = ("weekly-km", "downhill", "runs")
"""Names (``id="chart-<name>"``) of the charts over the window's weeks."""

MIN_FONT_PT = 8.5
"""8.5 pt = 11.3 CSS px at scale 1: the smallest text of any chart."""
FONT_PT = 9.0
TITLE_PT = 10.5

# Fixed axes margins (inches) instead of a layout engine: every time chart then has the
# same plot area, so the weekly bars, the downhill bars and the runs line up week for
# week, and bar labels can be placed (and de-overlapped) in points before drawing.
MARGIN_LEFT_IN = 0.72
MARGIN_RIGHT_IN = 0.14
MARGIN_BOTTOM_IN = 0.52
MARGIN_TOP_IN = 0.68

_RC = {
    "svg.fonttype": "none",
    "font.family": ["sans-serif"],
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial", "Liberation Sans"],
    "font.size": FONT_PT,
    "axes.titlesize": TITLE_PT,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT,
    "ytick.labelsize": FONT_PT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e5e5e5",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": FONT_PT,
    "legend.handlelength": 1.6,
    "legend.columnspacing": 1.2,
    "legend.handletextpad": 0.5,
    "path.simplify": True,
    "svg.image_inline": True,
}

_XML_HEAD = re.compile(r"^.*?(?=<svg\b)", re.S)
_ID_ATTR = re.compile(r'\bid="([^"]+)"')
_ID_REF = re.compile(r'(url\(#|href="#)([^")]+)')
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _sev_color(severity: str | None) -> str:
    return {"high": COLOR_HIGH, "watch": COLOR_WATCH}.get(severity or "", COLOR_BAR)


def _figure(
    *, bottom_in: float = MARGIN_BOTTOM_IN, top_in: float = MARGIN_TOP_IN
):  # -> (Figure, Axes); matplotlib is imported lazily
    mpl.load()
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_axes(
        (
            MARGIN_LEFT_IN / FIG_W_IN,
            bottom_in / FIG_H_IN,
            (FIG_W_IN - MARGIN_LEFT_IN - MARGIN_RIGHT_IN) / FIG_W_IN,
            (FIG_H_IN - bottom_in - top_in) / FIG_H_IN,
        )
    )
    return fig, ax


def _plot_box_pt(bottom_in: float = MARGIN_BOTTOM_IN) -> tuple[float, float, float, float]:
    """(x0, y0, width, height) of the plot area in points (what the placer works in)."""
    return (
        MARGIN_LEFT_IN * 72,
        bottom_in * 72,
        (FIG_W_IN - MARGIN_LEFT_IN - MARGIN_RIGHT_IN) * 72,
        (FIG_H_IN - bottom_in - MARGIN_TOP_IN) * 72,
    )


def _title_and_legend(fig, ax, title: str, handles: list, ncols: int) -> None:
    """Title at the top left, the legend in one row under it, both above the plot: the
    legend never hides a bar and never meets a bar label."""
    fig.text(
        0.08 / FIG_W_IN,
        1 - 0.06 / FIG_H_IN,
        title,
        ha="left",
        va="top",
        fontsize=TITLE_PT,
        fontweight="bold",
    )
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(-MARGIN_LEFT_IN / (FIG_W_IN - MARGIN_LEFT_IN - MARGIN_RIGHT_IN), 1.01),
        ncols=ncols,
        borderaxespad=0.0,
        borderpad=0.2,
    )


def _to_svg(fig, name: str, title: str) -> str:
    """Serialise one figure as an inline ``<svg>`` element with an accessible title."""
    mpl.load()
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"kneeflags-{name}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = _XML_HEAD.sub("", buf.getvalue(), count=1)
    svg = _METADATA.sub("", svg, count=1)
    # matplotlib numbers ids per figure (axes_1, patch_1...): prefix them so several
    # charts on one page keep unique ids and their clip paths point at their own defs
    svg = _ID_ATTR.sub(lambda m: f'id="{name}-{m.group(1)}"', svg)
    svg = _ID_REF.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", svg)
    label = fmt.clean(title).replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    svg = svg.replace(
        "<svg ", f'<svg role="img" aria-label="{label}" class="chart" id="chart-{name}" ', 1
    )
    return svg.strip() + "\n"


# --- the shared time axis ----------------------------------------------------------------


def _days(a: AthleteReport, day: date) -> float:
    """x of a day: days since the window's first day (every time chart uses this)."""
    return float((day - a.window.start).days)


def _xlim(a: AthleteReport) -> tuple[float, float]:
    """The window's x-range, shared by every time chart, with 6 pt of air at each end so
    that the first and last bars (and their labels) stay clear of the axes."""
    days = 7.0 * a.window.weeks
    air = 6.0 / (_plot_box_pt()[2] - 12.0) * days
    return -air, days + air


def _text_size_pt(text: str, size: float, *, bold: bool = False) -> tuple[float, float]:
    """(width, height) of ``text`` in points, with a margin for the browser's font.

    Measured with matplotlib's own DejaVu Sans metrics (deterministic, no renderer); the
    browser may substitute Helvetica/Arial/Liberation, hence 12 % extra width and a full
    line box (1.25 em) of height.
    """
    mpl.load()
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")
    w, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return w * 1.12, size * 1.25


def _time_axis(ax, a: AthleteReport) -> None:
    """Week-start ticks over the whole window, thinned so that no two labels meet.

    The step (in weeks) is the smallest of 1, 2, 4, 8, 13, 26, 52 whose spacing fits
    the widest label plus a gap; the first tick and the first tick of each year also
    carry the year on a second line, so 104 weeks never read as one ambiguous year.
    """
    n = a.window.weeks
    width_pt = _plot_box_pt()[2]
    per_week = width_pt / n
    widest = max(_text_size_pt(fmt.day_month(date(2026, 12, 28)), FONT_PT)[0], 1.0)
    step = next((s for s in (1, 2, 4, 8, 13, 26, 52) if s * per_week >= widest + 6), 52)
    ticks: list[float] = []
    labels: list[str] = []
    year = None
    for i in range(0, n, step):
        day = date.fromordinal(a.window.start.toordinal() + 7 * i)
        ticks.append(7.0 * i)
        label = fmt.day_month(day)
        if day.year != year:
            label += f"\n{day.year}"
            year = day.year
        labels.append(label)
    ax.set_xticks(ticks, labels)
    ax.tick_params(axis="x", length=3, color="#999999")
    ax.set_xlim(*_xlim(a))


def _place_labels(
    ax,
    items: Sequence[tuple[float, float, str, str]],
    *,
    xlim: tuple[float, float],
    ymax: float,
    obstacles: Sequence[tuple[float, float, float]] = (),
) -> float:
    """Put every label above its bar without overlaps; return the y limit that fits them.

    ``items``: (x, bar top, text, colour); ``obstacles``: (x from, x to, top) of what a
    label must not cover (neighbouring bars, the ceiling marks). A label reads
    horizontally where it clears its neighbours' labels, vertically otherwise; a label
    starts above every obstacle under it and is lifted above any earlier label it would
    meet (never dropped: a flagged bar always has a label). The plot's top is raised
    until the highest label fits under it.
    """
    if not items:
        return ymax
    x0, y0, w_pt, h_pt = _plot_box_pt()
    sizes = [_text_size_pt(t, MIN_FONT_PT, bold=True) for _, _, t, _ in items]
    span = xlim[1] - xlim[0]
    centres = [x0 + (x - xlim[0]) / span * w_pt for x, _, _, _ in items]
    # horizontal where the label stays inside the plot and clears every other label's
    # widest extent; vertical (about one line wide) where bars are packed
    vertical = [
        xc - tw / 2 < x0
        or xc + tw / 2 > x0 + w_pt
        or any(
            abs(xc - other) < (tw + sizes[j][0]) / 2 + 2
            for j, other in enumerate(centres)
            if j != i
        )
        for i, (xc, (tw, _)) in enumerate(zip(centres, sizes, strict=True))
    ]
    pad = 2.0
    for _ in range(40):
        boxes: list[tuple[float, float, float, float]] = []
        bases: list[float] = []
        for (x, top, _, _), (tw, th), xc, up in zip(items, sizes, centres, vertical, strict=True):
            half, tall = (th / 2, tw) if up else (tw / 2, th)
            hx = half / w_pt * span  # the half width in data units
            floor = max([top, *(t for a0, a1, t in obstacles if a0 < x + hx and a1 > x - hx)])
            base = y0 + max(floor, 0.0) / ymax * h_pt + pad
            moved = True
            while moved:
                moved = False
                for bx0, bx1, by0, by1 in boxes:
                    if xc - half < bx1 and xc + half > bx0 and base < by1 and base + tall > by0:
                        base = by1 + 0.5
                        moved = True
            boxes.append((xc - half, xc + half, base, base + tall))
            bases.append(base)
        highest = max(b[3] for b in boxes)
        if highest <= y0 + h_pt:
            break
        ymax *= 1.08
    for (x, _, text, color), base, up in zip(items, bases, vertical, strict=True):
        ax.text(
            x,
            (base - y0) / h_pt * ymax,
            text,
            ha="center",
            va="bottom",
            rotation=90 if up else 0,
            fontsize=MIN_FONT_PT,
            fontweight="bold",
            color=color,
            zorder=4,
        )
    return ymax


def _week_rule_severity(a: AthleteReport, rules: frozenset[str]) -> dict[date, Flag]:
    """The most severe flag of ``rules`` per week (the one a bar's colour and label tell)."""
    from kneeflags.findings import SEVERITY_RANK

    out: dict[date, Flag] = {}
    for f in a.flags:
        if f.rule in rules and f.week_start is not None:
            old = out.get(f.week_start)
            if old is None or SEVERITY_RANK.get(f.severity, 0) > SEVERITY_RANK.get(old.severity, 0):
                out[f.week_start] = f
    return out


def _run_flags(a: AthleteReport) -> dict[str, Flag]:
    """The most severe session-spike flag per run id (what a run bar's label states)."""
    from kneeflags.findings import SEVERITY_RANK

    out: dict[str, Flag] = {}
    for f in a.flags:
        if f.rule in SPIKE_RULES and f.activity:
            old = out.get(f.activity)
            if old is None or SEVERITY_RANK.get(f.severity, 0) > SEVERITY_RANK.get(old.severity, 0):
                out[f.activity] = f
    return out


def volume_label(w: WeekRow, flag: Flag | None) -> str | None:
    """A weekly bar's label: the number its volume-jump flag states.

    ``+38 %`` is the week against ``baseline_km`` (the larger of the previous week and
    the 4-week mean), the number the rule compared, which is also the flag's ``value``.
    A first week back after a break is judged against the pre-break level instead (the
    rule says "first week back"; there is no baseline of 1 km or more to compare with);
    its label says so (``back 120 %``: 120 % of that level). Unflagged bars carry no
    label; a flagged one always does.
    """
    if flag is None:
        return None
    base = w.baseline_km if w.baseline_km is not None and w.baseline_km >= MIN_BASELINE_KM else None
    if flag.value is not None and ("week back" in flag.evidence or base is None):
        return f"back {flag.value:.0f} %"
    if flag.value is not None:
        return fmt.pct(flag.value, signed=True)
    if base is not None:
        return fmt.pct((w.run_km / base - 1.0) * 100.0, signed=True)
    return flag.severity


def spike_label(r: ActivityRow, flag: Flag | None) -> str:
    """A flagged run's label: how much longer than the longest run of the previous 30
    days, the number its session-spike flag states (computed from the row without one)."""
    if flag is not None and flag.value is not None:
        return fmt.pct(flag.value, signed=True)
    prior = r.prior_longest_km
    if prior is not None and prior >= MIN_BASELINE_KM and r.distance_km is not None:
        return fmt.pct((r.distance_km / prior - 1.0) * 100.0, signed=True)
    return r.flag_severity or "flag"


def weekly_km_chart(a: AthleteReport) -> str:
    """Weekly running km as bars, the 10 % ceiling over each week's baseline, flags labelled."""
    mpl.load()
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    weeks = a.weeks
    vol = _week_rule_severity(a, VOLUME_RULES)
    xlim = _xlim(a)
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        xs = [_days(a, w.week_start) + 3.5 for w in weeks]
        kms = [w.run_km for w in weeks]
        colors = [
            _sev_color(vol[w.week_start].severity if w.week_start in vol else None)
            if w.has_data
            else COLOR_NODATA
            for w in weeks
        ]
        ax.bar(xs, kms, color=colors, width=5.0, zorder=2)
        factor = 1.0 + a.thresholds.volume_watch_pct / 100.0
        ceil_x = [x for x, w in zip(xs, weeks, strict=True) if w.baseline_km is not None]
        ceil_y = [w.baseline_km * factor for w in weeks if w.baseline_km is not None]
        if ceil_x:
            ax.hlines(
                ceil_y,
                [x - 3.0 for x in ceil_x],
                [x + 3.0 for x in ceil_x],
                colors=COLOR_LINE,
                linestyles="dashed",
                linewidth=1.1,
                zorder=3,
            )
        top = max([*kms, *ceil_y, 1.0]) * 1.08
        items = []
        for x, w in zip(xs, weeks, strict=True):
            text = volume_label(w, vol.get(w.week_start))
            if text:
                items.append((x, w.run_km, text, _sev_color(vol[w.week_start].severity)))
        obstacles = [(x - 2.5, x + 2.5, km) for x, km in zip(xs, kms, strict=True)]
        obstacles += [(x - 3.0, x + 3.0, y) for x, y in zip(ceil_x, ceil_y, strict=True)]
        ax.set_ylim(0, _place_labels(ax, items, xlim=xlim, ymax=top, obstacles=obstacles))
        ax.set_ylabel("km")
        _time_axis(ax, a)
        handles = [
            Patch(color=COLOR_BAR, label="running km"),
            Patch(color=COLOR_WATCH, label="volume jump: watch"),
            Patch(color=COLOR_HIGH, label="high"),
            Line2D(
                [],
                [],
                color=COLOR_LINE,
                linestyle="dashed",
                label=f"baseline + {a.thresholds.volume_watch_pct:g} %",
            ),
        ]
        _title_and_legend(fig, ax, "Weekly running volume", handles, ncols=4)
        return _to_svg(fig, "weekly-km", "Weekly running km with the 10 % ceiling")


def downhill_chart(a: AthleteReport) -> str:
    """Weekly downhill share with the watch/high lines.

    Three kinds of week look different, as the caption promises: a measured 0 % is a
    thin stub on the axis, a week with runs but no elevation data is a pale full-height
    band, and a week without any run is a grey cross.
    """
    mpl.load()
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    th = a.thresholds
    weeks = a.weeks
    sev = _week_rule_severity(a, DOWNHILL_RULES)
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        watch, high = th.downhill_watch_share * 100, th.downhill_high_share * 100
        known = [w.downhill_share * 100 for w in weeks if w.downhill_share is not None]
        ymax = max([*known, high]) * 1.3
        stub = ymax * 0.015
        bar_x, bar_h, bar_c, unknown_x, norun_x = [], [], [], [], []
        for w in weeks:
            x = _days(a, w.week_start) + 3.5
            if w.runs == 0:
                norun_x.append(x)
            elif w.downhill_share is None:
                unknown_x.append(x)
            else:
                f = sev.get(w.week_start)
                bar_x.append(x)
                bar_h.append(max(w.downhill_share * 100, stub))
                bar_c.append(_sev_color(f.severity if f else None))
        if unknown_x:
            ax.bar(unknown_x, [ymax] * len(unknown_x), width=5.0, color=COLOR_UNKNOWN, zorder=1)
        ax.bar(bar_x, bar_h, color=bar_c, width=5.0, zorder=2)
        if norun_x:
            ax.plot(
                norun_x,
                [ymax * 0.04] * len(norun_x),
                ls="none",
                marker="x",
                ms=4,
                mew=1.0,
                color=COLOR_MUTED,
                zorder=3,
            )
        ax.axhline(watch, color=COLOR_WATCH, linestyle="dashed", lw=1.1, zorder=3)
        ax.axhline(high, color=COLOR_HIGH, linestyle="dashed", lw=1.1, zorder=3)
        ax.set_ylim(0, ymax)
        ax.set_ylabel("% of running km")
        _time_axis(ax, a)
        handles = [
            Line2D([], [], color=COLOR_WATCH, ls="dashed", label=f"watch ≥ {watch:g} %"),
            Line2D([], [], color=COLOR_HIGH, ls="dashed", label=f"high ≥ {high:g} %"),
            Patch(color=COLOR_UNKNOWN, label="no elevation data"),
            Line2D([], [], ls="none", marker="x", color=COLOR_MUTED, label="no run"),
        ]
        _title_and_legend(fig, ax, "Weekly downhill share (grade ≤ −5 %)", handles, ncols=4)
        return _to_svg(fig, "downhill", "Weekly downhill share of running distance")


def cadence_chart(a: AthleteReport) -> str | None:
    """Running time per cadence value, with the 170–180 spm band shaded."""
    mpl.load()
    import matplotlib

    if not a.cadence_seconds:
        return None
    th = a.thresholds
    spms = [s for s, _ in a.cadence_seconds]
    mins = [t / 60.0 for _, t in a.cadence_seconds]
    total = sum(mins)
    below = sum(m for s, m in zip(spms, mins, strict=True) if s < th.cadence_band_low)
    above = sum(m for s, m in zip(spms, mins, strict=True) if s > th.cadence_band_high)
    inside = total - below - above
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(bottom_in=0.62, top_in=0.42)  # a title, no legend
        ax.axvspan(
            th.cadence_band_low - 0.5,
            th.cadence_band_high + 0.5,
            color=COLOR_BAND,
            alpha=0.14,
            lw=0,
            zorder=1,
        )
        ax.bar(spms, mins, width=0.9, color=COLOR_BAR, zorder=2)
        lo = min(min(spms), th.cadence_band_low - 20)
        hi = max(max(spms), th.cadence_band_high + 15)
        ax.set_xlim(lo - 1, hi + 1)
        ax.set_ylim(0, max(mins) * 1.25)
        ax.text(
            (th.cadence_band_low + th.cadence_band_high) / 2,
            max(mins) * 1.12,
            f"{th.cadence_band_low:g}–{th.cadence_band_high:g} spm",
            ha="center",
            fontsize=FONT_PT,
            color=COLOR_BAND,
            fontweight="bold",
        )
        ax.set_xlabel("cadence (steps per minute)")
        ax.set_ylabel("minutes of running")
        fig.text(
            0.08 / FIG_W_IN,
            1 - 0.06 / FIG_H_IN,
            f"Cadence: {below / total:.0%} below, {inside / total:.0%} within, "
            f"{above / total:.0%} above the band",
            ha="left",
            va="top",
            fontsize=TITLE_PT,
            fontweight="bold",
        )
        return _to_svg(fig, "cadence", "Cadence distribution of running time")


def spike_chart(a: AthleteReport) -> str | None:
    """Each run's distance against the longest run of the previous 30 days, flags labelled."""
    mpl.load()
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    runs: list[ActivityRow] = [
        r for r in a.activities if r.is_running and r.distance_km is not None and r.local_start
    ]
    if not runs:
        return None
    factor = 1.0 + a.thresholds.spike_watch_pct / 100.0
    xlim = _xlim(a)
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        xs = [
            _days(a, r.local_start.date()) + r.local_start.hour / 24.0  # type: ignore[union-attr]
            for r in runs
        ]
        ds = [r.distance_km or 0.0 for r in runs]
        # 0.8 day, but never thinner than 1.5 pt (on 104 weeks a day is under 1 pt)
        per_day_pt = _plot_box_pt()[2] / (xlim[1] - xlim[0])
        width = min(max(0.8, 1.5 / per_day_pt), 1.8)
        colors = [_sev_color(r.flag_severity) for r in runs]
        ax.bar(xs, ds, width=width, color=colors, zorder=2)
        pts = [(x, r.prior_longest_km) for x, r in zip(xs, runs, strict=True) if r.prior_longest_km]
        if pts:
            px = [p[0] for p in pts]
            py = [p[1] for p in pts]
            ax.plot(px, py, color=COLOR_LINE, lw=1.0, marker="_", ms=6, zorder=3)
            ax.plot(px, [y * factor for y in py], color=COLOR_LINE, lw=0.8, ls=":", zorder=3)
        top = max([*ds, *(p[1] * factor for p in pts), 1.0]) * 1.08
        spikes = _run_flags(a)
        items = []
        for x, r in zip(xs, runs, strict=True):
            if r.flag_severity:
                items.append(
                    (
                        x,
                        r.distance_km or 0.0,
                        spike_label(r, spikes.get(r.activity_id)),
                        _sev_color(r.flag_severity),
                    )
                )
        # the baseline line runs from mark to mark: a label clears both ends' heights
        obstacles = [(x - width / 2, x + width / 2, d) for x, d in zip(xs, ds, strict=True)]
        for (xa, ya), (xb, yb) in itertools.pairwise(pts or []):
            obstacles.append((xa, xb, max(ya, yb) * factor))
        obstacles += [(x - 0.5, x + 0.5, y * factor) for x, y in pts]
        ax.set_ylim(0, _place_labels(ax, items, xlim=xlim, ymax=top, obstacles=obstacles))
        ax.set_ylabel("km")
        _time_axis(ax, a)
        handles = [
            Patch(color=COLOR_BAR, label="run"),
            Patch(color=COLOR_WATCH, label="spike: watch"),
            Patch(color=COLOR_HIGH, label="high"),
            Line2D([], [], color=COLOR_LINE, marker="_", label="longest, 30 days"),
            Line2D([], [], color=COLOR_LINE, ls=":", label=f"+{a.thresholds.spike_watch_pct:g} %"),
        ]
        _title_and_legend(
            fig, ax, "Each run against the longest run of the previous 30 days", handles, ncols=5
        )
        return _to_svg(fig, "runs", "Each run's distance against the longest run of 30 days")


def all_charts(a: AthleteReport) -> list[tuple[str, str]]:
    """``(caption, svg)`` for every chart that has data, in reading order.

    The three time charts share the window's x-range (its first day to its last), so a
    week sits at the same place in each, even before the first activity.
    """
    th = a.thresholds
    out: list[tuple[str, str]] = []
    if a.weeks:
        out.append(
            (
                "Weekly running km. The dashed line over each bar is "
                f"{th.volume_watch_pct:g} % above that week's baseline (the larger of the "
                "previous week and the mean of the previous four). Bars are coloured when "
                "the volume-jump rule flagged the week, and labelled with the number the "
                "rule compared: the change against that baseline (not against the previous "
                "week, as the table's Change column), or, for a first week back after a "
                "break, the share of the pre-break level (“back 120 %”).",
                weekly_km_chart(a),
            )
        )
        out.append(
            (
                "Share of each week's running distance at a grade of −5 % or steeper; bars "
                "are coloured when the downhill-share rule flagged the week. A thin stub on "
                "the axis is a measured 0 %; a pale full-height band is a week with runs "
                "but no elevation data (treadmill or no altitude), so its share is unknown; "
                "a grey cross is a week without any run.",
                downhill_chart(a),
            )
        )
    cad = cadence_chart(a)
    if cad:
        out.append(
            (
                "Cadence distribution of running time in the window; the shaded band is the "
                f"guide's {th.cadence_band_low:g}–{th.cadence_band_high:g} steps per minute.",
                cad,
            )
        )
    spike = spike_chart(a)
    if spike:
        out.append(
            (
                "Each run (bar) against the longest run of the previous "
                f"{th.spike_window_days} days (line); coloured runs were flagged as spikes "
                "and labelled with how much longer they were than that longest run.",
                spike,
            )
        )
    return out
