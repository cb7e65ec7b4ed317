"""The vectorised TCX scan against the reference reader (defusedxml ElementTree).

``parse_source`` reads a screened TCX through ``xml_scan.scan_tcx`` where it can prove its
result; the reference is the same builder fed by defusedxml's tree. Both must give the same
activities, sample for sample, on generated exports, on hypothesis documents of every
shape, and wherever the scan steps aside.
"""

from __future__ import annotations

import datetime as dt
import gzip
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import kneeflags.parsers.tcx as tcx_module
from kneeflags.model import LoadResult, SourceRef
from kneeflags.parsers import parse_source
from kneeflags.parsers.xml_scan import ScanDeclined, scan_tcx
from kneeflags.testing.xmlwriter import garmin_tcx

REF = SourceRef("run.tcx")
START = dt.datetime(2025, 3, 1, 7, tzinfo=dt.UTC)
TCD = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
AX = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"


pytestmark = pytest.mark.usefixtures("both_scan_paths")  # every test: C and numpy scan


def both_ways(data: bytes) -> tuple[LoadResult, LoadResult]:
    """(the scan path, the defusedxml reference) for the same bytes."""
    fast = parse_source(data, REF)
    saved = tcx_module._plain_xml
    tcx_module._plain_xml = lambda body: False  # type: ignore[assignment]
    try:
        reference = parse_source(data, REF)
    finally:
        tcx_module._plain_xml = saved  # type: ignore[assignment]
    return fast, reference


def assert_same(fast: LoadResult, reference: LoadResult) -> None:
    assert [p.message for p in fast.problems] == [p.message for p in reference.problems]
    assert len(fast.activities) == len(reference.activities)
    for a, b in zip(fast.activities, reference.activities, strict=True):
        assert (a.sport, a.start_utc, a.distance_m, a.timer_s, a.device) == (
            b.sport,
            b.start_utc,
            b.distance_m,
            b.timer_s,
            b.device,
        )
        assert a.provenance.cadence_unit == b.provenance.cadence_unit
        assert_frame_equal(a.samples, b.samples)
        assert b.provenance.decoder == "defusedxml"


def test_generated_garmin_export_is_scanned_exactly() -> None:
    data = garmin_tcx(4, START, 1800)
    fast, reference = both_ways(data)
    assert fast.activities[0].provenance.decoder == "scan"
    assert fast.activities[0].samples.height == 1800
    assert_same(fast, reference)
    fast_gz, _ = both_ways(gzip.compress(data))
    assert_frame_equal(fast_gz.activities[0].samples, fast.activities[0].samples)


def _doc(tracks: list[str], lead: str = "", sport: str = "Running") -> bytes:
    laps = "".join(
        f'<Lap StartTime="2024-05-01T06:00:00Z"><TotalTimeSeconds>60</TotalTimeSeconds>{t}</Lap>'
        for t in tracks
    )
    return (
        f'{lead}<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="{TCD}" '
        f'xmlns:ns3="{AX}"><Activities><Activity Sport="{sport}"><Id>2024-05-01T06:00:00Z</Id>'
        f"{laps}<Creator><Name>W</Name></Creator></Activity></Activities>"
        "</TrainingCenterDatabase>\n"
    ).encode()


def _tp(i: int, inner: str = "") -> str:
    return (
        f"<Trackpoint><Time>2024-05-01T06:00:{i:02d}Z</Time><Position><LatitudeDegrees>"
        f"{47 + i / 1e4}</LatitudeDegrees><LongitudeDegrees>8.5</LongitudeDegrees></Position>"
        f"{inner}</Trackpoint>"
    )


@pytest.mark.parametrize(
    ("inner", "why"),
    [
        ("<HeartRateBpm><Value>abc</Value></HeartRateBpm>", "decimal"),
        ("<AltitudeMeters>&#49;</AltitudeMeters>", "reference"),
        ("<!-- c --><AltitudeMeters>1</AltitudeMeters>", "no track"),
        ("<Cadence>1e2</Cadence>", "decimal"),
        ("junk<Cadence>80</Cadence>", "whitespace"),
    ],
)
def test_what_the_tcx_scan_cannot_prove_it_declines(inner: str, why: str) -> None:
    track = "<Track>" + "".join(_tp(i, "<Cadence>80</Cadence>") for i in range(5))
    track += _tp(5, inner) + "</Track>"
    data = _doc([track])
    with pytest.raises(ScanDeclined, match=why):
        scan_tcx(data)
    fast, reference = both_ways(data)
    assert_same(fast, reference)
    if fast.activities:
        assert any("fast TCX scan not used" in n for n in fast.activities[0].provenance.notes)


@pytest.mark.parametrize(
    "where", ["name", "element", "inside"], ids=["in-text", "an-element", "in-a-track"]
)
def test_the_marker_name_in_the_document_is_declined_or_harmless(where: str) -> None:
    """The scan's marker name outside the tracks makes it decline (checked on the skeleton);
    inside a scanned track it never reaches the reader, and the result is the reference's."""
    track = "<Track>" + "".join(_tp(i) for i in range(4)) + "</Track>"
    data = _doc([track])
    if where == "name":
        data = data.replace(b"<Name>W</Name>", b"<Name>kneeflags-scan-marker</Name>")
    elif where == "element":
        data = data.replace(b"<Name>W</Name>", b'<Name>W</Name><kneeflags-scan-marker n="0"/>')
    else:
        data = data.replace(
            b"</Position></Trackpoint>",
            b"</Position><kneeflags-scan-marker>1</kneeflags-scan-marker></Trackpoint>",
        )
    if where == "inside":
        scan_tcx(data)
    else:
        with pytest.raises(ScanDeclined, match="marker name"):
            scan_tcx(data)
    fast, reference = both_ways(data)
    assert_same(fast, reference)


