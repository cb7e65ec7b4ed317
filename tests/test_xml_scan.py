"""The vectorised GPX scan (``xml_scan``) against gpxpy, the reference.

The scan must either hand back exactly the :class:`GpxDocument` gpxpy gives (through
``gpx.parse_gpx``), or decline with :class:`ScanDeclined` so that the streaming extractor
reads the file; ``parse_gpx_auto`` must always equal gpxpy where gpxpy reads the file.
Numbers and times are checked against Python's own ``float``/``datetime`` value by value.
"""

from __future__ import annotations

import datetime as dt
import gzip
import tracemalloc
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_xml_fast import CORPUS, assert_same_document, corpus_gpx_files, gpx, trkpt

from kneeflags.model import SourceRef
from kneeflags.parsers import parse_source
from kneeflags.parsers.gpx import GpxDocument, GpxRefused, parse_gpx
from kneeflags.parsers.xml_fast import parse_gpx_auto, parse_gpx_fast, time_us
from kneeflags.parsers.xml_scan import (
    ScanDeclined,
    is_utc_time,
    parse_decimals,
    parse_utc_times,
    scan_gpx,
)
from kneeflags.testing.xmlwriter import garmin_gpx, strava_gpx

TPX1 = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
TPX2 = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
START = dt.datetime(2025, 3, 1, 7, tzinfo=dt.UTC)


pytestmark = pytest.mark.usefixtures("both_scan_paths")  # every test: C and numpy scan


def assert_scanned_like_gpxpy(data: bytes) -> GpxDocument:
    """The scan reads ``data`` (no decline) and gives gpxpy's document."""
    doc = scan_gpx(data)
    assert doc.decoder == "scan"
    assert_same_document(doc, parse_gpx(data))
    auto, note = parse_gpx_auto(data)
    assert auto.decoder == "scan" and note is None
    return doc


def _rows(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(v) for v in values])
    buf = np.zeros((len(values), max(int(lengths.max()), 1)), dtype=np.uint8)
    for i, v in enumerate(values):
        buf[i, : len(v)] = np.frombuffer(v.encode(), dtype=np.uint8)
    return buf, lengths


# --------------------------------------------------------------------------------------------
# Numbers and times, value by value against Python
# --------------------------------------------------------------------------------------------


def _garmin_degrees(k: int) -> str:
    with localcontext() as ctx:
        ctx.prec = 60
        return str(k * Decimal(180) / Decimal(2**31))


@pytest.mark.parametrize(
    "values",
    [
        [_garmin_degrees(k) for k in range(-(2**31), 2**31, 2**31 // 1500 + 7)],
        [repr(x) for x in np.random.default_rng(1).uniform(-1000, 1000, 3000).tolist()],
        [str(float(np.float32(x))) for x in np.random.default_rng(2).uniform(-500, 9000, 3000)],
        [f"{x:.7f}" for x in np.random.default_rng(3).uniform(-180, 180, 3000)],
        ["0", "-0", "+1", ".5", "5.", "-.5", "00012.50", "9" * 38, "0.1", "1" * 20 + ".25"],
        # just around midpoints between doubles: the cases a naive parser rounds wrongly
        [repr(1 + k * 2.0**-52)[:-1] + "5" + "0" * z + "1" for k in range(50) for z in (0, 9)],
        ["9007199254740993", "9007199254740992.5", "2.2250738585072011e-308"[:18]],
        # Clinger's fast path at its edges: 2**53 and 2**53 + 1 as digits, 1e-22, 22 digits
        ["9007199254740992", "900719925474099.3", "90071992547409.93", "9007199254740.993"],
        ["0.0000000000000000000001", "1.000000000000000000001", "123", "-45", "0.1", "7"],
        # one decimal point column for every row (the slice path), short and long rows
        ["47.1", "47.370024025440216064453125", "47.5", "47.", "47.0000000000000000001"],
    ],
    ids=[
        "garmin",
        "repr",
        "float32",
        "fixed7",
        "edge",
        "midpoints",
        "big",
        "clinger",
        "tiny",
        "dots",
    ],
)
def test_decimals_equal_python_float(values: list[str]) -> None:
    buf, lengths = _rows(values)
    got = parse_decimals(buf, lengths)
    want = np.array([float(v) for v in values])
    assert got.tolist() == want.tolist()
    assert (np.signbit(got) == np.signbit(want)).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.from_regex(r"[+-]?[0-9]{1,20}(\.[0-9]{0,18})?", fullmatch=True), min_size=1, max_size=40
    )
)
def test_random_decimals_equal_python_float(values: list[str]) -> None:
    buf, lengths = _rows(values)
    assert parse_decimals(buf, lengths).tolist() == [float(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3),
    st.lists(st.from_regex(r"[0-9]{0,30}", fullmatch=True), min_size=1, max_size=40),
    st.integers(0, 999),
)
def test_decimals_with_one_point_column_equal_python_float(
    width: int, fractions: list[str], whole: int
) -> None:
    """Positions and elevations: the decimal point at one place on every row."""
    values = [f"{(whole + i) % 10**width:0{width}d}.{f}" for i, f in enumerate(fractions)]
    buf, lengths = _rows(values)
    assert parse_decimals(buf, lengths).tolist() == [float(v) for v in values]


