"""FIT ingest: units, sport mapping, local time, broken files (fixtures written with fit-tool)."""

from __future__ import annotations

import sys
import types
from datetime import UTC, date, datetime, time

import pytest

from kneeflags.model import SAMPLE_SCHEMA, SourceRef, Sport
from kneeflags.parsers import decode_fit, parse_source
from kneeflags.parsers.fit import decode_fit_fitparse, fit_crc
from kneeflags.parsers.fit_build import NEWER_GARMIN_PRODUCTS, map_sport

START = datetime(2024, 5, 4, 7, 0, tzinfo=UTC)
REF = SourceRef("run.fit")


def parse(data: bytes, **kw: object):
    kw.setdefault("decoder", "fitparse")
    return parse_source(data, REF, **kw)  # type: ignore[arg-type]


def test_fit_tool_writes_fractional_cadence(make_fit) -> None:
    decoded = decode_fit_fitparse(make_fit(START, n=5, cadence=81, fractional=0.5))
    rec = decoded[0].records
    assert rec["cadence"].to_list() == [81.0] * 5
    assert rec["fractional_cadence"].to_list() == [0.5] * 5


def test_running_cadence_is_doubled_with_fractional_part(make_fit) -> None:
    res = parse(make_fit(START, cadence=81, fractional=0.5))
    (act,) = res.activities
    assert act.sport is Sport.RUNNING
    assert act.samples["cadence_spm"].unique().to_list() == [163.0]
    assert act.provenance.cadence_unit == "strides"
    assert res.errors == [] and res.warnings == []


def test_cycling_cadence_is_kept_as_rpm(make_fit) -> None:
    sessions = [{"sport": "CYCLING", "sub_sport": "ROAD", "start": 0, "n": 120}]
    (act,) = parse(make_fit(START, cadence=90, fractional=None, sessions=sessions)).activities
    assert act.sport is Sport.CYCLING
    assert act.samples["cadence_spm"].unique().to_list() == [90.0]


def test_enhanced_fields_preferred_over_legacy(make_fit) -> None:
    data = make_fit(START, speed=1.0, enhanced_speed=3.2, altitude=100.0, enhanced_altitude=512.4)
    (act,) = parse(data).activities
    assert act.samples["speed_mps"].unique().to_list() == [3.2]
    assert act.samples["altitude_m"].round(1).unique().to_list() == [512.4]


def test_semicircles_become_degrees(make_fit) -> None:
    (act,) = parse(make_fit(START, lat0=47.5, lon0=-122.25)).activities
    s = act.samples
    # fit-tool stores semicircles (integers): 180/2^31 deg resolution ≈ 8.4e-8 deg
    assert s["lat"][0] == pytest.approx(47.5, abs=1e-7)
    assert s["lon"][0] == pytest.approx(-122.25, abs=1e-7)
    assert s.schema == SAMPLE_SCHEMA


def test_distance_from_positions_when_file_has_none(make_fit) -> None:
    res = parse(make_fit(START, n=101, distance=False, speed=None, enhanced_speed=2.5))
    (act,) = res.activities
    assert act.provenance.distance_source == "positions"
    assert act.distance_m == pytest.approx(250.0, rel=1e-3)
    # speed came from the file (enhanced_speed), untouched
    assert act.samples["speed_mps"].unique().to_list() == [2.5]


def test_speed_from_distance_when_absent(make_fit) -> None:
    data = make_fit(START, n=60, speed=None, enhanced_speed=None, move_speed=2.75)
    (act,) = parse(data).activities
    assert act.samples["speed_mps"].null_count() == 0
    assert act.samples["speed_mps"].to_list() == pytest.approx([2.75] * 60, rel=1e-6)


def test_sunday_evening_run_in_los_angeles_keeps_local_date_from_file(make_fit) -> None:
    # Sunday 2024-07-14 17:30 PDT = Monday 00:30 UTC
    start = datetime(2024, 7, 15, 0, 30, tzinfo=UTC)
    (act,) = parse(make_fit(start, local_offset_s=-7 * 3600)).activities
    assert act.utc_offset_s == -7 * 3600
    assert act.utc_offset_source == "fit_local_timestamp"
    assert act.local_date == date(2024, 7, 14)
    assert act.local_start.time() == time(17, 30)


@pytest.mark.parametrize(
    ("start", "offset", "local_day"),
    [
        (datetime(2024, 7, 15, 0, 30, tzinfo=UTC), -7 * 3600, date(2024, 7, 14)),  # PDT
        (datetime(2024, 1, 15, 1, 30, tzinfo=UTC), -8 * 3600, date(2024, 1, 14)),  # PST
    ],
)
def test_sunday_evening_run_keeps_local_date_with_tz_option(
    make_fit, start: datetime, offset: int, local_day: date
) -> None:
    (act,) = parse(make_fit(start), tz="America/Los_Angeles").activities
    assert act.utc_offset_source == "option"
    assert act.utc_offset_s == offset
    assert act.local_date == local_day
    assert act.local_date.weekday() == 6
    assert act.local_start.time() == time(17, 30)


