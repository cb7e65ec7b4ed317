"""Shared fixtures for the ingest tests: corpus location and small file writers.

The writers build real files in memory (FIT through fit-tool, GPX/TCX as
text) so every expectation in the tests is exact and derived from the
inputs, never from the code under test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"

FIT_EPOCH_UNIX = 631065600
METRES_PER_DEG_LAT = math.pi * 6_371_008.8 / 180.0
"""Metres per degree of latitude on the sphere the haversine code uses."""


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"corpus folder {CORPUS_DIR} is absent (shared test data not checked out)")
    return CORPUS_DIR


def _ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


def write_fit(
    start: datetime,
    *,
    n: int = 120,
    sessions: Sequence[dict[str, Any]] | None = None,
    cadence: int | None = 81,
    fractional: float | None = 0.5,
    speed: float | None = 3.0,
    enhanced_speed: float | None = None,
    altitude: float | None = None,
    enhanced_altitude: float | None = None,
    lat0: float | None = 47.5,
    lon0: float | None = 8.5,
    distance: bool = True,
    local_offset_s: int | None = None,
    product: int | None = None,
    manufacturer: int = 1,
    file_type: str = "ACTIVITY",
    heart_rate: int | None = 150,
    move_speed: float = 3.0,
) -> bytes:
    """A small FIT activity written with fit-tool: 1 Hz records moving north at ``speed``.

    ``sessions`` (default: one running session over all records) are dicts
    with ``sport``/``sub_sport`` (fit-tool enum names), ``start`` offset in
    seconds and ``n`` records. Positions and distance advance at the written
    speed (enhanced first), else at ``move_speed``.
    """
    from fit_tool.fit_file_builder import FitFileBuilder
    from fit_tool.profile.messages.activity_message import ActivityMessage
    from fit_tool.profile.messages.file_id_message import FileIdMessage
    from fit_tool.profile.messages.record_message import RecordMessage
    from fit_tool.profile.messages.session_message import SessionMessage
    from fit_tool.profile.profile_type import FileType, Sport, SubSport

    builder = FitFileBuilder(auto_define=True)
    fid = FileIdMessage()
    fid.type = getattr(FileType, file_type)
    fid.manufacturer = manufacturer
    fid.product = product if product is not None else 1
    fid.time_created = _ms(start)
    fid.serial_number = 12345
    builder.add(fid)
    if file_type != "ACTIVITY":
        return builder.build().to_bytes()

    v = next(x for x in (enhanced_speed, speed, move_speed) if x is not None)
    for i in range(n):
        r = RecordMessage()
        r.timestamp = _ms(start + timedelta(seconds=i))
        if lat0 is not None and lon0 is not None:
            r.position_lat = lat0 + i * v / METRES_PER_DEG_LAT
            r.position_long = lon0
        if distance:
            r.distance = i * v
        if speed is not None:
            r.speed = speed
        if enhanced_speed is not None:
            r.enhanced_speed = enhanced_speed
        if altitude is not None:
            r.altitude = altitude
        if enhanced_altitude is not None:
            r.enhanced_altitude = enhanced_altitude
        if cadence is not None:
            r.cadence = cadence
        if fractional is not None:
            r.fractional_cadence = fractional
        if heart_rate is not None:
            r.heart_rate = heart_rate
        builder.add(r)

    specs = list(sessions or [{"sport": "RUNNING", "sub_sport": "GENERIC", "start": 0, "n": n}])
    for spec in specs:
        s = SessionMessage()
        s_start = start + timedelta(seconds=spec.get("start", 0))
        s_n = spec.get("n", n)
        s.start_time = _ms(s_start)
        s.timestamp = _ms(s_start + timedelta(seconds=s_n))
        s.sport = getattr(Sport, spec.get("sport", "RUNNING"))
        s.sub_sport = getattr(SubSport, spec.get("sub_sport", "GENERIC"))
        s.total_elapsed_time = float(s_n - 1)
        s.total_timer_time = float(s_n - 1)
        if distance:
            s.total_distance = (s_n - 1) * v
        builder.add(s)
    act = ActivityMessage()
    end = start + timedelta(seconds=n)
    act.timestamp = _ms(end)
    if local_offset_s is not None:
        act.local_timestamp = int(end.timestamp()) - FIT_EPOCH_UNIX + local_offset_s
    act.num_sessions = len(specs)
    builder.add(act)
    return builder.build().to_bytes()


def write_gpx(
    start: datetime,
    *,
    n: int = 300,
    speed: float = 3.0,
    cadence: float | None = 85,
    hr: float | None = 150,
    sport: str | None = "running",
    name: str | None = "Test run",
    prefix: str = "gpxtpx",
    ele: float | None = 100.0,
    version: str = "1.1",
    creator: str = "pytest",
    lat0: float = 47.5,
    lon0: float = 8.5,
) -> str:
    """GPX text with ``n`` 1 Hz points moving north at ``speed`` m/s."""
    ns = (
        "http://www.topografix.com/GPX/1/1"
        if version == "1.1"
        else "http://www.topografix.com/GPX/1/0"
    )
    tpx = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
    pts = []
    for i in range(n):
        t = (start + timedelta(seconds=i)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lat = lat0 + i * speed / METRES_PER_DEG_LAT
        ext = ""
        if cadence is not None or hr is not None:
            inner = ""
            if hr is not None:
                inner += f"<{prefix}:hr>{hr:g}</{prefix}:hr>"
            if cadence is not None:
                inner += f"<{prefix}:cad>{cadence:g}</{prefix}:cad>"
            ext = (
                f"<extensions><{prefix}:TrackPointExtension>{inner}"
                f"</{prefix}:TrackPointExtension></extensions>"
            )
        e = f"<ele>{ele:g}</ele>" if ele is not None else ""
        pts.append(f'<trkpt lat="{lat:.9f}" lon="{lon0:.9f}">{e}<time>{t}</time>{ext}</trkpt>')
    typ = f"<type>{sport}</type>" if sport else ""
    nm = f"<name>{name}</name>" if name else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx version="{version}" creator="{creator}" xmlns="{ns}" '
        f'xmlns:{prefix}="{tpx}">\n'
        f"<trk>{nm}{typ}<trkseg>{''.join(pts)}</trkseg></trk>\n</gpx>\n"
    )


def write_tcx(
    start: datetime,
    *,
    n: int = 300,
    speed: float = 3.0,
    cadence: float | None = 85,
    run_cadence: bool = True,
    sport: str = "Running",
    activities: int = 1,
    gap_s: int = 3600,
    lead: str = "",
    with_positions: bool = True,
    with_distance: bool = True,
) -> str:
    """TCX text (one or more ``<Activity>``), 1 Hz trackpoints moving north at ``speed``."""
    acts = []
    for a in range(activities):
        a_start = start + timedelta(seconds=a * gap_s)
        tps = []
        for i in range(n):
            t = (a_start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            pos = (
                f"<Position><LatitudeDegrees>{47.5 + i * speed / METRES_PER_DEG_LAT:.9f}"
                "</LatitudeDegrees><LongitudeDegrees>8.5</LongitudeDegrees></Position>"
                if with_positions
                else ""
            )
            dist = f"<DistanceMeters>{i * speed:.3f}</DistanceMeters>" if with_distance else ""
            cad = ""
            ext = ""
            if cadence is not None and run_cadence:
                ext = (
                    "<Extensions><ns3:TPX><ns3:Speed>"
                    f"{speed:g}</ns3:Speed><ns3:RunCadence>{cadence:g}</ns3:RunCadence>"
                    "</ns3:TPX></Extensions>"
                )
            elif cadence is not None:
                cad = f"<Cadence>{cadence:g}</Cadence>"
            tps.append(
                f"<Trackpoint><Time>{t}</Time>{pos}<AltitudeMeters>100</AltitudeMeters>{dist}"
                f"<HeartRateBpm><Value>150</Value></HeartRateBpm>{cad}{ext}</Trackpoint>"
            )
        st = a_start.strftime("%Y-%m-%dT%H:%M:%SZ")
        lap_dist = (
            f"<DistanceMeters>{(n - 1) * speed:.3f}</DistanceMeters>" if with_distance else ""
        )
        acts.append(
            f'<Activity Sport="{sport}"><Id>{st}</Id><Lap StartTime="{st}">'
            f"<TotalTimeSeconds>{n - 1}</TotalTimeSeconds>{lap_dist}"
            f"<Track>{''.join(tps)}</Track></Lap>"
            "<Creator><Name>Forerunner Test</Name></Creator></Activity>"
        )
    return (
        f'{lead}<?xml version="1.0" encoding="UTF-8"?>\n'
        "<TrainingCenterDatabase "
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
        'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">'
        f"<Activities>{''.join(acts)}</Activities></TrainingCenterDatabase>\n"
    )


@pytest.fixture
def make_fit() -> Callable[..., bytes]:
    return write_fit


@pytest.fixture
def make_gpx() -> Callable[..., str]:
    return write_gpx


@pytest.fixture
def make_tcx() -> Callable[..., str]:
    return write_tcx


@pytest.fixture(autouse=True, scope="session")
def _private_default_journal(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Reports read the journal at the default location: in tests, never the developer's
    own (``$KNEEFLAGS_JOURNAL`` points into the session's temporary folder; tests that
    write a journal still name their own)."""
    import os

    if "KNEEFLAGS_JOURNAL" not in os.environ:
        path = tmp_path_factory.mktemp("journal") / "journal.sqlite"
        os.environ["KNEEFLAGS_JOURNAL"] = str(path)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the alarm load measured by ``test_alarm_load.py`` (issue 12: report it in the
    test output), so every CI log shows how often the report flags the corpus histories."""
    try:
        from test_alarm_load import ALARM_LOAD_LINES
    except ImportError:  # pragma: no cover - the module was not collected
        return
    if ALARM_LOAD_LINES:
        terminalreporter.write_sep("-", "alarm load (share of running weeks flagged)")
        for line in ALARM_LOAD_LINES:
            terminalreporter.write_line(line)


@pytest.fixture(params=["c", "numpy"])
def both_scan_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test runs on both XML scan paths: the C accelerator and the numpy scan (modules
    that want it for every test say ``pytestmark = pytest.mark.usefixtures(...)``)."""
    from kneeflags.parsers import scan_accel

    if request.param == "c" and not scan_accel.AVAILABLE:
        pytest.skip("the C accelerator is not built (no compiler at install time)")
    monkeypatch.setattr(scan_accel, "ENABLED", request.param == "c")
    return str(request.param)
