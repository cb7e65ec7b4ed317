"""The C accelerator of the scan (``kneeflags.parsers._scan``) against the numpy scan.

The C walk must, for any bytes at all, either decline or give what the numpy scan gives
(and, where the numpy scan declines, what the reference reader gives); it must never crash
or read outside its buffer. Values are checked one by one against Python's ``float`` and
the numpy path's time arithmetic. ``SECURITY.md`` says how these tests are also run under
AddressSanitizer and UBSan.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import struct
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_tcx_scan import _tcx_documents
from test_xml_fast import assert_same_document
from test_xml_scan import _documents, _garmin_degrees, _rows

from kneeflags.parsers import scan_accel
from kneeflags.parsers.fit_fast import FastPathUnsupported
from kneeflags.parsers.gpx import GpxRefused, parse_gpx
from kneeflags.parsers.xml_scan import (
    ScanDeclined,
    _numpy_reader,
    _scan_gpx,
    _scan_tcx,
    is_decimal,
    is_utc_time,
    parse_utc_times,
    scan_gpx,
)
from kneeflags.testing.xmlwriter import garmin_gpx, garmin_tcx, strava_gpx

START = dt.datetime(2025, 3, 1, 7, tzinfo=dt.UTC)

_scan = scan_accel._scan
needs_c = pytest.mark.skipif(_scan is None, reason="the C accelerator is not built")


def test_the_extension_is_built_in_ci() -> None:
    """CI must measure and test the accelerator, never silently the fallback."""
    if os.environ.get("CI"):
        assert scan_accel.AVAILABLE, "kneeflags.parsers._scan did not build"
    elif not scan_accel.AVAILABLE:
        pytest.skip("the C accelerator is not built here (no compiler at install time)")
    assert (os.environ.get("KNEEFLAGS_NO_C", "") not in ("1", "true", "yes")) == scan_accel.ENABLED


# --------------------------------------------------------------------------------------------
# Values, one by one
# --------------------------------------------------------------------------------------------


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _numpy_decimal_ok(text: str) -> bool:
    buf, lengths = _rows([text])
    return bool(is_decimal(buf, lengths)[0]) and len(text) <= 48


_decimal_text = st.one_of(
    st.from_regex(r"\A[+-]?[0-9]{0,40}(\.[0-9]{0,40})?\Z", fullmatch=True),
    st.integers(-(2**31), 2**31).map(_garmin_degrees),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(alphabet="0123456789.+-e_ x", max_size=30),
)


@contextlib.contextmanager
def _c_enabled() -> Iterator[None]:
    """The C accelerator on for the block (whatever ``KNEEFLAGS_NO_C`` said), then as it was."""
    saved = scan_accel.ENABLED
    scan_accel.ENABLED = True
    try:
        yield
    finally:
        scan_accel.ENABLED = saved


def _scan_gpx_with_c(data: bytes) -> tuple[object, list[str]]:
    """``scan_gpx`` on the C path: the document and the notes it left."""
    notes: list[str] = []
    with _c_enabled():
        return scan_gpx(data, notes), notes


@needs_c
@settings(max_examples=2000, deadline=None)
@given(_decimal_text)
def test_decimals_equal_python_float_or_decline(text: str) -> None:
    """Exactly Python's float() (bit for bit, sign of zero included) on every plain decimal
    the numpy path accepts; None on everything else."""
    got = _scan.parse_decimal(text.encode())
    if _numpy_decimal_ok(text):
        assert got is not None and _bits(got) == _bits(float(text)), text
    else:
        assert got is None, text


@needs_c
@pytest.mark.parametrize(
    "text",
    [
        *(repr(1 + k * 2.0**-52)[:-1] + "5" + "0" * z + "1" for k in range(50) for z in (0, 9)),
        "9007199254740993",
        "9007199254740992.5",
        "0.0000000000000000000001",
        "0." + "0" * 45 + "1",  # 48 bytes: the longest value scanned
        "9" * 38,
        "9" * 48,
        "-0",
        "+0.0",
        "1" * 20 + ".25",
    ],
)
def test_decimals_at_the_hard_edges(text: str) -> None:
    got = _scan.parse_decimal(text.encode())
    assert got is not None and _bits(got) == _bits(float(text))


@needs_c
@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.sampled_from(["", ".0", ".5", ".123", ".999999", ".000001", ".12345"]),
)
def test_times_equal_the_numpy_path(stamp: dt.datetime, fraction: str) -> None:
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + fraction + "Z"
    buf, lengths = _rows([text])
    assert is_utc_time(buf, lengths)[0]
    want = parse_utc_times(buf, lengths)[0]
    assert _scan.parse_time(text.encode()) == want


@needs_c
@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:60:00Z",
        "2024-01-01T00:00:60Z",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00.1234567Z",
        "2024-01-01T00:00:00+01:00",
        "2024-01-01 00:00:00Z",
        "2024-01-01T00:00:00z",
        "",
    ],
)
def test_impossible_or_other_times_decline(text: str) -> None:
    assert _scan.parse_time(text.encode()) is None


# --------------------------------------------------------------------------------------------
# Whole documents: C and numpy side by side
# --------------------------------------------------------------------------------------------

_EXPECTED = (ScanDeclined, FastPathUnsupported, GpxRefused)


def _gpx_both(data: bytes) -> None:
    """The C scan of ``data`` declines, or equals the numpy scan, or (where that declines)
    the reference reader."""
    try:
        fast = _scan_gpx(data, scan_accel.scan_segment)
    except scan_accel.AccelDeclined:
        return
    except _EXPECTED:
        fast = None
    try:
        slow = _scan_gpx(data, _numpy_reader(data))
    except ScanDeclined:
        slow = None
    except (FastPathUnsupported, GpxRefused):
        assert fast is None
        return
    if fast is None:
        assert slow is None, "the C scan refused what the numpy scan read"
        return
    if slow is not None:
        assert_same_document(fast, slow)
        return
    try:
        ref = parse_gpx(data)
    except Exception:
        return  # the reference refuses it too: nothing the C result could be compared with
    assert_same_document(fast, ref)


def _tcx_both(body: bytes) -> None:
    try:
        fast = _scan_tcx(body, scan_accel.scan_segment)
    except ScanDeclined:
        return
    try:
        slow = _scan_tcx(body, _numpy_reader(body))
    except ScanDeclined:
        return  # (the TCX tests compare the whole reader with the reference)
    assert fast[0] == slow[0]
    assert len(fast[1]) == len(slow[1])
    for a, b in zip(fast[1], slow[1], strict=True):
        assert_frame_equal(a, b)


@needs_c
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_random_gpx_documents_c_equals_numpy(data: bytes) -> None:
    _gpx_both(data)


@needs_c
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tcx_documents())
def test_random_tcx_documents_c_equals_numpy(data: bytes) -> None:
    _tcx_both(data)


@needs_c
@pytest.mark.parametrize("make", [garmin_gpx, strava_gpx])
def test_generated_exports_take_the_c_path(make: object) -> None:
    data = make(3, START, 600)  # type: ignore[operator]
    doc, notes = _scan_gpx_with_c(data)
    assert notes == []
    assert_same_document(doc, parse_gpx(data))


_SEEDS = {
    "gpx": garmin_gpx(1, START, 12),
    "strava": strava_gpx(2, START, 12),
    "tcx": garmin_tcx(3, START, 12),
}
_ALPHABET = b'<>/"&=.-+0123456789 \t\r\nZT:xe\x00\x7f\xff!?'


@st.composite
def _mutants(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(_SEEDS)))
    data = bytearray(_SEEDS[kind])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["set", "insert", "delete", "cut", "copy"]))
        byte = draw(st.sampled_from(list(_ALPHABET)))
        if op == "set" and at < len(data):
            data[at] = byte
        elif op == "insert":
            data[at:at] = bytes([byte])
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "cut":
            del data[at:]
        else:  # a piece of the document pasted elsewhere (a point twice, a tag in a value)
            src = draw(st.integers(0, max(len(data) - 1, 0)))
            data[at:at] = data[src : src + draw(st.integers(1, 400))]
    return kind, bytes(data)


@needs_c
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutants())
def test_mutated_documents_never_crash_and_never_differ(mutant: tuple[str, bytes]) -> None:
    kind, data = mutant
    if kind == "tcx":
        _tcx_both(data)
    else:
        _gpx_both(data)


_op = st.tuples(st.integers(-1, 7), st.binary(max_size=12), st.integers(-2, 70)) | st.tuples(
    st.sampled_from([0, 1, 2, 3, 4, 5]),
    st.sampled_from([b"<a>", b"</a>", b'"']),
    st.integers(0, 3),
)


@needs_c
@settings(max_examples=1500, deadline=None)
@given(
    st.binary(max_size=300) | st.text(alphabet='<>/a"1.2-: Z\n', max_size=300).map(str.encode),
    st.integers(-5, 320),
    st.integers(-5, 320),
    st.lists(st.lists(_op, max_size=12).map(tuple), max_size=9),
    st.sampled_from([b"", b"</a>", b"<"]),
)
def test_the_c_entry_point_survives_any_input(
    data: bytes, lo: int, hi: int, templates: list[tuple], stop: bytes
) -> None:
    """Raw bytes, any bounds, malformed templates: a result or a Python error, no crash, and
    every value it reports is one of the kinds it may produce."""
    try:
        out = _scan.match_points(data, lo, hi, templates, stop)
    except (ValueError, TypeError, OverflowError):
        return
    assert out[0] in ("ok", "template", "decline")
    if out[0] == "template":
        assert lo <= out[1] < len(data)
    if out[0] == "ok":
        shape_of, values, end = out[1:]
        assert lo <= end <= max(hi, lo)
        assert all(t < len(templates) for t in shape_of)
        for chunk in values:
            for (x,) in struct.iter_unpack("<d", chunk):
                assert math.isnan(x) or math.isfinite(x)


@needs_c
def test_the_walk_stops_at_the_closing_tag_and_reads_no_further() -> None:
    tpl = ((0, b"<p>", 0), (2, b"", 0), (0, b"</p>", 0))
    data = b"xx <p>1.5</p>\n<p>-2</p> </s><p>oops</p>"
    status, shape_of, values, end = _scan.match_points(data, 2, len(data), [tpl], b"</s>")
    assert status == "ok" and end == data.index(b"</s>") and shape_of == b"\0\0"
    assert np.frombuffer(values[0]).tolist() == [1.5, -2.0]
    assert _scan.match_points(data, 2, len(data) - 20, [tpl], b"</s>")[0] == "decline"
    # no closing tag given: '</s>' is a point no template fits, for Python to look at
    assert _scan.match_points(data, 2, len(data), [tpl]) == ("template", data.index(b"</s>"))
    assert _scan.match_points(data, data.index(b"<p>oops"), len(data), [tpl])[0] == "decline"


@needs_c
def test_long_and_changing_indentation_is_read_by_c() -> None:
    """Gaps longer than any column number and indentation that changes from point to point
    (the walk's gap hints miss and it falls back to reading the whitespace) stay on the C
    path and equal gpxpy."""
    from test_xml_fast import gpx, trkpt

    points = "".join(
        f"{' ' * (i * 37 % 150)}\r\n"
        + trkpt(47 + i / 7, 8 + i / 9, f"{' ' * (i * 53 % 90)}<ele>{i}.5</ele>\t" * (i > 0))
        for i in range(12)
    )
    data = gpx(f"<trk><trkseg>{points}\n</trkseg></trk>")
    doc, notes = _scan_gpx_with_c(data)
    assert notes == []
    assert_same_document(doc, parse_gpx(data))


@needs_c
def test_a_c_decline_falls_back_to_numpy_and_says_so() -> None:
    """A byte the C walk does not take (DEL, which the numpy scan accepts in a tag) sends
    the file to the numpy scan; the result is gpxpy's and ``--debug`` shows why."""
    from test_xml_fast import gpx, trkpt

    from kneeflags.parsers.xml_fast import parse_gpx_auto

    inner = '<ele>1.5</ele><extensions><t v="a\x7fb"/></extensions>'
    data = gpx(f"<trk><trkseg>{trkpt(inner=inner)}{trkpt(48, 9, inner)}</trkseg></trk>")
    with _c_enabled():
        doc, note = parse_gpx_auto(data)
    assert doc.decoder == "scan"
    assert note is not None and note.startswith("C scan not used (a tag the C scan does not")
    assert_same_document(doc, parse_gpx(data))
