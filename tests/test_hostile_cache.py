"""The parse cache never hides or invents data (issue 10, round two).

Context is part of an entry's key (the same bytes read with a Strava ``activities.csv``
hint are another entry), outcomes of circumstance (a refusal that depends on today's
date, an out-of-memory failure) are never cached, and ``cache clear`` on a cache it
cannot delete says so. The half-written cache (kill -9 at every fsync) and wrong-layout
tables are tested in ``test_hostile_cli.py`` and ``test_cache.py``.

Every CLI test runs in a :class:`~hostile.Sandbox` whose tree is hashed before and after.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from hostile import (
    EXIT_INPUT,
    EXIT_OK,
    Sandbox,
    alarm_fixture,
    analyze_json,
    chdir,
    fit_run,
    gpx_doc,
    gpx_points,
    run_cli,
)

import kneeflags.worker as worker
from kneeflags.cache import ParseCache
from kneeflags.pipeline import run_pipeline

_hang_guard = alarm_fixture(120)


def _sports(run: object) -> list[str]:
    return [a["sport"] for a in run.doc["athletes"][0]["activities"]]  # type: ignore[attr-defined]


def test_a_strava_hint_is_part_of_the_cache_key(tmp_path: Path) -> None:
    """The same GPX read plain (a run by default) and then inside a Strava export whose
    activities.csv calls it a Ride: the cached plain reading used to win."""
    box = Sandbox(tmp_path)
    data = gpx_doc(gpx_points(0, 600, speed=3.0), sport=None)
    box.put("plain/run.gpx", data)
    box.put("export/activities/123.gpx", data)
    box.put(
        "export/activities.csv",
        b"Activity ID,Filename,Activity Type\n123,activities/123.gpx,Ride\n",
    )
    box.freeze()
    plain = analyze_json(box, ["in/plain"])
    hinted = analyze_json(box, ["in/export"])
    fresh = analyze_json(box, ["in/export"], "--no-cache")
    box.verify()
    assert plain.code == hinted.code == fresh.code == EXIT_OK
    assert _sports(hinted) == _sports(fresh)
    assert _sports(plain) != _sports(fresh), "the hint must change the outcome for this test"


def test_a_refusal_that_depends_on_today_is_not_cached(tmp_path: Path) -> None:
    """'starts in the future' is true only until the clock passes the date."""
    (tmp_path / "in").mkdir()
    future = tmp_path / "in" / "future.fit"
    future.write_bytes(fit_run(day=20 * 365, seed=3))
    cache_dir = tmp_path / "cache"
    result = run_pipeline([str(future)], cache_dir=cache_dir, workers=1)
    assert any("in the future" in p.message for p in result.errors)
    for key_dir in (cache_dir / "v2").glob("*"):
        hits = ParseCache(cache_dir, key_dir.name).lookup(_all_keys(key_dir))
        assert hits.entries == {}, "a clock-dependent refusal was cached"


def _all_keys(key_dir: Path) -> set[str]:
    import polars as pl

    tables = json.loads((key_dir / "manifest.json").read_text())["tables"]
    return set(pl.read_parquet(key_dir / tables["files"])["sha256"].to_list())


def test_an_out_of_memory_failure_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MemoryError under a temporary limit: the next run (with memory) reads the file."""
    (tmp_path / "in").mkdir()
    run = tmp_path / "in" / "run.fit"
    run.write_bytes(fit_run(0, seed=1))
    cache_dir = tmp_path / "cache"

    def no_memory(*_a: object, **_k: object) -> object:
        raise MemoryError

    monkeypatch.setattr(worker, "summarize", no_memory)
    first = run_pipeline([str(run)], cache_dir=cache_dir, workers=1)
    assert first.errors and "out of memory" in first.errors[0].message
    monkeypatch.undo()
    second = run_pipeline([str(run)], cache_dir=cache_dir, workers=1)
    assert second.errors == []
    assert second.analysis.activities.height == 1


def test_cache_clear_on_a_read_only_cache_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to print "cache cleared" and exit 0 with every file still there."""
    box = Sandbox(tmp_path)
    box.put("run.fit", fit_run(0, seed=1))
    assert analyze_json(box).code == EXIT_OK
    kept = sorted(p for p in box.cache.rglob("*") if p.is_file())
    assert kept
    box.freeze()

    def read_only(*_a: object, **_k: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "unlink", read_only)
    monkeypatch.setattr(os, "rmdir", read_only)
    with chdir(box.root):
        run = run_cli(["cache", "clear", "--cache-dir", "cache"])
    monkeypatch.undo()
    box.verify()
    run.no_traceback()
    assert run.code == EXIT_INPUT
    assert "cache cleared" not in run.stdout and "Read-only file system" in run.stderr
    assert sorted(p for p in box.cache.rglob("*") if p.is_file()) == kept
