"""The columnar FIT decoder, checked against the fitparse decoder (the reference).

Three kinds of evidence:

* generated fixtures (``kneeflags.testing.fitwriter``) whose record values
  are known exactly: the fast decoder must give them back, and must agree
  with :func:`kneeflags.parsers.fit.decode_fit_fitparse` on everything;
* every FIT file of the shared corpus (plain, ``.fit.gz`` and inside
  ``.zip``), decoded by both; they must agree, or the fast path must have
  declined with :class:`FastPathUnsupported` on a file listed below;
* the profile subset compared entry by entry with fitparse's profile.

Corpus files that fitparse itself cannot read to the end (MANIFEST.md):
``activity-unexpected-eof.fit`` and ``nick.fit`` (truncated),
``strava-android-app-201.10-b1218918.fit`` (undefined local message 11),
``activity-settings-nodata.fit`` (second part without data) and
``activity-settings-corruptheader.fit`` (corrupt second header). Both
decoders keep the complete messages before the break and mark the part
partial; the comparison below covers them like any other file.
``coros-pace-2-cycling-misaligned-fields.fit`` has a field whose size is not
a multiple of its base type: fitparse fails on it and the fast path declines
(so the loader falls back to fitparse, which reports it).
"""

from __future__ import annotations

import gzip
import math
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeflags.parsers import fit_profile as prof
from kneeflags.parsers.fit import NotFitError, decode_fit_fitparse
from kneeflags.parsers.fit_decoded import FitDecoded
from kneeflags.parsers.fit_fast import RECORD_COLUMNS, FastPathUnsupported, decode_fit_fast
from kneeflags.testing.fitwriter import (
    DeveloperField,
    FitEncoder,
    chain,
    fit_file,
    synthetic_run,
    write_activity,
    write_message,
)

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
START = datetime(2024, 6, 2, 17, 30, tzinfo=UTC)

KNOWN_UNSUPPORTED = {
    "python-fitparse/coros-pace-2-cycling-misaligned-fields.fit": "not a multiple",
}
"""Corpus files the fast path declines, with a word of the reason it must give."""

RESOLUTION = {
    "distance": 1 / 100,
    "speed": 1 / 1000,
    "enhanced_speed": 1 / 1000,
    "altitude": 1 / 5,
    "enhanced_altitude": 1 / 5,
    "fractional_cadence": 1 / 128,
    "cadence": 1.0,
    "heart_rate": 1.0,
}
"""Profile resolution of each float record column; values must agree within half of it."""

MESSAGE_LISTS = (
    "file_ids",
    "device_infos",
    "sessions",
    "laps",
    "activities",
    "events",
    "sports",
)
KEY_FIELDS = {
    "file_ids": ("type", "manufacturer", "garmin_product", "product", "time_created"),
    "device_infos": ("device_index", "manufacturer", "garmin_product", "product"),
    "sessions": (
        "timestamp",
        "start_time",
        "sport",
        "sub_sport",
        "total_distance",
        "total_timer_time",
        "total_elapsed_time",
    ),
    "laps": ("timestamp", "start_time", "total_distance", "total_timer_time"),
    "activities": ("timestamp", "local_timestamp", "num_sessions", "total_timer_time"),
    "events": ("timestamp", "event", "event_type"),
    "sports": ("sport", "sub_sport"),
}
"""Fields the builder relies on: when the reference has one, the fast decoder must too."""


# --------------------------------------------------------------------------------------------
# Comparison helpers
# --------------------------------------------------------------------------------------------


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return False
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b


