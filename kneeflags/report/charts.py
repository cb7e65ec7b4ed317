"""The HTML report's charts: matplotlib's SVG backend, inline, offline, deterministic.

* No pyplot and no GUI backend: each chart is a bare :class:`~matplotlib.figure.Figure`
  saved through the SVG canvas, so nothing depends on ``$DISPLAY`` or global state.
* Deterministic bytes: ``svg.hashsalt`` is fixed, the ``Date`` metadata is removed and
  so is the whole ``<metadata>`` block (it names the matplotlib version and a web
  address). Every id is prefixed with the chart's name, so several charts on one page
  keep unique ids and each clip path points at its own definition.
* Text is SVG ``<text>`` (``svg.fonttype = none``), styled with a generic sans-serif
  font list: no font file, no external reference, and the words stay searchable.

Chart inputs are numbers and dates computed by kneeflags, never strings from input
files, so nothing here needs escaping.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date

from kneeflags.report import fmt, mpl
from kneeflags.report.model import ActivityRow, AthleteReport, WeekRow

COLOR_BAR = "#4c78a8"
COLOR_WATCH = "#e8a317"
COLOR_HIGH = "#c0392b"
COLOR_LINE = "#333333"
COLOR_BAND = "#2e8b57"
COLOR_NODATA = "#c8c8c8"

FIGSIZE = (7.4, 2.7)

_RC = {
    "svg.fonttype": "none",
    "font.family": ["sans-serif"],
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial", "Liberation Sans"],
    "font.size": 8.5,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e5e5e5",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": 7.5,
    "path.simplify": True,
    "svg.image_inline": True,
}

_XML_HEAD = re.compile(r"^.*?(?=<svg\b)", re.S)
_ID_ATTR = re.compile(r'\bid="([^"]+)"')
_ID_REF = re.compile(r'(url\(#|href="#)([^")]+)')
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _sev_color(severity: str | None) -> str:
    return {"high": COLOR_HIGH, "watch": COLOR_WATCH}.get(severity or "", COLOR_BAR)


def _figure():  # -> Figure (import kept lazy: matplotlib is slow to import)
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, layout="constrained")
    return fig, fig.add_subplot()


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


def _week_axis(ax, weeks: Sequence[WeekRow]) -> None:
    step = 1 if len(weeks) <= 16 else 2 if len(weeks) <= 32 else 4
    ticks = list(range(0, len(weeks), step))
    ax.set_xticks(ticks, [fmt.day_month(weeks[i].week_start) for i in ticks])
    ax.tick_params(axis="x", labelsize=7.5, length=0)
    ax.set_xlim(-0.6, len(weeks) - 0.4)


def weekly_km_chart(a: AthleteReport) -> str:
    """Weekly running km as bars, the 10 % ceiling over each week's baseline, flags marked."""
    mpl.load()
    import matplotlib
    from matplotlib.patches import Patch

    weeks = a.weeks
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        xs = list(range(len(weeks)))
        kms = [w.run_km for w in weeks]
        colors = [_sev_color(w.volume_severity) if w.has_data else COLOR_NODATA for w in weeks]
        ax.bar(xs, kms, color=colors, width=0.72, zorder=2)
        factor = 1.0 + a.thresholds.volume_watch_pct / 100.0
        ceil_x = [x for x, w in zip(xs, weeks, strict=True) if w.baseline_km is not None]
        ceil_y = [w.baseline_km * factor for w in weeks if w.baseline_km is not None]
        if ceil_x:
            ax.hlines(
                ceil_y,
                [x - 0.42 for x in ceil_x],
                [x + 0.42 for x in ceil_x],
                colors=COLOR_LINE,
                linestyles="dashed",
                linewidth=1.2,
                zorder=3,
            )
        top = max([*kms, *ceil_y, 1.0])
        for x, w in zip(xs, weeks, strict=True):
            if w.volume_severity and w.change_pct is not None:
                ax.annotate(
                    fmt.pct(w.change_pct, signed=True),
                    (x, w.run_km),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7.5,
                    color=_sev_color(w.volume_severity),
                    fontweight="bold",
                )
        ax.set_ylim(0, top * 1.18)
        ax.set_ylabel("km")
        _week_axis(ax, weeks)
        ax.set_title("Weekly running volume")
        handles = [
            Patch(color=COLOR_BAR, label="running km"),
            Patch(color=COLOR_WATCH, label="volume jump: watch"),
            Patch(color=COLOR_HIGH, label="volume jump: high"),
        ]
        if ceil_x:
            from matplotlib.lines import Line2D

            handles.append(
                Line2D(
                    [],
                    [],
                    color=COLOR_LINE,
                    linestyle="dashed",
                    label=f"{a.thresholds.volume_watch_pct:g} % above the baseline",
                )
            )
        ax.legend(handles=handles, loc="upper left", ncols=4, fontsize=7)
        return _to_svg(fig, "weekly-km", "Weekly running km with the 10 % ceiling")


