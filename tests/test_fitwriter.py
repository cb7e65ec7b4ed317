"""The test/benchmark FIT writer, read back by fitparse (the reference reader).

fitparse runs with ``check_crc=True`` throughout, so every file here also
proves that the header and file CRCs are right. Expected values are computed
from the inputs (quantised to the profile's resolution), never from the
writer's own output.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import fitparse
import numpy as np
import pytest
from fitparse.records import Crc
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeflags.parsers.fit_fast import fit_crc
from kneeflags.testing.fitwriter import (
    DeveloperField,
    FitEncoder,
    chain,
    fit_time,
    synthetic_run,
    write_activity,
)

START = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)


def _messages(data: bytes) -> list[fitparse.records.DataMessage]:
    return list(fitparse.FitFile(io.BytesIO(data), check_crc=True).get_messages())


def _raw_values(msg: fitparse.records.DataMessage) -> dict[str, object]:
    """Field values by name, date-times as raw FIT seconds (what the writer was given)."""
    out: dict[str, object] = {}
    for f in msg.fields:
        out[f.name] = f.raw_value if f.type.name in ("date_time", "local_date_time") else f.value
    return out


def _records(msgs: list) -> list[dict[str, object]]:
    return [_raw_values(m) for m in msgs if m.name == "record"]


def _expected(values: np.ndarray, scale: float = 1, offset: float = 0) -> list[float | None]:
    raw = np.rint((np.asarray(values, dtype=float) + offset) * scale)
    return [None if np.isnan(r) else float(r) / scale - offset for r in raw]


def _assert_records(recs: list[dict[str, object]], cols: dict[str, np.ndarray]) -> None:
    assert len(recs) == len(cols["timestamp"])
    assert [r["timestamp"] for r in recs] == cols["timestamp"].tolist()
    scales = {
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
    for name, (scale, offset) in scales.items():
        if name in cols:
            assert [r[name] for r in recs] == _expected(cols[name], scale, offset), name


def test_hour_run_reads_back_exactly_with_fitparse() -> None:
    cols = synthetic_run(START, 3600, seed=7)
    data = write_activity(cols, utc_offset_s=3600)
    msgs = _messages(data)
    _assert_records(_records(msgs), cols)
    # fractional cadence really is fractional, in 1/128 steps
    fr = np.asarray([r["fractional_cadence"] for r in _records(msgs)])
    assert np.all(fr * 128 == np.round(fr * 128)) and fr.max() > 0
    (file_id,) = [_raw_values(m) for m in msgs if m.name == "file_id"]
    assert file_id["type"] == "activity"
    assert file_id["manufacturer"] == "garmin"
    assert file_id["garmin_product"] == "fr935"
    assert file_id["time_created"] == fit_time(START)
    (session,) = [_raw_values(m) for m in msgs if m.name == "session"]
    assert session["sport"] == "running"
    assert session["sub_sport"] == "generic"
    assert session["start_time"] == fit_time(START)
    assert session["total_elapsed_time"] == 3599.0
    assert session["total_timer_time"] == 3599.0
    assert session["total_distance"] == pytest.approx(cols["distance"][-1], abs=0.005)
    (activity,) = [_raw_values(m) for m in msgs if m.name == "activity"]
    assert activity["num_sessions"] == 1
    assert activity["local_timestamp"] - activity["timestamp"] == 3600
    events = [_raw_values(m) for m in msgs if m.name == "event"]
    assert [(e["event"], e["event_type"]) for e in events] == [
        ("timer", "start"),
        ("timer", "stop_all"),
    ]
    (device,) = [_raw_values(m) for m in msgs if m.name == "device_info"]
    assert device["device_index"] == "creator"
    assert device["software_version"] == 12.34


def test_laps_split_the_distance() -> None:
    cols = synthetic_run(START, 900, seed=1)
    msgs = _messages(write_activity(cols, laps=3, sport="running", sub_sport="trail"))
    laps = [_raw_values(m) for m in msgs if m.name == "lap"]
    assert len(laps) == 3
    assert [lap["start_time"] for lap in laps] == [fit_time(START) + k for k in (0, 300, 600)]
    assert sum(lap["total_distance"] for lap in laps) == pytest.approx(
        cols["distance"][-1], abs=0.02
    )
    assert {lap["sub_sport"] for lap in laps} == {"trail"}


def test_big_endian_definitions() -> None:
    cols = synthetic_run(START, 200, seed=2)
    data = write_activity(cols, big_endian=True)
    assert data[14 + 2] == 1  # first definition: architecture byte says big-endian
    _assert_records(_records(_messages(data)), cols)


def test_compressed_timestamps_with_gaps_and_interleaved_messages() -> None:
    cols = synthetic_run(START, 300, seed=3)
    ts = cols["timestamp"].copy()
    ts[100:] += 45  # a pause longer than the 31 s a compressed header can span
    ts[200:] += 31
    cols["timestamp"] = ts
    data = write_activity(cols, compressed_timestamps=True, filler_every=7)
    msgs = _messages(data)
    headers = [m.header for m in msgs if m.name == "record"]
    compressed = [h.time_offset is not None for h in headers]
    assert sum(compressed) >= 290 and not compressed[0] and not compressed[100]
    assert sum(1 for m in msgs if m.name == "unknown_65281") == 300 // 7
    _assert_records(_records(msgs), cols)


def test_developer_fields() -> None:
    cols = synthetic_run(START, 120, seed=4)
    power = (np.arange(120) * 3 % 400).astype(np.uint16)
    leg = (np.arange(120) / 4).astype(np.float32)
    dev = [
        DeveloperField("Power", 0, power, "uint16", "Watts"),
        DeveloperField("Leg Spring", 1, leg, "float32", "kN/m"),
    ]
    msgs = _messages(write_activity(cols, developer_fields=dev, big_endian=True))
    recs = _records(msgs)
    assert [r["Power"] for r in recs] == power.tolist()
    assert [r["Leg Spring"] for r in recs] == pytest.approx(leg.tolist())
    _assert_records(recs, cols)
    descs = [_raw_values(m) for m in msgs if m.name == "field_description"]
    assert [d["field_name"] for d in descs] == ["Power", "Leg Spring"]


def test_invalid_values_become_none() -> None:
    cols = synthetic_run(START, 50, seed=5)
    for name in ("heart_rate", "cadence", "enhanced_altitude", "distance", "position_lat"):
        v = cols[name].astype(float)
        v[::4] = np.nan
        cols[name] = v
    recs = _records(_messages(write_activity(cols)))
    assert recs[0]["heart_rate"] is None and recs[1]["heart_rate"] is not None
    assert recs[4]["position_lat"] is None and recs[4]["enhanced_altitude"] is None
    _assert_records(recs, cols)


def test_legacy_fields_and_field_order() -> None:
    cols = synthetic_run(START, 60, seed=6, legacy_fields=True)
    assert "speed" in cols and "enhanced_speed" not in cols
    order = ["timestamp", "cadence", "speed", "altitude", "distance", "heart_rate"]
    cols = {k: v for k, v in cols.items() if k in order}
    msgs = _messages(write_activity(cols, field_order=order))
    rec = next(m for m in msgs if m.name == "record")
    assert [f.name for f in rec.fields if f.field_def is not None] == order
    _assert_records(_records(msgs), cols)


def test_chained_files() -> None:
    a = write_activity(synthetic_run(START, 30, seed=1), sport="swimming", sub_sport="open_water")
    b = write_activity(synthetic_run(START, 40, seed=2), sport="running")
    msgs = _messages(chain(a, b))
    assert len(_records(msgs)) == 70
    sports = [_raw_values(m)["sport"] for m in msgs if m.name == "session"]
    assert sports == ["swimming", "running"]


def test_header_variants_and_overrides() -> None:
    enc = FitEncoder()
    enc.define(0, 0, [(0, "enum", 1), (1, "uint16", 1)])
    enc.message(0, [4, 1])
    twelve = enc.to_bytes(header_size=12)
    assert twelve[0] == 12 and len(twelve) == 12 + len(enc.data()) + 2
    assert [_raw_values(m)["type"] for m in _messages(twelve)] == ["activity"]
    zero_crc = enc.to_bytes(header_crc=False)
    assert zero_crc[12:14] == b"\x00\x00"
    assert len(_messages(zero_crc)) == 1  # a zero header CRC means "not computed"
    lying = enc.to_bytes(data_size=3)
    assert int.from_bytes(lying[4:8], "little") == 3


def test_rows_interleave_messages_of_different_sizes() -> None:
    enc = FitEncoder()
    enc.define(0, 20, [(253, "uint32", 1), (3, "uint8", 1)])
    enc.define(1, 0xFF01, [(253, "uint32", 1), (0, "uint16", 2)])
    rec = enc.rows(0, [np.arange(1000, 1010), np.arange(100, 110)])
    other = enc.rows(1, [np.array([1003, 1007]), np.array([[1, 2], [3, 4]])])
    enc.write_rows((rec, np.arange(10.0)), (other, np.array([3.5, 7.5])))
    msgs = _messages(enc.to_bytes())
    names = [m.name for m in msgs]
    assert names[:5] == ["record"] * 4 + ["unknown_65281"]
    assert names.count("record") == 10 and names.count("unknown_65281") == 2
    assert [m.get_values()["heart_rate"] for m in msgs if m.name == "record"] == list(
        range(100, 110)
    )


def test_values_out_of_range_are_refused() -> None:
    cols = synthetic_run(START, 10, seed=1)
    cols["heart_rate"] = np.full(10, 300.0)  # does not fit uint8
    with pytest.raises(ValueError, match="heart_rate"):
        write_activity(cols)
    cols["heart_rate"] = np.full(10, 255.0)  # would read back as "invalid"
    with pytest.raises(ValueError, match="invalid marker"):
        write_activity(cols)


def test_synthetic_run_is_plausible_and_deterministic() -> None:
    a = synthetic_run(START, 3600, seed=11)
    b = synthetic_run(START, 3600, seed=11)
    c = synthetic_run(START, 3600, seed=12)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["enhanced_altitude"], c["enhanced_altitude"])
    assert 8_000 < a["distance"][-1] < 14_000  # an hour at 2.5-3.5 m/s
    spm = 2 * (a["cadence"] + a["fractional_cadence"])
    assert 150 < np.median(spm) < 190
    assert np.all(np.diff(a["distance"]) >= 0)
    assert np.ptp(a["enhanced_altitude"]) > 20


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_vectorised_crc_matches_fitparse(data: bytes) -> None:
    assert fit_crc(data) == Crc.calculate(data)


def test_crc_of_long_input() -> None:
    data = np.random.default_rng(0).integers(0, 256, 200_001, dtype=np.uint8).tobytes()
    assert fit_crc(data) == Crc.calculate(data)