def diff_parts(fast: list[FitDecoded], ref: list[FitDecoded]) -> list[str]:
    """Every disagreement between two decodings of one file (empty list: identical)."""
    out: list[str] = []
    if len(fast) != len(ref):
        return [f"{len(fast)} parts vs {len(ref)}"]
    for i, (a, b) in enumerate(zip(fast, ref, strict=True)):
        p = f"part {i}:"
        if a.decoder != "fast":
            out.append(f"{p} decoder {a.decoder!r}")
        if (a.partial, a.crc_ok, a.problem is None) != (b.partial, b.crc_ok, b.problem is None):
            out.append(
                f"{p} flags {(a.partial, a.crc_ok, a.problem)} vs "
                f"{(b.partial, b.crc_ok, b.problem)}"
            )
        ra, rb = a.records, b.records
        if set(ra.columns) != set(rb.columns) or ra.height != rb.height:
            out.append(f"{p} records {ra.height}x{sorted(ra.columns)} vs {rb.height}x{rb.columns}")
        else:
            for col in ra.columns:
                x, y = ra[col], rb[col]
                if not x.is_null().equals(y.is_null()):
                    out.append(f"{p} {col}: nulls differ")
                    continue
                if col in RESOLUTION:
                    err = (x.cast(pl.Float64) - y.cast(pl.Float64)).abs().max()
                    if err is not None and err > RESOLUTION[col] / 2:
                        out.append(f"{p} {col}: max difference {err}")
                elif x.dtype != pl.Int64 or not x.equals(y):
                    out.append(f"{p} {col}: {x.dtype} values differ from {y.dtype}")
        for attr in MESSAGE_LISTS:
            la, lb = getattr(a, attr), getattr(b, attr)
            if len(la) != len(lb):
                out.append(f"{p} {len(la)} {attr} vs {len(lb)}")
                continue
            for k, (ma, mb) in enumerate(zip(la, lb, strict=True)):
                for key, value in ma.items():
                    if key not in mb or not _same_value(value, mb[key]):
                        out.append(f"{p} {attr}[{k}].{key}: {value!r} vs {mb.get(key, '-')!r}")
                for key in KEY_FIELDS[attr]:
                    if key in mb and key not in ma:
                        out.append(f"{p} {attr}[{k}].{key} missing (reference: {mb[key]!r})")
    return out


def assert_same_as_fitparse(data: bytes) -> list[FitDecoded]:
    fast = decode_fit_fast(data)
    problems = diff_parts(fast, decode_fit_fitparse(data))
    assert not problems, "\n".join(problems)
    return fast


