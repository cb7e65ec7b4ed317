"""The JSON report: stable, versioned (``schema_version``) and byte-for-byte deterministic.

The document is described by ``schema.json`` beside this module (JSON Schema draft
2020-12). Determinism is by construction: keys are written in a fixed order, floats
are rounded to a documented number of decimals, NaN and infinities become ``null``,
and lists are sorted by the model. The only field that depends on the clock is
``generated_at``; ``SOURCE_DATE_EPOCH`` pins it (and the cron ``report`` command pins
it to the end of the reported week).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from kneeflags.findings import Flag
from kneeflags.model import Problem
from kneeflags.plan.model import Plan
from kneeflags.report.model import (
    GENERATOR,
    SCHEMA_VERSION,
    ActivityRow,
    AthleteReport,
    Report,
    WeekRow,
)

KM = 3
"""Decimals for km (metre resolution)."""
SHARE = 4
"""Decimals for 0–1 shares (0.01 %)."""
PCT = 2
MINUTES = 2
SPM = 1
RATIO = 3
METRES = 1


def num(x: float | int | None, digits: int) -> float | None:
    """Round for output; None/NaN/inf -> None, and never ``-0.0``."""
    if x is None or isinstance(x, bool):
        return None
    xf = float(x)
    if not math.isfinite(xf):
        return None
    out = round(xf, digits)
    return 0.0 if out == 0 else out


def iso_date(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def iso_instant(dt: datetime) -> str:
    """UTC instant, second resolution, ``Z`` suffix."""
    return dt.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def week_dict(w: WeekRow) -> dict[str, Any]:
    return {
        "week_start": w.week_start.isoformat(),
        "run_km": num(w.run_km, KM),
        "runs": w.runs,
        "run_minutes": num(w.run_minutes, MINUTES),
        "longest_run_km": num(w.longest_run_km, KM),
        "change_pct": num(w.change_pct, PCT),
        "baseline_km": num(w.baseline_km, KM),
        "downhill_km": num(w.downhill_km, KM),
        "steep_km": num(w.steep_km, KM),
        "downhill_share": num(w.downhill_share, SHARE),
        "elevation_loss_m": num(w.elevation_loss_m, METRES),
        "cadence_spm_median": num(w.cadence_spm_median, SPM),
        "cadence_below_share": num(w.cadence_below_share, SHARE),
        "cadence_in_share": num(w.cadence_in_share, SHARE),
        "cadence_above_share": num(w.cadence_above_share, SHARE),
        "strength_sessions": w.strength_sessions,
        "cross_training_minutes": num(w.cross_training_minutes, MINUTES),
        "cross_training_by_sport": {k: num(v, MINUTES) for k, v in w.cross_training_by_sport},
        "walk_minutes": num(w.walk_minutes, MINUTES),
        "hike_minutes": num(w.hike_minutes, MINUTES),
        "descent_on_foot_m": num(w.descent_on_foot_m, METRES),
        "acwr": num(w.acwr, RATIO),
        "has_data": w.has_data,
        "flag_severity": w.flag_severity,
        "flag_rules": list(w.flag_rules),
    }


def flag_dict(f: Flag) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "conditions": list(f.conditions),
        "severity": f.severity,
        "week_start": iso_date(f.week_start),
        "activity": f.activity,
        "activity_label": f.activity_label,
        "value": num(f.value, 4),
        "threshold": num(f.threshold, 4),
        "evidence": f.evidence,
        "advice": list(f.advice),
        "reference": f.reference,
    }


def activity_dict(a: ActivityRow) -> dict[str, Any]:
    return {
        "id": a.activity_id,
        "local_start": a.local_start.replace(microsecond=0).isoformat() if a.local_start else None,
        "week_start": iso_date(a.week_start),
        "sport": a.sport,
        "name": a.name,
        "source": a.source,
        "format": a.format,
        "distance_km": num(a.distance_km, KM),
        "duration_minutes": num(a.duration_s / 60.0 if a.duration_s is not None else None, MINUTES),
        "cadence_spm_median": num(a.cadence_spm_median, SPM),
        "downhill_km": num(a.downhill_km, KM),
        "downhill_share": num(a.downhill_share, SHARE),
        "elevation_loss_m": num(a.elevation_loss_m, METRES),
        "longest_previous_30d_km": num(a.prior_longest_km, KM),
        "partial": a.partial,
        "flag_severity": a.flag_severity,
    }


def problem_dict(p: Problem) -> dict[str, str]:
    return {"path": p.path, "message": p.message}


def athlete_dict(a: AthleteReport, rank: int = 1) -> dict[str, Any]:
    s = a.summary
    return {
        "athlete": a.athlete,
        "rank": rank,
        "status": a.status,
        "last_run": iso_date(a.last_run),
        "timezone": a.timezone,
        "window": {
            "start": a.window.start.isoformat(),
            "end": a.window.end.isoformat(),
            "weeks": a.window.weeks,
            "last_week": a.window.week_label,
        },
        "summary": {
            "week_start": s.week_start.isoformat(),
            "severity": s.severity,
            "flags_this_week": s.flags_this_week,
            "flags_in_window": s.flags_in_window,
            "window_severity": s.window_severity,
            "run_km": num(s.run_km, KM),
            "change_pct": num(s.change_pct, PCT),
            "cadence_spm_median": num(s.cadence_spm_median, SPM),
            "downhill_share": num(s.downhill_share, SHARE),
            "runs_in_window": s.runs_in_window,
            "km_in_window": num(s.km_in_window, KM),
        },
        "weeks": [week_dict(w) for w in a.weeks],
        "flags": [flag_dict(f) for f in a.flags],
        "activities": [activity_dict(x) for x in a.activities],
        "cadence_distribution": [
            {"spm": spm, "minutes": num(sec / 60.0, 3)} for spm, sec in a.cadence_seconds
        ],
        "notes": list(a.notes),
        "plan": plan_dict(a.plan),
        "journal": [e.to_dict() for e in a.journal],
        "episodes": [episode_dict(r) for r in a.returns],
        **(
            {"activity_list": [listed_dict(x) for x in a.activity_list]}
            if a.activity_list is not None
            else {}
        ),
    }


def listed_dict(x: Any) -> dict[str, Any]:
    """``athletes[].activity_list[]`` (``kneeflags activities``)."""
    return {
        "id": x.activity_id,
        "local_start": x.local_start.isoformat() if x.local_start else None,
        "sport": x.sport,
        "file_sport": x.file_sport,
        "reclassified": x.reclassified,
        "corrected": x.corrected,
        "distance_km": num(x.distance_km, KM),
        "duration_minutes": num(x.duration_s / 60.0, 2) if x.duration_s is not None else None,
        "source": x.source,
        "status": x.status,
        "duplicate_of": x.duplicate_of,
        "duplicate_source": x.duplicate_source,
        "reason": x.reason,
    }


def episode_dict(status: Any) -> dict[str, Any]:
    """``athletes[].episodes``: an open knee episode as the report shows it."""
    doc = status.to_dict()
    for key in ("next_session_km_max", "next_week_km_max", "onset_km_median"):
        doc[key] = num(doc[key], KM)
    return doc


def plan_dict(plan: Plan | None) -> dict[str, Any] | None:
    """``athletes[].plan``: :meth:`Plan.to_dict` with numbers rounded like the rest."""
    if plan is None:
        return None
    doc = plan.to_dict()
    for key in ("next_week_km_max", "long_run_km_max", "downhill_km_max", "next_session_km_max"):
        doc[key] = num(doc[key], KM)
    if doc["cadence_target_spm"] is not None:
        doc["cadence_target_spm"] = [num(x, SPM) for x in doc["cadence_target_spm"]]
    return doc


def to_document(report: Report, ranked: Sequence[int] | None = None) -> dict[str, Any]:
    """The JSON document as plain Python data, keys in schema order.

    ``ranked`` (a batch's ranking, most urgent first) sets each athlete's ``rank``; the
    athletes stay in input order.
    """
    order = list(ranked) if ranked is not None else list(range(len(report.athletes)))
    ranks = {idx: pos for pos, idx in enumerate(order, 1)}
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": {"name": GENERATOR, "version": report.version},
        "generated_at": iso_instant(report.generated_at),
        "athletes": [athlete_dict(a, ranks.get(i, i + 1)) for i, a in enumerate(report.athletes)],
        "errors": [problem_dict(p) for p in report.errors],
        "warnings": [problem_dict(p) for p in report.warnings],
        "skipped": report.skipped,
        "reminder": report.reminder,
    }


def dumps(document: dict[str, Any]) -> str:
    """Serialise deterministically: fixed key order, 2-space indent, UTF-8, final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_json(report: Report, ranked: Sequence[int] | None = None) -> str:
    return dumps(to_document(report, ranked))
