"""What analysis produces: flags and the :class:`Analysis` bundle.

This is the contract between the metrics/rules stage and the report stage.
Renderers read only these objects (plus the ingest problems), never raw files.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date
from typing import Any, Literal

import polars as pl

from kneeflags.records import record

Severity = Literal["watch", "high"]
Condition = Literal["ITBS", "PFPS"]

SEVERITY_RANK: dict[str, int] = {"high": 2, "watch": 1}

FAIL_ON_OPT_IN_RULES: frozenset[str] = frozenset({"strength-gap", "low-cadence"})
"""Rules whose athlete-level line (``week_start`` None) is a standing habit, not an event of
the week: said once per report, never setting the week's status, and deciding ``--fail-on``
only when named with ``--fail-on-rule``. Strength work is often done without recording it;
a runner's usual cadence is the same most weeks, and a line that fires every week is
ignored. (low-cadence's weekly ``high`` flags are ordinary flags.)"""


RULE_PROMINENCE: dict[str, int] = {"session-spike": 0}
"""Order among flags of the same severity (lower first; rules not named: 1, ``rtr-*``: 0).
The Garmin-RUNSAFE cohort (5,205 runners, evidence.md §1) found single-run spikes
predictive and week-to-week ratios not, so the run spike is read before the weekly jump."""


def prominence(rule: str) -> int:
    """Sort key of :data:`RULE_PROMINENCE`: a protocol breach or a run spike comes first."""
    return 0 if rule.startswith("rtr-") else RULE_PROMINENCE.get(rule, 1)


def is_advisory(flag: Flag) -> bool:
    """True for the athlete-level habit line of a :data:`FAIL_ON_OPT_IN_RULES` rule."""
    return flag.week_start is None and flag.rule in FAIL_ON_OPT_IN_RULES


CLINICIAN_REMINDER = (
    "This is educational guidance, not a diagnosis. Knee pain that persists, gets worse "
    "or is severe should be assessed by a GP, physiotherapist or sports medicine physician "
    "before you resume normal training."
)
"""The guide's closing reminder; every report ends with it."""


@record(frozen=True)
class Flag:
    """One risk factor found in the data, with its evidence and the matching advice.

    ``week_start`` is the local Monday (or configured first weekday) of the week
    the flag concerns; ``activity`` is the activity id for per-run rules
    (``None`` for weekly or athlete-level flags). ``value`` and ``threshold``
    are in the unit the rule documents (ratio, %, spm, km, count).
    """

    rule: str
    conditions: tuple[Condition, ...]
    severity: Severity
    week_start: date | None
    value: float | None
    threshold: float | None
    evidence: str
    advice: tuple[str, ...]
    reference: str
    activity: str | None = None
    activity_label: str | None = None
    """Human label of the run for per-run rules, e.g. ``Tue 27 Jan, 21.1 km``."""
    day: date | None = None
    """Local date of the run for per-run rules, so a card lists its runs in date order."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "conditions": list(self.conditions),
            "severity": self.severity,
            "week_start": self.week_start.isoformat() if self.week_start else None,
            "activity": self.activity,
            "activity_label": self.activity_label,
            "day": self.day.isoformat() if self.day else None,
            "value": self.value,
            "threshold": self.threshold,
            "evidence": self.evidence,
            "advice": list(self.advice),
            "reference": self.reference,
        }


@record
class Analysis:
    """Everything the reports need about one athlete.

    * ``weekly``: one row per local week between the first and last activity
      (zero-filled), columns documented in :mod:`kneeflags.metrics.weekly`.
    * ``activities``: one row per activity (per-activity summaries).
    * ``cadence_hist``: running time (s) per activity, speed bin and 1-spm
      cadence bin, for the cadence distribution chart and cadence rules.
    * ``flags``: sorted by severity (high first), then week, then rule id.
    """

    athlete: str
    timezone: str
    weekly: pl.DataFrame
    activities: pl.DataFrame
    flags: list[Flag] = field(default_factory=list)
    cadence_hist: pl.DataFrame = field(default_factory=pl.DataFrame)
    notes: list[str] = field(default_factory=list)
    """Athlete-level caveats (e.g. 'no cadence data in 5 of 12 runs')."""
    run_notes: list[str] = field(default_factory=list)
    """Notes about how this run read the data rather than about the activities (e.g. how
    many journal corrections were applied). Also in ``notes``; kept apart so a report cut
    to an earlier window (no look-ahead) recomputes the activity notes and keeps these."""
