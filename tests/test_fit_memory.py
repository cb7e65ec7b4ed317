"""Reading a FIT file holds little more than its sample table (issue 15).

The peak traced memory of ``parse_source`` over a one-hour ``.fit.gz`` was 8.4 times the
inflated file: three copies of the inflated bytes, the CRC's working arrays on top of the
decoded columns, and every canonical column made as a copy of its decoded one; then 4.9
times: the inflated bytes (1x) held to the end, with every decoded column converted to
float64 at once. Record columns are now converted one at a time as the builder takes them
(``DeferredColumn``) and a ``.fit.gz``'s inflated bytes are freed once decoded: what is
left is the sample table itself, nine float64 columns (72 bytes a record against ~28 in
the file: 2.6x) that polars keeps without a copy. It reads at 2.7x; the tests hold 3.2.
"""

from __future__ import annotations

import gzip
import os
import tracemalloc
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kneeflags.model import SourceRef
from kneeflags.parsers import fit_crc as crc
from kneeflags.parsers import gunzip_capped, parse_source
from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity


def _traced_parse(data: bytes, ref: SourceRef) -> tuple[Any, int]:
    """``parse_source``'s result and its peak traced memory (a first call keeps one-time
    tables, CRC levels and the profile, out of the measure)."""
    parse_source(data, ref)
    tracemalloc.start()
    try:
        res = parse_source(data, ref)
        return res, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _hour() -> bytes:
    start = fit_time(datetime(2026, 3, 2, 7, tzinfo=UTC))
    return write_activity(synthetic_run(start, 3600, seed=3))


@pytest.mark.parametrize("compressed", [False, True], ids=["fit", "fit.gz"])
def test_a_one_hour_fit_peaks_under_3_2_times_its_size(compressed: bool) -> None:
    """As ``benchmarks/bench.py`` (g) measures it: the bytes given to ``parse_source`` are
    not counted, the inflated bytes of a ``.fit.gz`` are."""
    plain = _hour()
    data = gzip.compress(plain, 6, mtime=0) if compressed else plain
    ref = SourceRef("run.fit.gz" if compressed else "run.fit")
    res, peak = _traced_parse(data, ref)
    assert res.activities and res.activities[0].samples.height == 3600
    assert peak < 3.2 * len(plain), f"peak {peak:,} bytes = {peak / len(plain):.2f}x the file"


@pytest.mark.corpus
def test_real_device_files_peak_near_their_sample_table(corpus_dir: Path) -> None:
    """Real files are not the bench's: records interleaved with other messages (per-beat
    and GPS metadata messages are up to half a device's file) and of two or three record
    definitions. Over the corpus FIT files of more than 20,000 bytes, read by the fast
    decoder, the median peak was 3.39 times the file (p90 4.37): the walk listed every
    message (33 bytes each at its peak), merged columns were converted whole with an int64
    row index, and every message (a lap is a kilobyte of Python objects) was held to the
    end. It is now 2.74 (p90 3.31); the sample table alone is 2.20 (p90 2.68)."""
    from test_fit_fast import corpus_fit_files

    ratios = []
    for name, data in corpus_fit_files():
        if len(data) <= 20_000:
            continue
        res, peak = _traced_parse(data, SourceRef(name))
        if any(act.provenance.decoder != "fast" for act in res.activities):
            continue  # fitparse's memory is not this decoder's
        ratios.append(peak / len(data))
    assert len(ratios) >= 100, len(ratios)
    ratios.sort()
    median, p90 = ratios[len(ratios) // 2], ratios[int(len(ratios) * 0.9)]
    assert median < 2.9, f"median peak {median:.2f}x the file (p90 {p90:.2f}x)"
    assert p90 < 3.5, f"p90 peak {p90:.2f}x the file (median {median:.2f}x)"


def _bytewise(data: bytes) -> int:
    value = 0
    for b in data:
        value = (value >> 8) ^ int(crc._CRC_T8[(value ^ b) & 0xFF])
    return value


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 64, 1001, 4096])
def test_the_crc_in_chunks_and_in_place_is_the_bytewise_crc(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(n)
    expected = _bytewise(data)
    assert crc.fit_crc(data) == expected
    assert crc.fit_crc(memoryview(b"ab" + data)[2:]) == expected  # a slice, not copied
    monkeypatch.setattr(crc, "CRC_CHUNK_WORDS", 5)  # many chunks, odd sizes
    assert crc.fit_crc(data) == expected
    assert crc.fit_crc(bytearray(data)) == expected


@pytest.fixture(params=["isal", "zlib"])
def inflate_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each gunzip test runs on ISA-L's inflate (the default) and on zlib (its fallback)."""
    import kneeflags.parsers as parsers

    if request.param == "zlib":
        monkeypatch.setattr(parsers, "_inflate", zlib)
    else:
        isal_zlib = pytest.importorskip("isal.isal_zlib", reason="python-isal not installed")
        monkeypatch.setattr(parsers, "_inflate", isal_zlib)
    return request.param


def test_isal_is_the_inflate_in_ci() -> None:
    """CI installs the package with its dependencies: the fast inflate must be the one used."""
    import kneeflags.parsers as parsers

    if os.environ.get("CI") and parsers._inflate is zlib:
        pytest.fail("python-isal is a dependency but did not import: gunzip runs on zlib")


def test_gunzip_takes_the_size_trailer_as_a_hint_only(inflate_backend: str) -> None:
    from kneeflags.parsers import INFLATE_ERRORS

    payload = os.urandom(3000) * 20
    good = gzip.compress(payload, mtime=0)
    assert gunzip_capped(good) == (payload, None)
    for lie in (0, 10, len(payload) - 1, len(payload) + 1, 2**32 - 1):
        bad = good[:-4] + lie.to_bytes(4, "little")
        with pytest.raises(INFLATE_ERRORS):  # the trailer is checked: corrupt, as before
            gunzip_capped(bad)
    # Two members: the last four bytes are the second's size, a wrong hint for the first.
    two = good + gzip.compress(b"more", mtime=0)
    assert gunzip_capped(two) == (payload + b"more", None)
    assert gunzip_capped(good + b"junk") == (payload, None)  # trailing junk, as before
    cut, warning = gunzip_capped(good[: len(good) // 2])
    assert payload.startswith(cut) and warning and "truncated gzip" in warning
    with pytest.raises(INFLATE_ERRORS):
        gunzip_capped(good[:10] + b"\xff" * 40)
