"""Deferred record columns give the sample table the eager ones gave, value for value.

The fast FIT decoder hands most record columns over unconverted (``DeferredColumn``: a
view of the field in the file's bytes, or several record definitions' columns merged when
taken), and a ``.fit.gz``'s columns copy their raw fields out so that the inflated bytes
can be freed before the table is built (issue 15). Each of these must make exactly the
table that converting every column up front made: the builder runs here on the decoder's
deferred columns and on the same columns converted first, and a ``.fit.gz`` is compared
with its plain file.
"""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kneeflags.model import Activity, SourceRef
from kneeflags.parsers import fit_fast, parse_source
from kneeflags.parsers import fit_profile as prof
from kneeflags.parsers.fit_build import build_fit, keep_read_fields
from kneeflags.parsers.fit_decoded import DeferredColumn, FitDecoded, column_array
from kneeflags.parsers.fit_fast import decode_fit_fast
from kneeflags.testing.fitwriter import (
    FitEncoder,
    fit_time,
    synthetic_run,
    write_activity,
    write_message,
)

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
T0 = fit_time(datetime(2026, 3, 2, 7, tzinfo=UTC))


def _run(**kw: object) -> Callable[[], bytes]:
    writer = {k: kw.pop(k) for k in list(kw) if k in ("compressed_timestamps", "filler_every")}
    writer |= {k: kw.pop(k) for k in list(kw) if k == "big_endian"}
    return lambda: write_activity(synthetic_run(T0, 600, seed=5, **kw), **writer)  # type: ignore[arg-type]


def _gaps() -> bytes:
    """Enhanced speed and altitude with gaps the legacy fields fill, and no fractional
    cadence."""
    cols = synthetic_run(T0, 300, seed=2)
    for name, legacy in (("enhanced_speed", "speed"), ("enhanced_altitude", "altitude")):
        cols[legacy] = cols[name].copy()
        cols[name][::7] = np.nan
        cols[legacy][::5] = np.nan  # rows both lack stay missing
    del cols["fractional_cadence"]
    return write_activity(cols)