def quantised(values: np.ndarray, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """What a decoder must return for physical values written with this scale/offset."""
    raw = np.rint((np.asarray(values, dtype=np.float64) + offset) * scale)
    return raw / scale - offset


SCALES = {
    "distance": (100, 0),
    "enhanced_speed": (1000, 0),
    "speed": (1000, 0),
    "enhanced_altitude": (5, 500),
    "altitude": (5, 500),
    "fractional_cadence": (128, 0),
    "heart_rate": (1, 0),
    "cadence": (1, 0),
    "position_lat": (1, 0),
    "position_long": (1, 0),
}


def assert_records_equal_input(records: pl.DataFrame, cols: dict[str, np.ndarray]) -> None:
    """Decoded records equal the written columns exactly (nulls where NaN was written)."""
    assert records.height == len(cols["timestamp"])
    assert records["timestamp"].to_list() == cols["timestamp"].tolist()
    for name, (scale, offset) in SCALES.items():
        if name not in cols:
            assert name not in records.columns or name.startswith("enhanced_")
            continue
        expected = quantised(cols[name], scale, offset)
        got = records[name].cast(pl.Float64).to_numpy()
        np.testing.assert_array_equal(got, expected, err_msg=name)
        assert records[name].null_count() == int(np.isnan(expected).sum())


# --------------------------------------------------------------------------------------------
# Generated fixtures
# --------------------------------------------------------------------------------------------


def _run(n: int = 400, seed: int = 1, **kw: Any) -> dict[str, np.ndarray]:
    return synthetic_run(START, n, seed=seed, **kw)


def _with_gaps(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ts = cols["timestamp"].copy()
    ts[150:] += 100  # longer than a compressed header can span
    ts[260:] += 31  # exactly at the edge of the 5-bit offset
    return {**cols, "timestamp": ts}


def _with_invalid(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(cols)
    for k, name in enumerate(("heart_rate", "cadence", "enhanced_altitude", "distance")):
        v = out[name].astype(float)
        v[k :: 3 + k] = np.nan
        out[name] = v
    lat = out["position_lat"].astype(float)
    lat[10:40] = np.nan
    out["position_lat"] = lat
    return out


def _dev(form_num: int) -> list[DeveloperField]:
    return [
        DeveloperField("Power", 0, (np.arange(400) * 7 % 500).astype(np.uint16), "uint16", "W"),
        DeveloperField("Form", form_num, np.linspace(0, 9, 400).astype(np.float32), "float32"),
    ]


VARIANTS: dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]] = {
    "plain": (_run(), {}),
    "big_endian": (_run(seed=2), {"big_endian": True}),
    "compressed_timestamps": (_with_gaps(_run(seed=3)), {"compressed_timestamps": True}),
    "compressed_big_interleaved": (
        _with_gaps(_run(seed=4)),
        {"compressed_timestamps": True, "big_endian": True, "filler_every": 5},
    ),
    "interleaved": (_run(seed=5), {"filler_every": 3}),
    "developer_fields": (_run(seed=6), {"developer_fields": _dev(253)}),
    "developer_compressed_big": (
        _run(seed=7),
        {"developer_fields": _dev(2), "compressed_timestamps": True, "big_endian": True},
    ),
    "legacy_speed_altitude": (_run(seed=8, legacy_fields=True), {}),
    "invalid_values": (_with_invalid(_run(seed=9)), {"laps": 4}),
    "no_positions_no_altitude": (_run(seed=10, positions=False, altitude=False), {}),
    "twelve_byte_header": (_run(seed=11), {"header_size": 12}),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_generated_fixture_matches_input_and_fitparse(name: str) -> None:
    cols, options = VARIANTS[name]
    data = write_activity(cols, **options)
    (part,) = assert_same_as_fitparse(data)
    assert part.crc_ok is True and not part.partial and part.problem is None
    assert_records_equal_input(part.records, cols)
    (session,) = part.sessions
    assert session["sport"] == "running"
    assert session["start_time"] == int(cols["timestamp"][0])
    assert session["total_elapsed_time"] == float(cols["timestamp"][-1] - cols["timestamp"][0])


def test_developer_field_253_with_compressed_timestamps_is_declined() -> None:
    """fitparse lets a developer field numbered 253 reset its timestamp accumulator."""
    data = write_activity(_run(seed=6), developer_fields=_dev(253), compressed_timestamps=True)
    with pytest.raises(FastPathUnsupported, match="253"):
        decode_fit_fast(data)


def test_legacy_fields_expand_to_enhanced_columns() -> None:
    cols = _run(seed=12, legacy_fields=True)
    (part,) = decode_fit_fast(write_activity(cols))
    r = part.records
    assert r["enhanced_speed"].equals(r["speed"]) and r["enhanced_altitude"].equals(r["altitude"])


def test_explicit_field_beats_component_whatever_the_order() -> None:
    cols = _run(n=120, seed=13)
    speed = cols["enhanced_speed"].copy()
    speed[::2] = np.nan  # invalid legacy speed must not blank the explicit enhanced_speed
    cols = {**cols, "speed": speed, "altitude": cols["enhanced_altitude"] + 10}
    for order in (
        ["timestamp", "speed", "enhanced_speed", "altitude", "enhanced_altitude"],
        ["timestamp", "enhanced_speed", "speed", "enhanced_altitude", "altitude"],
    ):
        rest = [k for k in cols if k not in order]
        (part,) = assert_same_as_fitparse(write_activity(cols, field_order=order + rest))
        assert part.records["enhanced_speed"].null_count() == 0
        np.testing.assert_array_equal(
            part.records["enhanced_altitude"].to_numpy(),
            quantised(cols["enhanced_altitude"], 5, 500),
        )


def test_an_hour_at_1hz() -> None:
    cols = synthetic_run(START, 3600, seed=21)
    (part,) = decode_fit_fast(write_activity(cols, filler_every=60))
    assert_records_equal_input(part.records, cols)
    spm = 2 * (part.records["cadence"] + part.records["fractional_cadence"])
    assert 150 < spm.median() < 190  # type: ignore[operator]


def test_chained_files_give_one_part_each() -> None:
    a = write_activity(_run(n=100, seed=1), sport="swimming", sub_sport="open_water")
    b = write_activity(_run(n=150, seed=2), sport="cycling", big_endian=True)
    c = write_activity(_with_gaps(_run(n=300, seed=3)), compressed_timestamps=True)
    parts = assert_same_as_fitparse(chain(a, b, c))
    assert [p.records.height for p in parts] == [100, 150, 300]
    assert [p.sessions[0]["sport"] for p in parts] == ["swimming", "cycling", "running"]
    assert all(p.crc_ok for p in parts)


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.25, 0.5, 0.61, 0.9, 0.997])
def test_truncated_files_keep_complete_records(fraction: float) -> None:
    cols = _run(n=400, seed=14)
    full = write_activity(cols, filler_every=4)
    cut = int(len(full) * fraction)
    parts = assert_same_as_fitparse(full[:cut])
    (part,) = parts
    assert part.partial and part.crc_ok is None
    assert part.problem == f"truncated FIT file: data ends at byte {cut:,} of {len(full):,}"
    n = part.records.height
    assert 0 <= n <= 400
    if n:
        prefix = {k: v[:n] for k, v in cols.items()}
        assert_records_equal_input(part.records, prefix)
    # records are complete messages only: the next one would not have fitted
    assert n < 400 or fraction > 0.99