@pytest.mark.parametrize("bad", ["1e5", "1_0", "nan", "inf", " 1", "1.2.3", "--1", "1-", "", "."])
def test_anything_but_a_plain_decimal_declines(bad: str) -> None:
    buf, lengths = _rows(["1.5", bad])
    with pytest.raises(ScanDeclined):
        parse_decimals(buf, lengths)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2099, 12, 31)),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(["", ".%f", ".000"]),
)
def test_times_equal_gpxpy_arithmetic(stamps: list[dt.datetime], fraction: str) -> None:
    texts = [s.strftime(f"%Y-%m-%dT%H:%M:%S{fraction}Z") for s in stamps]
    buf, lengths = _rows(texts)
    assert is_utc_time(buf, lengths).all()
    assert parse_utc_times(buf, lengths).tolist() == [time_us(t) for t in texts]


@pytest.mark.parametrize(
    "text",
    ["2024-05-01T06:00:00", "2024-05-01T24:00:00Z", "2024-05-01T06:00:60Z",
     "2024-05-01 06:00:00Z", "2024-05-01T06:00:00.1234567Z", "2024-5-1T06:00:00Z",
     "0000-05-01T06:00:00Z", "2024-05-01T06:00:00+00:00"],
)  # fmt: skip
def test_other_times_are_not_taken_for_plain_utc(text: str) -> None:
    assert not is_utc_time(*_rows([text]))[0]


# --------------------------------------------------------------------------------------------
# Documents: what the scan reads, and what it leaves to the extractor
# --------------------------------------------------------------------------------------------

GARMIN_POINT = (
    '\n      <trkpt lat="{lat}" lon="{lon}">\n        <ele>{ele}</ele>\n'
    "        <time>{time}</time>\n        <extensions>\n          <ns3:TrackPointExtension>\n"
    "            <ns3:hr>{hr}</ns3:hr>\n            <ns3:cad>{cad}</ns3:cad>\n"
    "          </ns3:TrackPointExtension>\n        </extensions>\n      </trkpt>"
)


def test_generated_exports_are_scanned_exactly() -> None:
    for make in (garmin_gpx, strava_gpx):
        doc = assert_scanned_like_gpxpy(make(3, START, 900))
        assert doc.tracks[0].points.height == 900


