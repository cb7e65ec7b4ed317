"""Generated knee-journal fixtures: entries and runs built day by day for exact expectations.

A :class:`Story` is one athlete's episode written as it happens: ``run`` adds a run (from
the files) on a day, ``ok``/``pain``/``check`` add journal entries. Days are offsets from
:data:`START` (a Monday), so expectations read as "day 14".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from kneeflags.journal.episodes import Episode, derive_episodes
from kneeflags.journal.symptoms import SymptomEntry
from kneeflags.plan.protocol import RunRef

START = date(2026, 1, 5)
"""Day 0 of every story (a Monday)."""


def day(n: int) -> date:
    return START + timedelta(days=n)


@dataclass
class Story:
    athlete: str = "alex"
    entries: list[SymptomEntry] = field(default_factory=list)
    runs: list[RunRef] = field(default_factory=list)

    def run(
        self,
        n: int,
        km: float,
        *,
        downhill: float | None = 0.0,
        speed: bool | None = False,
        minutes: float | None = None,
        hour: int = 7,
    ) -> Story:
        d = day(n)
        self.runs.append(
            RunRef(
                activity_id=f"run-{n:+04d}-{hour:02d}",
                local_date=d,
                local_start=datetime.combine(d, time(hour)),
                distance_km=km,
                duration_s=(minutes * 60.0) if minutes else km * 360.0,
                downhill_km=downhill,
                speed_work=speed,
                speed_work_reason="5 fast segments well above the median pace" if speed else None,
            )
        )
        return self

    def history(self, weeks: int = 4, per_week: tuple[float, ...] = (8.0, 10.0, 12.0)) -> Story:
        """Ordinary running in the ``weeks`` before day 0 (the pre-episode baseline)."""
        for w in range(weeks, 0, -1):
            for i, km in enumerate(per_week):
                self.run(-7 * w + 2 * i, km)
        return self

    def pain(self, n: int, site: str = "outer", **scores: object) -> Story:
        self.entries.append(
            SymptomEntry(self.athlete, "pain", day(n), site=site, side="left", **scores)  # type: ignore[arg-type]
        )
        return self

    def ok(self, n: int) -> Story:
        self.entries.append(SymptomEntry(self.athlete, "ok", day(n)))
        return self

    def check(self, n: int, condition: str = "ITBS", failed: tuple[str, ...] = ()) -> Story:
        self.entries.append(
            SymptomEntry(self.athlete, "check", day(n), condition=condition, failed=failed)
        )
        return self

    def ok_runs(self, days: range, km: float | list[float], **kw: object) -> Story:
        for i, n in enumerate(days):
            self.run(n, km[i] if isinstance(km, list) else km, **kw)  # type: ignore[arg-type]
            self.ok(n)
        return self

    def episodes(self, as_of: int) -> list[Episode]:
        return derive_episodes(self.entries, self.runs, as_of=day(as_of))

    def episode(self, as_of: int) -> Episode:
        eps = self.episodes(as_of)
        assert len(eps) == 1, eps
        return eps[0]


def itbs_story() -> Story:
    """Outer-knee pain at 8 km on day 0 (onset logged), criteria passed on day 3."""
    return Story().history().pain(0, during=6, after=4, next_morning=3, onset_km=8.0).check(3)


def pfps_story() -> Story:
    """Front-knee pain on day 0 after 4 weeks of 30 km (longest 12 km)."""
    return Story().history().pain(0, site="front", during=4, after=3, next_morning=2)
