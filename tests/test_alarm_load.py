"""Alarm load: how often the report cries wolf (issue 12).

A flag that fires most weeks is ignored, and then it protects nobody. These tests measure,
per history, the share of running weeks with a ``high`` flag and with a ``watch`` flag
(weekly flags only: athlete-level habit lines are said once per report) and the rules
behind them. The corpus figures are printed in pytest's terminal summary ("alarm load")
and quoted in README; consistent synthetic training must stay almost silent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from synth import make_run, make_strength

from kneeflags.analysis import analyze
from kneeflags.findings import SEVERITY_RANK, Analysis
from kneeflags.pipeline import run_pipeline

ALARM_LOAD_LINES: list[str] = []
"""Filled by the tests, printed by ``conftest.pytest_terminal_summary``."""


@dataclass
class AlarmLoad:
    running_weeks: int
    high_weeks: int
    watch_weeks: int
    by_rule: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def high_share(self) -> float:
        return self.high_weeks / self.running_weeks

    @property
    def watch_share(self) -> float:
        return self.watch_weeks / self.running_weeks

    def line(self, name: str) -> str:
        rules = ", ".join(
            f"{rule} {c['high']} high/{c['watch']} watch"
            for rule, c in sorted(self.by_rule.items())
        )
        return (
            f"{name}: {self.running_weeks} running weeks, {self.high_share:.0%} with a high flag, "
            f"{self.watch_share:.0%} with a watch flag (and no high); weeks per rule: {rules}"
        )


def alarm_load(analysis: Analysis) -> AlarmLoad:
    """Weekly flags only, each running week counted once at its highest severity."""
    running = set(analysis.weekly.filter(pl.col("runs") > 0)["week_start"].to_list())
    worst: dict[date, int] = {}
    by_rule: dict[str, dict[date, str]] = {}
    for f in analysis.flags:
        if f.week_start is None or f.week_start not in running:
            continue
        worst[f.week_start] = max(worst.get(f.week_start, 0), SEVERITY_RANK[f.severity])
        weeks = by_rule.setdefault(f.rule, {})
        if SEVERITY_RANK[f.severity] > SEVERITY_RANK.get(weeks.get(f.week_start, ""), 0):
            weeks[f.week_start] = f.severity
    return AlarmLoad(
        running_weeks=len(running),
        high_weeks=sum(1 for v in worst.values() if v == 2),
        watch_weeks=sum(1 for v in worst.values() if v == 1),
        by_rule={rule: Counter(weeks.values()) for rule, weeks in by_rule.items()},
    )


def consistent_training(weeks: int = 104, cadence_spm: float = 172.0) -> list:
    """Two years of sensible training: a 3-up-1-down cycle growing ~1 % a week to a 55 km
    plateau, three runs a week (the long one 40 %), 172 spm, two gym sessions a week,
    a few percent of day-to-day noise."""
    acts = []
    monday = datetime(2024, 1, 1)
    base = 25.0
    for w in range(weeks):
        base = min(base * 1.01, 55.0)
        week_km = base * (1.0, 1.05, 1.10, 0.8)[w % 4] * (1.0 + 0.03 * ((w * 7) % 5 - 2) / 2)
        for i, (day, share) in enumerate(((1, 0.3), (3, 0.3), (6, 0.4))):
            start = monday + timedelta(weeks=w, days=day, hours=7)
            acts.append(
                make_run(start, km=week_km * share, cadence_spm=cadence_spm, uid=f"w{w}r{i}")
            )
        for day in (2, 4):
            acts.append(
                make_strength(monday + timedelta(weeks=w, days=day, hours=18), uid=f"g{w}{day}")
            )
    return acts


def test_consistent_training_is_almost_never_flagged() -> None:
    load = alarm_load(analyze(consistent_training()))
    ALARM_LOAD_LINES.append(load.line("synthetic consistent training (104 weeks)"))
    assert load.running_weeks == 104
    assert load.high_weeks == 0, load.line("consistent")
    assert load.watch_share <= 0.05, load.line("consistent")


def test_habits_are_one_line_not_a_flag_every_week() -> None:
    # the same sensible runner at a usual 164 spm: one athlete-level line, no weekly flag
    acts = consistent_training(26, cadence_spm=164.0)
    an = analyze(acts)
    cadence = [f for f in an.flags if f.rule == "low-cadence"]
    assert [(f.severity, f.week_start) for f in cadence] == [("watch", None)]
    assert alarm_load(an).watch_weeks == 0


CORPUS_HISTORIES = (
    # (name, folder under the corpus, the runner's zone for files without an offset)
    ("x3cl (Garmin FIT, 2016-17)", "x3cl-running_page/history-2016-01_2017-04", "Asia/Shanghai"),
    ("runpandas NRC (phone GPX, 2020-21)", "runpandas/session-nrc-gpx", "America/Recife"),
)


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "folder", "tz"), CORPUS_HISTORIES, ids=["x3cl", "nrc"])
def test_alarm_load_on_the_corpus_histories(
    corpus_dir: Path, tmp_path: Path, name: str, folder: str, tz: str
) -> None:
    result = run_pipeline([corpus_dir / folder], tz=tz, cache_dir=tmp_path, workers=1)
    load = alarm_load(result.analysis)
    ALARM_LOAD_LINES.append(load.line(name))
    # a habit is said once per report: no weekly low-cadence watch, no weekly strength line
    assert "watch" not in load.by_rule.get("low-cadence", Counter())
    assert "strength-gap" not in load.by_rule
    # no single rule may fire in most running weeks
    for rule, counts in load.by_rule.items():
        assert sum(counts.values()) <= load.running_weeks / 2, (rule, load.line(name))
