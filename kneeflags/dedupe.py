"""One outing counted once, however many apps recorded it (issue 11's real histories).

Rule (applied to cached summaries by the pipeline and to activities by :func:`dedupe`):

1. **Left running** recordings are suspects: a running recording longer than
   :data:`LEFT_RUNNING_MIN_S` (4 h) at under :data:`LEFT_RUNNING_MAX_MPS` (1 m/s) on
   average, moving (≥ 0.5 m/s) less than half of that time — a phone that kept recording
   overnight. A suspect is never the record kept when another recording of the outing
   exists (it ranks last, 3·0 below), and it is named in a warning ("12 h 08 min at
   0.7 m/s: looks like a recording left running"). A suspect that overlaps no other
   recording is counted, with the same warning and the correction that removes it: the
   corpus's NRC history holds a real 21.7 km run whose GPX spans 24 h because the app was
   paused overnight, and dropping it would lose the run (the hint "set them aside" would
   make that week 22 km short). The moving-time test spares slow ultras, and a sport
   correction (``kneeflags correct ID --sport running``) spares anything.
2. **Clusters**: two recordings from *different* files are linked when their time spans
   overlap by at least :data:`MIN_OVERLAP_SHARE` (half) of the shorter span, whatever the
   gap between their starts: one athlete cannot run two runs at once. Clusters are the
   connected groups, found by one sort by start and a sweep (near-linear: each recording
   is compared with at most :data:`MAX_CANDIDATES` overlapping recordings of other files,
   so 60,000 sessions starting at the same second cost a fraction of a second).
   Exceptions: sessions of one file are never linked (multisport legs), a **manual
   entry** (≤ :data:`MANUAL_MAX_SAMPLES` samples: typed in, not recorded) is never linked
   with a recording (pattern 7, below), and the journal's corrections force a link
   (``--same-as``) or forbid one (``--not-same-as``).
3. **The credible record is kept**, best first:

   0. not a suspect of step 1;
   a. a run over any other sport (a run never disappears in favour of a heart-rate-only
      session or a walk);
   b. a recording with distance over one without;
   c. a session whose file does not hold other sessions overlapping it (a file with
      thousands of sessions at one moment is not an account of a run: a hostile FIT whose
      first session copies a real run never displaces the real one);
   d. the largest distance (the issue's hint, 150 of 151 weeks right on a five-year
      export: an app that lost the signal or was started late under-counts far more often
      than one over-counts), where distances within :data:`DISTANCE_TIE` (10 %) of the
      cluster's largest count as equal: watch and phone disagree by a few per cent, and
      then the better instrument is the better account;
   e. the richer record: FIT over TCX over GPX, then cadence, then not truncated;
   f. the larger distance, more samples, then the activity id, so the result never
      depends on input order.

   Not the number of samples first: the heart-rate file of another app has the most.
   Then, in that order, each other member is dropped as a duplicate of the first kept
   record it matches; a member that matches no kept record is kept. A recording of
   another sport is dropped in favour of a run only when the run covers at least half of
   it (a heart-rate file of the same run); a walk that merely *contains* a short run
   stays, and the run counts as running (pattern 6).

Every drop is a warning naming both files and the reason.

Pattern 7 (decided): a manual entry overlapping a recorded jog (a 10 km entry over a
0.7 km recording) is two activities. Manual entries are typed after the fact with a
rounded start time, so an overlap says little; merging would silently lose either the
typed run or the recorded one. Both are counted and a warning says so, naming both, so
``kneeflags correct A --same-as B`` settles it when they were one outing.

One athlete per load is assumed: two people who ran together would be merged.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import field
from itertools import islice

from kneeflags.model import FORMAT_RICHNESS, Activity, Problem
from kneeflags.records import record

MIN_OVERLAP_SHARE = 0.5
CONTAINED_SHARE = 0.9
"""Above this share of the shorter span, the message says one lies within the other."""
LEFT_RUNNING_MIN_S = 4 * 3600.0
LEFT_RUNNING_MAX_MPS = 1.0
LEFT_RUNNING_MAX_MOVING_SHARE = 0.5
MANUAL_MAX_SAMPLES = 2
DISTANCE_TIE = 0.10
"""Distances within this share of a cluster's largest count as equal [eng]."""
MAX_CANDIDATES = 64
"""Overlapping recordings of other files compared with each recording, at most [eng]."""
CROWD_PROBES = 4
"""Overlapping sessions of its own file a recording is compared with, at most [eng]."""


