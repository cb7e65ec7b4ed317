"""The streaming GPX extractor against the gpxpy reference (``gpx.parse_gpx``).

Both must hand :func:`kneeflags.parsers.gpx.build_gpx` the same
:class:`GpxDocument`: same tracks, names, types, counts and, point by point,
the same times, positions, elevations, cadence and heart rate. Where gpxpy
rejects a file the extractor must not guess: it raises ``GpxRefused`` (XML
attacks, malformed XML) or ``FastPathUnsupported`` (gpxpy decides).
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from kneeflags.parsers.fit_fast import FastPathUnsupported
from kneeflags.parsers.gpx import GpxDocument, GpxRefused, parse_gpx
from kneeflags.parsers.xml_fast import parse_gpx_auto, parse_gpx_fast, time_us, times_us

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
NS11 = "http://www.topografix.com/GPX/1/1"
NS10 = "http://www.topografix.com/GPX/1/0"
TPX = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"


def assert_same_document(fast: GpxDocument, ref: GpxDocument) -> None:
    for attr in ("creator", "version", "name", "n_routes", "n_waypoints"):
        assert getattr(fast, attr) == getattr(ref, attr), attr
    assert len(fast.tracks) == len(ref.tracks)
    for a, b in zip(fast.tracks, ref.tracks, strict=True):
        assert (a.name, a.type) == (b.name, b.type)
        assert_frame_equal(a.points, b.points)


def assert_like_gpxpy(data: bytes) -> GpxDocument:
    ref = parse_gpx(data)
    fast = parse_gpx_fast(data)
    assert fast.decoder == "iterparse" and ref.decoder == "gpxpy"
    assert_same_document(fast, ref)
    return fast


def gpx(body: str, *, version: str = "1.1", ns: str | None = NS11, extra: str = "") -> bytes:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="{version}" creator="t"{xmlns}'
        f' xmlns:gpxtpx="{TPX}"{extra}>{body}</gpx>'
    ).encode()


def trkpt(lat: float = 47.0, lon: float = 8.0, inner: str = "") -> str:
    return f'<trkpt lat="{lat}" lon="{lon}">{inner}</trkpt>'


# --------------------------------------------------------------------------------------------
# Hand-made documents covering gpxpy's reading rules
# --------------------------------------------------------------------------------------------


def test_points_extensions_and_names() -> None:
    ext = (
        "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>151</gpxtpx:hr>"
        "<gpxtpx:cad>88</gpxtpx:cad></gpxtpx:TrackPointExtension></extensions>"
    )
    body = (
        "<metadata><name>Morning</name></metadata>"
        "<trk><name>T1</name><type>running</type><trkseg>"
        + trkpt(47.1, 8.1, f"<ele>410.5</ele><time>2024-05-01T06:00:00Z</time>{ext}")
        + trkpt(47.2, 8.2, "<time>2024-05-01T06:00:01.5Z</time>")
        + trkpt(47.3, 8.3, "<ele> 412 </ele>")
        + "</trkseg><trkseg/><trkseg>"
        + trkpt(
            47.4, 8.4, "<time>2024-05-01T06:00:09Z</time><extensions><cad>90</cad></extensions>"
        )
        + "</trkseg></trk>"
        + "<trk><name>T2</name></trk>"
        + '<wpt lat="1" lon="2"/><rte><rtept lat="1" lon="2"/></rte><rte/>'
    )
    doc = assert_like_gpxpy(gpx(body))
    assert doc.name == "Morning" and doc.n_routes == 2 and doc.n_waypoints == 1
    t1, t2 = doc.tracks
    assert (t1.name, t1.type, t1.points.height) == ("T1", "running", 4)
    assert t1.points["hr"].to_list() == [151.0, None, None, None]
    assert t1.points["cad"].to_list() == [88.0, None, None, 90.0]
    assert t1.points["ele"].to_list() == [410.5, None, 412.0, None]
    assert t2.points.height == 0


def test_extension_namespaces_and_names() -> None:
    variants = [
        f'<x:TrackPointExtension xmlns:x="{TPX}"><x:cad>80</x:cad></x:TrackPointExtension>',
        '<x:TrackPointExtension xmlns:x="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">'
        "<x:cadence>81</x:cadence><x:heartrate>140</x:heartrate></x:TrackPointExtension>",
        '<gpxdata:cadence xmlns:gpxdata="http://www.cluetrust.com/XML/GPXDATA/1/0">82'
        "</gpxdata:cadence>",
        '<o:cad xmlns:o="http://example.com/other">83</o:cad>',  # unknown namespace: ignored
        "<gpxtpx:TrackPointExtension><gpxtpx:cad>n/a</gpxtpx:cad></gpxtpx:TrackPointExtension>",
        "<gpxtpx:TrackPointExtension><gpxtpx:cad/><gpxtpx:hr>99</gpxtpx:hr>"
        "<gpxtpx:HR>98</gpxtpx:HR></gpxtpx:TrackPointExtension>",
        f'<TrackPointExtension xmlns="{TPX}"><cad>84</cad></TrackPointExtension>',
    ]
    pts = "".join(trkpt(inner=f"<extensions>{v}</extensions>") for v in variants)
    doc = assert_like_gpxpy(gpx(f"<trk><trkseg>{pts}</trkseg></trk>"))
    assert doc.tracks[0].points["cad"].to_list() == [80, 81, 82, None, None, None, 84]
    assert doc.tracks[0].points["hr"].to_list() == [None, 140, None, None, None, 98, None]


@pytest.mark.parametrize(
    ("text", "expected_us"),
    [
        ("2024-05-01T06:00:00Z", 1714543200_000000),
        ("2024-05-01T06:00:00", 1714543200_000000),  # naive: taken as UTC
        ("2024-05-01 06:00:00Z", 1714543200_000000),
        ("2024-5-1T6:0:0Z", 1714543200_000000),
        ("2024-05-01T08:00:00+02:00", 1714543200_000000),
        ("2024-05-01T00:30:00-0530", 1714543200_000000),
        ("2024-05-01T08:00:00+02", 1714543200_000000),
        ("2024-05-01T06:00:00.123456789Z", None),  # truncated to µs, float arithmetic
        ("2024-05-01T06:00:00Z\n", 1714543200_000000),
        (" 2024-05-01T06:00:00Z", "null"),
        ("2024-13-01T06:00:00Z", "null"),
        ("2024-02-30T06:00:00Z", "null"),
        ("yesterday", "null"),
        ("", "null"),
    ],
)
def test_times_follow_gpxpy(text: str, expected_us: int | str | None) -> None:
    body = f"<trk><trkseg>{trkpt(inner=f'<time>{text}</time>')}</trkseg></trk>"
    doc = assert_like_gpxpy(gpx(body))
    got = doc.tracks[0].points["time"].dt.epoch("us").to_list()[0]
    if expected_us == "null":
        assert got is None
    elif expected_us is not None:
        assert got == expected_us


def test_vectorised_times_equal_one_by_one_and_exact() -> None:
    texts: list[str | None] = [f"2023-07-01T10:11:12.{k:06d}Z" for k in range(0, 10**6, 997)]
    texts += ["1901-12-13T20:45:52.000001Z", None, "2023-07-01T10:11:12+01:00"]
    vectorised = times_us(list(texts))
    one_by_one = [time_us(t) for t in texts]
    assert [None if v != v else int(v) for v in vectorised.tolist()] == one_by_one
    exact = [1688206272_000000 + k for k in range(0, 10**6, 997)]
    assert one_by_one[: len(exact)] == exact


def test_gpx10_rules() -> None:
    body = (
        "<name>Old</name><trk><name>A</name><type>running</type><trkseg>"
        + trkpt(
            inner="<time>2010-08-05T10:00:00Z</time><course>12.5</course><speed>3</speed>"
            "<extensions><gpxtpx:cad>90</gpxtpx:cad></extensions>"
        )
        + "</trkseg></trk>"
    )
    doc = assert_like_gpxpy(gpx(body, version="1.0", ns=NS10))
    assert doc.name == "Old" and doc.tracks[0].type is None
    assert doc.tracks[0].points["cad"].to_list() == [None]  # GPX 1.0 has no extensions
    no_version = assert_like_gpxpy(gpx(body, version="", ns=None))
    assert no_version.tracks[0].type is None


def test_prefixed_gpx_elements_are_read_by_namespace_unlike_gpxpy() -> None:
    """Issue 10: a valid GPX whose namespace is bound to a prefix only is read. gpxpy sees
    none of its elements and the file used to be skipped ("GPX without track points")."""
    data = (
        f'<g:gpx xmlns:g="{NS11}" version="1.1"><g:trk><g:trkseg>'
        '<g:trkpt lat="1" lon="2"><g:time>2020-01-01T00:00:00Z</g:time></g:trkpt>'
        "</g:trkseg></g:trk></g:gpx>"
    ).encode()
    assert parse_gpx(data).tracks == []
    doc = parse_gpx_fast(data)
    assert doc.tracks[0].points["lat"].to_list() == [1.0]


def test_misplaced_points_are_ignored() -> None:
    body = (
        trkpt(1, 1)  # directly under <gpx>
        + "<trk>"
        + trkpt(2, 2)  # directly under <trk>
        + "<trkseg>"
        + trkpt(3, 3)
        + "<extensions>"
        + trkpt(4, 4)  # nested in an extension
        + "</extensions></trkseg></trk>"
    )
    doc = assert_like_gpxpy(gpx(body))
    assert doc.tracks[0].points["lat"].to_list() == [3.0]


def test_bom_nuls_whitespace_and_bad_bytes() -> None:
    body = "<trk><name>Caf\xe9</name><trkseg>" + trkpt() + "</trkseg></trk>"
    data = b"\x00\x00\xef\xbb\xbf \n\t" + gpx(body)
    assert assert_like_gpxpy(data).tracks[0].name == "Caf\xe9"
    broken = gpx(body).replace("Caf\xe9".encode(), b"Caf\xe9")  # invalid UTF-8
    with pytest.raises(GpxRefused):
        parse_gpx(broken)
    with pytest.raises(GpxRefused):
        parse_gpx_fast(broken)
    latin1 = broken.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')  # declared: passes
    assert assert_like_gpxpy(latin1).tracks[0].name == "Caf\ufffd"  # as gpxpy reads it


@pytest.mark.parametrize(
    "inner",
    [
        "<ele>high</ele>",
        "<sat>many</sat>",
        "<hdop>x</hdop>",
        "<fix>4d</fix>",
    ],
)
def test_values_gpxpy_rejects_are_left_to_gpxpy(inner: str) -> None:
    data = gpx(f"<trk><trkseg>{trkpt(inner=inner)}</trkseg></trk>")
    with pytest.raises(FastPathUnsupported):
        parse_gpx_fast(data)
    with pytest.raises(Exception, match=r"(?i)invalid"):
        parse_gpx(data)
    with pytest.raises(Exception, match=r"(?i)invalid"):
        parse_gpx_auto(data)


def test_missing_coordinates_are_left_to_gpxpy() -> None:
    data = gpx('<trk><trkseg><trkpt lat="1"/></trkseg></trk>')
    with pytest.raises(FastPathUnsupported):
        parse_gpx_fast(data)
    with pytest.raises(Exception, match="mandatory"):
        parse_gpx(data)


def test_gpx10_only_fields_matter_only_in_gpx10() -> None:
    pt = trkpt(inner="<speed>fast</speed>")
    body = f"<trk><trkseg>{pt}</trkseg></trk>"
    assert_like_gpxpy(gpx(body))  # GPX 1.1 has no <speed>: gpxpy ignores it
    with pytest.raises(FastPathUnsupported):
        parse_gpx_fast(gpx(body, version="1.0", ns=NS10))


def test_auto_falls_back_and_says_so() -> None:
    data = gpx(f"<trk><trkseg>{trkpt(inner='<sat>5</sat><course>x</course>')}</trkseg></trk>")
    doc, note = parse_gpx_auto(data)  # <sat> is checked by gpxpy: the scan steps aside
    assert doc.decoder == "iterparse" and note is not None and "gpxpy checks" in note
    doc, note = parse_gpx_auto(gpx(f"<trk><trkseg>{trkpt()}</trkseg></trk>", version="1.0"))
    assert doc.decoder == "scan" and note is None
    bad = gpx(f"<trk><number>x</number><trkseg>{trkpt()}</trkseg></trk>")
    with pytest.raises(Exception, match=r"(?i)invalid"):
        parse_gpx_auto(bad)


# --------------------------------------------------------------------------------------------
# Hostile input
# --------------------------------------------------------------------------------------------


def test_billion_laughs_is_refused_before_parsing() -> None:
    data = (
        '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY l0 "ha">'
        + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
        + f']><gpx version="1.1" xmlns="{NS11}"><trk><name>&l9;</name></trk></gpx>'
    ).encode()
    with pytest.raises(GpxRefused, match="DTD"):
        parse_gpx_fast(data)


def test_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<gpx version="1.1" xmlns="{NS11}"><trk><name>&x;</name></trk></gpx>'
    ).encode()
    with pytest.raises(GpxRefused) as info:
        parse_gpx_fast(data)
    assert "TOP-SECRET" not in str(info.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"not xml at all", b"<gpx><trk>", b"\x89PNG\r\n\x1a\n" + bytes(100)],
    ids=["empty", "text", "unclosed", "png"],
)
def test_not_xml_is_refused(data: bytes) -> None:
    with pytest.raises(GpxRefused):
        parse_gpx_fast(data)


def test_utf16_document_cannot_smuggle_a_doctype() -> None:
    text = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE gpx [<!ENTITY x "y">]>'
        f'<gpx version="1.1" xmlns="{NS11}"><trk><name>&x;</name></trk></gpx>'
    )
    with pytest.raises(GpxRefused):
        parse_gpx_fast(text.encode("utf-16"))


# --------------------------------------------------------------------------------------------
# Property test
# --------------------------------------------------------------------------------------------

_times = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ),
    st.from_regex(
        r"20[0-9]{2}-[01]?[0-9]-[0-3]?[0-9][T ][0-2][0-9]:[0-5][0-9]:[0-6][0-9]"
        r"(\.[0-9]{1,9})?(Z|[+-][01][0-9]:?[0-5][0-9])?",
        fullmatch=True,
    ),
)
_point = st.tuples(
    st.floats(-90, 90, allow_nan=False),
    st.floats(-180, 180, allow_nan=False),
    st.one_of(st.none(), st.floats(-500, 9000, allow_nan=False)),
    _times,
    st.one_of(st.none(), st.integers(0, 250)),
    st.one_of(st.none(), st.integers(0, 250)),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_point, max_size=12), max_size=3), st.sampled_from(["1.0", "1.1"]))
def test_random_documents_match_gpxpy(segments: list, version: str) -> None:
    segs = []
    for seg in segments:
        pts = []
        for lat, lon, ele, t, cad, hr in seg:
            inner = ""
            if ele is not None:
                inner += f"<ele>{ele!r}</ele>"
            if t is not None:
                inner += f"<time>{t}</time>"
            ext = ""
            if hr is not None:
                ext += f"<gpxtpx:hr>{hr}</gpxtpx:hr>"
            if cad is not None:
                ext += f"<gpxtpx:cad>{cad}</gpxtpx:cad>"
            if ext:
                inner += f"<extensions><gpxtpx:TrackPointExtension>{ext}"
                inner += "</gpxtpx:TrackPointExtension></extensions>"
            pts.append(f'<trkpt lat="{lat!r}" lon="{lon!r}">{inner}</trkpt>')
        segs.append(f"<trkseg>{''.join(pts)}</trkseg>")
    ns = NS11 if version == "1.1" else NS10
    assert_like_gpxpy(gpx(f"<trk><type>run</type>{''.join(segs)}</trk>", version=version, ns=ns))


# --------------------------------------------------------------------------------------------
# The real corpus
# --------------------------------------------------------------------------------------------


def corpus_gpx_files() -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every GPX in the corpus: plain, gzipped and inside zips."""
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(CORPUS))
        low = path.name.lower()
        if low.endswith(".gpx"):
            yield rel, path.read_bytes()
        elif low.endswith(".gpx.gz"):
            yield rel, gzip.decompress(path.read_bytes())
        elif low.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if member.lower().endswith(".gpx"):
                        yield f"{rel}!{member}", archive.read(member)


@pytest.mark.corpus
def test_corpus_gpx_matches_gpxpy() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent (shared test data not checked out)")
    failures: list[str] = []
    files = points = 0
    for name, data in corpus_gpx_files():
        files += 1
        try:
            ref = parse_gpx(data)
        except Exception as exc:
            try:
                parse_gpx_fast(data)
            except (GpxRefused, FastPathUnsupported):
                continue
            failures.append(f"{name}: gpxpy failed ({exc}) but the fast path did not")
            continue
        try:
            assert_same_document(parse_gpx_fast(data), ref)
        except (AssertionError, GpxRefused, FastPathUnsupported) as exc:
            failures.append(f"{name}: {str(exc)[:300]}")
        points += sum(t.points.height for t in ref.tracks)
    assert not failures, "\n".join(failures)
    assert files >= 90 and points > 50_000