def test_shapes_prefixes_and_extension_versions() -> None:
    ext = (
        '<extensions><tpx:TrackPointExtension xmlns:tpx="{uri}"><tpx:hr>{hr}</tpx:hr>'
        "<tpx:cad>88</tpx:cad></tpx:TrackPointExtension></extensions>"
    )
    pts = [
        trkpt(47.1, 8.1, "<ele>410.5</ele><time>2024-05-01T06:00:00Z</time>"),
        trkpt(47.2, 8.2, "<time>2024-05-01T06:00:01.5Z</time>"),
        trkpt(47.3, 8.3, "<ele>412</ele>"),
        trkpt(47.4, 8.4, "<time>2024-05-01T06:00:03Z</time>" + ext.format(uri=TPX1, hr=151)),
        trkpt(47.5, 8.5, "<time>2024-05-01T06:00:04Z</time>" + ext.format(uri=TPX2, hr=152)),
        '<trkpt lon="8.6" lat="47.6"><ele/></trkpt>',
        trkpt(47.7, 8.7, "<time>2024-05-01T06:00:06Z</time><extensions><cad>91</cad></extensions>"),
        trkpt(47.8, 8.8, "<gpxtpx:ele>1</gpxtpx:ele><name>7</name>"),
        '<trkpt lat="47.9" lon="8.9"/>',
    ]
    body = (
        "<metadata><name>M</name></metadata><trk><name>A</name><type>running</type>"
        f"<trkseg>{''.join(pts[:5])}</trkseg><trkseg></trkseg><trkseg>\n</trkseg>"
        f"<trkseg>{''.join(pts[5:])}</trkseg></trk>"
        f"<trk><name>B</name><trkseg>{pts[0]}</trkseg></trk>"
    )
    doc = assert_scanned_like_gpxpy(gpx(body))
    a, b = doc.tracks
    assert a.points["hr"].to_list() == [None, None, None, 151.0, 152.0, None, None, None, None]
    assert a.points["cad"].to_list()[3:7] == [88.0, 88.0, None, 91.0]
    assert b.points.height == 1


def test_bom_crlf_tabs_and_gpx10() -> None:
    pts = "".join(
        f'\r\n\t<trkpt  lat="{47 + i / 1000}"\r\n lon="8.1" >\r\n\t\t<ele>{i}</ele >'
        f"\t<time>2024-05-01T06:00:{i:02d}Z</time>\r\n\t</trkpt>"
        for i in range(20)
    )
    assert_scanned_like_gpxpy(b"\xef\xbb\xbf\n " + gpx(f"<trk><trkseg>{pts}\r\n</trkseg></trk>"))
    old = gpx(
        f"<trk><type>run</type><trkseg>{pts}</trkseg></trk>",
        version="1.0",
        ns="http://www.topografix.com/GPX/1/0",
    )
    assert assert_scanned_like_gpxpy(old).tracks[0].type is None


def test_namespaces_decided_by_the_extractor() -> None:
    """A segment in another default namespace, a rebound prefix: gpxpy's reading wins."""
    other = '<trkseg xmlns="http://example.com/x">' + trkpt(1, 1) + "</trkseg>"
    rebound = (
        '<trkseg><trkpt lat="2" lon="2"><extensions>'
        '<gpxtpx:TrackPointExtension xmlns:gpxtpx="http://example.com/not-tpx">'
        "<gpxtpx:hr>150</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt></trkseg>"
    )
    body = f"<trk>{other}<trkseg>{trkpt(3, 3)}</trkseg></trk><trk>{rebound}</trk>"
    doc = parse_gpx_auto(gpx(body))[0]
    assert_same_document(doc, parse_gpx(gpx(body)))
    assert doc.tracks[1].points["hr"].to_list() == [None]


def test_issue10_gpx_rebinding_the_default_namespace_prefix() -> None:
    """Issue 10: a GPX that binds the GPX namespace to a prefix and rebinds it is read
    exactly as gpxpy reads it (here: the prefixed elements are invisible to gpxpy)."""
    data = (
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:g="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        + trkpt(1, 1, "<time>2020-01-01T00:00:00Z</time>")
        + '</trkseg><g:trkseg xmlns:g="http://example.com/g">'
        + '<g:trkpt lat="2" lon="2"/></g:trkseg></trk></gpx>'
    ).encode()
    doc, _ = parse_gpx_auto(data)
    assert_same_document(doc, parse_gpx(data))


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_issue10_utf16_gpx_with_a_bom_is_read(codec: str) -> None:
    """Issue 10: UTF-16 GPX with a byte-order mark used to be refused as malformed."""
    body = f"<trk><name>Zürich</name><trkseg>{trkpt(1, 1, '<time>2024-05-01T06:00:00Z</time>')}"
    body += f"{trkpt(1.001, 1, '<time>2024-05-01T06:00:10Z</time>')}</trkseg></trk>"
    text = gpx(body).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    data = (b"\xfe\xff" if codec.endswith("be") else b"") + text.encode(codec)
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    doc, _ = parse_gpx_auto(data)
    assert_same_document(doc, parse_gpx(data))
    assert doc.tracks[0].name == "Zürich" and doc.tracks[0].points.height == 2
    res = parse_source(data, SourceRef("phone.gpx"))
    assert len(res.activities) == 1 and not res.problems


