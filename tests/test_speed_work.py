"""Speed work read from the files (issue 14, ``rtr-speed-work``): FIT lap intensity, laps
marked by hand, else the pace structure, grade-adjusted so hills are not intervals.

Before this, nothing computed ``speed_work``: the rule only fired in tests that set it by
hand, so an interval session during a return was never flagged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from kneeflags import load
from kneeflags.cli import app
from kneeflags.config import MetricsConfig
from kneeflags.metrics.speed_work import detect_speed_work
from kneeflags.metrics.summary import summarize
from kneeflags.model import Activity, Lap, Provenance, SourceRef, Sport, conform_samples
from kneeflags.parsers.fit_decoded import FIT_EPOCH_UNIX
from kneeflags.testing.fitwriter import write_activity

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def _speeds(blocks: list[tuple[int, float]]) -> np.ndarray:
    """Per-second speeds from (seconds, m/s) blocks."""
    return np.concatenate([np.full(n, v) for n, v in blocks])


def interval_blocks(reps: int = 5) -> list[tuple[int, float]]:
    """10 min warm-up, ``reps`` × (90 s fast, 2 min jog), 10 min cool-down."""
    out = [(600, 2.8)]
    for _ in range(reps):
        out += [(90, 4.3), (120, 2.6)]
    return [*out, (600, 2.8)]


def fit_records(speed: np.ndarray, start: datetime = START) -> dict[str, np.ndarray]:
    """FIT record columns (1 Hz, flat, running cadence) for per-second ``speed``."""
    t0 = int(start.timestamp()) - FIT_EPOCH_UNIX
    dist = np.round(np.concatenate(([0.0], np.cumsum(speed[1:]))), 2)
    return {
        "timestamp": (t0 + np.arange(speed.size)).astype(np.int64),
        "distance": dist,
        "enhanced_speed": np.round(speed, 3),
        "enhanced_altitude": np.full(speed.size, 100.0),
        "cadence": np.full(speed.size, 85.0),
    }


def lap_starts(blocks: list[tuple[int, float]]) -> list[int]:
    return [int(x) for x in np.concatenate(([0], np.cumsum([n for n, _ in blocks])[:-1]))]


def loaded(tmp_path: Path, data: bytes, name: str = "run.fit") -> Activity:
    (tmp_path / name).write_bytes(data)
    result = load([tmp_path / name])
    assert not result.errors and len(result.activities) == 1
    return result.activities[0]


def test_fit_structured_workout_is_read_from_lap_intensity(tmp_path: Path) -> None:
    blocks = interval_blocks(4)
    kinds = ["warmup"] + ["active", "rest"] * 4 + ["cooldown"]
    data = write_activity(
        fit_records(_speeds(blocks)),
        lap_starts=lap_starts(blocks),
        lap_fields=[{"intensity": k, "lap_trigger": "time"} for k in kinds],
    )
    act = loaded(tmp_path, data)
    assert [lap.intensity for lap in act.laps] == kinds
    row = summarize(act).row
    assert row["speed_work"] is True
    assert row["speed_work_reason"] == "4 fast laps between recovery laps (FIT lap intensity)"


def test_easy_run_with_auto_laps_is_not_speed_work(tmp_path: Path) -> None:
    # 1 km auto-laps, all "active", at an easy pace with a little wobble
    rng = np.random.default_rng(3)
    speed = 2.9 + 0.1 * np.sin(np.arange(3600) / 300.0) + rng.normal(0, 0.05, 3600)
    data = write_activity(
        fit_records(speed),
        laps=10,
        lap_fields=[{"intensity": "active", "lap_trigger": "distance"}] * 10,
    )
    row = summarize(loaded(tmp_path, data)).row
    assert row["speed_work"] is False and row["speed_work_reason"] is None


def test_every_lap_interval_without_recoveries_is_not_speed_work(tmp_path: Path) -> None:
    # some watches label every lap of a steady run "interval": no alternation, no repeats
    speed = np.full(2400, 2.9)
    data = write_activity(fit_records(speed), laps=8, lap_fields=[{"intensity": 5}] * 8)
    act = loaded(tmp_path, data)
    assert {lap.intensity for lap in act.laps} == {"interval"}
    assert summarize(act).row["speed_work"] is False


def test_laps_marked_by_hand_much_faster_than_the_median_lap(tmp_path: Path) -> None:
    # the runner pressed lap at each repeat; the intensity field is absent
    blocks = [(600, 2.8), *[(b, v) for _ in range(4) for b, v in ((120, 4.0), (180, 2.7))]]
    blocks.append((600, 2.8))
    data = write_activity(fit_records(_speeds(blocks)), lap_starts=lap_starts(blocks))
    act = loaded(tmp_path, data)
    assert [lap.intensity for lap in act.laps] == [None] * len(blocks)
    assert act.laps[0].trigger == "manual"
    row = summarize(act).row
    assert row["speed_work"] is True
    # 9 manual laps (the last one ends the session), median lap 2.8 m/s, repeats 4.0 m/s
    assert row["speed_work_reason"] == (
        "4 fast laps of 9 laps marked by hand, 44 % over the median lap (FIT lap triggers)"
    )


def synth(
    speed: np.ndarray, altitude: Callable[[np.ndarray], np.ndarray] | None = None
) -> Activity:
    """A run with per-second ``speed`` (and altitude as a function of distance)."""
    t = np.arange(speed.size, dtype=np.float64)
    dist = np.concatenate(([0.0], np.cumsum(speed[1:])))
    alt = altitude(dist) if altitude else np.full(t.size, np.nan)
    base = int(START.timestamp() * 1e6)
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series((base + t * 1e6).astype(np.int64)).cast(
                pl.Datetime("us", "UTC")
            ),
            "elapsed_s": t,
            "distance_m": dist,
            "altitude_m": alt,
            "speed_mps": speed,
            "cadence_spm": np.full(t.size, 170.0),
        }
    ).with_columns(pl.col("altitude_m").fill_nan(None))
    return Activity(
        source=SourceRef("synthetic/run.gpx"),
        sha256="ab" * 32,
        format="gpx",
        sport=Sport.RUNNING,
        start_utc=START,
        samples=conform_samples(frame),
        utc_offset_s=0,
        distance_m=float(dist[-1]),
        timer_s=float(t[-1]),
        elapsed_s=float(t[-1]),
        provenance=Provenance(elevation_source="gps" if altitude else "none"),
    )


def test_pace_structure_without_laps_finds_the_repeats() -> None:
    row = summarize(synth(_speeds(interval_blocks(5)), lambda d: 100.0 + 0 * d)).row
    assert row["speed_work"] is True
    assert row["speed_work_reason"].startswith("5 fast segments of 30 s or more")
    assert row["speed_work_reason"].endswith("over the run's median grade-adjusted pace")


def _hilly_steady_effort() -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Rolling hills (±25 m over 800 m, up to ~20 % grade) run at an even effort: the
    runner is much faster on every descent and slower on every climb."""

    def alt(d: np.ndarray) -> np.ndarray:
        return 200.0 + 25.0 * np.sin(2 * np.pi * d / 800.0)

    speed, d = [], 0.0
    for _ in range(3600):
        grade = 25.0 * 2 * np.pi / 800.0 * np.cos(2 * np.pi * d / 800.0) * 100.0
        v = 2.9 * (1.0 - 0.025 * grade)  # +~45 % on the steepest descents
        speed.append(v)
        d += v
    return np.asarray(speed), alt