def downhill_chart(a: AthleteReport) -> str:
    """Weekly downhill share with the watch/high lines; unknown weeks say "n/a"."""
    mpl.load()
    import matplotlib

    th = a.thresholds
    weeks = a.weeks
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        xs = list(range(len(weeks)))
        shares = [w.downhill_share * 100 if w.downhill_share is not None else 0.0 for w in weeks]
        colors = []
        for w in weeks:
            s = w.downhill_share
            if s is None:
                colors.append(COLOR_NODATA)
            elif s >= th.downhill_high_share:
                colors.append(COLOR_HIGH)
            elif s >= th.downhill_watch_share:
                colors.append(COLOR_WATCH)
            else:
                colors.append(COLOR_BAR)
        ax.bar(xs, shares, color=colors, width=0.72, zorder=2)
        for x, w in zip(xs, weeks, strict=True):
            if w.downhill_share is None and w.runs:
                ax.text(x, 0.4, "n/a", ha="center", va="bottom", fontsize=7, color="#777777")
        watch, high = th.downhill_watch_share * 100, th.downhill_high_share * 100
        ax.axhline(watch, color=COLOR_WATCH, linestyle="dashed", lw=1.1)
        ax.axhline(high, color=COLOR_HIGH, linestyle="dashed", lw=1.1)
        from matplotlib.lines import Line2D

        ax.legend(
            handles=[
                Line2D([], [], color=COLOR_WATCH, ls="dashed", label=f"watch ≥ {watch:g} %"),
                Line2D([], [], color=COLOR_HIGH, ls="dashed", label=f"high ≥ {high:g} %"),
            ],
            loc="upper left",
            ncols=2,
        )
        ax.set_ylim(0, max([*shares, high]) * 1.3)
        ax.set_ylabel("% of running km")
        _week_axis(ax, weeks)
        ax.set_title("Weekly downhill share (grade ≤ −5 %)")
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
        fig, ax = _figure()
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
            fontsize=7.5,
            color=COLOR_BAND,
            fontweight="bold",
        )
        ax.set_xlabel("cadence (steps per minute)")
        ax.set_ylabel("minutes of running")
        ax.set_title(
            f"Cadence: {below / total:.0%} below, {inside / total:.0%} within, "
            f"{above / total:.0%} above the band",
            fontsize=9.5,
        )
        return _to_svg(fig, "cadence", "Cadence distribution of running time")


def spike_chart(a: AthleteReport) -> str | None:
    """Each run's distance against the longest run of the previous 30 days."""
    mpl.load()
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    runs: list[ActivityRow] = [
        r for r in a.activities if r.is_running and r.distance_km is not None and r.local_start
    ]
    if not runs:
        return None
    origin: date = a.window.start
    factor = 1.0 + a.thresholds.spike_watch_pct / 100.0
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        xs = [
            (r.local_start.date() - origin).days + r.local_start.hour / 24.0  # type: ignore[union-attr]
            for r in runs
        ]
        ds = [r.distance_km or 0.0 for r in runs]
        ax.bar(xs, ds, width=0.8, color=[_sev_color(r.flag_severity) for r in runs], zorder=2)
        pts = [(x, r.prior_longest_km) for x, r in zip(xs, runs, strict=True) if r.prior_longest_km]
        if pts:
            px = [p[0] for p in pts]
            py = [p[1] for p in pts]
            ax.plot(px, py, color=COLOR_LINE, lw=1.1, marker="_", ms=7, zorder=3)
            ax.plot(px, [y * factor for y in py], color=COLOR_LINE, lw=0.8, ls=":", zorder=3)
        ticks = list(range(0, a.window.weeks * 7, 7 if a.window.weeks <= 16 else 14))
        ax.set_xticks(
            ticks, [fmt.day_month(date.fromordinal(origin.toordinal() + t)) for t in ticks]
        )
        ax.tick_params(axis="x", labelsize=7.5, length=0)
        ax.set_xlim(-1, a.window.weeks * 7)
        top = max([*ds, *(p[1] * factor for p in pts), 1.0])
        ax.set_ylim(0, top * 1.22)
        ax.set_ylabel("km")
        ax.set_title("Each run against the longest run of the previous 30 days")
        handles = [
            Patch(color=COLOR_BAR, label="run"),
            Patch(color=COLOR_WATCH, label="spike: watch"),
            Patch(color=COLOR_HIGH, label="spike: high"),
            Line2D([], [], color=COLOR_LINE, marker="_", label="longest of previous 30 days"),
            Line2D([], [], color=COLOR_LINE, ls=":", label=f"+{a.thresholds.spike_watch_pct:g} %"),
        ]
        ax.legend(handles=handles, loc="upper left", ncols=5, fontsize=7)
        return _to_svg(fig, "runs", "Each run's distance against the longest run of 30 days")


def all_charts(a: AthleteReport) -> list[tuple[str, str]]:
    """``(caption, svg)`` for every chart that has data, in reading order."""
    th = a.thresholds
    out: list[tuple[str, str]] = []
    if a.weeks:
        out.append(
            (
                "Weekly running km. The dashed line over each bar is "
                f"{th.volume_watch_pct:g} % above that week's baseline (the larger of the "
                "previous week and the mean of the previous four); bars above it are "
                "coloured when the volume-jump rule flagged the week.",
                weekly_km_chart(a),
            )
        )
        out.append(
            (
                "Share of each week's running distance at a grade of −5 % or steeper. "
                "Grey bars marked n/a: no elevation data (treadmill or no altitude).",
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
                f"{th.spike_window_days} days (line); coloured runs were flagged as spikes.",
                spike,
            )
        )
    return out