def test_file_offset_beats_tz_option(make_fit) -> None:
    (act,) = parse(make_fit(START, local_offset_s=2 * 3600), tz="Asia/Tokyo").activities
    assert act.utc_offset_s == 7200
    assert act.utc_offset_source == "fit_local_timestamp"


def test_multisport_gives_one_activity_per_session(make_fit) -> None:
    sessions = [
        {"sport": "CYCLING", "sub_sport": "GENERIC", "start": 0, "n": 60},
        {"sport": "TRANSITION", "sub_sport": "GENERIC", "start": 60, "n": 10},
        {"sport": "RUNNING", "sub_sport": "TRAIL", "start": 70, "n": 50},
    ]
    acts = parse(make_fit(START, n=120, sessions=sessions)).activities
    assert [a.sport for a in acts] == [Sport.CYCLING, Sport.TRAIL_RUNNING]
    assert [a.samples.height for a in acts] == [60, 50]
    assert acts[1].sport_detail == "running/trail"
    assert acts[1].samples["cadence_spm"][0] == 163.0
    assert acts[0].samples["cadence_spm"][0] == 81.5
    assert len({a.activity_id for a in acts}) == 2


@pytest.mark.parametrize(
    ("sport", "sub", "expected"),
    [
        ("running", "generic", Sport.RUNNING),
        ("running", "trail", Sport.TRAIL_RUNNING),
        ("running", "track", Sport.TRACK_RUNNING),
        ("running", "treadmill", Sport.TREADMILL_RUNNING),
        ("running", "indoor_running", Sport.TREADMILL_RUNNING),
        ("running", "virtual_activity", Sport.TREADMILL_RUNNING),
        ("training", "strength_training", Sport.STRENGTH_TRAINING),
        (10, 20, Sport.STRENGTH_TRAINING),
        ("cycling", "road", Sport.CYCLING),
        ("swimming", "lap_swimming", Sport.SWIMMING),
        ("rowing", "generic", Sport.ROWING),
        ("fitness_equipment", "indoor_rowing", Sport.ROWING),
        ("fitness_equipment", "elliptical", Sport.OTHER),
        ("walking", None, Sport.WALKING),
        (17, 0, Sport.HIKING),
        ("generic", "generic", Sport.OTHER),
    ],
)
def test_sport_mapping(sport: object, sub: object, expected: Sport) -> None:
    got, detail = map_sport(sport, sub)
    assert got is expected
    assert "/" in detail


def test_barometric_device_recognised_by_product(make_fit) -> None:
    fenix7 = next(k for k, v in NEWER_GARMIN_PRODUCTS.items() if v == "fenix7")
    (act,) = parse(make_fit(START, enhanced_altitude=300.0, product=fenix7)).activities
    assert act.provenance.elevation_source == "barometric"
    assert act.device == "garmin fenix7"
    (act,) = parse(make_fit(START, enhanced_altitude=300.0, product=1)).activities
    assert act.provenance.elevation_source == "gps"


def test_newer_garmin_product_table_matches_fit_sdk_names() -> None:
    from fit_tool.profile.profile_type import GarminProduct

    for pid, name in NEWER_GARMIN_PRODUCTS.items():
        assert GarminProduct(pid).name.lower() == name


@pytest.mark.parametrize("kind", ["MONITORING_A", "SETTINGS", "WORKOUT"])
def test_non_activity_fit_is_skipped(make_fit, kind: str) -> None:
    res = parse(make_fit(START, file_type=kind))
    assert res.activities == [] and res.errors == []
    (skip,) = res.skipped
    assert "not an activity" in skip.reason and skip.path == "run.fit"