@pytest.mark.parametrize("comment_kb", [9, 200])
def test_issue10_long_comments_before_the_root(comment_kb: int) -> None:
    """Issue 10: more than 8 KB of comments before the root made a GPX or TCX "not
    recognised"; the root is now looked for past them (up to 16 MiB)."""
    from kneeflags.testing.xmlwriter import garmin_tcx

    comment = b"<!--" + b" licence text " * (comment_kb * 1024 // 14) + b"-->\n"
    for name, data in (
        ("run.gpx", strava_gpx(1, START, 60)),
        ("run.tcx", garmin_tcx(1, START, 60)),
    ):
        padded = data.replace(b"?>\n", b"?>\n" + comment, 1)
        res = parse_source(padded, SourceRef(name))
        assert len(res.activities) == 1 and not res.problems, (name, res.problems)
        assert res.activities[0].samples.height == 60


@pytest.mark.parametrize(
    ("inner", "why"),
    [
        ("<ele>1e3</ele>", "decimal"),
        ("<ele>&#49;</ele>", "reference"),
        ("<!-- x --><ele>1</ele>", "no segment"),  # after the last comment only
        ("<ele><![CDATA[1]]></ele>", "CDATA"),
        ("<time>2024-05-01T06:00:00+01:00</time>", "neither"),
        ("<sat>5</sat>", "gpxpy checks"),
        ("stray<ele>1</ele>", "whitespace"),
        ("<name>Zürich</name>", "non-ASCII"),
        ("<ele>1</ele>>", "'>'"),
    ],
)
def test_what_the_scan_cannot_prove_it_declines(inner: str, why: str) -> None:
    data = gpx(f"<trk><trkseg>{trkpt(inner='<ele>2</ele>')}{trkpt(inner=inner)}</trkseg></trk>")
    with pytest.raises(ScanDeclined, match=why):
        scan_gpx(data)
    try:
        ref = parse_gpx(data)
    except Exception:
        return
    doc, note = parse_gpx_auto(data)
    assert_same_document(doc, ref)
    assert note is not None and note.startswith("fast GPX scan not used")


def test_refusals_hold_on_every_path() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        f'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        f"{trkpt(1, 1, '<ele>1</ele>')}</trkseg></trk><name>&b;</name></gpx>"
    ).encode()
    with pytest.raises(ScanDeclined):
        scan_gpx(bomb)
    with pytest.raises(GpxRefused):
        parse_gpx_auto(bomb)
    broken = gpx(f"<trk><trkseg>{trkpt(1, 1)}</trkseg></trk>").replace(b"</gpx>", b"</gpz>")
    with pytest.raises(GpxRefused, match="mismatched tag: line 2"):
        parse_gpx_auto(broken)  # the message names the real document's line


def test_debug_note_says_why_the_scan_stepped_aside() -> None:
    data = gpx(f"<trk><trkseg>{trkpt(inner='<ele>1e3</ele><time>2024-05-01T06:00:00Z</time>')}"
               "</trkseg></trk>")  # fmt: skip
    res = parse_source(data, SourceRef("x.gpx"))
    assert res.activities and any("fast GPX scan not used" in n
                                  for n in res.activities[0].provenance.notes)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Property test: documents of every shape, prefix and spacing
# --------------------------------------------------------------------------------------------

