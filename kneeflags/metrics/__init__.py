"""Metrics: stage 1 per activity (:mod:`.summary`), stage 2 per week (:mod:`.weekly`).

Only :mod:`.summary` (with :mod:`.grade` and :mod:`.cadence`) reads samples; the weekly
table and the rules work from the summaries, which the parse cache can store.
"""

from kneeflags.metrics.summary import (
    ACTIVITY_SUMMARY_SCHEMA,
    METRICS_VERSION,
    ActivitySummary,
    summaries_from_frames,
    summaries_to_frames,
    summarize,
)
from kneeflags.metrics.weekly import WEEKLY_SCHEMA, weekly_table

__all__ = [
    "ACTIVITY_SUMMARY_SCHEMA",
    "METRICS_VERSION",
    "WEEKLY_SCHEMA",
    "ActivitySummary",
    "summaries_from_frames",
    "summaries_to_frames",
    "summarize",
    "weekly_table",
]
