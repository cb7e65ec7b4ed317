"""The HTML charts and stamps tell the same story as the flags (issue 12, no browser).

* a flagged volume bar is coloured and labelled with the number its flag states: the
  change against the rule's baseline (``baseline_km``), or the share of the pre-break
  level for a first week back; every flagged bar has a label, unflagged ones none;
* the time charts share the window's x-range: the same ticks at the same places;
* the downhill chart tells a measured 0 % from no elevation data from no run;
* every chart text is at least 8.5 pt and the page never shows a chart below its
  natural size, so chart text is >= 11 CSS px on any screen (Chromium measures it too,
  in ``test_html_layout.py``);
* the weekly table lists every week of the window or says why not; Flags comes early;
* the page is stamped with the week it is about, not with a generation time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from synth import descend, flat, weekly_runs

from kneeflags.analysis import analyze
from kneeflags.report import fmt
from kneeflags.report.charts import (
    COLOR_HIGH,
    COLOR_MUTED,
    COLOR_UNKNOWN,
    MIN_FONT_PT,
    NATURAL_WIDTH_PX,
    all_charts,
    downhill_chart,
    volume_label,
    weekly_km_chart,
)
from kneeflags.report.html import CSS, render_html
from kneeflags.report.model import AthleteReport, build_athlete_report, build_report

FIRST = datetime(2025, 9, 1)  # a Monday
TEXT = re.compile(r"<text\b([^>]*)>([^<]*)</text>")


def _report(kms: list[float], *, weeks: int = 12, **kwargs: object) -> AthleteReport:
    return build_athlete_report(
        analyze(weekly_runs(kms, first_monday=FIRST, **kwargs), athlete="t"), weeks=weeks
    )


def _texts(svg: str) -> list[str]:
    return [t.strip() for _, t in TEXT.findall(svg) if t.strip()]


def _volume_flags(a: AthleteReport) -> dict[date, object]:
    return {f.week_start: f for f in a.flags if f.rule == "volume-jump" and f.week_start}


def test_flagged_bars_are_labelled_with_the_change_against_the_baseline() -> None:
    # steady 20 km, then 30 km (+50 % on a 20 km baseline), 20 km, then 26 km
    a = _report([20, 20, 20, 20, 20, 30, 20, 20, 26, 20, 20, 20])
    flags = _volume_flags(a)
    assert flags, "the fixture must raise volume-jump flags"
    svg = weekly_km_chart(a)
    texts = _texts(svg)
    for w in a.weeks:
        f = flags.get(w.week_start)
        label = volume_label(w, f)
        if f is None:
            assert label is None
            continue
        assert w.baseline_km is not None
        expected = fmt.pct((w.run_km / w.baseline_km - 1) * 100, signed=True)
        assert label == expected == fmt.pct(f.value, signed=True)
        assert f"{f.value:.0f} %" in f.evidence  # the flag states the same number
        assert label in texts
        # not the week-on-week change when the two differ
        if w.change_pct is not None and round(w.change_pct) != round(f.value):
            assert fmt.pct(w.change_pct, signed=True) not in texts
    # one label per flagged bar, no other percentage on the bars
    assert sum(1 for t in texts if re.fullmatch(r"[+-]\d+ %|back \d+ %", t)) == len(flags)
    # the colour is the flag's: high bars are drawn in the high colour
    assert (COLOR_HIGH in svg) == any(f.severity == "high" for f in flags.values())


def test_first_week_back_after_a_break_is_labelled_against_the_pre_break_level() -> None:
    a = _report([30, 30, 30, 30, 0, 0, 0, 0, 36, 30, 30, 30])
    flags = _volume_flags(a)
    back = next(w for w in a.weeks if w.run_km == pytest.approx(36))
    f = flags.get(back.week_start)
    assert f is not None and "first week back" in f.evidence
    label = volume_label(back, f)
    assert label == f"back {f.value:.0f} %"
    assert f"{f.value:.0f} %" in f.evidence
    assert label in _texts(weekly_km_chart(a))


def _xticks(svg: str, name: str) -> list[tuple[str, str]]:
    """(position attributes, text) of every x tick label of one chart, in order."""
    start = svg.index(f'id="{name}-matplotlib.axis_1"')
    block = svg[start : svg.index(f'id="{name}-matplotlib.axis_2"', start)]
    return [(attrs, text.strip()) for attrs, text in TEXT.findall(block)]


@pytest.mark.parametrize("weeks", [12, 104])
def test_time_charts_share_the_window_and_its_ticks(weeks: int) -> None:
    kms = [20 + (i % 5) * 3 for i in range(weeks)]
    # the data starts three weeks into the window: the charts still span all of it
    a = _report([0, 0, 0, *kms[3:]], weeks=weeks)
    assert a.weeks[0].week_start > a.window.first_week
    charts = dict(
        (m.group(1), svg)
        for _, svg in all_charts(a)
        if (m := re.search(r'id="chart-([a-z-]+)"', svg))
    )
    assert {"weekly-km", "downhill", "runs"} <= set(charts)
    ticks = {name: _xticks(charts[name], name) for name in ("weekly-km", "downhill", "runs")}
    first = ticks["weekly-km"]
    assert first and first[0][1] == fmt.day_month(a.window.first_week)
    assert ticks["downhill"] == first and ticks["runs"] == first
    labels = [t for _, t in first if not t.isdigit()]
    assert len(labels) <= 14, "tick labels are thinned out on long windows"


def test_downhill_chart_tells_zero_from_no_elevation_from_no_run() -> None:
    acts = []
    acts += weekly_runs([20, 20], first_monday=FIRST, with_samples=True, altitude=flat())
    acts += weekly_runs(
        [20], first_monday=FIRST + timedelta(weeks=2), with_samples=True, altitude=None
    )
    acts += weekly_runs(
        [20],
        first_monday=FIRST + timedelta(weeks=4),
        with_samples=True,
        altitude=descend(0.07, from_fraction=0.6),
    )
    a = build_athlete_report(analyze(acts, athlete="t"), weeks=5)
    kinds = [
        "none" if w.runs == 0 else "unknown" if w.downhill_share is None else "measured"
        for w in a.weeks
    ]
    assert kinds == ["measured", "measured", "unknown", "none", "measured"]
    assert a.weeks[0].downhill_share == 0.0
    svg = downhill_chart(a)
    assert svg.count(f"fill: {COLOR_UNKNOWN}") >= 2  # one band + its legend patch
    assert COLOR_MUTED in svg  # the no-run cross
    texts = _texts(svg)
    assert "no elevation data" in texts and "no run" in texts
    caption = next(c for c, s in all_charts(a) if s == svg or "downhill" in s[:200])
    assert "0 %" in caption and "no elevation data" in caption and "without any run" in caption


def test_chart_text_is_never_below_11_css_px() -> None:
    a = _report([20, 20, 20, 20, 20, 30, 20, 20, 26, 20, 20, 20], with_samples=True)
    for _, svg in all_charts(a):
        width = re.search(r'<svg [^>]*width="([\d.]+)pt"', svg)
        assert width and float(width.group(1)) * 96 / 72 <= NATURAL_WIDTH_PX
        sizes = [float(x) for x in re.findall(r"font-size: ([\d.]+)px", svg)]
        assert sizes and min(sizes) >= MIN_FONT_PT
        assert re.search(r"font: [\d.]+px", svg) is None  # no other way to set a size
    assert MIN_FONT_PT * 96 / 72 >= 11
    assert f"min-width: {NATURAL_WIDTH_PX}px" in CSS
    assert ".chart-scroll { overflow-x: auto;" in CSS


def test_weekly_table_lists_every_window_week_or_says_why_not() -> None:
    a = _report([0, 0, 20, 20, 20, 20, 30], weeks=10)
    text = render_html(build_report([a], generated_at=datetime(2030, 1, 1, tzinfo=UTC)))
    table = text[text.index('<section id="weeks">') :]
    table = table[: table.index("</section>")]
    rows = re.findall(r"<tr[^>]*><td", table)
    assert len(rows) == len(a.weeks)
    missing = (a.weeks[0].week_start - a.window.first_week).days // 7
    assert missing == 5
    assert "starts 5 weeks before the first recorded activity" in table
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert heads[:2] == ["Week", "Flags"]
    full = _report([20] * 12, weeks=12)
    text = render_html(build_report([full]))
    assert "before the first recorded activity" not in text


def test_pages_are_stamped_with_the_week_they_are_about() -> None:
    a = _report([20] * 12, weeks=12)
    made_up = datetime(2031, 7, 4, 13, 37, tzinfo=UTC)
    text = render_html(build_report([a], generated_at=made_up))
    end = a.window.end
    assert f"week ending {fmt.long_date(end)}" in text
    assert "2031" not in text and "13:37" not in text
    assert "Generated by" not in text


def test_flagged_runs_are_labelled_with_their_spike() -> None:
    from synth import make_run

    from kneeflags.report.charts import spike_chart

    acts = weekly_runs([15] * 8, first_monday=FIRST)
    acts.append(make_run(FIRST + timedelta(weeks=6, days=6, hours=9), km=14.0, uid="long"))
    a = build_athlete_report(analyze(acts, athlete="t"), weeks=8)
    spikes = [f for f in a.flags if f.rule == "session-spike"]
    assert spikes, "the fixture must raise a spike"
    texts = _texts(spike_chart(a) or "")
    for f in spikes:
        assert f"{f.value:.0f} %" in f.evidence
        assert fmt.pct(f.value, signed=True) in texts
    flagged_runs = {r.activity_id for r in a.activities if r.flag_severity}
    svg = spike_chart(a) or ""
    bold = [t.strip() for a_, t in TEXT.findall(svg) if "font-weight: 700" in a_ and "%" in t]
    assert sorted(bold) == sorted(fmt.pct(f.value, signed=True) for f in spikes)
    assert len(bold) == len(flagged_runs)


def test_long_report_is_deterministic_and_the_batch_index_is_stamped_too() -> None:
    from kneeflags.report.html import render_index_html

    a = _report([20 + (i % 7) * 4 for i in range(104)], weeks=104)
    made_up = datetime(2031, 7, 4, 13, 37, tzinfo=UTC)
    rep = build_report([a], generated_at=made_up)
    assert render_html(rep) == render_html(rep)
    index = render_index_html(rep, [0], {0: "t/x.html"})
    assert f"week ending {fmt.long_date(a.window.end)}" in index
    assert "13:37" not in index and "Generated by" not in index
