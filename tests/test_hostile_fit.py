"""Hostile FIT files through the whole command line (issue 6).

Each case puts two good runs and one damaged file in a sandbox, runs ``kneeflags analyze
--format json`` and holds the contract of :meth:`hostile.CliRun.check`: the good runs
analysed, the damaged file named with a one-line message, no traceback, no hang, nothing
written outside ``out/``/``cache/``, inputs unchanged, and the documented exit code.
"""

from __future__ import annotations

import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hostile import (
    EXIT_OK,
    CliRun,
    Sandbox,
    alarm_fixture,
    analyze_json,
    fit_map,
    fit_run,
    flip_bits,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kneeflags.testing.fitwriter import DeveloperField, chain

_hang_guard = alarm_fixture(120)

GOOD = ("in/good-a.fit", "in/good-b.fit")
VICTIM = "in/victim.fit"


def _box(root: Path, victim: bytes, name: str = "victim.fit") -> Sandbox:
    """Two good runs (days 0 and 2) and the victim; snapshot taken."""
    box = Sandbox(root)
    box.put("good-a.fit", fit_run(0, seed=1))
    box.put("good-b.fit", fit_run(2, seed=2))
    box.put(name, victim)
    box.freeze()
    return box


def _run(box: Sandbox, *extra: str) -> CliRun:
    run = analyze_json(box, None, *extra)
    box.verify()
    return run


def _messages(run: CliRun, name: str = VICTIM) -> list[str]:
    return [p["message"] for p in run.problems() if p["path"] == name]


def _activity(run: CliRun, name: str = VICTIM) -> list[dict]:
    assert run.doc is not None
    return [a for ath in run.doc["athletes"] for a in ath["activities"] if a["source"] == name]


@pytest.fixture(scope="module")
def victim() -> bytes:
    """The file every case damages: a 10-minute run on day 4."""
    return fit_run(4, seed=4)


# --- truncation --------------------------------------------------------------------------


@pytest.mark.parametrize("tenths", range(1, 10))
def test_truncated_at_every_tenth_keeps_the_partial_run(
    tmp_path: Path, victim: bytes, tenths: int
) -> None:
    cut = len(victim) * tenths // 10
    box = _box(tmp_path, victim[:cut])
    run = _run(box)
    run.check(good=GOOD, bad=[VICTIM], codes={EXIT_OK})
    msgs = _messages(run)
    assert any("truncated" in m for m in msgs), msgs
    assert any(f"{cut:,}" in m for m in msgs), f"message should say where the data ends: {msgs}"
    # a watch that died mid-run must not lose the run: the complete records are used
    acts = _activity(run)
    assert len(acts) == 1 and acts[0]["partial"] is True, acts


@pytest.mark.parametrize("tenths", [3, 7])
def test_truncated_with_the_reference_decoder(tmp_path: Path, victim: bytes, tenths: int) -> None:
    box = _box(tmp_path, victim[: len(victim) * tenths // 10])
    run = _run(box, "--decoder", "fitparse")
    run.check(good=GOOD, bad=[VICTIM], codes={EXIT_OK})
    assert _activity(run)[0]["partial"] is True


# --- bit flips ---------------------------------------------------------------------------


@st.composite
def _flips(draw: st.DrawFn, region: str, offsets: list[int]) -> list[tuple[int, int]]:
    n = draw(st.integers(1, 4))
    positions = draw(st.lists(st.sampled_from(offsets), min_size=n, max_size=n, unique=True))
    return [(p, draw(st.integers(0, 7))) for p in positions]


@pytest.mark.parametrize("region", ["header", "definitions", "data"])
def test_random_bit_flips(victim: bytes, region: str) -> None:
    offsets = fit_map(victim).offsets(region)
    assert offsets

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(flips=_flips(region, offsets))
    def one(flips: list[tuple[int, int]]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            box = _box(Path(tmp), flip_bits(victim, flips))
            run = _run(box)
            # every flip changes the CRC, so the victim is always named (CRC warning at
            # least); whatever else, the good runs are analysed and nothing crashes
            run.check(good=GOOD, bad=[VICTIM])

    one()


def test_flipped_file_type_is_not_silently_dropped(tmp_path: Path, victim: bytes) -> None:
    """A bit flip that turns the file_id type into "workout" must still name the file."""
    m = fit_map(victim)
    # file_id is the first data message; its first field is ``type`` (enum, 1 byte)
    type_byte = m.data[0][0] + 1
    assert victim[type_byte] == 4  # activity
    box = _box(tmp_path, flip_bits(victim, [(type_byte, 0)]))  # 4 -> 5 (workout)
    run = _run(box)
    run.check(good=GOOD, bad=[VICTIM])
    assert any("CRC" in m for m in _messages(run))


# --- header fields -----------------------------------------------------------------------


@pytest.mark.parametrize("header_size", [0, 1, 11, 12, 13, 15, 64, 255])
def test_wrong_header_size(tmp_path: Path, victim: bytes, header_size: int) -> None:
    box = _box(tmp_path, bytes([header_size]) + victim[1:])
    run = _run(box)
    run.check(good=GOOD, bad=[VICTIM])
    if header_size < 12 or header_size == 13:
        text = " ".join(_messages(run)).lower()
        assert "header size" in text, f"the message should say what is wrong: {text}"


@pytest.mark.parametrize(
    "delta", ["zero", "one", "minus-100", "minus-1", "plus-1", "double", "max"]
)
def test_wrong_data_size(tmp_path: Path, victim: bytes, delta: str) -> None:
    size = struct.unpack_from("<I", victim, 4)[0]
    new = {
        "zero": 0,
        "one": 1,
        "minus-100": size - 100,
        "minus-1": size - 1,
        "plus-1": size + 1,
        "double": 2 * size,
        "max": 0xFFFFFFFF,
    }[delta]
    box = _box(tmp_path, victim[:4] + struct.pack("<I", new) + victim[8:])
    run = _run(box)
    run.check(good=GOOD, bad=[VICTIM])
    if new > size:  # the data is all there: the run is kept, marked partial
        assert _activity(run) and _activity(run)[0]["partial"] is True


@pytest.mark.parametrize("where", ["file", "header"])
def test_crc_mismatch_is_a_warning_and_the_data_is_used(
    tmp_path: Path, victim: bytes, where: str
) -> None:
    if where == "file":
        bad = victim[:-2] + bytes([victim[-2] ^ 0xFF, victim[-1]])
    else:
        bad = victim[:12] + bytes([victim[12] ^ 0xFF]) + victim[13:]
    box = _box(tmp_path, bad)
    run = _run(box)
    run.check(good=GOOD, bad=[VICTIM], bad_in="warnings", codes={EXIT_OK})
    assert any("CRC" in m for m in _messages(run))
    assert len(_activity(run)) == 1


# --- valid but unusual -------------------------------------------------------------------


def test_developer_fields_are_read_without_complaint(tmp_path: Path) -> None:
    power = DeveloperField("power", 0, (np.arange(600) % 400).astype(np.uint16), "uint16", "W")
    box = _box(tmp_path, fit_run(4, seed=4, developer_fields=[power]))
    run = _run(box)
    run.check(good=(*GOOD, VICTIM), codes={EXIT_OK})
    assert not run.problems()


def test_chained_files_give_every_part(tmp_path: Path) -> None:
    morning = fit_run(4, seed=4)
    evening = fit_run(5, seed=5)
    box = _box(tmp_path, chain(morning, evening))
    run = _run(box)
    run.check(good=(*GOOD, VICTIM), codes={EXIT_OK})
    assert len(_activity(run)) == 2
    assert not run.problems()


def test_chained_file_with_a_corrupt_second_header(tmp_path: Path, victim: bytes) -> None:
    second = fit_run(5, seed=5)
    box = _box(tmp_path, chain(victim, b"\x0e\x20XX" + second[4:8] + b"JUNK" + second[12:]))
    run = _run(box)
    run.check(good=(*GOOD, VICTIM), bad=[VICTIM], codes={EXIT_OK})


# --- huge but valid ----------------------------------------------------------------------


def test_24_hour_ultra_at_1_hz_is_analysed(tmp_path: Path) -> None:
    """86,400 records (a 24-hour race) must be read, not rejected, and in bounded time."""
    ultra = fit_run(4, 86_400, seed=9)
    box = _box(tmp_path, ultra, "ultra.fit")
    t0 = time.monotonic()
    run = _run(box)
    elapsed = time.monotonic() - t0
    run.check(good=(*GOOD, "in/ultra.fit"), codes={EXIT_OK})
    act = _activity(run, "in/ultra.fit")[0]
    assert act["duration_minutes"] == pytest.approx(1440, abs=1)
    assert act["distance_km"] > 200
    assert elapsed < 30, f"24 h file took {elapsed:.1f} s"


@pytest.mark.parametrize("keep_ids", [True, False], ids=["no-description", "no-developer-id"])
def test_developer_field_without_description_reads_alike_in_both_decoders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_ids: bool
) -> None:
    """A developer field whose field_description (or developer_data_id) is missing: the
    fast decoder skipped it by its size and kept the run, fitparse refused it and lost
    every record. Decided: read the run, ignore the field, in both decoders."""
    import kneeflags.testing.fitwriter as fw
    from kneeflags.parsers.fit_profile import MESG_DEVELOPER_DATA_ID

    def ids_only(enc: fw.FitEncoder, fields: object, big_endian: bool) -> None:
        if not keep_ids:
            return
        layout = [(0, "byte", 16), (1, "byte", 16), (2, "uint16", 1), (3, "uint8", 1),
                  (4, "uint32", 1)]  # fmt: skip
        enc.define(9, MESG_DEVELOPER_DATA_ID, layout, big_endian=big_endian)
        enc.message(9, [(0xFF,) * 16, tuple(range(16)), 255, 0, 1])

    monkeypatch.setattr(fw, "_write_developer_messages", ids_only)
    power = DeveloperField("power", 7, np.arange(600) % 400, "uint16", "W")
    box = Sandbox(tmp_path)
    box.put("dev.fit", fit_run(1, 600, seed=3, developer_fields=[power]))
    box.freeze()
    km = {}
    for decoder in ("fast", "fitparse"):
        run = analyze_json(box, None, "--decoder", decoder, "--no-cache")
        box.verify()
        run.check(good=["in/dev.fit"], codes={EXIT_OK})
        assert run.doc is not None
        km[decoder] = [a["distance_km"] for a in run.doc["athletes"][0]["activities"]]
    assert km["fast"] == km["fitparse"] and km["fast"][0] > 1.0