def test_truncated_inside_the_header() -> None:
    full = write_activity(_run(n=10))
    (part,) = decode_fit_fast(full[:13])
    assert part.partial and part.records.height == 0
    assert re.fullmatch(r"truncated FIT file: data ends at byte 13 of [\d,]+", part.problem or "")


def test_crc_in_c_equals_numpy_and_bytewise() -> None:
    """The C accelerator's CRC (slicing by 8) gives the numpy fold's and the byte loop's
    value for every length class (tails of 0-7 bytes, odd lengths, several numpy chunks),
    for memoryview slices, and continues a state as the byte loop does."""
    from kneeflags.parsers import fit_crc as crc_mod

    c_crc = getattr(crc_mod, "_crc16_c", None)
    if c_crc is None:
        pytest.skip("the C accelerator is not built here")
    rng = np.random.default_rng(15)
    lengths = [*range(0, 40), 101_171, 2 * crc_mod.CRC_CHUNK_WORDS + 3]
    for n in lengths:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        expected = crc_mod.crc_bytewise(data) if n < 5000 else crc_mod.fit_crc_numpy(data)
        assert crc_mod.fit_crc(data) == crc_mod.fit_crc_numpy(data) == expected, n
        assert crc_mod.fit_crc(memoryview(data)[1:]) == crc_mod.fit_crc_numpy(data[1:]), n
        cut = n // 3
        assert c_crc(data[cut:], c_crc(data[:cut])) == expected, n
    # a real file's stored CRC: the CRC over the data and the stored CRC is zero
    body = write_activity(synthetic_run(START, 600, seed=3))
    assert crc_mod.fit_crc(body) == 0


def test_crc_mismatch_is_reported_not_rejected() -> None:
    cols = _run(n=50, seed=15)
    data = bytearray(write_activity(cols))
    data[-1] ^= 0x5A
    (part,) = assert_same_as_fitparse(bytes(data))
    assert part.crc_ok is False and not part.partial
    assert "CRC mismatch" in (part.problem or "")
    assert_records_equal_input(part.records, cols)
    data[-2:] = b"\x00\x00"  # a writer that did not compute a CRC
    (part,) = decode_fit_fast(bytes(data))
    assert part.crc_ok is True and part.problem is None


def test_header_data_size_wrong() -> None:
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "activity", "manufacturer": "garmin"})
    enc.define(1, prof.MESG_RECORD, [(253, "uint32", 1), (3, "uint8", 1)])
    enc.write_rows((enc.rows(1, [np.arange(1_000_000_000, 1_000_000_020), np.full(20, 99)]), None))
    size = len(enc.data())
    too_small = enc.to_bytes(data_size=size - 3)
    (part,) = assert_same_as_fitparse(too_small)
    assert part.partial and "runs past the end of the data" in (part.problem or "")
    assert part.records.height == 19
    too_large = enc.to_bytes(data_size=size + 1000)
    (part,) = assert_same_as_fitparse(too_large)
    assert part.partial and part.problem is not None
    assert part.problem.startswith("truncated FIT file") and part.records.height == 20


def test_undefined_local_message_keeps_what_came_before() -> None:
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "activity", "manufacturer": "garmin"})
    enc.define(1, prof.MESG_RECORD, [(253, "uint32", 1), (3, "uint8", 1)])
    enc.write_rows((enc.rows(1, [np.arange(1_000_000_000, 1_000_000_010), np.full(10, 99)]), None))
    enc.raw(bytes([0x0B]) + b"\x00" * 8)  # data message of local type 11, never defined
    enc.message(1, [1_000_000_100, 100])
    data = enc.to_bytes()
    (part,) = assert_same_as_fitparse(data)
    assert part.partial and part.records.height == 10 and part.crc_ok is True
    assert "undefined local message type 11" in (part.problem or "")
    (part,) = assert_same_as_fitparse(data[:-4])  # corrupt and truncated: no CRC verdict
    assert part.partial and part.records.height == 10 and part.crc_ok is None
    assert "truncated FIT file" in (part.problem or "")


