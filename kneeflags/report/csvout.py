"""The CSV report: the weekly table, one row per athlete and week, for spreadsheets.

Column names and units are those of the JSON ``weeks`` objects (see ``schema.json``);
unknown values are empty cells, never 0. Text that came from input files (the
athlete's folder name) cannot start a spreadsheet formula. Cross-training by sport is flattened into
``xt_<sport>_minutes`` columns (the union over the report's athletes, sorted).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from kneeflags.report import fmt
from kneeflags.report.jsonout import week_dict
from kneeflags.report.model import Report

WEEK_COLUMNS: tuple[str, ...] = (
    "week_start",
    "run_km",
    "runs",
    "run_minutes",
    "longest_run_km",
    "change_pct",
    "baseline_km",
    "downhill_km",
    "steep_km",
    "downhill_share",
    "elevation_loss_m",
    "cadence_spm_median",
    "cadence_below_share",
    "cadence_in_share",
    "cadence_above_share",
    "strength_sessions",
    "cross_training_minutes",
    "walk_minutes",
    "hike_minutes",
    "descent_on_foot_m",
    "acwr",
    "has_data",
    "flag_severity",
)


def text_cell(value: object) -> str:
    """Input-file text for a spreadsheet: no formula injection (``=``, ``+``, ``-``, ``@``)."""
    s = fmt.clean(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def render_csv(report: Report) -> str:
    """``athlete`` plus the weekly columns, plus ``flag_rules`` (``;``-separated)."""
    sports = sorted(
        {s for a in report.athletes for w in a.weeks for s, _ in w.cross_training_by_sport}
    )
    header = ["athlete", *WEEK_COLUMNS, *(f"xt_{s}_minutes" for s in sports), "flag_rules"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for a in report.athletes:
        for w in a.weeks:
            d = week_dict(w)
            xt = d["cross_training_by_sport"]
            writer.writerow(
                [
                    text_cell(a.athlete),
                    *(_cell(d[c]) for c in WEEK_COLUMNS),
                    *(_cell(xt.get(s, 0.0)) for s in sports),
                    ";".join(w.flag_rules),
                ]
            )
    return buf.getvalue()


def render_summary_csv(report: Report, ranked: Sequence[int]) -> str:
    """The coach's ranked summary as CSV (one row per athlete, most urgent first)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "rank",
            "athlete",
            "week_start",
            "status",
            "last_run",
            "severity",
            "flags_this_week",
            "flags_in_window",
            "run_km",
            "change_pct",
            "cadence_spm_median",
            "downhill_share",
            "files_not_read",
            "return_phase",
        ]
    )
    from kneeflags.report.jsonout import KM, PCT, SHARE, SPM, num

    for rank, idx in enumerate(ranked, 1):
        a = report.athletes[idx]
        s = a.summary
        writer.writerow(
            [
                rank,
                text_cell(a.athlete),
                s.week_start.isoformat(),
                a.status,
                a.last_run.isoformat() if a.last_run else "",
                _cell(s.severity if a.has_data else "no data"),
                s.flags_this_week,
                s.flags_in_window,
                _cell(num(s.run_km, KM)),
                _cell(num(s.change_pct, PCT)),
                _cell(num(s.cadence_spm_median, SPM)),
                _cell(num(s.downhill_share, SHARE)),
                len(a.errors),
                _cell(a.returns[0].phase if a.returns else None),
            ]
        )
    return buf.getvalue()
