"""Episodes: the symptom log grouped into spells of knee pain, each followed through the
guide's return-to-running protocol (:mod:`kneeflags.plan.protocol`).

* A pain entry at a site opens an episode for the matching condition (outer → ITBS,
  front → PFPS, other or no site → knee pain with the site unclear) unless one is open.
* Further entries update it: pain at the same site, pain-free (``ok``) entries (they apply
  to every open episode) and criteria checks for its condition.
* It closes when the protocol's final phase has been reached and held; a later pain entry
  at that site opens a new episode. Two sites give two episodes.

Derivation is deterministic and order-free: entries are grouped per (condition, day) with
max/any/union, runs are sorted by start time and id, so shuffling the entries (or
importing them in another order) gives the same episodes. Nothing after ``as_of`` is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import polars as pl

from kneeflags.journal.symptoms import SymptomEntry
from kneeflags.plan.protocol import (
    CONDITION_LABELS,
    DayLog,
    ProtocolConfig,
    RunRef,
    Trace,
    follow,
)
from kneeflags.records import record

CONDITION_ORDER: tuple[str, ...] = ("ITBS", "PFPS", "unclear")


@record(frozen=True)
class Episode:
    """One spell of knee pain and where the protocol stands in it."""

    athlete: str
    condition: str
    """``ITBS``, ``PFPS`` or ``unclear``."""
    side: str | None
    start: date
    entries: tuple[SymptomEntry, ...]
    trace: Trace

    @property
    def label(self) -> str:
        return CONDITION_LABELS[self.condition]

    @property
    def is_open(self) -> bool:
        return self.trace.closed_on is None

    @property
    def end(self) -> date | None:
        return self.trace.closed_on

    def summary_key(self) -> tuple[object, ...]:
        """What a report shows of the episode, for equality tests (order-free checks)."""
        t = self.trace
        return (
            self.condition,
            self.side,
            self.start,
            t.closed_on,
            t.phase,
            t.session_cap_km,
            t.week_cap_km,
            t.pain_free_streak,
            t.onset_km,
            tuple((c.day, c.phase) for c in t.changes),
            tuple((r.run.activity_id, r.phase, r.session_cap_km) for r in t.runs),
            tuple((w.week_start, w.cap_km, w.run_km) for w in t.weeks),
        )


def runs_from_activities(activities: pl.DataFrame) -> list[RunRef]:
    """The runs of a per-activity summary frame, as the protocol reads them."""
    if activities.height == 0:
        return []
    cols = activities.columns
    runs = activities.filter(pl.col("is_running")).sort("start_utc", "activity_id")
    speed = "speed_work" in cols
    reason = "speed_work_reason" in cols
    out = []
    for r in runs.iter_rows(named=True):
        out.append(
            RunRef(
                activity_id=r["activity_id"],
                local_date=r["local_date"],
                local_start=r["local_start"],
                distance_km=float(r["distance_km"] or 0.0),
                duration_s=r.get("duration_s"),
                downhill_km=r.get("downhill_km"),
                speed_work=r["speed_work"] if speed else None,
                speed_work_reason=r["speed_work_reason"] if reason else None,
            )
        )
    return out


def _day_logs(entries: Iterable[SymptomEntry], condition: str) -> dict[date, DayLog]:
    """Per day, what the entries say for ``condition`` (aggregated without order)."""
    acc: dict[date, dict[str, object]] = {}
    for e in entries:
        d = acc.setdefault(
            e.date,
            {
                "pain": False,
                "during": None,
                "after": None,
                "next_morning": None,
                "stopped": False,
                "onsets_km": [],
                "onsets_min": [],
                "ok": False,
                "checks": set(),
            },
        )
        if e.kind == "ok":
            d["ok"] = True
        elif e.kind == "check" and _check_condition(e) == condition:
            d["checks"].add(e.failed)  # type: ignore[attr-defined]
        elif e.kind == "pain" and e.condition_hint == condition:
            scores = [e.during, e.after, e.next_morning]
            if e.worst > 0 or all(s is None for s in scores):
                d["pain"] = True
            for k in ("during", "after", "next_morning"):
                v = getattr(e, k)
                if v is not None:
                    cur = d[k]
                    d[k] = v if cur is None else max(cur, v)  # type: ignore[call-overload]
            d["stopped"] = bool(d["stopped"]) or e.stopped
            if e.onset_km is not None:
                d["onsets_km"].append(e.onset_km)  # type: ignore[attr-defined]
            if e.onset_min is not None:
                d["onsets_min"].append(e.onset_min)  # type: ignore[attr-defined]
    return {
        day: DayLog(
            day=day,
            pain=bool(v["pain"]),
            during=v["during"] if v["pain"] else None,  # type: ignore[arg-type]
            after=v["after"] if v["pain"] else None,  # type: ignore[arg-type]
            next_morning=v["next_morning"] if v["pain"] else None,  # type: ignore[arg-type]
            stopped=bool(v["stopped"]),
            onsets_km=tuple(sorted(v["onsets_km"])),  # type: ignore[call-overload]
            onsets_min=tuple(sorted(v["onsets_min"])),  # type: ignore[call-overload]
            ok=bool(v["ok"]),
            checks_failed=tuple(sorted(v["checks"])),  # type: ignore[call-overload]
        )
        for day, v in acc.items()
    }


def _check_condition(e: SymptomEntry) -> str:
    return e.condition if e.condition in CONDITION_ORDER else "unclear"  # type: ignore[return-value]


def _side(entries: Iterable[SymptomEntry]) -> str | None:
    sides = {e.side for e in entries if e.kind == "pain" and e.side}
    if not sides:
        return None
    if "both" in sides or {"left", "right"} <= sides:
        return "both"
    return sides.pop()


def derive_episodes(
    entries: Sequence[SymptomEntry],
    runs: Sequence[RunRef] = (),
    *,
    as_of: date,
    config: ProtocolConfig | None = None,
    week_start_index: int = 0,
) -> list[Episode]:
    """All episodes of one athlete's ``entries`` up to ``as_of``, oldest first."""
    mine = sorted((e for e in entries if e.date <= as_of), key=lambda e: e.content_key)
    if not mine:
        return []
    athlete = mine[0].athlete
    runs = sorted(
        (r for r in runs if r.local_date <= as_of), key=lambda r: (r.local_start, r.activity_id)
    )
    episodes: list[Episode] = []
    for condition in CONDITION_ORDER:
        days = _day_logs(mine, condition)
        pain_days = sorted(d for d, log in days.items() if log.pain)
        cursor: date | None = pain_days[0] if pain_days else None
        while cursor is not None:
            trace = follow(
                condition, cursor, days, runs, as_of, config, week_start_index=week_start_index
            )
            end = trace.end
            members = tuple(
                e
                for e in mine
                if cursor <= e.date <= end
                and (
                    e.kind == "ok"
                    or (e.kind == "pain" and e.condition_hint == condition)
                    or (e.kind == "check" and _check_condition(e) == condition)
                )
            )
            episodes.append(
                Episode(
                    athlete=athlete,
                    condition=condition,
                    side=_side(members),
                    start=cursor,
                    entries=members,
                    trace=trace,
                )
            )
            if trace.closed_on is None:
                break
            later = [d for d in pain_days if d > trace.closed_on]
            cursor = later[0] if later else None
    episodes.sort(key=lambda ep: (ep.start, CONDITION_ORDER.index(ep.condition)))
    return episodes


def open_episodes(episodes: Iterable[Episode]) -> list[Episode]:
    return [e for e in episodes if e.is_open]