def test_trailing_junk_after_the_file() -> None:
    data = write_activity(_run(n=30)) + b"garbage that is no FIT header"
    (part,) = assert_same_as_fitparse(data)
    assert not part.partial and part.problem and part.records.height == 30


def test_redefinitions_and_several_record_layouts_keep_file_order() -> None:
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "activity", "manufacturer": "garmin"})
    t0 = 1_050_000_000
    enc.define(1, prof.MESG_RECORD, [(253, "uint32", 1), (3, "uint8", 1)])
    enc.define(2, prof.MESG_RECORD, [(253, "uint32", 1), (4, "uint8", 1), (5, "uint32", 1)])
    a = enc.rows(1, [t0 + np.arange(0, 20, 2), np.arange(100, 110)])
    b = enc.rows(2, [t0 + np.arange(1, 20, 2), np.arange(80, 90), np.arange(10) * 500])
    enc.write_rows((a, np.arange(0, 20, 2.0)), (b, np.arange(1, 20, 2.0)))
    # local 1 redefined with another layout (speed as a uint16 component source)
    enc.define(1, prof.MESG_RECORD, [(6, "uint16", 1), (253, "uint32", 1)])
    enc.write_rows((enc.rows(1, [np.full(5, 3100), t0 + np.arange(20, 25)]), None))
    (part,) = assert_same_as_fitparse(enc.to_bytes())
    r = part.records
    assert r["timestamp"].to_list() == list(range(t0, t0 + 25))
    assert r["heart_rate"].to_list()[:4] == [100, None, 101, None]
    assert r["cadence"].to_list()[:4] == [None, 80, None, 81]
    assert r["enhanced_speed"].to_list()[20:] == [3.1] * 5


def test_compressed_speed_distance_accumulates_like_fitparse() -> None:
    """12-bit distance counts (1/16 m) roll over at 4096 and are summed up (FR70 style)."""
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "activity", "manufacturer": "garmin"})
    write_message(enc, 2, prof.MESG_EVENT, {"timestamp": 17_000_000, "event": "timer"})
    steps = np.array([0, 300, 900, 1500, 2000, 4000, 2500, 0, 4095, 12])
    dist16 = np.cumsum(steps)
    speed = np.arange(10) * 37 + 100  # 1/100 m/s
    packed = (speed & 0xFFF) | ((dist16 & 0xFFF) << 12)
    csd = np.stack([packed & 0xFF, (packed >> 8) & 0xFF, (packed >> 16) & 0xFF], axis=1)
    csd[3] = 0xFF  # invalid: neither speed nor distance, and no accumulation
    enc.define(0, prof.MESG_RECORD, [(8, "byte", 3), (3, "uint8", 1)])
    offsets = (17_000_000 + 5 * np.arange(10)) & 0x1F
    enc.write_rows((enc.rows(0, [csd, np.full(10, 120)], time_offsets=offsets), None))
    (part,) = assert_same_as_fitparse(enc.to_bytes())
    r = part.records
    assert r["timestamp"].to_list() == (17_000_000 + 5 * np.arange(10)).tolist()
    got = r["distance"].to_list()
    # the invalid message is null and skipped; the next delta (< 4096) still recovers the sum
    assert got[3] is None and r["speed"].to_list()[3] is None
    assert [g for g in got if g is not None] == np.delete(dist16 / 16.0, 3).tolist()
    assert r["speed"].to_list()[:3] == [1.0, 1.37, 1.74]
    assert "enhanced_speed" not in r.columns  # a component does not expand further


