"""The classification stage: unlabelled FIT sessions classed by what was done, tiny runs
are not runs, and every reclassification carries its provenance note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import kneeflags
from kneeflags.classify import classify, descent_m
from kneeflags.model import Activity, Provenance, SourceRef, Sport, conform_samples

START = datetime(2024, 3, 12, 18, 0, tzinfo=UTC)


def generic(
    speed: float,
    seconds: int,
    *,
    cadence: float | None = None,
    altitude: np.ndarray | None = None,
    jitter: float = 0.0,
    sport: Sport = Sport.OTHER,
    detail: str = "generic/generic",
    fmt: str = "fit",
) -> Activity:
    """A 1 Hz session at ``speed`` m/s; raw FIT cadence (strides/min) when given."""
    n = seconds + 1
    rng = np.random.default_rng(7)
    v = np.full(n, speed) + (rng.normal(0.0, jitter, n) if jitter else 0.0)
    frame = pl.DataFrame(
        {
            "timestamp": [START + timedelta(seconds=i) for i in range(n)],
            "elapsed_s": np.arange(n, dtype=float),
            "distance_m": np.cumsum(np.concatenate(([0.0], v[1:]))),
            "speed_mps": v,
            "cadence_spm": np.full(n, cadence) if cadence is not None else [None] * n,
            "altitude_m": altitude if altitude is not None else [None] * n,
        }
    )
    samples = conform_samples(frame)
    return Activity(
        source=SourceRef(f"/x/{detail.replace('/', '_')}-{speed}.fit"),
        sha256="ab" * 32,
        format=fmt,  # type: ignore[arg-type]
        sport=sport,
        start_utc=START,
        samples=samples,
        sport_detail=detail,
        distance_m=float(samples["distance_m"].max()),  # type: ignore[arg-type]
        elapsed_s=float(seconds),
        timer_s=float(seconds),
        provenance=Provenance(cadence_unit="none"),
    )


def test_generic_evening_session_at_running_pace_is_a_run() -> None:
    # x3cl's FR910XT case: 4.3 km at about 6:15 /km, no footpod.
    act = classify(generic(2.67, 1620))
    assert act.sport is Sport.RUNNING
    assert act.provenance.reclassified_from == "generic"
    assert "classed as running" in act.provenance.classification
    assert "6:15 /km" in act.provenance.classification
    assert act.provenance.classification in act.provenance.notes


def test_reclassified_fit_cadence_becomes_steps_per_minute() -> None:
    act = classify(generic(2.8, 1800, cadence=84.0))
    assert act.sport is Sport.RUNNING
    assert act.samples["cadence_spm"].median() == pytest.approx(168.0)
    assert act.provenance.cadence_unit == "strides"


def test_walking_cadence_is_not_a_run_even_at_jogging_speed() -> None:
    act = classify(generic(2.0, 1800, cadence=55.0))  # 110 spm: not running strides
    assert act.sport is not Sport.RUNNING


def test_multi_hour_mountain_outing_is_a_hike() -> None:
    seconds = 4 * 3600
    # up 800 m then down 800 m, with GPS jitter
    up = np.linspace(1000, 1800, seconds // 2 + 1)
    down = np.linspace(1800, 1000, seconds - seconds // 2)
    alt = np.concatenate((up, down)) + np.random.default_rng(1).normal(0, 0.5, seconds + 1)
    act = classify(generic(1.0, seconds, altitude=alt))
    assert act.sport is Sport.HIKING
    assert "m of descent" in act.provenance.classification
    assert descent_m(alt) == pytest.approx(800, abs=10)


def test_short_flat_walk_is_a_walk() -> None:
    act = classify(generic(1.3, 1800))
    assert act.sport is Sport.WALKING
    assert act.provenance.reclassified_from == "generic"


def test_fast_session_with_bike_descents_stays_unlabelled() -> None:
    act = classify(generic(5.0, 3600, jitter=2.5))  # p95 ≈ 9 m/s
    assert act.sport is Sport.OTHER
    assert act.provenance.reclassified_from is None


def test_labelled_sessions_are_left_alone() -> None:
    ride = generic(2.7, 1800, sport=Sport.CYCLING, detail="cycling/generic")
    assert classify(ride) is ride
    tcx_other = generic(2.7, 1800, detail="Other", fmt="tcx")  # XC skiing in the corpus
    assert classify(tcx_other) is tcx_other


def test_tiny_running_session_is_not_a_run() -> None:
    act = classify(generic(1.5, 3, sport=Sport.RUNNING, detail="running/generic"))
    assert act.sport is Sport.OTHER
    assert act.provenance.reclassified_from == "running"
    assert "too short to be a run" in act.provenance.classification
    real = generic(3.0, 1200, sport=Sport.RUNNING, detail="running/generic")
    assert classify(real) is real


def test_generic_fit_file_end_to_end(tmp_path: Path, make_fit) -> None:
    path = tmp_path / "generic.fit"
    path.write_bytes(
        make_fit(START, n=1500, speed=2.7, cadence=None, sessions=[{"sport": "GENERIC", "n": 1500}])
    )
    loaded = kneeflags.load([path], tz="UTC")
    (act,) = loaded.activities
    assert act.sport is Sport.RUNNING
    analysis = kneeflags.analyze(loaded.activities)
    assert analysis.weekly["run_km"].sum() == pytest.approx(1499 * 2.7 / 1000, rel=1e-3)
    (row,) = analysis.activities.iter_rows(named=True)
    assert row["reclassified_from"] == "generic"
    assert any(
        "1 session was reclassified" in n and "generic → running" in n for n in analysis.notes
    )


def test_descent_on_foot_and_walking_minutes_are_weekly_information() -> None:
    seconds = 2 * 3600
    alt = np.concatenate(
        (np.linspace(500, 900, seconds // 2 + 1), np.linspace(900, 500, seconds - seconds // 2))
    )
    hike = generic(1.1, seconds, altitude=alt, sport=Sport.HIKING, detail="hiking/generic")
    walk = generic(1.4, 1800, sport=Sport.WALKING, detail="walking/generic")
    walk = walk.replace(start_utc=START + timedelta(days=1), sha256="01" * 32)
    run = generic(3.0, 1800, altitude=alt[:1801], sport=Sport.RUNNING, detail="running/generic")
    run = run.replace(start_utc=START + timedelta(days=2), sha256="02" * 32)
    later_walk = walk.replace(start_utc=START + timedelta(days=14), sha256="cd" * 32)
    weekly = kneeflags.analyze([hike, walk, run, later_walk]).weekly
    first, empty, last = weekly.iter_rows(named=True)
    assert first["hike_minutes"] == pytest.approx(120.0)
    assert first["walk_minutes"] == pytest.approx(30.0)
    # The hike's 400 m down count; the run's descent stays in the running columns.
    assert first["descent_on_foot_m"] == pytest.approx(400, abs=15)
    assert first["elevation_loss_m"] < 50
    assert empty["walk_minutes"] == 0.0 and empty["descent_on_foot_m"] == 0.0
    # A walk without elevation: its descent is unknown, not 0.
    assert last["walk_minutes"] == pytest.approx(30.0) and last["descent_on_foot_m"] is None