def test_hills_at_an_even_effort_are_not_intervals() -> None:
    speed, alt = _hilly_steady_effort()
    row = summarize(synth(speed, alt)).row
    assert row["speed_work"] is False, row["speed_work_reason"]
    # the same speeds without an elevation profile would read as repeats: the grade is
    # what keeps the hills from being taken for intervals
    flat_row = summarize(synth(speed)).row
    assert flat_row["speed_work"] is True
    assert "not grade-adjusted" in flat_row["speed_work_reason"]


@pytest.mark.parametrize(
    "blocks",
    [
        [(1800, 2.8), (300, 4.0), (300, 2.8)],  # one tempo finish: not repeated
        [(240, 2.8), (60, 1.5)] * 10,  # run-walk 4:1: the walks are not recoveries
        [(600, 2.8), *[(b, v) for _ in range(6) for b, v in ((15, 5.0), (60, 2.7))]],  # strides
        [*[(b, v) for _ in range(3) for b, v in ((1200, 2.7), (60, 4.0))], (600, 2.7)],  # far apart
    ],
    ids=["tempo-finish", "run-walk", "strides", "surges-far-apart"],
)
def test_what_is_not_a_block_of_repeats(blocks: list[tuple[int, float]]) -> None:
    row = summarize(synth(_speeds(blocks), lambda d: 100.0 + 0 * d)).row
    assert row["speed_work"] is False, row["speed_work_reason"]


