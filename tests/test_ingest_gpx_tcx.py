"""GPX and TCX ingest: cadence unit decision, distance from positions, sport, hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from kneeflags.model import SAMPLE_SCHEMA, SourceRef, Sport
from kneeflags.parsers import parse_source
from kneeflags.parsers.common import decide_cadence_unit, sport_from_text
from kneeflags.parsers.gpx import GPX_POINT_SCHEMA, parse_gpx

START = datetime(2024, 5, 4, 7, 0, tzinfo=UTC)
GPX = SourceRef("run.gpx")
TCX = SourceRef("run.tcx")


def gpx(text: str, **kw: object):
    return parse_source(text.encode(), GPX, **kw)  # type: ignore[arg-type]


def tcx(text: str | bytes, **kw: object):
    data = text.encode() if isinstance(text, str) else text
    return parse_source(data, TCX, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- GPX


def test_gpx_strides_are_doubled_and_decision_recorded(make_gpx) -> None:
    res = gpx(make_gpx(START, cadence=85))
    (act,) = res.activities
    assert act.samples["cadence_spm"].unique().to_list() == [170.0]
    assert act.provenance.cadence_unit == "strides"
    assert "85" in act.provenance.cadence_reason
    assert res.warnings == []


def test_gpx_steps_are_kept(make_gpx) -> None:
    (act,) = gpx(make_gpx(START, cadence=172)).activities
    assert act.samples["cadence_spm"].unique().to_list() == [172.0]
    assert act.provenance.cadence_unit == "steps"


def test_gpx_ambiguous_band_uses_step_length_and_warns(make_gpx) -> None:
    # 125 at 2.2 m/s: as strides the step is 0.53 m (too short), as steps 1.06 m -> steps
    res = gpx(make_gpx(START, cadence=125, speed=2.2))
    (act,) = res.activities
    assert act.provenance.cadence_unit == "steps"
    (w,) = res.warnings
    assert w.message.startswith("cadence unit guessed: ") and w.path == "run.gpx"


def test_cadence_unit_undecidable_drops_cadence() -> None:
    speed = np.full(100, 2.9)
    dec = decide_cadence_unit(speed, np.full(100, 125.0))
    assert dec.unit == "unknown" and dec.factor is None and dec.guessed


def test_gpx_distance_from_positions_and_speed_derived(make_gpx) -> None:
    (act,) = gpx(make_gpx(START, n=301, speed=3.0)).activities
    assert act.provenance.distance_source == "positions"
    assert act.distance_m == pytest.approx(900.0, rel=1e-6)
    assert act.samples["speed_mps"].median() == pytest.approx(3.0, rel=1e-4)
    assert act.samples.schema == SAMPLE_SCHEMA
    assert act.samples["elapsed_s"][-1] == 300.0


@pytest.mark.parametrize("prefix", ["gpxtpx", "ns3", "x"])
def test_gpx_extensions_matched_by_namespace_not_prefix(make_gpx, prefix: str) -> None:
    (act,) = gpx(make_gpx(START, prefix=prefix, cadence=88, hr=151)).activities
    assert act.samples["cadence_spm"][0] == 176.0
    assert act.samples["heart_rate"][0] == 151.0


@pytest.mark.parametrize(
    ("typ", "sport"),
    [
        ("running", Sport.RUNNING),
        ("run", Sport.RUNNING),
        ("Run", Sport.RUNNING),
        ("9", Sport.RUNNING),
        ("trail_running", Sport.TRAIL_RUNNING),
        ("hiking", Sport.HIKING),
        ("cycling", Sport.CYCLING),
    ],
)
def test_gpx_sport_from_type(make_gpx, typ: str, sport: Sport) -> None:
    (act,) = gpx(make_gpx(START, sport=typ)).activities
    assert act.sport is sport
    assert act.sport_detail == typ


def test_gpx_without_type_infers_from_speed(make_gpx) -> None:
    (run,) = gpx(make_gpx(START, sport=None, speed=3.0)).activities
    assert run.sport is Sport.RUNNING
    assert any("assumed running" in n for n in run.provenance.notes)
    (walk,) = gpx(make_gpx(START, sport=None, speed=1.2, cadence=None)).activities
    assert walk.sport is Sport.WALKING


def test_gpx_name_creator_and_version_10(make_gpx) -> None:
    (act,) = gpx(make_gpx(START, version="1.0", name="Evening", creator="Phone")).activities
    assert act.name == "Evening" and act.device == "Phone"


def test_gpx_intermediate_is_documented_frame(make_gpx) -> None:
    doc = parse_gpx(make_gpx(START, n=10).encode())
    (trk,) = doc.tracks
    assert trk.points.schema == GPX_POINT_SCHEMA
    assert trk.type == "running" and doc.creator == "pytest"


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<gpx version="1.1" creator="&b;" xmlns="http://www.topografix.com/GPX/1/1"></gpx>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<gpx version="1.1" creator="&x;" xmlns="http://www.topografix.com/GPX/1/1"></gpx>"""


