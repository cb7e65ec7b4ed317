"""The HTML report reads at 104 weeks, on a 1280 px screen and on a 390 px phone.

Issue 12 ("charts that read"): a page that merely loads is not enough. Headless
Chromium lays out a 104-week report at both widths and a small measuring script,
injected into a *test copy* of the page (the real page has a CSP that forbids any
script, and keeps it), reports what a reader would see:

* every visible text is at least 11 CSS px as rendered; for SVG text that is the
  font size times the SVG's on-screen scale (``getScreenCTM``), since charts scale
  with the page;
* the page body never scrolls sideways; only containers that are scrollable on
  purpose (``overflow-x: auto``: the tables and the charts) may be wider than the
  screen;
* no two texts of a chart overlap (tick labels, bar labels, legend, title);
* at 1280 px the weekly table's Flags column header is on screen without scrolling.

The results come back through ``--dump-dom`` as JSON in a ``<pre>``; no WebDriver,
no extra dependency. Skips where Chromium is missing (``.ci/run`` installs it).
"""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from chromium import CHROMIUM, chromium_command
from synth import descend, flat, weekly_runs

from kneeflags.analysis import analyze
from kneeflags.report import render
from kneeflags.report.html import CSP
from kneeflags.report.model import Report, build_athlete_report, build_report

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)"
)
MIN_TEXT_PX = 11.0
WEEKS = 104

MEASURE_JS = r"""
(function () {
  const vw = document.documentElement.clientWidth;
  const out = { vw: vw, scrollWidth: document.documentElement.scrollWidth,
                small: [], overlaps: [], wide: [], flags: null, svgs: 0, svgTexts: 0,
                htmlTexts: 0, minSvgPx: 1e9 };
  function scroller(el) {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const ox = getComputedStyle(p).overflowX;
      if (ox === 'auto' || ox === 'scroll') return p;
    }
    return null;
  }
  function shown(el) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden' || +cs.opacity === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.data.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest('svg') || el.closest('#kf-measure') || el.tagName === 'SCRIPT') continue;
    if (!shown(el)) continue;
    out.htmlTexts++;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < MIN) out.small.push(['html', el.tagName, px, node.data.trim().slice(0, 60)]);
    const r = el.getBoundingClientRect();
    if (r.right > vw + 0.5 && !scroller(el)) {
      out.wide.push([el.tagName, r.right, node.data.trim().slice(0, 40)]);
    }
  }
  for (const svg of document.querySelectorAll('svg')) {
    out.svgs++;
    const boxes = [];
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim() || !shown(t)) continue;
      out.svgTexts++;
      const m = t.getScreenCTM();
      const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
      out.minSvgPx = Math.min(out.minSvgPx, px);
      if (px < MIN) out.small.push(['svg', svg.id, +px.toFixed(2), t.textContent.trim()]);
      boxes.push([t.getBoundingClientRect(), t.textContent.trim()]);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i][0], b = boxes[j][0];
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 0.5 && h > 0.5) {
          out.overlaps.push([svg.id, boxes[i][1], boxes[j][1], +w.toFixed(1), +h.toFixed(1)]);
        }
      }
    }
  }
  for (const th of document.querySelectorAll('#weeks th')) {
    if (!/^Flags?$/.test(th.textContent.trim())) continue;
    const r = th.getBoundingClientRect();
    const box = scroller(th);
    const clip = box ? box.getBoundingClientRect() : { left: 0, right: vw };
    out.flags = { left: r.left, right: r.right, clipLeft: clip.left, clipRight: clip.right };
  }
  const pre = document.createElement('pre');
  pre.id = 'kf-measure';
  pre.textContent = JSON.stringify(out);
  (window.parent || window).document.body.appendChild(pre);
})();
""".replace("MIN", repr(MIN_TEXT_PX))


