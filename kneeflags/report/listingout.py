"""``kneeflags activities``: every activity read, in every output format.

The listing (:mod:`kneeflags.listing`) of each athlete of a report: stable id, local
start, sport (and whether it was reclassified or set by hand), distance, duration, file,
and whether it counts or was dropped as a duplicate (and of what). JSON is the report
document of ``schema.json`` with ``athletes[].activity_list`` filled, so one parser reads
both; CSV is the listing as a table with the JSON field names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from kneeflags.report import fmt
from kneeflags.report.model import AthleteReport, Report

LISTING_FORMATS: tuple[str, ...] = ("text", "markdown", "html", "json", "csv")
CORRECT_HINT = (
    "Correct the record with: kneeflags correct ID --sport running|walking|hiking|other, "
    "--exclude, --same-as ID2, --not-same-as ID2 or --undo."
)


def _rows(a: AthleteReport) -> tuple[Any, ...]:
    return a.activity_list or ()


def summary_line(a: AthleteReport) -> str:
    """``12 activities: 9 counted, 2 duplicates, 1 excluded; 1 reclassified, 1 set by hand``."""
    rows = _rows(a)
    by: dict[str, int] = {}
    for r in rows:
        by[r.status] = by.get(r.status, 0) + 1
    parts = [f"{by.get('kept', 0)} counted"]
    for status, word in (("duplicate", "duplicate"), ("copy", "copy"), ("excluded", "excluded")):
        n = by.get(status, 0)
        if n:
            parts.append(f"{n} {word}{'s' if n != 1 and status != 'excluded' else ''}")
    extra = []
    reclassified = sum(1 for r in rows if r.reclassified and not r.corrected)
    if reclassified:
        extra.append(f"{reclassified} reclassified")
    by_hand = sum(1 for r in rows if r.corrected)
    if by_hand:
        extra.append(f"{by_hand} set by hand")
    tail = f"; {', '.join(extra)}" if extra else ""
    what = "activity" if len(rows) == 1 else "activities"
    return f"{len(rows)} {what}: {', '.join(parts)}{tail}"


def _start(r: Any) -> str:
    return fmt.local_time(r.local_start) if r.local_start else "?"


def _duration(r: Any) -> str:
    return fmt.minutes(r.duration_s / 60.0 if r.duration_s is not None else None)


def listing_text(report: Report) -> str:
    out: list[str] = []
    for a in report.athletes:
        if out:
            out.append("")
        out.append(f"{fmt.clean(a.athlete)}: {summary_line(a)}")
        for note in a.notes:
            if "correction" in note:
                out.append(f"  {fmt.clean(note)}")
        for r in _rows(a):
            out.append(
                f"  {r.activity_id}  {_start(r)}  {fmt.clean(r.sport_label)}  "
                f"{fmt.km(r.distance_km, 2)} km  {_duration(r)} min  {fmt.clean(r.status_label)}"
            )
            out.append(f"      {fmt.clean(r.source)}")
            if r.reason:
                out.append(f"      {fmt.clean(r.reason)}")
    out += _problems(report)
    out += ["", CORRECT_HINT, ""]
    return "\n".join(out)


def _problems(report: Report) -> list[str]:
    out: list[str] = []
    if report.errors:
        out += ["", "Could not be read:"]
        out += [f"  {fmt.clean(p.path)}: {fmt.clean(p.message)}" for p in report.errors]
    return out


def listing_markdown(report: Report) -> str:
    esc = fmt.md_escape
    out: list[str] = []
    for a in report.athletes:
        out += [f"# {esc(a.athlete)}: activities", "", esc(summary_line(a)), ""]
        out += [f"- {esc(n)}" for n in a.notes if "correction" in n]
        out += [
            "",
            "| id | local start | sport | km | min | file | status | why |",
            "|---|---|---|---:|---:|---|---|---|",
        ]
        for r in _rows(a):
            cells: Iterable[str] = (
                fmt.md_code(r.activity_id),
                esc(_start(r)),
                esc(r.sport_label),
                fmt.km(r.distance_km, 2),
                _duration(r),
                esc(r.source),
                esc(r.status_label),
                esc(r.reason or ""),
            )
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    if report.errors:
        out += ["## Could not be read", ""]
        out += [f"- {esc(p.path)}: {esc(p.message)}" for p in report.errors]
        out.append("")
    return "\n".join(out)


def listing_html(report: Report) -> str:
    from kneeflags.report.html import esc, page

    body: list[str] = []
    for a in report.athletes:
        body.append(f"<section><h1>{esc(a.athlete)}: activities</h1>")
        body.append(f"<p>{esc(summary_line(a))}</p>")
        body += [f"<p>{esc(n)}</p>" for n in a.notes if "correction" in n]
        body.append(
            "<table><thead><tr><th>id</th><th>local start</th><th>sport</th><th>km</th>"
            "<th>min</th><th>file</th><th>status</th><th>why</th></tr></thead><tbody>"
        )
        for r in _rows(a):
            cls = "" if r.status == "kept" else ' class="dropped"'
            body.append(
                f"<tr{cls}><td><code>{esc(r.activity_id)}</code></td><td>{esc(_start(r))}</td>"
                f"<td>{esc(r.sport_label)}</td><td>{esc(fmt.km(r.distance_km, 2))}</td>"
                f"<td>{esc(_duration(r))}</td><td>{esc(r.source)}</td>"
                f"<td>{esc(r.status_label)}</td><td>{esc(r.reason or '')}</td></tr>"
            )
        body.append("</tbody></table></section>")
    if report.errors:
        body.append("<section><h2>Could not be read</h2><ul>")
        body += [f"<li>{esc(p.path)}: {esc(p.message)}</li>" for p in report.errors]
        body.append("</ul></section>")
    return page("kneeflags activities", "\n".join(body))


CSV_COLUMNS: tuple[str, ...] = (
    "athlete",
    "id",
    "local_start",
    "sport",
    "file_sport",
    "reclassified",
    "corrected",
    "distance_km",
    "duration_minutes",
    "source",
    "status",
    "duplicate_of",
    "duplicate_source",
    "reason",
)
_TEXT = {"athlete", "source", "duplicate_source", "reason"}


def listing_csv(report: Report) -> str:
    from kneeflags.report.csvout import text_cell
    from kneeflags.report.jsonout import listed_dict

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for a in report.athletes:
        for r in _rows(a):
            d = {"athlete": a.athlete, **listed_dict(r)}
            row = []
            for c in CSV_COLUMNS:
                v = d[c]
                if v is None:
                    row.append("")
                elif isinstance(v, bool):
                    row.append("true" if v else "false")
                elif c in _TEXT:
                    row.append(text_cell(v))
                else:
                    row.append(v)
            writer.writerow(row)
    return buf.getvalue()


def render_listing(report: Report, fmt_name: str) -> str:
    if fmt_name == "text":
        return listing_text(report)
    if fmt_name == "markdown":
        return listing_markdown(report)
    if fmt_name == "html":
        return listing_html(report)
    if fmt_name == "json":
        from kneeflags.report.jsonout import render_json

        return render_json(report)
    if fmt_name == "csv":
        return listing_csv(report)
    raise ValueError(
        f"unknown listing format {fmt_name!r} (choose from {', '.join(LISTING_FORMATS)})"
    )