def test_redefinition_restarts_compressed_distance_as_fitparse_does() -> None:
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "activity", "manufacturer": "garmin"})
    layout = [(253, "uint32", 1), (8, "byte", 3)]

    def block(ts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        packed = (counts & 0xFFF) << 12
        csd = np.stack([packed & 0xFF, (packed >> 8) & 0xFF, (packed >> 16) & 0xFF], axis=1)
        return enc.rows(0, [ts, csd])

    enc.define(0, prof.MESG_RECORD, layout)
    enc.write_rows(
        (block(np.arange(20_000_000, 20_000_005), np.array([0, 4000, 10, 20, 30])), None)
    )
    enc.define(0, prof.MESG_RECORD, layout)
    enc.write_rows((block(np.arange(20_000_005, 20_000_008), np.array([40, 50, 60])), None))
    (part,) = assert_same_as_fitparse(enc.to_bytes())
    assert part.records["distance"].to_list() == [
        0.0,
        4000 / 16,
        (4096 + 10) / 16,
        (4096 + 20) / 16,
        (4096 + 30) / 16,
        40 / 16,
        50 / 16,
        60 / 16,
    ]


def test_compressed_header_on_a_non_record_message() -> None:
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "activity", "manufacturer": "garmin"})
    t0 = 1_000_000_000
    enc.define(1, prof.MESG_RECORD, [(253, "uint32", 1), (3, "uint8", 1)])
    enc.message(1, [t0, 90])
    enc.define(2, prof.MESG_EVENT, [(0, "enum", 1), (1, "enum", 1)])
    enc.message(2, [0, 4], time_offset=(t0 + 40) & 0x1F)  # 40 s later: wraps once
    (part,) = assert_same_as_fitparse(enc.to_bytes())
    (event,) = part.events
    assert event == {"event": "timer", "event_type": "stop_all", "timestamp": t0 + 8}


def test_non_activity_file_keeps_only_file_id() -> None:
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "settings", "manufacturer": "garmin"})
    enc.define(1, prof.MESG_RECORD, [(253, "uint32", 1), (3, "uint8", 1)])
    enc.message(1, [1_000_000_000, 90])
    (part,) = assert_same_as_fitparse(enc.to_bytes())
    assert part.file_ids == [{"type": "settings", "manufacturer": "garmin"}]
    assert part.records.height == 0


def test_messages_render_like_fitparse() -> None:
    """Sub-fields, components, enum names, scales and invalid values in non-record messages."""
    enc = FitEncoder()
    write_message(
        enc,
        0,
        prof.MESG_FILE_ID,
        {"type": "activity", "manufacturer": "development", "product": 77, "serial_number": None},
    )
    write_message(
        enc,
        1,
        prof.MESG_EVENT,
        {"timestamp": 1_000_000_000, "event": "battery", "event_type": "marker", "data": 3700},
    )
    write_message(
        enc,
        1,
        prof.MESG_EVENT,
        {"timestamp": 1_000_000_001, "event": "rear_gear_change", "data": 0x0A0B0C0D},
    )
    write_message(
        enc,
        2,
        prof.MESG_SESSION,
        {"sport": "running", "avg_cadence": 86, "avg_speed": 3.25, "total_distance": None},
    )
    write_message(enc, 3, prof.MESG_SPORT, {"sport": "cycling", "sub_sport": 58, "name": "Zwift"})
    (part,) = assert_same_as_fitparse(enc.to_bytes())
    assert part.file_ids[0]["product"] == 77 and part.file_ids[0]["serial_number"] is None
    assert part.events[0]["battery_level"] == 3.7
    assert part.events[1]["rear_gear"] == 0x0C and part.events[1]["front_gear_num"] == 0x0B
    (session,) = part.sessions
    assert session["avg_running_cadence"] == 86 and "avg_cadence" not in session
    assert session["avg_speed"] == 3.25 and session["enhanced_avg_speed"] == 3.25
    assert session["total_distance"] is None
    assert part.sports == [{"sport": "cycling", "sub_sport": "virtual_activity", "name": "Zwift"}]


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"\x0e\x10" + b"\x00" * 30, bytes(range(256))],
    ids=["empty", "text", "no-signature", "bytes"],
)
def test_not_fit_raises_not_fit_error(data: bytes) -> None:
    with pytest.raises(NotFitError):
        decode_fit_fast(data)


def test_misaligned_field_size_is_declined() -> None:
    enc = FitEncoder()
    enc.raw(bytes([0x40, 0, 0, 20, 0, 1, 5, 3, 0x86]))  # distance: 3 bytes of uint32
    enc.raw(bytes([0x00, 1, 2, 3]))
    with pytest.raises(FastPathUnsupported, match="not a multiple"):
        decode_fit_fast(fit_file(enc.data()))


