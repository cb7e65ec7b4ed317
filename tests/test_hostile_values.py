"""Impossible values never reach the weekly table silently (issue 10, round two).

Each hostile file sits next to one good run in the same week. The report must name the
file (in ``errors`` when it is left out, in ``warnings`` when a value is cleared or a
repeat collapsed) and the week must hold what the good run and the clamped file can
truly account for: no 200 km/h run, no 4e9-minute week, no 509 spm, no 7,500 km week.
Through the real command line, tree hashed before and after (:class:`hostile.Sandbox`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import write_fit, write_gpx
from hostile import (
    EXIT_INPUT,
    EXIT_OK,
    START,
    CliRun,
    Sandbox,
    alarm_fixture,
    analyze_json,
    fit_run,
)

from kneeflags.testing.fitwriter import chain, fit_time, synthetic_run, write_activity

_hang_guard = alarm_fixture(120)

GOOD_S = 1800
DAY2 = START + timedelta(days=1)


def _week(run: CliRun) -> dict[str, Any]:
    assert run.doc is not None
    (athlete,) = run.doc["athletes"]
    weeks = [w for w in athlete["weeks"] if w["has_data"]]
    assert len(weeks) == 1, weeks
    return weeks[0]


def _run_box(tmp_path: Path, name: str, data: bytes | str) -> CliRun:
    box = Sandbox(tmp_path)
    box.put("good.fit", fit_run(0, GOOD_S, seed=1))
    box.put(name, data)
    box.freeze()
    run = analyze_json(box, None, "--tz", "UTC")
    box.verify()
    return run


def _message(run: CliRun, kind: str, name: str) -> str:
    hits = [p["message"] for p in run.problems(kind) if p["path"].endswith(name)]
    assert hits, f"{name} not named in {kind}: {run.problems()}"
    return " | ".join(hits)


def test_session_only_fit_at_200_kmh_is_left_out(tmp_path: Path) -> None:
    bad = write_fit(DAY2, n=0, sessions=[{"n": 3601}], speed=55.56)
    run = _run_box(tmp_path, "fast.fit", bad)
    run.check(good=["in/good.fit"], codes={EXIT_INPUT})
    assert "200.0 km in 60 min" in _message(run, "errors", "fast.fit")
    assert _week(run)["run_km"] < 10


@pytest.mark.parametrize(
    ("when", "where"),
    [("9999-12-31T23:59:59Z", "end"), ("1995-06-01T07:00:00Z", "start")],
    ids=["point-in-9999", "point-in-1995"],
)
def test_gpx_point_far_off_in_time_is_dropped_and_named(
    tmp_path: Path, when: str, where: str
) -> None:
    """One trackpoint dated 9999-12-31 made a 4.19e9-minute run; one from 1995 moved a
    2025 run to 1995 (and then lost it as a "duplicate" of a real run). The point is
    dropped with a warning; the run is counted where it happened."""
    text = write_gpx(DAY2, n=300)
    point = f'<trkpt lat="47.49" lon="8.5"><time>{when}</time></trkpt>'
    text = (
        text.replace("</trkseg>", point + "</trkseg>")
        if where == "end"
        else text.replace("<trkseg>", "<trkseg>" + point, 1)
    )
    run = _run_box(tmp_path, "far.gpx", text)
    run.check(good=["in/good.fit", "in/far.gpx"], codes={EXIT_OK})
    assert "dated over 7 days from the others ignored" in _message(run, "warnings", "far.gpx")
    week = _week(run)
    assert week["runs"] == 2 and week["run_minutes"] < 60
    assert week["week_start"] == START.date().isoformat()  # the Monday of the real run


def test_activity_lasting_over_a_week_is_left_out(tmp_path: Path) -> None:
    """The summary-level backstop: a session claiming ten days for a 5 km run."""
    rec = synthetic_run(fit_time(DAY2), 1800, seed=2)
    ten_days = 10 * 86_400.0
    bad = write_activity(
        rec, session={"total_timer_time": ten_days, "total_elapsed_time": ten_days}
    )
    run = _run_box(tmp_path, "long.fit", bad)
    run.check(good=["in/good.fit"], codes={EXIT_INPUT})
    assert "over the 168 h cap" in _message(run, "errors", "long.fit")
    assert _week(run)["run_minutes"] < 60


def test_fit_timestamps_going_backwards_are_named(tmp_path: Path) -> None:
    rec = synthetic_run(fit_time(DAY2), 400, seed=2)
    t = rec["timestamp"]
    rec["timestamp"] = np.concatenate((t[:300], t[100:200])).astype(np.int64)
    rec = {k: (v if k == "timestamp" else v[:400]) for k, v in rec.items()}
    run = _run_box(tmp_path, "back.fit", write_activity(rec))
    run.check(good=["in/good.fit"], codes={EXIT_OK, EXIT_INPUT})
    assert "timestamps go backwards" in _message(run, "warnings", "back.fit")


def test_fit_distance_in_zero_minutes_is_left_out(tmp_path: Path) -> None:
    """What a clock running backwards produced: 1.8 km in 0.0 min."""
    rec = synthetic_run(fit_time(DAY2), 600, seed=2)
    rec["timestamp"] = np.full(600, rec["timestamp"][0], dtype=np.int64)
    run = _run_box(tmp_path, "zero.fit", write_activity(rec))
    run.check(good=["in/good.fit"], codes={EXIT_INPUT})
    assert "in 0.0 min" in _message(run, "errors", "zero.fit")


def test_fit_cadence_byte_254_is_cleared(tmp_path: Path) -> None:
    rec = synthetic_run(fit_time(DAY2), 600, seed=2)
    rec["cadence"] = np.full(600, 254.0)
    rec["fractional_cadence"] = np.zeros(600)
    run = _run_box(tmp_path, "cad.fit", write_activity(rec))
    run.check(good=["in/good.fit", "in/cad.fit"], codes={EXIT_OK})
    assert "spm is impossible" in _message(run, "warnings", "cad.fit")
    assert run.doc is not None
    spm = [r["spm"] for r in run.doc["athletes"][0]["cadence_distribution"]]
    assert spm
    assert all(s <= 250 for s in spm)
    assert _week(run)["cadence_spm_median"] < 250


def test_identical_sessions_in_one_fit_count_once(tmp_path: Path) -> None:
    one = write_activity(synthetic_run(fit_time(DAY2), 900, seed=2))
    run = _run_box(tmp_path, "same.fit", chain(*[one] * 500))
    run.check(good=["in/good.fit", "in/same.fit"], codes={EXIT_OK})
    assert "499 session(s) repeat" in _message(run, "warnings", "same.fit")
    week = _week(run)
    assert week["runs"] == 2 and week["run_km"] < 10


def test_the_library_path_applies_the_same_sanity_stage(tmp_path: Path) -> None:
    """``analyze(load(paths))`` must give what the command line gives (pipeline module
    docstring): the impossible run is not counted, and the notes say why."""
    import kneeflags

    (tmp_path / "good.fit").write_bytes(fit_run(0, GOOD_S, seed=1))
    (tmp_path / "fast.fit").write_bytes(write_fit(DAY2, n=0, sessions=[{"n": 3601}], speed=55.56))
    analysis = kneeflags.analyze(kneeflags.load([tmp_path], tz="UTC").activities)
    assert analysis.weekly["run_km"].sum() < 10
    assert any("fast.fit: implausible for a run" in n for n in analysis.notes)


@pytest.mark.parametrize(("speed", "warned"), [(7.78, True), (6.11, False)])
def test_a_run_faster_than_the_world_record_is_counted_and_said(
    tmp_path: Path, speed: float, warned: bool
) -> None:
    """28 km/h for an hour (the NRC corpus GPX with GPS jumps: 22 km in 48 min) is no run
    anyone ran, yet under the 36 km/h cap that leaves a file out: it is counted as the
    runner's app counted it, with a warning naming the file and the way to exclude it;
    22 km/h (under the 10 km world record's pace) passes without a word."""
    run = _run_box(tmp_path, "quick.fit", write_fit(DAY2, n=0, sessions=[{"n": 3601}], speed=speed))
    run.check(good=["in/good.fit", "in/quick.fit"], codes={EXIT_OK})
    said = [p["message"] for p in run.problems("warnings") if p["path"].endswith("quick.fit")]
    if warned:
        (msg,) = said
        assert msg.startswith("28.0 km in 60 min (28 km/h) is faster than the 5 km world record")
        assert "--exclude" in msg and "Counted as recorded" in msg
        assert _week(run)["run_km"] > 28
    else:
        assert not said
