"""The HTML report: well-formed, self-contained, escaped, deterministic, and it renders.

The rendering test uses headless Chromium (Debian's ``chromium``, installed by
``.ci/run``) and skips with a reason where it is absent.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from chromium import CHROMIUM, chromium_command
from report_helpers import HOSTILE, make_analysis

from kneeflags.model import Problem
from kneeflags.report.charts import COLOR_BAR, COLOR_HIGH, all_charts
from kneeflags.report.html import CSP, render_html, render_index_html
from kneeflags.report.model import Report, build_athlete_report, build_report

STAMP = datetime(2026, 2, 9, tzinfo=UTC)
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base"}


def make_report(athlete: str = "anna", *, few_flags: bool = False) -> Report:
    analysis = make_analysis(athlete)
    if few_flags:  # keep the charts inside the first screen of the screenshot
        analysis.flags[:] = analysis.flags[:1]
    a = build_athlete_report(
        analysis,
        errors=[Problem(f"/runs/{HOSTILE}.fit", f"bad name {HOSTILE}")],
        warnings=[Problem("/runs/b.gpx", "cadence unit guessed: strides", "warning")],
    )
    return build_report([a], generated_at=STAMP)


class _Balance(HTMLParser):
    """Tracks open elements; any mismatch is recorded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()


def _parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def test_html_is_well_formed_for_xml_and_html_parsers() -> None:
    text = render_html(make_report())
    assert text.startswith("<!DOCTYPE html>\n")
    root = _parse_xml(text)
    assert _local(root.tag) == "html"
    p = _Balance()
    p.feed(text)
    p.close()
    assert p.errors == [] and p.stack == []
    assert p.tags["svg"] == 4  # the four charts, inline
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids across inline charts"
    refs = set(re.findall(r'(?:url\(#|href="#)([^")]+)', text))
    assert refs and refs <= set(ids), "a chart refers to an id it does not define"


def test_html_has_a_restrictive_csp_and_no_external_references() -> None:
    text = render_html(make_report())
    root = _parse_xml(text)
    metas = [el for el in root.iter() if _local(el.tag) == "meta"]
    csp = [m.get("content") for m in metas if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp == [CSP]
    assert "default-src 'none'" in CSP and "script-src" not in CSP
    for el in root.iter():
        assert _local(el.tag) not in {"script", "link", "iframe", "object", "embed", "img"}
        for name, value in el.attrib.items():
            if _local(name) in {"src", "href", "action", "data", "poster", "srcset"}:
                assert not re.match(r"\s*(https?:)?//", value), (name, value)
    assert "@import" not in text
    assert not re.search(r"url\((?!#)", text, re.IGNORECASE)  # only in-page clip paths
    assert not re.search(r"<(script|link|iframe)\b", text, re.IGNORECASE)


def test_every_input_string_is_escaped() -> None:
    text = render_html(make_report(f"{HOSTILE} & co"))
    root = _parse_xml(text)
    assert not [el for el in root.iter() if _local(el.tag) == "script"]
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    body_text = "".join(root.itertext())
    assert f"{HOSTILE} & co" in body_text  # shown as text, in the heading
    assert f"/runs/{HOSTILE}.fit" in body_text  # file problems too


def test_html_and_charts_are_deterministic() -> None:
    rep = make_report()
    assert render_html(rep) == render_html(rep)
    svg = all_charts(rep.athletes[0])[0][1]
    assert "<metadata>" not in svg and "Date" not in svg and "matplotlib.org" not in svg
    assert svg.startswith("<svg ")


def test_html_without_data_still_renders() -> None:
    from report_helpers import empty_analysis

    a = build_athlete_report(empty_analysis(), errors=[Problem("/x.zip", "not a zip")])
    text = render_html(build_report([a], generated_at=STAMP))
    _parse_xml(text)
    assert "No activity could be read" in text and "<svg" not in text


def test_batch_index_links_and_escapes() -> None:
    reports = [build_athlete_report(make_analysis(name)) for name in ("anna", HOSTILE)]
    rep = build_report(reports, generated_at=STAMP)
    text = render_index_html(rep, [1, 0], {0: "anna/2026-W06.html", 1: "x/2026-W06.html"})
    root = _parse_xml(text)
    links = [el.get("href") for el in root.iter() if _local(el.tag) == "a"]
    assert links == ["x/2026-W06.html", "anna/2026-W06.html"]
    assert "<script>" not in text


def _png_pixels(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    img = imread(str(path))
    return (img[..., :3] * 255).round().astype(int) if img.dtype != np.uint8 else img[..., :3]


def _count_color(px: np.ndarray, hex_color: str, tol: int = 12) -> int:
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(px - rgb).max(axis=-1) <= tol).sum())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_html_renders_with_charts_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(make_report(few_flags=True)), encoding="utf-8")
    png = tmp_path / "shot.png"
    cmd = chromium_command(
        tmp_path / "profile",
        f"--screenshot={png}",
        "--window-size=1200,2000",
        page.as_uri(),
    )
    proc = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert png.is_file(), proc.stderr.decode(errors="replace")[-2000:]
    px = _png_pixels(png)
    assert px.shape[0] >= 1000 and px.shape[1] >= 1000
    assert px.std() > 10, "screenshot is blank"
    # the inline SVG charts were drawn: many pixels of the bar colour
    assert _count_color(px, COLOR_BAR) > 20000  # ~400 without charts, ~200,000 with
    assert _count_color(px, COLOR_HIGH) > 5000  # badges alone: ~1,300