@record(frozen=True)
class RunKey:
    """What deduplication needs to know about one activity, nothing more.

    The same rule runs on full activities (:func:`dedupe`) and on cached per-activity
    summaries (the pipeline), so it is written once, on these keys. ``token`` lets the
    caller map kept keys back to its own objects.
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
    activity_id: str = ""
    is_running: bool = True
    sport: str = "running"
    moving_s: float | None = None
    has_cadence: bool = False
    confirmed: bool = False
    """The athlete set this activity's sport by hand: never set aside as left running."""

    @property
    def span(self) -> float:
        return max(self.end - self.start, 0.0)

    @property
    def has_distance(self) -> bool:
        return bool(self.distance_m and self.distance_m > 0)

    @property
    def manual(self) -> bool:
        return self.n_samples <= MANUAL_MAX_SAMPLES

    @property
    def richness(self) -> tuple[int, int, int]:
        """Higher is richer: format (FIT > TCX > GPX), cadence, not partial.

        Not the number of samples: a heart-rate file or a 1 Hz phone app is not a better
        account of a run for having more points (samples only break the last ties).
        """
        return (
            FORMAT_RICHNESS.get(self.format, 0),
            int(self.has_cadence),
            0 if self.partial else 1,
        )

    @property
    def ident(self) -> tuple[str, str, int]:
        return (self.activity_id, self.source, self.part)


def run_key(act: Activity, token: int = 0) -> RunKey:
    start = act.start_utc.timestamp()
    dur = act.duration_s
    if dur is None and act.samples.height:
        dur = float(act.samples["elapsed_s"].max() or 0.0)
    moving = None
    cadence = False
    if act.samples.height > 1:
        import numpy as np

        s = act.samples
        ts = s["timestamp"].dt.epoch("us").to_numpy() / 1e6
        w = np.concatenate(([0.0], np.clip(np.diff(ts), 0.0, 10.0)))
        v = s["speed_mps"].fill_null(0.0).to_numpy()
        moving = float(w[v >= 0.5].sum())
        cadence = bool((s["cadence_spm"].fill_null(0.0) > 0).any())
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
        activity_id=act.activity_id,
        is_running=act.sport.is_running,
        sport=act.sport.value,
        moving_s=moving,
        has_cadence=cadence,
    )


def overlap_s(a: RunKey, b: RunKey) -> float:
    return min(a.end, b.end) - max(a.start, b.start)


def overlap_share(a: RunKey, b: RunKey) -> float:
    """Overlap as a share of the shorter span (0 when either has no span)."""
    shorter = min(a.span, b.span)
    if shorter <= 0:
        return 0.0
    return max(overlap_s(a, b), 0.0) / shorter