_ws = st.sampled_from(["", "\n", "\r\n  ", "\t", " \n    "])
_lat = st.one_of(
    st.floats(-90, 90, allow_nan=False).map(repr),
    st.integers(-(2**30), 2**30).map(_garmin_degrees),
    st.floats(-90, 90, allow_nan=False).map(lambda x: f"{x:.7f}"),
)
_time = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1)).map(
        lambda d: (
            d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[: -4 if d.microsecond % 2 else -1] + "Z"
            if d.microsecond % 3
            else d.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
    ),
)
_shape = st.tuples(
    st.booleans(),  # ele
    st.booleans(),  # time
    st.sampled_from([None, "hr", "cad", "both"]),
    st.sampled_from(["gpxtpx", "ns3", "x"]),
    st.sampled_from([TPX1, TPX2, "http://example.com/other"]),
    _ws,
)


@st.composite
def _documents(draw: st.DrawFn) -> bytes:
    shapes = draw(st.lists(_shape, min_size=1, max_size=3))
    tracks = []
    for _ in range(draw(st.integers(1, 2))):
        segments = []
        for _ in range(draw(st.integers(0, 2))):
            points = []
            for _ in range(draw(st.integers(0, 12))):
                has_ele, has_time, ext, prefix, uri, ws = draw(st.sampled_from(shapes))
                inner = ""
                if has_ele:
                    inner += f"{ws}<ele>{draw(_lat)}</ele>"
                t = draw(_time)
                if has_time and t:
                    inner += f"{ws}<time>{t}</time>"
                if ext:
                    vals = ""
                    if ext in ("hr", "both"):
                        vals += f"<{prefix}:hr>{draw(st.integers(40, 200))}</{prefix}:hr>"
                    if ext in ("cad", "both"):
                        vals += f"<{prefix}:cad>{draw(st.integers(0, 120))}</{prefix}:cad>"
                    inner += (
                        f'{ws}<extensions><{prefix}:TrackPointExtension xmlns:{prefix}="{uri}">'
                        f"{vals}</{prefix}:TrackPointExtension></extensions>"
                    )
                points.append(f'{ws}<trkpt lat="{draw(_lat)}" lon="{draw(_lat)}">{inner}</trkpt>')
            segments.append(f"<trkseg>{''.join(points)}{draw(_ws)}</trkseg>")
        tracks.append(f"<trk><type>running</type>{''.join(segments)}</trk>")
    data = gpx("".join(tracks))
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_random_documents_scan_like_gpxpy(data: bytes) -> None:
    ref = parse_gpx(data)
    try:
        doc = scan_gpx(data)
    except ScanDeclined:
        doc = parse_gpx_fast(data)
    assert_same_document(doc, ref)
    assert_same_document(parse_gpx_auto(data)[0], ref)


# --------------------------------------------------------------------------------------------
# The real corpus, and memory
# --------------------------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_gpx_scan_matches_gpxpy() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent (shared test data not checked out)")
    scanned = points = 0
    failures: list[str] = []
    for name, data in corpus_gpx_files():
        try:
            ref = parse_gpx(data)
        except Exception:
            continue
        try:
            doc = scan_gpx(data)
        except ScanDeclined:
            continue
        try:
            assert_same_document(doc, ref)
        except AssertionError as exc:
            failures.append(f"{name}: {str(exc)[:300]}")
        scanned += 1
        points += sum(t.points.height for t in ref.tracks)
    assert not failures, "\n".join(failures)
    assert scanned >= 80 and points > 50_000  # 86 of 95 files at the time of writing


def _peak_ratio(data: bytes) -> float:
    """Peak traced allocation of reading ``data`` into activities, over its size."""
    parse_source(data, SourceRef("warm.gpx"))  # imports and caches outside the measure
    tracemalloc.start()
    try:
        res = parse_source(data, SourceRef("x.gpx"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.activities
    return peak / len(data)


@pytest.mark.parametrize("make", [garmin_gpx, strava_gpx])
def test_memory_stays_within_three_times_the_file(make: object) -> None:
    """Issue 15: no format uses more than ~3x a file's size (Python and numpy allocations,
    traced; a .gpx.gz also holds its inflated bytes: one more file size)."""
    data = make(5, START, 3600)  # type: ignore[operator]
    assert _peak_ratio(data) < 3.0
    packed = gzip.compress(data, 1)
    assert _peak_ratio(packed) * len(packed) < 4.0 * len(data)
