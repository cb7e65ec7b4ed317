"""The real-file corpus (../shared/corpus): nothing raises, units hold, broken files are reported.

The whole corpus is loaded once per module with the default decoder (fast
FIT path with fitparse fallback). Known-broken files are also loaded one by
one with the reference fitparse decoder, whose messages are exact. The
full-corpus fitparse run takes minutes and only runs with KNEEFLAGS_SLOW=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

import kneeflags
from kneeflags.model import LoadResult, Sport

pytestmark = pytest.mark.corpus

MIN_RUN_SPEED = 2.0
MIN_RUNNING_SAMPLES = 120


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Path:
    return corpus_dir


@pytest.fixture(scope="module")
def loaded(corpus: Path) -> LoadResult:
    return kneeflags.load([corpus])


def _file_of(problem_path: str) -> Path:
    return Path(problem_path.split("!", 1)[0])


def test_whole_corpus_loads_without_raising(loaded: LoadResult, corpus: Path) -> None:
    assert len(loaded.activities) > 300
    starts = [(a.start_utc, str(a.source), a.part) for a in loaded.activities]
    assert starts == sorted(starts)
    for act in loaded.activities:
        assert act.start_utc.tzinfo is not None
        assert act.samples.columns == list(kneeflags.model.SAMPLE_SCHEMA)
        assert act.utc_offset_s is not None and act.utc_offset_source is not None


def test_every_problem_names_an_existing_file(loaded: LoadResult, corpus: Path) -> None:
    assert loaded.problems
    for p in [*loaded.problems, *loaded.skipped]:
        f = _file_of(p.path)
        assert f.is_file(), p
        assert str(f).startswith(str(corpus))
    for p in loaded.problems:
        assert "\n" not in p.message and p.message.strip() == p.message


def test_running_fit_cadence_is_steps_per_minute(loaded: LoadResult) -> None:
    """Median over running samples (>= 2 m/s, cadence > 0) of every running FIT session.

    A session needs two minutes of samples at running speed to test a running
    cadence: the 2.2 km leg of the fenix 2 multisport file is a 1 m/s walk
    labelled running (79 such samples, median 106 spm) and is left out.
    """
    checked = 0
    for act in loaded.activities:
        if act.format != "fit" or not act.sport.is_running:
            continue
        s = act.samples
        if s.height == 0 or s["cadence_spm"].fill_null(0).max() == 0:
            continue  # no cadence sensor
        run = s.filter((pl.col("speed_mps") >= MIN_RUN_SPEED) & (pl.col("cadence_spm") > 0))
        if run.height < MIN_RUNNING_SAMPLES:
            continue
        med = run["cadence_spm"].median()
        assert 140 <= med <= 200, (str(act.source), med)  # type: ignore[operator]
        checked += 1
    assert checked >= 120


def test_runpandas_tcx_and_nrc_gpx_duplicates_counted_once(loaded: LoadResult) -> None:
    dups = {
        _file_of(w.path).name: w.message for w in loaded.warnings if "duplicate of" in w.message
    }
    expected = {
        "36bb9510-27b3-4c13-9d68-55b59af24ec3.gpx": "2020-12-02T06_08_29-300_Running.tcx",
        "c74b49c3-6505-4874-9ef1-9f9cbd149896.gpx": "2020-12-06T06_36_21-300_Running.tcx",
        "e72ac978-0e43-493a-b4f2-50102b64939a.gpx": "2020-12-08T06_36_12-300_Running.tcx",
        "f5bda6ea-d83c-466d-9ced-c480d4b02073.gpx": "2020-12-13T07_25_55-300_Running.tcx",
        "531a7cd6-3ae1-4a03-99dc-f6fcb8d97eb0.gpx": "2020-12-26T06_03_49-300_Running.tcx",
    }
    for gpx, tcx in expected.items():
        assert tcx in dups[gpx], (gpx, dups.get(gpx))
    kept = {Path(a.source.path).name for a in loaded.activities}
    tcx_dir = [n for n in kept if n.endswith("-300_Running.tcx")]
    assert len(tcx_dir) == 8  # every watch TCX kept
    assert not kept & set(expected)


def test_cross_format_duplicates_keep_the_richer_file(loaded: LoadResult) -> None:
    msgs = {_file_of(w.path).name: w.message for w in loaded.warnings}
    assert "10kUNLP2014-Garmin15.fit" in msgs["10kUNLP2014-Garmin15.tcx"]
    assert "stopped_example.tcx" in msgs["strava_export.gpx"]


def test_non_activity_files_are_skipped_not_errors(loaded: LoadResult) -> None:
    skipped = {_file_of(s.path).name for s in loaded.skipped}
    assert {
        "MonitoringFile.fit",
        "Settings.fit",
        "WorkoutRepeatSteps.fit",
        "nametest.FIT",
        "route.gpx",
        "INDEX.csv",
        "compressed-speed-distance-records.csv",
    } <= skipped
    errors = {_file_of(e.path).name for e in loaded.errors}
    assert not skipped & errors


def test_device_relative_and_1901_files_are_errors(loaded: LoadResult) -> None:
    errors = {_file_of(e.path).name: e.message for e in loaded.errors}
    assert "device-relative" in errors["antfs-dump.63.fit"]
    assert "device-relative" in errors["compressed-speed-distance.fit"]
    assert "1901-12-13" in errors["Mojstrovka.gpx"]
    assert "unbound prefix" in errors["malformed.tcx"]


def test_fit_distances_and_starts_match_index(loaded: LoadResult, corpus: Path) -> None:
    """INDEX.csv (independent tooling) gives session.total_distance and start per FIT file."""
    idx = pl.read_csv(corpus / "INDEX.csv", infer_schema_length=0).filter(
        (pl.col("format") == "fit") & pl.col("member").is_null()
    )
    ref = {r["file"]: r for r in idx.iter_rows(named=True)}
    per_file: dict[str, list] = {}
    for a in loaded.activities:
        if a.format == "fit" and a.source.member is None:
            per_file.setdefault(a.source.path, []).append(a)
    checked = 0
    for path, acts in per_file.items():
        rel = str(Path(path).relative_to(corpus))
        row = ref.get(rel)
        if row is None or len(acts) != 1 or acts[0].provenance.partial or not row["distance_km"]:
            continue
        a = acts[0]
        assert a.distance_m / 1000 == pytest.approx(float(row["distance_km"]), abs=0.011), rel
        checked += 1
    assert checked >= 180


@pytest.mark.parametrize(
    ("name", "kind", "fragment"),
    [
        ("python-fitparse/activity-unexpected-eof.fit", "warning",
         "truncated FIT file: data ends at byte 768 of 771"),
        ("python-fitparse/strava-android-app-201.10-b1218918.fit", "warning",
         "corrupt FIT data near byte 7,47"),
        ("python-fitparse/nick.fit", "warning", "truncated FIT file"),
        ("python-fitparse/activity-filecrc.fit", "warning", "FIT CRC mismatch"),
        ("runpandas/tests/tcx/malformed.tcx", "error", "malformed TCX"),
    ],
)  # fmt: skip
def test_known_broken_files(corpus: Path, name: str, kind: str, fragment: str) -> None:
    res = kneeflags.load([corpus / name], decoder="fitparse")
    problems = res.warnings if kind == "warning" else res.errors
    assert any(fragment in p.message for p in problems), res.problems
    assert all(p.path == str(corpus / name) for p in res.problems)
    if kind == "warning":
        (act,) = res.activities  # the data before the break is kept
        assert act.samples.height > 0
        if "truncated" in fragment or "corrupt" in fragment:
            assert act.provenance.partial


def test_truncated_session_less_fit_keeps_its_sport(corpus: Path) -> None:
    res = kneeflags.load([corpus / "python-fitparse/nick.fit"], decoder="fitparse")
    (act,) = res.activities
    assert act.sport is Sport.CYCLING  # from the sport message, no session survived
    assert act.samples.height > 14_000


def test_multisport_and_chained_files(corpus: Path) -> None:
    res = kneeflags.load(
        [corpus / "python-fitparse/sample_mulitple_header.fit"], decoder="fitparse"
    )
    assert [a.sport for a in res.activities] == [Sport.SWIMMING, Sport.CYCLING, Sport.RUNNING]
    run = res.activities[-1]
    assert run.provenance.elevation_source == "barometric"  # fr920xt
    assert run.utc_offset_source == "fit_local_timestamp"


def test_gpx_exports_with_garmin_and_strava_extensions(corpus: Path) -> None:
    res = kneeflags.load(
        [corpus / "runpandas/tests/gpx/strava_export.gpx", corpus / "cdryzun-running_page"],
        decoder="fitparse",
    )
    by = {Path(a.source.path).name: a for a in res.activities}
    strava = by["strava_export.gpx"]
    assert strava.sport is Sport.RUNNING and strava.sport_detail == "9"
    assert strava.provenance.cadence_unit == "strides"
    garmin = by["464310763.gpx"]  # ns3: prefix
    med = garmin.samples.filter(pl.col("speed_mps") >= 2)["cadence_spm"].median()
    assert 150 <= med <= 200  # type: ignore[operator]


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("KNEEFLAGS_SLOW") != "1", reason="full fitparse corpus run takes minutes"
)
def test_whole_corpus_with_fitparse_matches_default(corpus: Path, loaded: LoadResult) -> None:
    ref = kneeflags.load([corpus], decoder="fitparse")
    assert [(a.activity_id, a.sport) for a in ref.activities] == [
        (a.activity_id, a.sport) for a in loaded.activities
    ]
    assert len(ref.errors) == len(loaded.errors)


def test_only_real_duplicates_are_merged(loaded: LoadResult) -> None:
    """Every drop over the whole corpus, as (dropped file, kept file): all are one outing
    (copies of one GPX, variants of one fitparse test file, the runpandas watch/phone pairs).
    A new pair here means two genuinely different runs may have been merged."""
    pairs = set()
    for w in loaded.warnings:
        if "duplicate of " not in w.message:
            continue
        kept = w.message.split("duplicate of ", 1)[1].split(" (", 1)[0]
        pairs.add((Path(w.path).name, Path(kept).name))
    assert pairs == {
        ("test_2.gpx", "test_1.gpx"),  # one zip holding the same GPX three times
        ("test_3.gpx", "test_1.gpx"),
        ("10kUNLP2014-Garmin15.tcx", "10kUNLP2014-Garmin15.fit"),
        ("cerknicko-jezero.gpx", "cerknicko-jezero-with-elevations-zero.gpx"),
        ("cerknicko-jezero-without-elevations.gpx", "cerknicko-jezero-with-elevations-zero.gpx"),
        ("cerknicko-without-times.gpx", "cerknicko-jezero-with-elevations-zero.gpx"),
        ("activity-filecrc.fit", "activity-settings-corruptheader.fit"),
        ("activity-settings-nodata.fit", "activity-settings-corruptheader.fit"),
        ("activity-unexpected-eof.fit", "activity-settings-corruptheader.fit"),
        ("activity-activity-filecrc.fit", "activity-settings-corruptheader.fit"),
        ("36bb9510-27b3-4c13-9d68-55b59af24ec3.gpx", "2020-12-02T06_08_29-300_Running.tcx"),
        ("c74b49c3-6505-4874-9ef1-9f9cbd149896.gpx", "2020-12-06T06_36_21-300_Running.tcx"),
        ("e72ac978-0e43-493a-b4f2-50102b64939a.gpx", "2020-12-08T06_36_12-300_Running.tcx"),
        ("f5bda6ea-d83c-466d-9ced-c480d4b02073.gpx", "2020-12-13T07_25_55-300_Running.tcx"),
        ("531a7cd6-3ae1-4a03-99dc-f6fcb8d97eb0.gpx", "2020-12-26T06_03_49-300_Running.tcx"),
        ("run.gpx", "run.tcx"),
        ("strava_export.gpx", "stopped_example.tcx"),
    }
