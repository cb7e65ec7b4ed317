"""The same run recorded twice (watch FIT + phone GPX, or a Strava re-export) counts once.

Two activities from *different* files are the same run when they start within
:data:`START_TOLERANCE_S` of each other and either

* their distances agree within :data:`DISTANCE_TOLERANCE` (the issue's rule), or
* one recording lies (almost) entirely inside the other's time span
  (:data:`CONTAINED_SHARE`) — one device was stopped early or paused, so the
  distances differ although it is plainly the same outing (seen in the corpus:
  a phone GPX of 5.3 km inside a 7.0 km watch TCX that started the same second).

The richer record is kept: FIT over TCX over GPX, then the one with more
samples; the dropped one is reported as a warning naming both files. Sessions
of one file (multisport) are never merged with each other. One athlete per
load is assumed: two people who ran together would be merged.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from kneeflags.model import FORMAT_RICHNESS, Activity, Problem

START_TOLERANCE_S = 120.0
DISTANCE_TOLERANCE = 0.05
CONTAINED_SHARE = 0.9


def richness(act: Activity) -> tuple[int, int, int]:
    """Sort key, higher is richer: format rank, samples, non-partial."""
    return (
        FORMAT_RICHNESS.get(act.format, 0),
        act.samples.height,
        0 if act.provenance.partial else 1,
    )


def _span(act: Activity) -> tuple[float, float]:
    start = act.start_utc.timestamp()
    dur = act.elapsed_s if act.elapsed_s is not None else act.timer_s
    if dur is None and act.samples.height:
        dur = float(act.samples["elapsed_s"].max() or 0.0)
    return start, start + float(dur or 0.0)


def same_run(a: Activity, b: Activity) -> str | None:
    """Why ``a`` and ``b`` are the same outing, or ``None`` when they are not."""
    if str(a.source) == str(b.source):
        return None
    dt = abs((a.start_utc - b.start_utc).total_seconds())
    if dt > START_TOLERANCE_S:
        return None
    da, db = a.distance_m, b.distance_m
    if da and db and da > 0 and db > 0:
        rel = abs(da - db) / max(da, db)
        if rel <= DISTANCE_TOLERANCE:
            return f"starts {dt:.0f} s apart, distances {da / 1000:.2f} and {db / 1000:.2f} km"
    (s1, e1), (s2, e2) = _span(a), _span(b)
    shorter = min(e1 - s1, e2 - s2)
    if shorter > 0:
        overlap = min(e1, e2) - max(s1, s2)
        if overlap / shorter >= CONTAINED_SHARE:
            return f"starts {dt:.0f} s apart and one recording lies within the other"
    return None


def dedupe(activities: Iterable[Activity]) -> tuple[list[Activity], list[Problem]]:
    """Keep one activity per outing; return (kept, warnings about the dropped ones)."""
    acts = list(activities)
    order = sorted(acts, key=lambda a: (tuple(-x for x in richness(a)), str(a.source), a.part))
    kept: list[Activity] = []
    kept_starts: list[float] = []
    warnings: list[Problem] = []
    for act in order:
        t = act.start_utc.timestamp()
        lo = bisect.bisect_left(kept_starts, t - START_TOLERANCE_S)
        hi = bisect.bisect_right(kept_starts, t + START_TOLERANCE_S)
        match: tuple[Activity, str] | None = None
        for other in kept[lo:hi]:
            why = same_run(act, other)
            if why:
                match = (other, why)
                break
        if match is None:
            pos = bisect.bisect_right(kept_starts, t)
            kept_starts.insert(pos, t)
            kept.insert(pos, act)
            continue
        other, why = match
        warnings.append(
            Problem(
                str(act.source),
                f"duplicate of {other.source} ({why}): counted once, "
                f"kept the {other.format.upper()} record",
                "warning",
            )
        )
    return kept, warnings
