"""The plan stage: next week's numbers, beside the rules, feeding the report model.

* :mod:`kneeflags.plan.model`: :class:`Plan` and :class:`PlanReason`, the one shape both
  producers fill and every renderer reads.

Producers: prevention (from the analysis alone) and return to running (from the analysis
plus the journal's open episode).
"""

from __future__ import annotations

from kneeflags.plan.model import Plan, PlanReason, PlanState

__all__ = ["Plan", "PlanReason", "PlanState"]