@pytest.mark.parametrize("payload", [BOMB, XXE])
def test_gpx_entities_are_refused(payload: bytes) -> None:
    res = parse_source(payload, GPX)
    assert res.activities == []
    (err,) = res.errors
    assert "DTD" in err.message and err.path == "run.gpx"


def test_gpx_bogus_1901_dates_are_an_error(make_gpx) -> None:
    res = gpx(make_gpx(datetime(1901, 12, 13, 20, 45, tzinfo=UTC)))
    assert res.activities == []
    assert "implausible start date 1901-12-13" in res.errors[0].message


def test_gpx_route_only_is_skipped() -> None:
    text = (
        '<?xml version="1.0"?><gpx version="1.1" creator="t" '
        'xmlns="http://www.topografix.com/GPX/1/1"><rte><rtept lat="1" lon="2"/></rte></gpx>'
    )
    res = gpx(text)
    assert res.activities == [] and res.errors == []
    assert "route" in res.skipped[0].reason


def test_gpx_truncated_xml_is_one_error(make_gpx) -> None:
    text = make_gpx(START)
    res = gpx(text[: len(text) // 2])
    assert res.activities == [] and len(res.errors) == 1
    assert "malformed XML" in res.errors[0].message


# --------------------------------------------------------------------------- TCX


def test_tcx_runcadence_strides_doubled(make_tcx) -> None:
    (act,) = tcx(make_tcx(START, cadence=86)).activities
    assert act.samples["cadence_spm"].unique().to_list() == [172.0]
    assert act.provenance.cadence_unit == "strides"
    assert act.sport is Sport.RUNNING
    assert act.device == "Forerunner Test"


def test_tcx_plain_cadence_in_steps(make_tcx) -> None:
    (act,) = tcx(make_tcx(START, cadence=168, run_cadence=False)).activities
    assert act.samples["cadence_spm"].unique().to_list() == [168.0]
    assert act.provenance.cadence_unit == "steps"


def test_tcx_distance_altitude_hr_and_totals(make_tcx) -> None:
    (act,) = tcx(make_tcx(START, n=201, speed=2.5)).activities
    assert act.distance_m == pytest.approx(500.0)
    assert act.provenance.distance_source == "file"
    assert act.timer_s == 200.0
    assert act.samples["altitude_m"].unique().to_list() == [100.0]
    assert act.samples["heart_rate"].unique().to_list() == [150.0]
    assert act.start_utc == START


def test_tcx_distance_from_positions_when_absent(make_tcx) -> None:
    (act,) = tcx(make_tcx(START, n=101, speed=3.0, with_distance=False)).activities
    assert act.provenance.distance_source == "positions"
    assert act.distance_m == pytest.approx(300.0, rel=1e-6)


@pytest.mark.parametrize("lead", ["\n\n   ", "\ufeff", "\ufeff \n"])
def test_tcx_tolerates_leading_whitespace_and_bom(make_tcx, lead: str) -> None:
    (act,) = tcx(make_tcx(START, lead=lead)).activities
    assert act.start_utc == START


def test_tcx_multiple_activities(make_tcx) -> None:
    acts = tcx(make_tcx(START, activities=3, gap_s=7200)).activities
    assert [a.part for a in acts] == [0, 1, 2]
    assert [(a.start_utc - START).total_seconds() for a in acts] == [0, 7200, 14400]


def test_tcx_biking_and_other(make_tcx) -> None:
    (bike,) = tcx(make_tcx(START, sport="Biking", cadence=90, run_cadence=False)).activities
    assert bike.sport is Sport.CYCLING
    assert bike.samples["cadence_spm"][0] == 90.0
    (other,) = tcx(make_tcx(START, sport="Other")).activities
    assert other.sport is Sport.OTHER


def test_tcx_malformed_is_one_error(make_tcx) -> None:
    text = make_tcx(START).replace("<Time>", "<bad:Time>", 1)
    res = tcx(text)
    assert res.activities == []
    (err,) = res.errors
    assert "malformed TCX" in err.message and "unbound prefix" in err.message


def test_tcx_entities_refused() -> None:
    payload = BOMB.replace(b"gpx", b"TrainingCenterDatabase")
    res = tcx(payload)
    assert res.activities == [] and "DTD" in res.errors[0].message


@pytest.mark.parametrize(
    ("text", "sport"),
    [
        ("Run", Sport.RUNNING),
        ("Weight Training", Sport.STRENGTH_TRAINING),
        ("Virtual Run", Sport.TREADMILL_RUNNING),
        ("Ride", Sport.CYCLING),
        ("jkljkl", None),
    ],
)
def test_sport_words(text: str, sport: Sport | None) -> None:
    assert sport_from_text(text) is sport


def test_all_zero_elevation_is_treated_as_missing(make_gpx, make_tcx) -> None:
    (act,) = gpx(make_gpx(START, ele=0.0)).activities
    assert act.samples["altitude_m"].null_count() == act.samples.height
    assert act.provenance.elevation_source == "none"
    assert any("elevation is 0" in n for n in act.provenance.notes)
    (real,) = gpx(make_gpx(START, ele=3.0)).activities
    assert real.samples["altitude_m"].null_count() == 0


def test_tz_source_label_is_recorded(make_gpx) -> None:
    (act,) = gpx(make_gpx(START), tz="Europe/Paris", tz_source="config").activities
    assert act.utc_offset_source == "config" and act.utc_offset_s == 7200
    (sys_act,) = gpx(make_gpx(START), tz_source="config").activities
    assert sys_act.utc_offset_source == "system"


# --------------------------------------------------------------------------- TCX parser choice


def _tcx_both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """The same bytes through the C ElementTree path and through defusedxml."""
    import kneeflags.parsers.tcx as tcx_module

    fast = parse_source(data, TCX)
    with monkeypatch.context() as m:
        m.setattr(tcx_module, "_plain_xml", lambda body: False)
        reference = parse_source(data, TCX)
    return fast, reference


def _same_tcx_result(fast, reference) -> None:  # type: ignore[no-untyped-def]
    from polars.testing import assert_frame_equal

    assert [p.message for p in fast.problems] == [p.message for p in reference.problems]
    assert len(fast.activities) == len(reference.activities)
    for a, b in zip(fast.activities, reference.activities, strict=True):
        assert (a.sport, a.start_utc, a.distance_m, a.timer_s) == (
            b.sport,
            b.start_utc,
            b.distance_m,
            b.timer_s,
        )
        assert_frame_equal(a.samples, b.samples)
        assert a.provenance.decoder in ("scan", "etree") and b.provenance.decoder == "defusedxml"


def test_tcx_c_parser_matches_defusedxml_on_the_corpus(
    corpus_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted(corpus_dir.rglob("*.tcx"))
    assert len(files) >= 10
    for path in files:
        data = path.read_bytes()
        fast, reference = _tcx_both_ways(data, monkeypatch)
        if fast.activities or reference.activities:
            _same_tcx_result(fast, reference)
        else:
            assert [p.message for p in fast.problems] == [p.message for p in reference.problems]


def test_tcx_declarations_and_odd_encodings_go_through_defusedxml(make_tcx) -> None:
    text = make_tcx(START)
    plain = tcx(text)
    assert plain.activities[0].provenance.decoder == "scan"
    # A harmless DTD is still refused, as defusedxml refuses every DTD.
    head, _, rest = text.partition("?>")
    with_dtd = f"{head}?>\n<!DOCTYPE TrainingCenterDatabase>{rest}"
    refused = tcx(with_dtd)
    assert refused.activities == [] and "DTD" in refused.errors[0].message
    # UTF-16 cannot be screened byte-wise: defusedxml reads it, with the same result.
    utf16 = tcx(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    assert utf16.activities[0].provenance.decoder == "defusedxml"
    from polars.testing import assert_frame_equal

    assert_frame_equal(utf16.activities[0].samples, plain.activities[0].samples)


def test_tcx_trackpoints_are_read_as_they_stream_past(make_tcx, monkeypatch) -> None:
    """Only an empty element per point stays in memory on the streaming path."""
    from kneeflags.parsers import tcx as tcx_module
    from kneeflags.parsers.tcx import _local, read_document

    monkeypatch.setattr(tcx_module, "USE_SCAN", False)
    root, rows, parser, _, _ = read_document(make_tcx(START).encode())
    points = [el for el in root.iter() if _local(el.tag) == "Trackpoint"]
    assert parser == "etree" and len(points) > 10 and len(rows) == len(points)
    assert all(len(tp) == 0 and id(tp) in rows for tp in points)