@cache
def long_report(weeks: int = WEEKS) -> Report:
    """104 weeks (plus lead-in) of synthetic running: builds, breaks, hills, treadmill.

    Volume swings and a long run every ninth week raise volume-jump and spike flags
    all over the window; weeks without runs and runs without elevation exercise the
    downhill chart's three kinds of "no bar".
    """
    first = datetime(2024, 1, 1)
    acts = []
    for w in range(weeks + 6):
        if w % 17 == 5 or 40 <= w < 46:
            continue  # no running that week (and a six-week break)
        km = 25 + 10 * math.sin(w / 5) + (18 if w % 9 == 0 else 0)
        kind = w % 4
        kwargs: dict[str, object] = {}
        if kind == 0:
            kwargs = {"with_samples": True, "altitude": descend(0.07, from_fraction=0.7)}
        elif kind == 1:
            kwargs = {"with_samples": True, "altitude": flat()}
        elif kind == 2:
            kwargs = {"with_samples": True, "altitude": None}  # no elevation data
        acts += weekly_runs([km], first_monday=first + timedelta(weeks=w), **kwargs)
    a = build_athlete_report(analyze(acts, athlete="long"), weeks=weeks)
    return build_report([a], generated_at=datetime(2026, 2, 9, tzinfo=UTC))


def measure(page_html: str, width: int, tmp: Path) -> dict:
    """Lay ``page_html`` out at ``width`` CSS px in headless Chromium; the script's JSON."""
    assert CSP in page_html
    relaxed = page_html.replace(
        CSP, "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
    )
    probe = relaxed.replace("</body>", f"<script>{MEASURE_JS}</script>\n</body>")
    # Headless windows are at least 500 px wide, so the page is laid out in an iframe of
    # exactly ``width`` px (what a phone with width=device-width gives); ``srcdoc`` keeps
    # it same-origin, so the script can hand its result to the outer page synchronously.
    outer = (
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe style="border:0;display:block" width="{width}" height="900" '
        f'srcdoc="{html.escape(probe, quote=True)}"></iframe></body></html>'
    )
    path = tmp / f"page-{width}.html"
    path.write_text(outer, encoding="utf-8")
    cmd = chromium_command(
        tmp / f"profile-{width}",
        "--hide-scrollbars",
        f"--window-size={width + 100},1000",
        "--dump-dom",
        path.as_uri(),
    )
    proc = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    dom = proc.stdout.decode("utf-8", errors="replace")
    found = re.search(r'<pre id="kf-measure">(.*?)</pre>', dom, re.S)
    assert found, f"no measurement (rc {proc.returncode}): {proc.stderr.decode()[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def long_html() -> str:
    return render(long_report(), "html")


@needs_chromium
@pytest.mark.parametrize(("weeks", "width"), [(WEEKS, 1280), (WEEKS, 390), (12, 390)])
def test_report_reads_at_desktop_and_phone_width(weeks: int, width: int, tmp_path: Path) -> None:
    m = measure(render(long_report(weeks), "html"), width, tmp_path)
    print(
        f"{weeks} weeks at {width} px: {m['svgs']} charts, {m['svgTexts']} chart texts "
        f"(smallest {m['minSvgPx']:.1f} px), {m['htmlTexts']} page texts",
        file=sys.stderr,
    )
    assert m["vw"] == width
    assert m["svgs"] == 4 and m["svgTexts"] > 40 and m["htmlTexts"] > 100
    assert m["small"] == [], f"text under {MIN_TEXT_PX} px at {width} px: {m['small'][:12]}"
    assert m["scrollWidth"] <= width, f"page scrolls sideways at {width} px: {m['wide'][:8]}"
    assert m["wide"] == []
    assert m["overlaps"] == [], f"overlapping chart texts at {width} px: {m['overlaps'][:12]}"


@needs_chromium
def test_flags_column_is_on_screen_at_1280(long_html: str, tmp_path: Path) -> None:
    m = measure(long_html, 1280, tmp_path)
    f = m["flags"]
    assert f is not None, "the weekly table has no Flags column"
    assert f["left"] >= 0 and f["right"] <= 1280, f
    assert f["clipLeft"] <= f["left"] and f["right"] <= f["clipRight"], f
