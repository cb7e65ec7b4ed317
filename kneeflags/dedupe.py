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
from dataclasses import dataclass

from kneeflags.model import FORMAT_RICHNESS, Activity, Problem

START_TOLERANCE_S = 120.0
DISTANCE_TOLERANCE = 0.05
CONTAINED_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class RunKey:
    """What deduplication needs to know about one activity, nothing more.

    The same rule runs on full activities (:func:`dedupe`) and on cached
    per-activity summaries (the pipeline), so it is written once, on these
    keys. ``token`` lets the caller map kept keys back to its own objects.
    """

    token: int
    source: str
    format: str
    start: float
    """Start, Unix seconds."""
    end: float
    distance_m: float | None
    n_samples: int
    partial: bool
    part: int = 0

    @property
    def richness(self) -> tuple[int, int, int]:
        """Higher is richer: format rank (FIT > TCX > GPX), samples, not partial."""
        return (FORMAT_RICHNESS.get(self.format, 0), self.n_samples, 0 if self.partial else 1)


def run_key(act: Activity, token: int = 0) -> RunKey:
    start = act.start_utc.timestamp()
    dur = act.elapsed_s if act.elapsed_s is not None else act.timer_s
    if dur is None and act.samples.height:
        dur = float(act.samples["elapsed_s"].max() or 0.0)
    return RunKey(
        token=token,
        source=str(act.source),
        format=act.format,
        start=start,
        end=start + float(dur or 0.0),
        distance_m=act.distance_m,
        n_samples=act.samples.height,
        partial=act.provenance.partial,
        part=act.part,
    )


def same_run(a: RunKey, b: RunKey) -> str | None:
    """Why ``a`` and ``b`` are the same outing, or ``None`` when they are not."""
    if a.source == b.source:
        return None
    dt = abs(a.start - b.start)
    if dt > START_TOLERANCE_S:
        return None
    da, db = a.distance_m, b.distance_m
    if da and db and da > 0 and db > 0:
        rel = abs(da - db) / max(da, db)
        if rel <= DISTANCE_TOLERANCE:
            return f"starts {dt:.0f} s apart, distances {da / 1000:.2f} and {db / 1000:.2f} km"
    shorter = min(a.end - a.start, b.end - b.start)
    if shorter > 0:
        overlap = min(a.end, b.end) - max(a.start, b.start)
        if overlap / shorter >= CONTAINED_SHARE:
            return f"starts {dt:.0f} s apart and one recording lies within the other"
    return None


def dedupe_keys(keys: Iterable[RunKey]) -> tuple[list[RunKey], list[Problem]]:
    """Keep one key per outing (richest first); warnings name the dropped and kept files."""
    order = sorted(keys, key=lambda k: (tuple(-x for x in k.richness), k.source, k.part))
    kept: list[RunKey] = []
    kept_starts: list[float] = []
    warnings: list[Problem] = []
    for key in order:
        lo = bisect.bisect_left(kept_starts, key.start - START_TOLERANCE_S)
        hi = bisect.bisect_right(kept_starts, key.start + START_TOLERANCE_S)
        match = next(((o, why) for o in kept[lo:hi] if (why := same_run(key, o))), None)
        if match is None:
            pos = bisect.bisect_right(kept_starts, key.start)
            kept_starts.insert(pos, key.start)
            kept.insert(pos, key)
            continue
        other, why = match
        warnings.append(
            Problem(
                key.source,
                f"duplicate of {other.source} ({why}): counted once, "
                f"kept the {other.format.upper()} record",
                "warning",
            )
        )
    return kept, warnings


def dedupe(activities: Iterable[Activity]) -> tuple[list[Activity], list[Problem]]:
    """Keep one activity per outing; return (kept, warnings about the dropped ones)."""
    acts = list(activities)
    kept, warnings = dedupe_keys(run_key(a, i) for i, a in enumerate(acts))
    return [acts[k.token] for k in kept], warnings