def _relative_stamps() -> bytes:
    """Device-relative timestamps before the absolute ones (the builder drops their rows),
    and no session (one is made up)."""
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "activity", "manufacturer": "garmin"})
    fields = [(253, "uint32", 1), (0, "sint32", 1), (1, "sint32", 1), (3, "uint8", 1)]
    enc.define(1, prof.MESG_RECORD, [*fields, (6, "uint16", 1)])
    n = 60
    stamps = np.concatenate((np.arange(1000, 1010), T0 + np.arange(10, n)))
    lat = 565_000_000 + np.arange(n) * 300
    rows = [stamps, lat, lat // 2, 120 + np.arange(n) % 30, 2900 + np.arange(n)]
    enc.write_rows((enc.rows(1, rows), None))
    return enc.to_bytes()


def _several_layouts() -> bytes:
    """Records of three definitions (one a redefinition, one with the legacy speed as the
    source of enhanced_speed), interleaved: the columns are merged into file order."""
    enc = FitEncoder()
    write_message(enc, 0, prof.MESG_FILE_ID, {"type": "activity", "manufacturer": "garmin"})
    enc.define(1, prof.MESG_RECORD, [(253, "uint32", 1), (3, "uint8", 1)])
    enc.define(2, prof.MESG_RECORD, [(253, "uint32", 1), (4, "uint8", 1), (5, "uint32", 1)])
    a = enc.rows(1, [T0 + np.arange(0, 40, 2), np.arange(100, 120)])
    b = enc.rows(2, [T0 + np.arange(1, 40, 2), np.arange(80, 100), np.arange(20) * 500])
    enc.write_rows((a, np.arange(0, 40, 2.0)), (b, np.arange(1, 40, 2.0)))
    enc.define(1, prof.MESG_RECORD, [(6, "uint16", 1), (253, "uint32", 1), (2, "uint16", 1)])
    enc.write_rows(
        (enc.rows(1, [np.full(10, 3100), T0 + np.arange(40, 50), np.arange(10) + 2600]), None)
    )
    return enc.to_bytes()


CASES: dict[str, Callable[[], bytes]] = {
    "one layout": _run(),
    "legacy speed and altitude": _run(legacy_fields=True),
    "compressed timestamps": _run(compressed_timestamps=True),
    "records not contiguous": _run(filler_every=7),
    "big endian": _run(big_endian=True),
    "no positions or cadence": _run(positions=False, cadence=False),
    "gaps": _gaps,
    "relative timestamps": _relative_stamps,
    "several layouts": _several_layouts,
}


def _converted(parts: list[FitDecoded]) -> list[FitDecoded]:
    """The parts with every deferred column converted first (the decoder's former output)."""
    for part in parts:
        part.record_columns = {k: column_array(v) for k, v in part.record_columns.items()}
    return parts


def _activities(parts: list[FitDecoded]) -> list[Activity]:
    return build_fit(parts, SourceRef("run.fit"), "0" * 64, "UTC").activities


def _assert_same(got: list[Activity], expected: list[Activity]) -> None:
    assert len(got) == len(expected) and expected
    for a, b in zip(got, expected, strict=True):
        assert a.samples.schema == b.samples.schema
        assert a.samples.equals(b.samples, null_equal=True)
        # bit for bit, NaN and -0.0 included (equals compares values)
        for name in a.samples.columns:
            x, y = a.samples[name], b.samples[name]
            if x.dtype == pl.Float64:
                assert np.array_equal(x.to_numpy().view(np.int64), y.to_numpy().view(np.int64)), (
                    name
                )
        assert (a.start_utc, a.distance_m, a.elapsed_s, a.timer_s, a.provenance) == (
            b.start_utc,
            b.distance_m,
            b.elapsed_s,
            b.timer_s,
            b.provenance,
        )


@pytest.mark.parametrize("case", list(CASES))
def test_deferred_columns_build_the_table_converted_ones_built(case: str) -> None:
    data = CASES[case]()
    deferred = decode_fit_fast(data)
    assert any(isinstance(v, DeferredColumn) for p in deferred for v in p.record_columns.values())
    _assert_same(_activities(deferred), _activities(_converted(decode_fit_fast(data))))


def test_sessions_split_from_deferred_columns(make_fit: Callable[..., bytes]) -> None:
    sessions = [
        {"sport": "CYCLING", "sub_sport": "GENERIC", "start": 0, "n": 60},
        {"sport": "TRANSITION", "sub_sport": "GENERIC", "start": 60, "n": 10},
        {"sport": "RUNNING", "sub_sport": "TRAIL", "start": 70, "n": 50},
    ]
    data = make_fit(datetime(2024, 5, 4, 7, tzinfo=UTC), n=120, sessions=sessions)
    got = _activities(decode_fit_fast(data))
    assert [a.samples.height for a in got] == [60, 50]
    _assert_same(got, _activities(_converted(decode_fit_fast(data))))


@pytest.mark.parametrize("case", list(CASES))
def test_a_fit_gz_reads_as_its_plain_file(case: str) -> None:
    """The .fit.gz path copies the raw fields out and frees the bytes before building."""
    data = CASES[case]()
    plain = parse_source(data, SourceRef("run.fit"), tz="UTC")
    packed = parse_source(gzip.compress(data, mtime=0), SourceRef("run.fit"), tz="UTC")
    assert not plain.errors and not packed.errors
    _assert_same(packed.activities, plain.activities)


@pytest.mark.parametrize("case", ["one layout", "records not contiguous", "several layouts"])
def test_detached_columns_let_the_bytes_go(case: str) -> None:
    """Without detaching, the deferred columns' views keep the file's bytes alive."""
    source = CASES[case]()
    tracemalloc.start()
    try:
        data = bytes(bytearray(source))  # made while traced, as gunzip's output is
        parts = decode_fit_fast(data)
        for part in parts:
            part.detach_records()
        held = tracemalloc.get_traced_memory()[0]
        del data
        freed = held - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert freed >= len(source), f"{freed:,} of {len(source):,} bytes freed"
    _assert_same_columns(parts, decode_fit_fast(source))


def _assert_same_columns(parts: list[FitDecoded], expected: list[FitDecoded]) -> None:
    """Each part's record columns hold what the reference decode's hold (NaN = NaN)."""
    for part, ref in zip(parts, expected, strict=True):
        assert part.record_columns.keys() == ref.record_columns.keys()
        for k, v in part.record_columns.items():
            assert np.array_equal(
                column_array(v), column_array(ref.record_columns[k]), equal_nan=True
            ), k


@pytest.mark.parametrize("steps", ["7 rows", "parts sorted"])
@pytest.mark.parametrize("case", ["several layouts", "records not contiguous"])
def test_small_steps_read_the_same_columns(
    case: str, steps: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merged column written a few rows at a time (a mask a part), or with its rows
    grouped by part (as for many parts), is what one step gives."""
    data = CASES[case]()
    expected = decode_fit_fast(data)
    if steps == "7 rows":
        monkeypatch.setattr(fit_fast, "_CHUNK_ROWS", 7)
    else:
        monkeypatch.setattr(fit_fast, "_MERGE_STEP_PARTS", 1)
    got = decode_fit_fast(data)
    _assert_same_columns(got, expected)
    _assert_same(_activities(got), _activities(expected))


@pytest.mark.corpus
def test_corpus_messages_the_walk_leaves_out_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The walk lists only the messages read afterwards (``_kept``): listing every message,
    as it did, decodes every corpus file (and every case here) to the same parts."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent (shared test data not checked out)")
    from test_fit_fast import corpus_fit_files

    def decoded(data: bytes) -> list[FitDecoded] | str:
        try:
            return decode_fit_fast(data)
        except Exception as exc:  # declined (or refused) the same way, or not
            return f"{type(exc).__name__}: {exc}"

    files = [data for _name, data in corpus_fit_files()] + [make() for make in CASES.values()]
    listed = [decoded(data) for data in files]
    monkeypatch.setattr(fit_fast, "_kept", lambda d: True)
    compared = 0
    for data, got in zip(files, listed, strict=True):
        every = decoded(data)
        if isinstance(got, str) or isinstance(every, str):
            assert got == every
            continue
        _assert_same_columns(got, every)
        for part, ref in zip(got, every, strict=True):
            for attr in ("file_ids", "device_infos", "sessions", "laps", "activities"):
                assert getattr(part, attr) == getattr(ref, attr), attr
            assert (part.events, part.sports) == (ref.events, ref.sports)
            assert (part.partial, part.problem, part.crc_ok) == (
                ref.partial,
                ref.problem,
                ref.crc_ok,
            )
        compared += 1
    assert compared >= 200, compared


@pytest.mark.corpus
def test_corpus_deferred_columns_build_the_table_converted_ones_built() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent (shared test data not checked out)")
    from test_fit_fast import corpus_fit_files

    compared = 0
    for _name, data in corpus_fit_files():
        try:
            deferred = _activities(decode_fit_fast(data))
        except Exception:  # declined by the fast decoder (fitparse reads it): not compared
            continue
        if deferred:
            _assert_same(deferred, _activities(_converted(decode_fit_fast(data))))
            compared += 1
    assert compared >= 200, compared


@pytest.mark.corpus
def test_corpus_messages_kept_to_their_read_fields_build_the_same() -> None:
    """``keep_read_fields`` (what ``parse_source`` does before building) drops only what
    the builder never reads: every corpus file builds the same result with it as without."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent (shared test data not checked out)")
    from test_fit_fast import corpus_fit_files

    compared = 0
    for _name, data in corpus_fit_files():
        try:
            full, slim = decode_fit_fast(data), decode_fit_fast(data)
        except Exception:  # declined by the fast decoder: not compared
            continue
        for part in slim:
            keep_read_fields(part)
        ref = SourceRef("run.fit")
        got = build_fit(slim, ref, "0" * 64, "UTC")
        expected = build_fit(full, ref, "0" * 64, "UTC")
        assert (got.errors, got.warnings, got.skipped) == (
            expected.errors,
            expected.warnings,
            expected.skipped,
        )
        if expected.activities:
            _assert_same(got.activities, expected.activities)
            for a, b in zip(got.activities, expected.activities, strict=True):
                assert (a.sport, a.sport_detail, a.device, a.laps, a.utc_offset_s) == (
                    b.sport,
                    b.sport_detail,
                    b.device,
                    b.laps,
                    b.utc_offset_s,
                )
            compared += 1
    assert compared >= 200, compared
