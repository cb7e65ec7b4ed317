"""GPX and TCX documents shaped like real exports, for tests and ``make bench``.

The benchmark must measure what users bring, so these follow real files byte for byte in
layout: Garmin Connect GPX (two-space indentation, ``ns3:`` TrackPointExtension v1,
latitudes written as the *exact* decimal of a semicircle value: 25-31 digits), Strava GPX
(``gpxtpx:`` prefix, 7-decimal positions, one line per element) and Garmin TCX
(ActivityExtension v2 ``ns3:TPX`` with ``RunCadence``). Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, localcontext

import numpy as np


def _run_columns(seed: int, seconds: int) -> dict[str, np.ndarray]:
    """Positions, elevation, heart rate and cadence (strides/min) of a steady 1 Hz run."""
    rng = np.random.default_rng(seed)
    t = np.arange(seconds, dtype=np.float64)
    speed = 3.0 + 0.3 * np.sin(t / 400.0) + rng.normal(0, 0.05, seconds)
    distance = np.cumsum(speed)
    return {
        "lat": 47.37 + 0.012 * np.sin(distance / 1500.0 + seed),
        "lon": 8.54 + 0.018 * np.cos(distance / 1500.0 + seed),
        "ele": 410 + 15 * np.sin(distance / 900.0) + rng.normal(0, 0.3, seconds),
        "hr": np.clip(140 + 10 * np.sin(t / 600.0) + rng.normal(0, 2, seconds), 60, 200),
        "cad": 83 + 2 * (speed - 3.0) + rng.normal(0, 0.8, seconds),
        "speed": speed,
        "distance": distance,
    }


def _stamps(start: dt.datetime, seconds: int, millis: bool) -> list[str]:
    fmt = "%Y-%m-%dT%H:%M:%S.000Z" if millis else "%Y-%m-%dT%H:%M:%SZ"
    return [(start + dt.timedelta(seconds=s)).strftime(fmt) for s in range(seconds)]


def _garmin_degrees(values: np.ndarray) -> list[str]:
    """Degrees as Garmin Connect writes them: the exact decimal of a semicircle count."""
    semis = np.round(values / 180.0 * 2**31).astype(np.int64)
    with localcontext() as ctx:
        ctx.prec = 60  # exact: a semicircle is k / 2**31 of 180 degrees
        return [str(int(s) * Decimal(180) / Decimal(2**31)) for s in semis.tolist()]


def garmin_gpx(seed: int, start: dt.datetime, seconds: int) -> bytes:
    """A Garmin Connect GPX export of a 1 Hz run (about 370 bytes per point)."""
    c = _run_columns(seed, seconds)
    lat, lon = _garmin_degrees(c["lat"]), _garmin_degrees(c["lon"])
    stamps = _stamps(start, seconds, millis=True)
    ele = np.float32(c["ele"]).astype(np.float64).tolist()  # float32 values in full
    points = "".join(
        f'      <trkpt lat="{la}" lon="{lo}">\n'
        f"        <ele>{e!r}</ele>\n"
        f"        <time>{s}</time>\n"
        "        <extensions>\n"
        "          <ns3:TrackPointExtension>\n"
        f"            <ns3:hr>{h:.0f}</ns3:hr>\n"
        f"            <ns3:cad>{k:.0f}</ns3:cad>\n"
        "          </ns3:TrackPointExtension>\n"
        "        </extensions>\n"
        "      </trkpt>\n"
        for la, lo, e, s, h, k in zip(lat, lon, ele, stamps, c["hr"], c["cad"], strict=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx creator="Garmin Connect" version="1.1"\n'
        '  xsi:schemaLocation="http://www.topografix.com/GPX/1/1 '
        'http://www.topografix.com/GPX/11.xsd"\n'
        '  xmlns:ns3="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"\n'
        '  xmlns="http://www.topografix.com/GPX/1/1"\n'
        '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:ns2="http://www.garmin.com/xmlschemas/GpxExtensions/v3">\n'
        "  <metadata>\n"
        '    <link href="connect.garmin.com">\n'
        "      <text>Garmin Connect</text>\n"
        "    </link>\n"
        f"    <time>{stamps[0]}</time>\n"
        "  </metadata>\n"
        "  <trk>\n"
        "    <name>Zürich Running</name>\n"
        "    <type>running</type>\n"
        "    <trkseg>\n"
        f"{points}"
        "    </trkseg>\n"
        "  </trk>\n"
        "</gpx>\n"
    ).encode()


def strava_gpx(seed: int, start: dt.datetime, seconds: int) -> bytes:
    """A Strava GPX export of a 1 Hz run (``gpxtpx:`` extensions, 7-decimal positions)."""
    c = _run_columns(seed, seconds)
    stamps = _stamps(start, seconds, millis=False)
    points = "".join(
        f'   <trkpt lat="{la:.7f}" lon="{lo:.7f}">\n'
        f"    <ele>{e:.1f}</ele>\n"
        f"    <time>{s}</time>\n"
        "    <extensions>\n"
        "     <gpxtpx:TrackPointExtension>\n"
        f"      <gpxtpx:hr>{h:.0f}</gpxtpx:hr>\n"
        f"      <gpxtpx:cad>{k:.0f}</gpxtpx:cad>\n"
        "     </gpxtpx:TrackPointExtension>\n"
        "    </extensions>\n"
        "   </trkpt>\n"
        for la, lo, e, s, h, k in zip(
            c["lat"], c["lon"], c["ele"], stamps, c["hr"], c["cad"], strict=True
        )
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx creator="StravaGPX" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 '
        'http://www.topografix.com/GPX/1/1/gpx.xsd" version="1.1" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" '
        'xmlns:gpxx="http://www.garmin.com/xmlschemas/GpxExtensions/v3">\n'
        " <metadata>\n"
        f"  <time>{stamps[0]}</time>\n"
        " </metadata>\n"
        " <trk>\n"
        "  <name>Morning Run</name>\n"
        "  <type>running</type>\n"
        "  <trkseg>\n"
        f"{points}"
        "  </trkseg>\n"
        " </trk>\n"
        "</gpx>\n"
    ).encode()


def garmin_tcx(seed: int, start: dt.datetime, seconds: int) -> bytes:
    """A Garmin TCX export of a 1 Hz run (one lap, ``ns3:TPX`` speed and RunCadence)."""
    c = _run_columns(seed, seconds)
    stamps = _stamps(start, seconds, millis=True)
    points = "".join(
        "          <Trackpoint>\n"
        f"            <Time>{s}</Time>\n"
        "            <Position>\n"
        f"              <LatitudeDegrees>{la!r}</LatitudeDegrees>\n"
        f"              <LongitudeDegrees>{lo!r}</LongitudeDegrees>\n"
        "            </Position>\n"
        f"            <AltitudeMeters>{e!r}</AltitudeMeters>\n"
        f"            <DistanceMeters>{d:.1f}</DistanceMeters>\n"
        "            <HeartRateBpm>\n"
        f"              <Value>{h:.0f}</Value>\n"
        "            </HeartRateBpm>\n"
        "            <Extensions>\n"
        "              <ns3:TPX>\n"
        f"                <ns3:Speed>{v:.3f}</ns3:Speed>\n"
        f"                <ns3:RunCadence>{k:.0f}</ns3:RunCadence>\n"
        "              </ns3:TPX>\n"
        "            </Extensions>\n"
        "          </Trackpoint>\n"
        for s, la, lo, e, d, h, v, k in zip(
            stamps,
            np.round(c["lat"], 14).tolist(),
            np.round(c["lon"], 14).tolist(),
            np.float32(c["ele"]).astype(np.float64).tolist(),
            c["distance"],
            c["hr"],
            c["speed"],
            c["cad"],
            strict=True,
        )
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<TrainingCenterDatabase\n"
        '  xsi:schemaLocation="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2 '
        'http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd"\n'
        '  xmlns:ns5="http://www.garmin.com/xmlschemas/ActivityGoals/v1"\n'
        '  xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"\n'
        '  xmlns:ns2="http://www.garmin.com/xmlschemas/UserProfile/v2"\n'
        '  xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"\n'
        '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        "  <Activities>\n"
        '    <Activity Sport="Running">\n'
        f"      <Id>{stamps[0]}</Id>\n"
        f'      <Lap StartTime="{stamps[0]}">\n'
        f"        <TotalTimeSeconds>{seconds:.1f}</TotalTimeSeconds>\n"
        f"        <DistanceMeters>{c['distance'][-1]:.1f}</DistanceMeters>\n"
        "        <Intensity>Active</Intensity>\n"
        "        <TriggerMethod>Manual</TriggerMethod>\n"
        "        <Track>\n"
        f"{points}"
        "        </Track>\n"
        "      </Lap>\n"
        "      <Creator>\n"
        "        <Name>Forerunner 255</Name>\n"
        "      </Creator>\n"
        "    </Activity>\n"
        "  </Activities>\n"
        "</TrainingCenterDatabase>\n"
    ).encode()


__all__ = ["garmin_gpx", "garmin_tcx", "strava_gpx"]