def test_zero_size_field_is_declined() -> None:
    enc = FitEncoder()
    enc.raw(bytes([0x40, 0, 0, 20, 0, 1, 3, 0, 0x02]))
    enc.raw(bytes([0x00]))
    with pytest.raises(FastPathUnsupported, match="size 0"):
        decode_fit_fast(fit_file(enc.data()))


_COLUMN_CHOICES = ("position", "enhanced_altitude", "cadence", "heart_rate", "distance")


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 200),
    seed=st.integers(0, 10_000),
    drop=st.sets(st.sampled_from(_COLUMN_CHOICES)),
    nan_every=st.integers(0, 7),
    big=st.booleans(),
    compressed=st.booleans(),
    filler=st.sampled_from([None, 1, 2, 13]),
    gap=st.integers(0, 200),
)
def test_roundtrip_property(
    n: int,
    seed: int,
    drop: set[str],
    nan_every: int,
    big: bool,
    compressed: bool,
    filler: int | None,
    gap: int,
) -> None:
    cols = synthetic_run(START, n, seed=seed)
    if "position" in drop:
        drop = (drop - {"position"}) | {"position_lat", "position_long"}
    cols = {k: v for k, v in cols.items() if k not in drop}
    ts = cols["timestamp"].copy()
    ts[n // 2 :] += gap
    cols["timestamp"] = ts
    if nan_every:
        for name in ("heart_rate", "enhanced_speed", "fractional_cadence"):
            if name in cols:
                v = cols[name].astype(float)
                v[::nan_every] = np.nan
                cols[name] = v
    data = write_activity(
        cols, big_endian=big, compressed_timestamps=compressed, filler_every=filler
    )
    (part,) = decode_fit_fast(data)
    assert part.crc_ok and not part.partial
    kept = {
        k: v
        for k, v in cols.items()
        if k == "timestamp" or not np.isnan(np.asarray(v, dtype=float)).all()
    }
    assert_records_equal_input(part.records, kept)


_FUZZ_BASE = write_activity(
    synthetic_run(START, 40, seed=3), compressed_timestamps=True, filler_every=4, laps=2
)


@settings(max_examples=60, deadline=None)
@given(
    flips=st.lists(st.tuples(st.integers(0, len(_FUZZ_BASE) - 1), st.integers(0, 7)), max_size=6),
    cut=st.integers(0, len(_FUZZ_BASE)),
)
def test_damaged_files_never_raise_anything_else(flips: list[tuple[int, int]], cut: int) -> None:
    """Bit flips and cuts give parts, or one of the two documented exceptions."""
    data = bytearray(_FUZZ_BASE)
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    try:
        parts = decode_fit_fast(bytes(data[:cut]))
    except (FastPathUnsupported, NotFitError):
        return
    for part in parts:
        assert part.records.height <= 40 or part.problem is not None
        assert set(part.records.columns) <= set(RECORD_COLUMNS)


# --------------------------------------------------------------------------------------------
# The profile subset
# --------------------------------------------------------------------------------------------


def test_profile_subset_matches_fitparse_profile() -> None:
    from fitparse.profile import FIELD_TYPES, MESSAGE_TYPES
    from fitparse.records import BASE_TYPES

    def comps(items: Any) -> list[tuple[Any, ...]]:
        return [
            (c.name, c.def_num, c.scale, c.offset, c.bits, c.bit_offset or 0, bool(c.accumulate))
            for c in (items or [])
        ]

    for num, mspec in prof.MESSAGES.items():
        ref = MESSAGE_TYPES[num]
        assert mspec.name == ref.name
        targets = {
            c.num
            for f in mspec.fields.values()
            for c in (*f.components, *(c for sub in f.subfields for c in sub.components))
        }
        assert targets <= set(mspec.fields), f"{mspec.name}: component target outside the subset"
        for fnum, spec in mspec.fields.items():
            rf = ref.fields[fnum]
            assert (spec.name, spec.type, spec.scale, spec.offset) == (
                rf.name,
                rf.type.name,
                rf.scale,
                rf.offset,
            ), (mspec.name, spec.name)
            mine = [
                (c.name, c.num, c.scale, c.offset, c.bits, c.bit_offset, c.accumulate)
                for c in spec.components
            ]
            assert mine == comps(rf.components)
            subs = [
                (s.name, s.type, s.refs, s.scale, s.offset, [c.name for c in s.components])
                for s in spec.subfields
            ]
            ref_subs = [
                (
                    s.name,
                    s.type.name,
                    tuple((r.def_num, r.raw_value) for r in s.ref_fields),
                    s.scale,
                    s.offset,
                    [c.name for c in s.components or []],
                )
                for s in rf.subfields or []
            ]
            assert subs == ref_subs, (mspec.name, spec.name)
    for name, table in prof.TYPES.items():
        assert table == FIELD_TYPES[name].values, name
    for name, base in prof.TYPE_BASE.items():
        assert FIELD_TYPES[name].base_type.name == base
    for num, bt in prof.BASE_TYPES.items():
        assert (bt.name, bt.size) == (BASE_TYPES[num].name, BASE_TYPES[num].size)


# --------------------------------------------------------------------------------------------
# The real corpus
# --------------------------------------------------------------------------------------------


def corpus_fit_files() -> Iterator[tuple[str, bytes]]:
    """(name, FIT bytes) for every FIT file in the corpus: plain, gzipped and inside zips."""
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(CORPUS))
        low = path.name.lower()
        if low.endswith(".fit"):
            yield rel, path.read_bytes()
        elif low.endswith(".fit.gz"):
            yield rel, gzip.decompress(path.read_bytes())
        elif low.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if member.lower().endswith(".fit"):
                        yield f"{rel}!{member}", archive.read(member)


