"""Reports: one model (:mod:`.model`), several renderers.

``render(report, "html")`` etc. returns the whole document as a string; the CLI and
:mod:`kneeflags.journeys` decide where it goes. Renderers never read files or the
analysis directly, only the :class:`~kneeflags.report.model.Report`, so all formats
show the same window, the same flags and the same numbers.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

from kneeflags.report.model import (
    AthleteReport,
    Report,
    build_athlete_report,
    build_report,
    generated_at_now,
)

Format = Literal["text", "markdown", "html", "json", "csv"]
FORMATS: tuple[str, ...] = ("text", "markdown", "html", "json", "csv")
EXTENSIONS: dict[str, str] = {
    "text": "txt",
    "markdown": "md",
    "html": "html",
    "json": "json",
    "csv": "csv",
}


def render(
    report: Report, fmt: str, *, color: bool = False, width: int = 80, verbose: bool = False
) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`) as text."""
    if fmt == "text":
        from kneeflags.report.text import to_text

        return to_text(report, width=width, color=color, verbose=verbose)
    if fmt == "markdown":
        from kneeflags.report.markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from kneeflags.report.html import render_html

        return render_html(report)
    if fmt == "json":
        from kneeflags.report.jsonout import render_json

        return render_json(report)
    if fmt == "csv":
        from kneeflags.report.csvout import render_csv

        return render_csv(report)
    raise ValueError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the JSON report."""
    text = resources.files("kneeflags.report").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "AthleteReport",
    "Format",
    "Report",
    "build_athlete_report",
    "build_report",
    "generated_at_now",
    "load_schema",
    "render",
]
