"""The fast path (cache + worker processes) must give exactly what load + analyze give."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import kneeflags
from kneeflags.pipeline import run_pipeline

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _athlete_dir(name: str) -> Path:
    path = SAMPLE / name
    if not path.is_dir():
        pytest.skip(f"sample_data/{name} is missing: run `make sample-data`")
    return path


@pytest.fixture(scope="module")
def athlete(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of one sample athlete plus a corrupt file and a duplicate copy."""
    src = _athlete_dir("sam")
    dst = tmp_path_factory.mktemp("athlete") / "sam"
    shutil.copytree(src, dst)
    (dst / "broken.fit").write_bytes(b"\x0e\x10\x00\x00" + b"\x00" * 40)
    first_fit = sorted(dst.glob("*.fit"))[0]
    (dst / "copies").mkdir()
    shutil.copy(first_fit, dst / "copies" / first_fit.name)
    (dst / "notes.txt").write_text("not an activity")
    return dst


def _reference(path: Path) -> kneeflags.Analysis:
    loaded = kneeflags.load([path], tz="Europe/London")
    return kneeflags.analyze(loaded.activities, athlete="sam", timezone="Europe/London")


def _same_analysis(a: kneeflags.Analysis, b: kneeflags.Analysis) -> None:
    assert_frame_equal(a.weekly, b.weekly)
    drop = ["source"]
    assert_frame_equal(a.activities.drop(drop), b.activities.drop(drop))
    assert_frame_equal(a.cadence_hist, b.cadence_hist)
    assert [f.to_dict() for f in a.flags] == [f.to_dict() for f in b.flags]


def test_parallel_cold_run_equals_load_then_analyze(athlete: Path, tmp_path: Path) -> None:
    result = run_pipeline([athlete], tz="Europe/London", athlete="sam", use_cache=False, workers=2)
    _same_analysis(result.analysis, _reference(athlete))
    assert [p.path for p in result.errors] == [str(athlete / "broken.fit")]
    assert any("identical copy" in w.message for w in result.warnings)
    assert any("duplicate of" in w.message for w in result.warnings)
    assert result.skipped == 1
    assert result.cache_hits == 0


def test_warm_run_hits_the_cache_and_changes_nothing(athlete: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = run_pipeline([athlete], tz="Europe/London", athlete="sam", cache_dir=cache, workers=1)
    warm = run_pipeline([athlete], tz="Europe/London", athlete="sam", cache_dir=cache, workers=1)
    every_file = [p for p in athlete.rglob("*") if p.is_file()]
    assert cold.cache_hits == 0
    # Errors and non-activities are remembered by content too: nothing is parsed twice.
    assert warm.cache_hits == len(every_file)
    _same_analysis(cold.analysis, warm.analysis)
    assert cold.errors == warm.errors
    assert sorted(map(str, cold.warnings)) == sorted(map(str, warm.warnings))


def test_cache_hit_reports_the_current_path(athlete: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run_pipeline([athlete], tz="Europe/London", cache_dir=cache, workers=1)
    moved = tmp_path / "moved"
    shutil.copytree(athlete, moved)
    warm = run_pipeline([moved], tz="Europe/London", cache_dir=cache, workers=1)
    assert warm.cache_hits > 0
    sources = warm.analysis.activities["source"].to_list()
    assert sources and all(s.startswith(str(moved)) for s in sources)
    assert all(p.path.startswith(str(moved)) for p in warm.errors + warm.warnings)


def test_another_time_zone_does_not_reuse_cached_local_times(athlete: Path, tmp_path: Path) -> None:
    gpx_only = tmp_path / "gpx"
    gpx_only.mkdir()
    for f in sorted(athlete.glob("*.gpx")):
        shutil.copy(f, gpx_only / f.name)
    if not any(gpx_only.iterdir()):
        pytest.skip("sample athlete has no GPX file")
    cache = tmp_path / "cache"
    london = run_pipeline([gpx_only], tz="Europe/London", cache_dir=cache, workers=1)
    tokyo = run_pipeline([gpx_only], tz="Asia/Tokyo", cache_dir=cache, workers=1)
    assert tokyo.cache_hits == 0
    offsets = tokyo.analysis.activities["utc_offset_s"].unique().to_list()
    assert offsets == [9 * 3600]
    assert london.analysis.activities["utc_offset_s"].to_list() != offsets


def test_bad_options_are_value_errors(athlete: Path) -> None:
    with pytest.raises(ValueError, match="time zone"):
        run_pipeline([athlete], tz="Mars/Olympus")
    with pytest.raises(ValueError, match="decoder"):
        run_pipeline([athlete], decoder="magic")


def test_missing_path_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = run_pipeline([tmp_path / "nope"], use_cache=False)
    assert len(result.errors) == 1
    assert isinstance(result.analysis.weekly, pl.DataFrame)
    assert result.analysis.weekly.height == 0


def test_fast_decoder_fallback_is_said_under_debug_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from kneeflags.cli import app
    from kneeflags.parsers import fit_fast
    from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity

    run = tmp_path / "run.fit"
    start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    run.write_bytes(write_activity(synthetic_run(fit_time(start), 1800, seed=3)))

    def decline(data: bytes) -> list:
        raise fit_fast.FastPathUnsupported("test-only reason")

    monkeypatch.setattr(fit_fast, "decode_fit_fast", decline)
    args = ["analyze", str(run), "--no-cache", "-j", "1", "--format", "json", "--tz", "UTC"]
    quiet = CliRunner().invoke(app, args)
    loud = CliRunner().invoke(app, [*args, "--debug"])
    assert quiet.exit_code == 0 and loud.exit_code == 0
    said = "fast decoder fell back to fitparse: test-only reason"
    assert said not in quiet.stderr
    assert said in loud.stderr and str(run) in loud.stderr
    # The result is the reference decoder's, so it still counts the run.
    assert '"runs": 1' in loud.stdout


def test_broken_worker_pool_falls_back_to_this_process(
    athlete: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script without a __main__ guard (spawn re-imports it) must still get its analysis."""
    import concurrent.futures
    from concurrent.futures.process import BrokenProcessPool

    class NoPool:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def submit(self, *args: object, **kwargs: object) -> None:
            raise BrokenProcessPool("no processes here")

        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            return None

    # (the pipeline imports it where it makes a pool: a warm run needs none)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", NoPool)
    result = run_pipeline([athlete], tz="Europe/London", athlete="sam", use_cache=False, workers=2)
    _same_analysis(result.analysis, _reference(athlete))