@pytest.fixture(scope="module")
def corpus_reference() -> dict[str, tuple[bytes, list[FitDecoded]]]:
    """Every corpus FIT file decoded once by the fitparse decoder (slow: about a minute)."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent (shared test data not checked out)")
    return {name: (data, decode_fit_fitparse(data)) for name, data in corpus_fit_files()}


@pytest.mark.corpus
def test_corpus_fast_decoder_matches_fitparse(
    corpus_reference: dict[str, tuple[bytes, list[FitDecoded]]],
) -> None:
    failures: list[str] = []
    declined: set[str] = set()
    compared = records = 0
    for name, (data, ref) in corpus_reference.items():
        try:
            fast = decode_fit_fast(data)
        except FastPathUnsupported as exc:
            declined.add(name)
            if name not in KNOWN_UNSUPPORTED or KNOWN_UNSUPPORTED[name] not in str(exc):
                failures.append(f"{name}: unexpectedly declined ({exc})")
            elif not any(p.partial for p in ref):
                failures.append(f"{name}: declined although fitparse reads it fully")
            continue
        compared += 1
        records += sum(p.records.height for p in fast)
        failures += [f"{name}: {d}" for d in diff_parts(fast, ref)]
    assert not failures, "\n".join(failures[:40])
    assert declined == set(KNOWN_UNSUPPORTED)
    assert compared >= 230 and records > 400_000


@pytest.mark.corpus
def test_corpus_compressed_speed_distance_matches_its_ground_truth() -> None:
    """python-fitparse ships a CSV of the records of its FR70 file (compressed headers)."""
    fit = CORPUS / "python-fitparse" / "compressed-speed-distance.fit"
    csv = CORPUS / "python-fitparse" / "compressed-speed-distance-records.csv"
    if not fit.is_file() or not csv.is_file():
        pytest.skip("corpus folder or the python-fitparse files are absent")
    (part,) = decode_fit_fast(fit.read_bytes())
    truth = pl.read_csv(csv, null_values="null")
    truth.columns = ["timestamp", "heart_rate", "speed", "distance", "cadence"]
    # the CSV leaves out the first record, which holds nothing but its timestamp
    first = part.records.row(0, named=True)
    assert [k for k, v in first.items() if v is not None] == ["timestamp"]
    r = part.records.slice(1)
    assert r.height == truth.height
    assert r["timestamp"].to_list() == truth["timestamp"].to_list()
    assert r["heart_rate"].to_list() == truth["heart_rate"].cast(pl.Float64).to_list()
    np.testing.assert_allclose(r["speed"].to_numpy(), truth["speed"].to_numpy())
    np.testing.assert_allclose(r["distance"].to_numpy(), truth["distance"].to_numpy())
    assert r["cadence"].to_list() == truth["cadence"].cast(pl.Float64).to_list()