def test_nothing_to_judge_is_unknown_not_false() -> None:
    cfg = MetricsConfig()
    assert detect_speed_work(np.zeros(0), np.zeros(0), None, (), cfg) == (None, None)
    lap = Lap(0.0, 600.0, 1700.0, "active", "manual")
    assert detect_speed_work(np.zeros(0), np.zeros(0), None, (lap,), cfg) == (False, None)


def test_interval_session_during_a_return_is_flagged(tmp_path: Path) -> None:
    """End to end: a PFPS episode, then a structured FIT interval session 9 days later."""
    runs = tmp_path / "runs"
    runs.mkdir()
    first = datetime(2026, 2, 2, 7, 0, tzinfo=UTC)
    for k in range(4):  # easy weeks before the episode, then easy runs in it
        day = first + timedelta(days=3 * k)
        (runs / f"easy{k}.fit").write_bytes(write_activity(fit_records(np.full(1800, 2.8), day)))
    blocks = interval_blocks(4)
    kinds = ["warmup"] + ["active", "rest"] * 4 + ["cooldown"]
    day = datetime(2026, 2, 19, 7, 0, tzinfo=UTC)
    (runs / "intervals.fit").write_bytes(
        write_activity(
            fit_records(_speeds(blocks), day),
            lap_starts=lap_starts(blocks),
            lap_fields=[{"intensity": k} for k in kinds],
        )
    )
    journal = tmp_path / "j.sqlite"
    env = {"KNEEFLAGS_JOURNAL": str(journal)}
    cli = CliRunner()
    args = ["log", "pain", "--athlete", "runs", "--site", "front", "--during", "3"]
    assert cli.invoke(app, [*args, "--date", "2026-02-10"], env=env).exit_code == 0
    r = cli.invoke(
        app,
        ["analyze", str(runs), "-f", "json", "--no-cache", "-q", "--until", "2026-02-22"],
        env=env,
    )
    assert r.exit_code in (0, 3), r.stderr
    doc = json.loads(r.stdout)["athletes"][0]
    flags = [f for f in doc["flags"] if f["rule"] == "rtr-speed-work"]
    assert len(flags) == 1
    flag = flags[0]
    assert flag["severity"] == "high" and flag["week_start"] == "2026-02-16"
    assert flag["evidence"].startswith(
        "Run on Thu 19 Feb 2026: 4 fast laps between recovery laps (FIT lap intensity), "
        "in the PFPS reduced and flat phase"
    )
    assert flag["activity"] and "19 Feb" in flag["activity_label"]
    # the easy runs of the episode are not speed work
    assert doc["plan"]["speed_work_allowed"] is False