def test_last_of_a_name_wins_and_non_leaves_are_null() -> None:
    inner = (
        "<Cadence>70</Cadence><Extensions><ns3:TPX><ns3:Speed>3.5</ns3:Speed>"
        "<ns3:RunCadence>88</ns3:RunCadence></ns3:TPX></Extensions><Cadence>71</Cadence>"
        "<HeartRateBpm><Value>150</Value></HeartRateBpm><Value><x/></Value>"
    )
    track = "<Track>" + "".join(_tp(i, inner) for i in range(8)) + "</Track>"
    data = _doc([track, "<Track>\n</Track>", "<Track/>", track.replace(":0", ":1")])
    fast, reference = both_ways(data)
    assert fast.activities[0].provenance.decoder == "scan"
    assert_same(fast, reference)
    assert fast.activities[0].samples["heart_rate"].null_count() == 16


# --------------------------------------------------------------------------------------------
# Property test
# --------------------------------------------------------------------------------------------

_ws = st.sampled_from(["", "\n", "\r\n  ", "\t"])
_num = st.one_of(
    st.floats(-1000, 9000, allow_nan=False).map(repr),
    st.integers(0, 250).map(str),
    st.floats(-180, 180, allow_nan=False).map(lambda x: f"{x:.7f}"),
)
_time = st.datetimes(min_value=dt.datetime(1995, 1, 1), max_value=dt.datetime(2090, 1, 1)).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{d.microsecond:06d}"[: 1 + d.day % 7]) + "Z"
)
_fields = st.lists(
    st.sampled_from(["pos", "alt", "dist", "hr", "cad", "tpx", "speed"]), unique=True, max_size=7
)


@st.composite
def _tcx_documents(draw: st.DrawFn) -> bytes:
    shapes = draw(st.lists(st.tuples(_fields, _ws, st.sampled_from(["ns3", "tpx"])), min_size=1,
                           max_size=3))  # fmt: skip
    tracks = []
    for _ in range(draw(st.integers(1, 3))):
        points = []
        for _ in range(draw(st.integers(0, 10))):
            fields, ws, px = draw(st.sampled_from(shapes))
            inner = f"{ws}<Time>{draw(_time)}</Time>"
            if "pos" in fields:
                inner += (
                    f"{ws}<Position><LatitudeDegrees>{draw(_num)}</LatitudeDegrees>"
                    f"<LongitudeDegrees>{draw(_num)}</LongitudeDegrees></Position>"
                )
            if "alt" in fields:
                inner += f"{ws}<AltitudeMeters>{draw(_num)}</AltitudeMeters>"
            if "dist" in fields:
                inner += f"{ws}<DistanceMeters>{draw(_num)}</DistanceMeters>"
            if "hr" in fields:
                inner += f"{ws}<HeartRateBpm><Value>{draw(_num)}</Value></HeartRateBpm>"
            if "cad" in fields:
                inner += f"{ws}<Cadence>{draw(_num)}</Cadence>"
            if "tpx" in fields or "speed" in fields:
                ext = f"<{px}:Speed>{draw(_num)}</{px}:Speed>" if "speed" in fields else ""
                ext += f"<{px}:RunCadence>{draw(_num)}</{px}:RunCadence>" if "tpx" in fields else ""
                inner += (
                    f'{ws}<Extensions><{px}:TPX xmlns:{px}="{AX}">{ext}</{px}:TPX></Extensions>'
                )
            points.append(f"{ws}<Trackpoint>{inner}{ws}</Trackpoint>")
        tracks.append(f"<Track>{''.join(points)}{draw(_ws)}</Track>")
    lead = draw(st.sampled_from(["", "\ufeff", "  \n"]))
    return _doc(tracks, lead=lead, sport=draw(st.sampled_from(["Running", "Biking", "Other"])))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tcx_documents())
def test_random_tcx_documents_match_the_reference(data: bytes) -> None:
    fast, reference = both_ways(data)
    assert_same(fast, reference)


# --------------------------------------------------------------------------------------------
# The corpus and memory
# --------------------------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_tcx_is_scanned(corpus_dir) -> None:  # type: ignore[no-untyped-def]
    scanned = 0
    for path in sorted(corpus_dir.rglob("*.tcx")):
        fast, reference = both_ways(path.read_bytes())
        assert_same(fast, reference)
        scanned += any(a.provenance.decoder == "scan" for a in fast.activities)
    assert scanned >= 15  # 17 of 17 at the time of writing


def test_tcx_memory_stays_within_three_times_the_file() -> None:
    data = garmin_tcx(2, START, 3600)
    parse_source(data, SourceRef("warm.tcx"))
    tracemalloc.start()
    try:
        res = parse_source(data, REF)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.activities and peak < 3.0 * len(data)