def test_truncated_fit_keeps_complete_records_and_is_partial(make_fit) -> None:
    data = make_fit(START, n=200)
    cut = data[: len(data) * 2 // 3]
    res = parse(cut)
    (warning,) = res.warnings
    assert warning.message.startswith(
        f"truncated FIT file: data ends at byte {len(cut):,} of {len(data):,}"
    )
    assert warning.path == "run.fit" and warning.kind == "warning"
    (act,) = res.activities  # no session survived: rebuilt from records
    assert act.provenance.partial is True
    assert 50 < act.samples.height < 200
    # the cadence convention still holds for the rebuilt activity only if the sport is known;
    # without a session or sport message the sport is unknown
    assert act.sport is Sport.OTHER


def test_crc_mismatch_is_a_warning_and_data_is_kept(make_fit) -> None:
    data = bytearray(make_fit(START))
    data[-1] ^= 0xFF
    decoded = decode_fit_fitparse(bytes(data))
    assert decoded[0].crc_ok is False
    res = parse(bytes(data))
    assert len(res.activities) == 1
    assert [w.message for w in res.warnings] == ["FIT CRC mismatch (data read anyway)"]


def test_crc_matches_fit_sdk_on_clean_file(make_fit) -> None:
    data = make_fit(START)
    header = data[0]
    size = int.from_bytes(data[4:8], "little")
    assert fit_crc(data[: header + size]) == int.from_bytes(data[-2:], "little")


def test_device_relative_timestamps_are_an_error(make_fit) -> None:
    data = make_fit(datetime(1990, 1, 5, tzinfo=UTC), n=30)  # 4 days after the FIT epoch
    res = parse(data)
    assert res.activities == []
    (err,) = res.errors
    assert "device-relative" in err.message and err.path == "run.fit"


def test_chained_fit_gives_activities_of_both_parts(make_fit) -> None:
    later = datetime(2024, 5, 5, 7, 0, tzinfo=UTC)
    res = parse(make_fit(START) + make_fit(later))
    assert [a.start_utc for a in res.activities] == [START, later]
    assert [a.part for a in res.activities] == [0, 1]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty file"),
        (b"\x0e\x10" + b"\x00" * 30, "not a valid FIT file"),
        (b"not a fit file at all", "not a valid FIT file"),
    ],
)
def test_corrupt_or_empty_fit_is_one_error(data: bytes, fragment: str) -> None:
    res = parse(data)
    assert res.activities == []
    (err,) = res.errors
    assert fragment in err.message and err.path == "run.fit"


def test_header_only_fit_is_an_error() -> None:
    header = bytes([12, 0x10]) + (2093).to_bytes(2, "little") + (0).to_bytes(4, "little")
    res = parse(header + b".FIT")
    assert res.activities == [] and len(res.errors) == 1


def _fake_fast(monkeypatch: pytest.MonkeyPatch, behaviour: str) -> None:
    mod = types.ModuleType("kneeflags.parsers.fit_fast")

    class FastPathUnsupported(Exception):
        pass

    def decode_fit_fast(data: bytes):
        if behaviour == "unsupported":
            raise FastPathUnsupported("developer fields")
        if behaviour == "crash":
            raise RuntimeError("boom")
        parts = decode_fit_fitparse(data)
        for p in parts:
            p.decoder = "fast"
        return parts

    mod.FastPathUnsupported = FastPathUnsupported  # type: ignore[attr-defined]
    mod.decode_fit_fast = decode_fit_fast  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kneeflags.parsers.fit_fast", mod)


def test_auto_decoder_falls_back_to_fitparse_with_note(make_fit, monkeypatch) -> None:
    _fake_fast(monkeypatch, "unsupported")
    (act,) = parse(make_fit(START), decoder="auto").activities
    assert act.provenance.decoder == "fitparse"
    assert "fast decoder fell back to fitparse: developer fields" in act.provenance.notes


def test_auto_decoder_falls_back_on_any_fast_error(make_fit, monkeypatch) -> None:
    _fake_fast(monkeypatch, "crash")
    (act,) = parse(make_fit(START), decoder="auto").activities
    assert any(n.startswith("fast decoder fell back to fitparse") for n in act.provenance.notes)


def test_fast_decoder_means_no_fallback(make_fit, monkeypatch) -> None:
    _fake_fast(monkeypatch, "unsupported")
    res = parse(make_fit(START), decoder="fast")
    assert res.activities == []
    (err,) = res.errors
    assert "fast FIT decoder cannot read this file" in err.message


def test_auto_decoder_uses_fast_path_when_it_works(make_fit, monkeypatch) -> None:
    _fake_fast(monkeypatch, "ok")
    parts, note = decode_fit(make_fit(START), "auto")
    assert note is None and parts[0].decoder == "fast"


def test_fast_decoder_missing_is_handled(make_fit, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "kneeflags.parsers.fit_fast", None)
    (act,) = parse(make_fit(START), decoder="auto").activities
    assert act.provenance.decoder == "fitparse"
    res = parse(make_fit(START), decoder="fast")
    assert res.activities == [] and "not available" in res.errors[0].message


@pytest.mark.parametrize("seed", range(6))
def test_mangled_files_always_give_an_activity_or_a_problem(make_fit, make_gpx, seed: int) -> None:
    """Random truncations and byte flips: never an exception, never a silent nothing."""
    import random

    rng = random.Random(seed)
    for raw, ref in (
        (make_fit(START, n=90), REF),
        (make_gpx(START, n=60).encode(), SourceRef("r.gpx")),
    ):
        for _ in range(5):
            data = bytearray(raw[: rng.randrange(1, len(raw) + 1)])
            for _ in range(rng.randrange(0, 4)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            res = parse_source(bytes(data), ref, decoder="fitparse")
            assert res.activities or res.errors or res.skipped
            assert all(p.path == str(ref) for p in res.problems)
