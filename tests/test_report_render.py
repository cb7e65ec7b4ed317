"""Terminal, Markdown, JSON and CSV renderers on hand-built analyses."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import UTC, datetime

import jsonschema
import pytest
from report_helpers import HOSTILE, make_analysis

from kneeflags.findings import CLINICIAN_REMINDER, Flag
from kneeflags.model import Problem
from kneeflags.report import load_schema, render
from kneeflags.report.csvout import render_csv
from kneeflags.report.fmt import md_escape
from kneeflags.report.jsonout import render_json, to_document
from kneeflags.report.markdown import render_markdown
from kneeflags.report.model import Report, build_athlete_report, build_report
from kneeflags.report.text import to_text

STAMP = datetime(2026, 2, 9, tzinfo=UTC)
ANSI = re.compile(r"\x1b\[")


def make_report(athlete: str = "anna", **kw: object) -> Report:
    a = build_athlete_report(
        make_analysis(athlete, **kw),  # type: ignore[arg-type]
        errors=[Problem("/runs/bad.fit", "truncated FIT file: data ends at byte 61,440")],
        warnings=[Problem("/runs/b.gpx", "cadence unit guessed: strides", "warning")],
        skipped=3,
    )
    return build_report([a], generated_at=STAMP)


# --- terminal ------------------------------------------------------------------------


def test_text_is_plain_fits_80_columns_and_keeps_the_section_order() -> None:
    out = to_text(make_report())
    assert not ANSI.search(out)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert all(line == line.rstrip() for line in out.splitlines())
    flags = out.index("FLAGS IN THE WINDOW")
    order = [
        out.index("THIS WEEK"),
        out.index("HIGH] this week: Downhill share"),
        out.index("Running: 43.0 km in 3 runs"),
        out.index("NEXT WEEK"),
        flags,
        out.index("ITBS", flags),
        out.index("PFPS", flags),
        out.index("WEEKLY TABLE"),
        out.index("FILES"),
        out.index(CLINICIAN_REMINDER[:40]),
    ]
    assert order == sorted(order)
    assert "[HIGH] Weekly volume jump" in out
    assert "Not used (1):" in out and "/runs/bad.fit:\n    truncated FIT file" in out
    assert "3 files skipped" in out


def test_text_color_mode_uses_ansi_and_says_the_same() -> None:
    rep = make_report()
    colored = to_text(rep, color=True)
    assert ANSI.search(colored)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", colored)
    assert "Weekly volume jump" in plain and CLINICIAN_REMINDER[:30] in plain


def test_text_shows_hostile_strings_literally_without_markup_or_escapes() -> None:
    out = to_text(make_report("[bold red]x[/bold red]\x1b[2J", activity_name="n"))
    assert "[bold red]x[/bold red]" in out
    assert "\x1b" not in out
    assert HOSTILE in to_text(make_report())  # evidence quoting a run name, as text


def test_text_warnings_are_capped_unless_verbose() -> None:
    warnings = [Problem(f"/w/{i:02d}.gpx", "duplicate dropped", "warning") for i in range(30)]
    a = build_athlete_report(make_analysis(), warnings=warnings)
    rep = build_report([a], generated_at=STAMP)
    short = to_text(rep)
    assert "/w/19.gpx" in short and "/w/20.gpx" not in short and "10 more" in short
    assert "/w/29.gpx" in to_text(rep, verbose=True)


def test_text_without_flags_says_so() -> None:
    a = make_analysis()
    a.flags.clear()
    out = to_text(build_report([build_athlete_report(a)], generated_at=STAMP))
    assert "No flags in this window" in out


# --- Markdown ------------------------------------------------------------------------


def test_markdown_escapes_input_text() -> None:
    md = render_markdown(make_report("a_b*c"))
    assert "<script>" not in md
    assert "&lt;script\\>alert(1)&lt;/script\\>" in md
    assert "# kneeflags report: a\\_b\\*c" in md
    assert md_escape("[x](http://evil)") == "\\[x\\](http://evil)"
    assert md_escape("# not a heading") == "\\# not a heading"
    assert md_escape("line\nbreak|cell") == "line break\\|cell"


def test_markdown_has_the_same_content_as_the_terminal() -> None:
    rep = make_report()
    md = render_markdown(rep)
    for needle in (
        "## This week: week of 2 Feb 2026 (2026-W06)",
        "**HIGH this week**: Downhill share",
        "| Running | 43.0 km in 3 runs |",
        "## Flags in the window: 2 high, 6 watch",
        "### ITBS",
        "### PFPS",
        "## Weekly table",
        "## Files",
    ):
        assert needle in md
    assert md.rstrip().endswith(f"> {md_escape(CLINICIAN_REMINDER)}")
    weekly = md[md.index("## Weekly table") :]
    table = [line for line in weekly.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(rep.athletes[0].weeks)  # header + one row per week
    assert all(line.count(" | ") == 12 for line in table)  # 13 columns


# --- JSON ----------------------------------------------------------------------------


def test_json_validates_against_the_schema() -> None:
    doc = json.loads(render_json(make_report()))
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)
    assert list(doc) == [
        "schema_version",
        "generated_by",
        "generated_at",
        "athletes",
        "errors",
        "warnings",
        "skipped",
        "reminder",
    ]
    (athlete,) = doc["athletes"]
    assert {"athlete", "timezone", "weeks", "flags", "activities"} <= set(athlete)
    assert doc["errors"] == [
        {"path": "/runs/bad.fit", "message": "truncated FIT file: data ends at byte 61,440"}
    ]
    assert doc["skipped"] == 3
    assert doc["generated_at"] == "2026-02-09T00:00:00Z"
    week = athlete["weeks"][0]
    for key in (
        "week_start",
        "run_km",
        "runs",
        "longest_run_km",
        "change_pct",
        "downhill_km",
        "downhill_share",
        "cadence_spm_median",
        "strength_sessions",
        "cross_training_minutes",
        "acwr",
    ):
        assert key in week
    flag = athlete["flags"][0]
    assert flag["severity"] == "high" and flag["conditions"] == ["ITBS", "PFPS"]


def test_json_schema_rejects_a_wrong_document() -> None:
    doc = json.loads(render_json(make_report()))
    doc["athletes"][0]["flags"][0]["severity"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)


def test_json_is_deterministic_and_has_no_nan() -> None:
    a1 = make_analysis()
    a1.flags.append(
        Flag(
            rule="cadence-drop",
            conditions=("PFPS", "ITBS"),
            severity="watch",
            week_start=None,
            value=math.nan,
            threshold=math.inf,
            evidence="x",
            advice=(),
            reference="",
        )
    )
    one = render_json(build_report([build_athlete_report(a1)], generated_at=STAMP))
    a2 = make_analysis()
    a2.flags.append(a1.flags[-1])
    two = render_json(build_report([build_athlete_report(a2)], generated_at=STAMP))
    assert one == two
    assert "NaN" not in one and "Infinity" not in one
    doc = json.loads(one)
    odd = next(f for f in doc["athletes"][0]["flags"] if f["rule"] == "cadence-drop")
    assert odd["value"] is None and odd["threshold"] is None
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)


def test_json_rounds_floats() -> None:
    doc = to_document(make_report())
    week = doc["athletes"][0]["weeks"][0]
    assert week["change_pct"] == round(week["change_pct"], 2)
    text = render_json(make_report())
    assert not re.search(r"\d\.\d{7,}", text)


def test_render_dispatch_and_unknown_format() -> None:
    rep = make_report()
    assert render(rep, "json") == render_json(rep)
    with pytest.raises(ValueError, match="unknown report format"):
        render(rep, "pdf")


# --- CSV -----------------------------------------------------------------------------


def test_csv_is_the_weekly_table() -> None:
    rep = make_report("=cmd|' /C calc'!A0")
    rows = list(csv.DictReader(io.StringIO(render_csv(rep))))
    weeks = rep.athletes[0].weeks
    assert len(rows) == len(weeks)
    assert [r["week_start"] for r in rows] == [w.week_start.isoformat() for w in weeks]
    assert float(rows[-2]["run_km"]) == pytest.approx(weeks[-2].run_km)
    treadmill = next(r for r in rows if r["downhill_share"] == "")
    assert treadmill["run_km"] != ""  # unknown is an empty cell, volume still known
    assert rows[0]["athlete"].startswith("'=")  # no spreadsheet formula injection
    assert "xt_cycling_minutes" in rows[0]
    assert rows[-2]["flag_rules"] == "volume-jump;low-cadence"  # high first


def test_long_file_paths_are_never_folded_in_the_text_report() -> None:
    """A path broken across lines cannot be copied from a terminal or a cron mail."""
    from dataclasses import replace

    from kneeflags.model import Problem

    long_path = "/data/" + "/".join(["a-rather-long-folder-name"] * 5) + "/run.fit"
    rep = make_report()
    rep = replace(rep, errors=[Problem(long_path, "truncated FIT file: data ends early")])
    out = to_text(rep)
    assert f"{long_path}:" in out.splitlines()[out.splitlines().index("Not used (1):") + 1]