def test_corpus_histories_hold_few_speed_sessions() -> None:
    """The x3cl (mountain, ultra) and NRC histories: hills and long trail runs must not
    read as intervals. Before the grade adjustment and the block rule, 30 of 162 x3cl runs
    did; the few left are GPS or altitude glitches (a 90 m/min climb, 6 m/s minutes)."""
    cfg = MetricsConfig()
    for folder, most in (
        ("x3cl-running_page/history-2016-01_2017-04", 2),
        ("runpandas/session-nrc-gpx", 2),
    ):
        path = CORPUS / folder
        if not path.is_dir():
            pytest.skip("corpus not available")
        runs = [a for a in load([path]).activities if a.sport.is_running]
        found = [summarize(a).row["speed_work"] for a in runs]
        assert sum(bool(x) for x in found) <= most, folder
        assert cfg.speed_fast_pct == 30.0


def test_a_corrupt_time_span_is_not_read_for_pace() -> None:
    """A damaged time stamp can make a run span years: the 1 s grid must not be built."""
    import time

    t = np.array([0.0, 60.0, 120.0, 10 * 365 * 86400.0])
    d = np.array([0.0, 170.0, 340.0, 500.0])
    began = time.perf_counter()
    assert detect_speed_work(t, d, None, (), MetricsConfig()) == (False, None)
    assert time.perf_counter() - began < 1.0


def test_laps_go_to_their_own_session_by_start_time() -> None:
    """Multisport or chained sessions: each takes the laps starting between its start and
    the next session's; unplaceable laps (no absolute start) are left out."""
    from kneeflags.parsers.fit_build import _placed_laps, _session_laps

    base = int(START.timestamp()) - FIT_EPOCH_UNIX
    laps = [
        {"start_time": base + 600, "total_timer_time": 300.0, "intensity": "rest"},
        {"start_time": base, "total_timer_time": 600.0, "intensity": "active"},
        {"start_time": base + 3600, "total_timer_time": 900.0, "intensity": "active"},
        {"start_time": 12, "total_timer_time": 60.0},  # device-relative: cannot be placed
    ]
    placed = _placed_laps(laps)
    starts = [base, base + 3600]
    first = _session_laps(placed, START, starts, 0)
    second = _session_laps(placed, START + timedelta(hours=1), starts, 1)
    assert [(lap.start_s, lap.intensity) for lap in first] == [(0.0, "active"), (600.0, "rest")]
    assert [(lap.start_s, lap.elapsed_s) for lap in second] == [(0.0, 900.0)]
    assert _session_laps(placed, START, [None, base + 3600], 0) == ()


@pytest.mark.parametrize("gap_at", [None, 900, 1400])
def test_one_hertz_shortcut_gives_the_interpolated_result(
    gap_at: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pause-free 1 Hz run skips the interpolation onto the 1 s grid (it would return the
    samples themselves): the verdict and its reason, digits included, are those of the
    general path. A run with a pause (a 40 s gap) takes the general path either way."""
    import kneeflags.metrics.speed_work as sw

    speed = _speeds(interval_blocks(5))
    t = np.arange(speed.size, dtype=np.float64)
    if gap_at is not None:
        t[gap_at:] += 40.0
    dist = np.concatenate(([0.0], np.cumsum(speed[1:])))
    rng = np.random.default_rng(3)
    grade = np.where(rng.random(t.size) < 0.05, np.nan, rng.normal(0.0, 0.5, t.size))
    cfg = MetricsConfig()
    for g in (grade, None):
        fast = detect_speed_work(t, dist, g, [], cfg)
        # the general path: np.array_equal says no grid point is a sample
        monkeypatch.setattr(sw.np, "array_equal", lambda *a, **k: False)
        slow = detect_speed_work(t, dist, g, [], cfg)
        monkeypatch.undo()
        assert fast == slow
        assert fast[0] is True and fast[1] is not None