def _fmt_duration(seconds: float) -> str:
    h, m = divmod(round(seconds / 60.0), 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


def left_running(k: RunKey) -> str | None:
    """Why ``k`` looks like a recording left running, or ``None``."""
    if not k.is_running or k.confirmed or k.span <= LEFT_RUNNING_MIN_S:
        return None
    speed = (k.distance_m or 0.0) / k.span
    if speed >= LEFT_RUNNING_MAX_MPS:
        return None
    moving = k.moving_s if k.n_samples > MANUAL_MAX_SAMPLES else None
    if moving is not None and moving >= LEFT_RUNNING_MAX_MOVING_SHARE * k.span:
        return None  # a slow ultra moves most of the time
    return f"{_fmt_duration(k.span)} at {speed:.1f} m/s: looks like a recording left running"


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@record
class Overrides:
    """The journal's pair corrections, as activity-id pairs (order within a pair is free)."""

    same: set[tuple[str, str]] = field(default_factory=set)
    different: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(
        cls,
        same_as: Iterable[tuple[str, str]] = (),
        not_same_as: Iterable[tuple[str, str]] = (),
    ) -> Overrides:
        return cls({_pair(*p) for p in same_as}, {_pair(*p) for p in not_same_as})


def linkable(a: RunKey, b: RunKey, ov: Overrides) -> bool:
    """Whether ``a`` and ``b`` are one outing (symmetric); no message is built, so the
    sweep can ask it millions of times."""
    if ov.same or ov.different:
        pair = _pair(a.activity_id, b.activity_id)
        if a.activity_id and pair in ov.same:
            return True
        if a.activity_id and pair in ov.different:
            return False
    if a.source == b.source or a.manual != b.manual:
        return False
    return overlap_s(a, b) > 0 and overlap_share(a, b) >= MIN_OVERLAP_SHARE


def linked(a: RunKey, b: RunKey, ov: Overrides) -> str | None:
    """Why ``a`` and ``b`` are one outing (symmetric), or ``None``."""
    if not linkable(a, b, ov):
        return None
    if a.activity_id and _pair(a.activity_id, b.activity_id) in ov.same:
        return "marked as the same outing in the journal"
    share = overlap_share(a, b)
    dt = abs(a.start - b.start)
    how = (
        "one recording lies within the other"
        if share >= CONTAINED_SHARE
        else f"spans overlap {share:.0%} of the shorter"
    )
    dist = ""
    if a.has_distance and b.has_distance:
        dist = f", {a.distance_m / 1000:.2f} and {b.distance_m / 1000:.2f} km"  # type: ignore[operator]
    return f"starts {dt:.0f} s apart and {how}{dist}"


def duplicate_of(member: RunKey, kept: RunKey, ov: Overrides) -> str | None:
    """Why ``member`` is a duplicate of the already kept ``kept``, or ``None``."""
    why = linked(member, kept, ov)
    if why is None:
        return None
    if _pair(member.activity_id, kept.activity_id) in ov.same:
        return why
    if member.is_running and not kept.is_running:
        return None  # a run is never dropped in favour of another sport
    if kept.is_running and not member.is_running:
        covered = max(overlap_s(member, kept), 0.0) / member.span if member.span else 0.0
        if covered < MIN_OVERLAP_SHARE:
            return None  # a longer walk or session that contains the run: both count
        what = "no distance" if not member.has_distance else member.sport
        return f"{why}; a {what} recording of the same run"
    return why


@record
class Resolution:
    """What deduplication decided, per key token."""

    kept: list[RunKey]
    dropped: dict[int, tuple[int, str]] = field(default_factory=dict)
    """token -> (token of the kept record, reason)."""
    set_aside: dict[int, str] = field(default_factory=dict)
    """token -> why it looks like a recording left running (dropped or, alone, kept)."""
    warnings: list[Problem] = field(default_factory=list)


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _clusters(keys: list[RunKey], ov: Overrides) -> tuple[list[list[int]], set[int]]:
    """Connected groups of linked keys (indices into ``keys``) and the self-overlapping ones.

    One sort by start, then a sweep holding the recordings still running at each start,
    grouped by file. A recording is compared with at most :data:`MAX_CANDIDATES`
    overlapping recordings of *other* files, and with at most :data:`CROWD_PROBES` of its
    own file (only to notice a file whose sessions pile up on one moment): the two budgets
    are separate, so 60,000 sessions of one file starting at the same second neither cost
    60,000² comparisons nor hide the real run of another file behind them.
    """
    n = len(keys)
    order = sorted(range(n), key=lambda i: (keys[i].start, keys[i].end, keys[i].ident))
    uf = _Union(n)
    active: dict[str, dict[int, None]] = {}
    ends: list[tuple[float, int]] = []
    crowded: set[int] = set()
    for i in order:
        k = keys[i]
        while ends and ends[0][0] <= k.start:
            _, j = heapq.heappop(ends)
            group = active.get(keys[j].source)
            if group is not None:
                group.pop(j, None)
                if not group:
                    del active[keys[j].source]
        own = active.get(k.source)
        if own and k.span > 0:
            for j in islice(own, CROWD_PROBES):
                if overlap_share(k, keys[j]) >= MIN_OVERLAP_SHARE:
                    crowded.update((i, j))
                    break
        checked = 0
        for source, group in active.items():
            if source == k.source:
                continue
            for j in islice(group, MAX_CANDIDATES - checked):
                checked += 1
                if uf.find(i) != uf.find(j) and linkable(k, keys[j], ov):
                    uf.union(i, j)
            if checked >= MAX_CANDIDATES:
                break
        active.setdefault(k.source, {})[i] = None
        heapq.heappush(ends, (k.end, i))
    # Forced links between recordings that do not overlap at all.
    if ov.same:
        by_id = {k.activity_id: i for i, k in enumerate(keys) if k.activity_id}
        for a, b in ov.same:
            if a in by_id and b in by_id:
                uf.union(by_id[a], by_id[b])
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(uf.find(i), []).append(i)
    return list(groups.values()), crowded


def _rank(members: list[RunKey], crowded: set[int], suspect: set[int]) -> list[RunKey]:
    """Cluster members, most credible first (see the module docstring, 3a–f)."""
    pool = [m for m in members if m.is_running and m.has_distance] or [
        m for m in members if m.has_distance
    ]
    longest = max((m.distance_m or 0.0 for m in pool), default=0.0)

    def key(m: RunKey) -> tuple[object, ...]:
        d = m.distance_m or 0.0
        near = longest > 0 and d >= (1.0 - DISTANCE_TIE) * longest
        return (
            m.token in suspect,
            not m.is_running,
            not m.has_distance,
            m.token in crowded,
            not near,
            -d if not near else 0.0,
            tuple(-x for x in m.richness),
            -d,
            -m.n_samples,
            m.ident,
        )

    return sorted(members, key=key)


def _kept_because(kept: RunKey, dropped: RunKey, crowded: set[int], suspect: set[int]) -> str:
    """The first ranking criterion (3a–f) that put ``kept`` before ``dropped``."""
    fmt = kept.format.upper()
    if dropped.token in suspect:
        return f"the {fmt} record (the other looks left running)"
    if kept.is_running and not dropped.is_running:
        return "the run"
    if kept.has_distance and not dropped.has_distance:
        return "the record with distance"
    if dropped.token in crowded and kept.token not in crowded:
        return f"the {fmt} record (the other file piles sessions on one moment)"
    kd, dd = kept.distance_m or 0.0, dropped.distance_m or 0.0
    if kd > 0 and dd < (1.0 - DISTANCE_TIE) * kd:
        return f"the {fmt} record with the larger distance"
    if kept.richness > dropped.richness:
        return f"the richer {fmt} record"
    if kd > dd:
        return f"the {fmt} record with the larger distance"
    return f"the {fmt} record"


def resolve(
    keys: Iterable[RunKey],
    same_as: Iterable[tuple[str, str]] = (),
    not_same_as: Iterable[tuple[str, str]] = (),
) -> Resolution:
    """Decide which recordings are kept and which are dropped as duplicates (and of what)."""
    ov = Overrides.of(same_as, not_same_as)
    candidates = list(keys)
    res = Resolution(kept=[])
    for k in candidates:
        why = left_running(k)
        if why is not None:
            res.set_aside[k.token] = why
    groups, crowded_idx = _clusters(candidates, ov)
    crowded = {candidates[i].token for i in crowded_idx}
    suspect = set(res.set_aside)
    for group in groups:
        members = [candidates[i] for i in group]
        if len(members) == 1:
            res.kept.extend(members)
            continue
        kept_here: dict[str, list[RunKey]] = {}
        for m in _rank(members, crowded, suspect):
            match = None
            checked = 0
            for source, ks in kept_here.items():
                if source == m.source and not ov.same:
                    continue
                for k in ks:
                    checked += 1
                    why = duplicate_of(m, k, ov)
                    if why:
                        match = (k, why)
                        break
                    if checked >= MAX_CANDIDATES:
                        break
                if match or checked >= MAX_CANDIDATES:
                    break
            if match is None:
                kept_here.setdefault(m.source, []).append(m)
                res.kept.append(m)
                continue
            k, why = match
            res.dropped[m.token] = (k.token, why)
            if m.token in suspect:
                message = (
                    f"{res.set_aside[m.token]}: not counted, duplicate of {k.source} ({why}); "
                    f"the run is counted from {k.source}"
                )
            else:
                message = (
                    f"duplicate of {k.source} ({why}): counted once, "
                    f"kept {_kept_because(k, m, crowded, suspect)}"
                )
            res.warnings.append(Problem(m.source, message, "warning"))
    # Manual entries overlapping a recording land in different clusters: say so.
    _warn_manual_overlaps(candidates, res, ov)
    by_token = {k.token: k for k in candidates}
    for token, why in res.set_aside.items():
        if token in res.dropped:
            continue
        k = by_token[token]
        res.warnings.append(
            Problem(
                k.source,
                f"{why}: counted, as no other recording covers it (if it was not a run: "
                f"kneeflags correct {k.activity_id} --exclude)",
                "warning",
            )
        )
    res.kept.sort(key=lambda k: (k.start, k.ident))
    return res


def _manual_warning(manual: RunKey, recorded: RunKey) -> Problem:
    return Problem(
        manual.source,
        f"manual entry overlaps the recording {recorded.source}: both counted as separate "
        f"activities (if they were one outing: kneeflags correct {manual.activity_id} "
        f"--same-as {recorded.activity_id})",
        "warning",
    )


def _warn_manual_overlaps(candidates: list[RunKey], res: Resolution, ov: Overrides) -> None:
    """One warning per manual entry that overlaps a kept recording of another file."""
    manual = sorted((k for k in candidates if k.manual and k.span > 0), key=lambda k: k.start)
    if not manual:
        return
    dropped = set(res.dropped)
    recorded = sorted(
        (k for k in candidates if not k.manual and k.token not in dropped), key=lambda k: k.start
    )
    starts = [k.start for k in recorded]
    longest = max((k.span for k in recorded), default=0.0)
    seen: set[int] = set()
    for m in manual:
        if m.token in dropped or m.token in seen:
            continue
        lo = bisect.bisect_left(starts, m.start - longest)
        hi = bisect.bisect_left(starts, m.end)
        # Latest starts first: the recordings most likely still running at m's start.
        for idx in range(hi - 1, max(lo, hi - MAX_CANDIDATES) - 1, -1):
            r = recorded[idx]
            if r.source == m.source or overlap_s(m, r) <= 0:
                continue
            pair = _pair(m.activity_id, r.activity_id)
            if pair in ov.same or pair in ov.different:
                continue
            res.warnings.append(_manual_warning(m, r))
            seen.add(m.token)
            break


def dedupe_keys(
    keys: Iterable[RunKey],
    same_as: Iterable[tuple[str, str]] = (),
    not_same_as: Iterable[tuple[str, str]] = (),
) -> tuple[list[RunKey], list[Problem]]:
    """Keep one key per outing; warnings name the dropped (or set aside) and kept files."""
    res = resolve(keys, same_as, not_same_as)
    return res.kept, res.warnings


def dedupe(
    activities: Iterable[Activity],
    same_as: Iterable[tuple[str, str]] = (),
    not_same_as: Iterable[tuple[str, str]] = (),
) -> tuple[list[Activity], list[Problem]]:
    """Keep one activity per outing; return (kept, warnings about the dropped ones)."""
    acts = list(activities)
    kept, warnings = dedupe_keys((run_key(a, i) for i, a in enumerate(acts)), same_as, not_same_as)
    return [acts[k.token] for k in kept], warnings
