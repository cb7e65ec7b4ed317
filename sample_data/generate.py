#!/usr/bin/env python3
"""Write kneeflags' committed sample data: two athletes, ten weeks, FIT and GPX files.

Why a script rather than recorded files: the sample set has to *tell a story* that the
rules in ``../shared/guide/rules.md`` can find (a volume jump, a long-run spike, low
cadence, a block of downhill running) next to an athlete who trains sensibly, and it must
be reproducible so the committed files cannot drift from their description
(``tests/test_sample_data.py`` regenerates them and compares bytes). Real recordings
cannot be shared, and hand-edited files would hide how they were made.

Everything is deterministic: fixed dates (ten Monday-to-Sunday weeks ending Sunday
2026-11-22), and one NumPy generator per session seeded from ``SEED``, the athlete and
the session's index, so adding a session never changes the others.

Signals are physical rather than random: each run follows a closed loop of the planned
length; pace follows the grade; cadence follows pace; heart rate lags effort;
altitude carries barometer-like noise and positions carry slowly wandering GPS error.

FIT files are encoded with fit-tool. fit-tool builds one Python object of ~80 fields
per message, about 0.6 ms per record, which would make this script take minutes for
the ~240,000 records of the set. So fit-tool encodes every message (file_id,
device_info, events, laps, session, activity) *and the first record*, and the remaining
record rows are packed with NumPy in exactly the layout of fit-tool's record definition;
the first packed row is checked byte for byte against fit-tool's encoding of it.

Run ``python sample_data/generate.py`` (or ``make sample-data``); ``--out DIR`` writes
elsewhere (the tests use it). Files whose bytes are unchanged are not rewritten.
"""

from __future__ import annotations

import argparse
import itertools
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from fit_tool.base_type import BaseType
from fit_tool.data_message import DataMessage
from fit_tool.definition_message import DefinitionMessage
from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.fit_file_header import FitFileHeader
from fit_tool.profile.messages.activity_message import ActivityMessage
from fit_tool.profile.messages.device_info_message import DeviceInfoMessage
from fit_tool.profile.messages.event_message import EventMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.lap_message import LapMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.messages.session_message import SessionMessage
from fit_tool.profile.profile_type import Activity as FitActivityType
from fit_tool.profile.profile_type import (
    Event,
    EventType,
    FileType,
    GarminProduct,
    LapTrigger,
    Manufacturer,
    SessionTrigger,
    Sport,
    SubSport,
)
from fit_tool.utils.crc import crc16

SEED = 20_261_122
LAST_SUNDAY = date(2026, 11, 22)
WEEKS = 10
FIRST_MONDAY = LAST_SUNDAY - timedelta(days=7 * WEEKS - 1)  # 2026-09-14
FIT_EPOCH_UNIX = 631_065_600
"""1989-12-31T00:00:00Z, the FIT epoch, as a Unix timestamp."""
EARTH_M_PER_DEG = 111_320.0

Kind = Literal["run", "strength", "ride"]
Route = Literal["rolling", "hilly"]
FileFormat = Literal["fit", "gpx"]


@dataclass(frozen=True, slots=True)
class Place:
    """Where a loop starts and ends."""

    lat: float
    lon: float
    alt_m: float


@dataclass(frozen=True, slots=True)
class Athlete:
    """Who runs, where, and how their body behaves (pace, cadence, heart rate)."""

    folder: str
    timezone: str
    product: GarminProduct
    serial: int
    home: Place
    hills: Place
    flat_speed: float
    """Easy pace on the flat, m/s."""
    cadence_spm: tuple[float, float]
    """Range of a run's base cadence at easy pace, steps/min."""
    cadence_slope: float
    """Extra steps/min per m/s of speed above easy pace."""
    hr_easy: float
    track_name: str


@dataclass(frozen=True, slots=True)
class Session:
    """One planned training session (a row of the README tables)."""

    week: int
    """1-based week of the ten-week block."""
    weekday: int
    """0 = Monday."""
    start: str
    """Local wall-clock start, HH:MM."""
    kind: Kind
    km: float = 0.0
    route: Route = "rolling"
    formats: tuple[FileFormat, ...] = ("fit",)
    minutes: float = 0.0
    effort: float = 1.0
    """Pace relative to easy (long runs a little slower)."""

    @property
    def local_day(self) -> date:
        return FIRST_MONDAY + timedelta(days=7 * (self.week - 1) + self.weekday)

    def start_utc(self, tz: str) -> datetime:
        hh, mm = (int(p) for p in self.start.split(":"))
        local = datetime.combine(self.local_day, time(hh, mm), tzinfo=ZoneInfo(tz))
        return local.astimezone(UTC)

    def stem(self) -> str:
        return f"{self.local_day.isoformat()}-{self.start.replace(':', '')}-{self.kind}"


# --------------------------------------------------------------------------------------
# The two athletes and their ten weeks (see README.md for the story behind the numbers).
# --------------------------------------------------------------------------------------

ALEX = Athlete(
    folder="alex",
    timezone="America/Denver",
    product=GarminProduct.FR255,
    serial=3_412_775_901,
    home=Place(40.01493, -105.27055, 1630.0),  # Boulder Creek path
    hills=Place(39.99897, -105.28172, 1752.0),  # Chautauqua trailhead
    flat_speed=2.78,  # 6:00 /km
    cadence_spm=(157.0, 160.0),
    cadence_slope=6.0,
    hr_easy=150.0,
    track_name="Boulder Running",
)

SAM = Athlete(
    folder="sam",
    timezone="Europe/London",
    product=GarminProduct.FR965,
    serial=3_587_102_446,
    home=Place(51.50729, -0.16571, 25.0),  # Hyde Park
    hills=Place(51.44301, -0.27496, 40.0),  # Richmond Park (bike loop)
    flat_speed=3.13,  # 5:20 /km
    cadence_spm=(173.5, 176.5),
    cadence_slope=6.0,
    hr_easy=145.0,
    track_name="London Running",
)


def _runs(rows: Sequence[tuple[Any, ...]]) -> list[Session]:
    """Expand compact rows (week, weekday, start, km[, route[, formats[, effort]]])."""
    out = []
    for row in rows:
        week, weekday, start, km, *rest = row
        route = rest[0] if len(rest) > 0 else "rolling"
        formats = rest[1] if len(rest) > 1 else ("fit",)
        effort = rest[2] if len(rest) > 2 else (0.95 if weekday == 6 else 1.0)
        out.append(Session(week, weekday, start, "run", km, route, formats, 0.0, effort))
    return out


H: Route = "hilly"
R: Route = "rolling"
GPX_ONLY: tuple[FileFormat, ...] = ("gpx",)
FIT_AND_GPX: tuple[FileFormat, ...] = ("fit", "gpx")

# fmt: off
ALEX_PLAN: list[Session] = _runs(
    [
        # W1-W4: a steady ~21-22 km base, four runs a week.
        (1, 1, "06:15", 4.5), (1, 3, "06:15", 5.0), (1, 5, "08:30", 4.5), (1, 6, "08:00", 7.0),
        (2, 1, "06:15", 5.0), (2, 3, "06:15", 4.5), (2, 5, "08:30", 5.0), (2, 6, "08:00", 7.5),
        (3, 1, "06:15", 5.5), (3, 3, "12:10", 4.5, R, GPX_ONLY), (3, 5, "08:30", 4.5),
        (3, 6, "08:00", 7.0),
        # Sunday-evening run: 18:15 MDT is 00:15 UTC on Monday; must stay in week 4.
        (4, 1, "06:15", 5.0), (4, 3, "06:15", 4.5), (4, 5, "08:30", 5.0), (4, 6, "18:15", 7.5),
        # W5: +20 % (volume-jump watch).
        (5, 1, "06:15", 6.0), (5, 3, "06:15", 6.5), (5, 5, "08:30", 6.0), (5, 6, "08:00", 8.0),
        # W6: +38 % in one week, five runs (volume-jump high).
        (6, 0, "06:15", 5.5), (6, 1, "06:15", 7.5), (6, 3, "06:15", 8.0), (6, 5, "08:30", 7.0),
        (6, 6, "08:00", 8.5),
        # W7-W8: trail block on Boulder's foothills, sustained 6-8 % descents.
        # W7 Sunday (first day of MST): a 19 km trail long run, +124 % on the 30-day longest.
        (7, 1, "06:15", 6.0), (7, 3, "06:15", 6.5, H), (7, 5, "08:30", 6.0, H),
        (7, 6, "07:30", 19.0, H, ("fit",), 0.92),
        (8, 1, "06:15", 7.0, H), (8, 3, "06:15", 7.5, H), (8, 5, "08:30", 6.0),
        (8, 6, "08:00", 10.0, H),
        # W9-W10: back on the flat, knee niggling, volume eases off.
        (9, 1, "06:15", 6.5), (9, 3, "12:10", 6.0, R, GPX_ONLY), (9, 5, "08:30", 6.0),
        (9, 6, "08:00", 11.0),
        (10, 1, "06:15", 5.0), (10, 3, "06:15", 6.0), (10, 5, "08:30", 5.0),
        (10, 6, "08:00", 9.0),
    ]
)
# fmt: on

_SAM_RUN_ROWS: list[tuple[Any, ...]] = []
for _week, (_tue, _thu, _sat, _sun) in enumerate(
    [
        (5.0, 5.5, 5.0, 8.0),
        (5.5, 5.5, 5.0, 8.5),
        (5.5, 6.0, 5.0, 9.0),
        (5.0, 6.0, 5.0, 8.0),  # cut-back week; midweek run on Wednesday, exported twice
        (5.5, 6.0, 5.0, 9.0),
        (6.0, 6.0, 5.0, 9.5),
        (6.0, 6.5, 5.0, 10.0),
        (6.0, 6.0, 5.0, 9.0),  # cut-back week
        (6.0, 6.5, 5.0, 10.0),
        (6.5, 6.5, 5.0, 10.5),
    ],
    start=1,
):
    _SAM_RUN_ROWS += [
        (_week, 1, "18:30", _tue),
        (_week, 2, "12:30", _thu, R, FIT_AND_GPX) if _week == 4 else (_week, 3, "18:30", _thu),
        (_week, 5, "09:00", _sat),
        (_week, 6, "09:30", _sun),
    ]

SAM_PLAN: list[Session] = [
    *_runs(_SAM_RUN_ROWS),
    *(
        Session(week, day, "07:00", "strength", minutes=minutes)
        for week in range(1, WEEKS + 1)
        for day, minutes in ((0, 40.0 + (week % 3) * 2), (4, 36.0 + (week % 2) * 4))
    ),
    Session(6, 2, "07:00", "ride", km=27.0, route="rolling"),
]

ATHLETES: tuple[tuple[Athlete, list[Session]], ...] = ((ALEX, ALEX_PLAN), (SAM, SAM_PLAN))


# --------------------------------------------------------------------------------------
# Signal building blocks (vectorised).
# --------------------------------------------------------------------------------------


def _smooth(x: np.ndarray, width: float, *, wrap: bool = False) -> np.ndarray:
    """Gaussian smoothing with ``width`` samples of standard deviation."""
    half = max(1, int(3 * width))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / width) ** 2)
    k /= k.sum()
    padded = np.pad(x, half, mode="wrap" if wrap else "reflect")
    return np.convolve(padded, k, mode="valid")


def _wander(rng: np.random.Generator, n: int, width: float, sd: float) -> np.ndarray:
    """Slowly wandering noise (smoothed white noise) with standard deviation ``sd``."""
    z = _smooth(rng.standard_normal(n), width)
    return z / (z.std() or 1.0) * sd


def _lag(x: np.ndarray, tau: float, start: float) -> np.ndarray:
    """First-order lag (heart rate follows effort with time constant ``tau`` s)."""
    alpha = 1.0 / tau
    k = (1.0 - alpha) ** np.arange(int(8 * tau))
    k /= k.sum()
    padded = np.concatenate([np.full(k.size - 1, start), x])
    return np.convolve(padded, k, mode="valid")


def _loop(rng: np.random.Generator, length_m: float, s: np.ndarray) -> tuple[np.ndarray, ...]:
    """A smooth closed loop of ``length_m`` through the origin, sampled at distances ``s``."""
    theta = np.linspace(0.0, 2.0 * np.pi, 4097)
    r = np.ones_like(theta)
    for k in (2, 3, 4):
        r += rng.uniform(0.03, 0.14) / k * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x, y = r * np.cos(theta), r * np.sin(theta)
    turn = rng.uniform(0, 2 * np.pi)
    x, y = x * np.cos(turn) - y * np.sin(turn), x * np.sin(turn) + y * np.cos(turn)
    x, y = x - x[0], y - y[0]
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    scale = length_m / arc[-1]
    return np.interp(s, arc * scale, x * scale), np.interp(s, arc * scale, y * scale)


def _profile(rng: np.random.Generator, route: Route, s: np.ndarray, steep: float) -> np.ndarray:
    """Relative elevation along the loop (periodic: the loop ends where it starts).

    ``rolling``: two sine waves whose steepest grade stays near ``steep`` (about 2 %).
    ``hilly``: per hill, 8 % flat, 42 % climbing and 42 % descending in three
    sections of 6-8 % each, 8 % flat; one hill per ~9 km of run.
    """
    length = s[-1]
    if route == "rolling":
        e = np.zeros_like(s)
        for wavelength, share in ((1100.0, 0.55), (420.0, 0.45)):
            n = max(1, round(length / wavelength))
            amp = steep * share * length / (2 * np.pi * n)
            phase = rng.uniform(0, 2 * np.pi)
            e += amp * (np.sin(2 * np.pi * n * s / length + phase) - np.sin(phase))
        return e
    hills = max(1, round(length / 9000.0))
    cycle = length / hills
    frac = (s % cycle) / cycle
    up = rng.uniform(0.06, 0.08, 3)
    down = rng.uniform(0.06, 0.08, 3)
    down *= up.sum() / down.sum()  # what goes up comes down: the loop closes
    section = np.clip(((frac - 0.08) / 0.14).astype(int), 0, 5)
    climbing = (frac >= 0.08) & (frac < 0.50)
    descending = (frac >= 0.50) & (frac < 0.92)
    grade = np.where(climbing, up[np.minimum(section, 2)], 0.0)
    grade = np.where(descending, -down[np.clip(section - 3, 0, 2)], grade)
    step = np.diff(s, prepend=0.0)
    grade = _smooth(grade, 12.0, wrap=True)  # round the corners over ~25 m
    e = np.cumsum(grade * step)
    return e - e[-1] * s / length  # remove the rounding residue so e(L) == e(0)


@dataclass(slots=True)
class Track:
    """One session's 1 Hz samples, in physical units."""

    t: np.ndarray
    """Seconds since start (integers)."""
    distance: np.ndarray
    speed: np.ndarray
    altitude: np.ndarray
    altitude_true: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    cadence: np.ndarray
    """Strides/min for runs (FIT convention), crank rpm for rides."""
    heart_rate: np.ndarray


def simulate_moving(rng: np.random.Generator, who: Athlete, sess: Session) -> Track:
    """Simulate a run or ride: pace from grade, cadence from pace, lagging heart rate."""
    ride = sess.kind == "ride"
    place = who.hills if (sess.route == "hilly" or ride) else who.home
    length = sess.km * 1000.0
    s = np.linspace(0.0, length, round(length) + 1)  # 1 m grid
    e = _profile(rng, sess.route, s, steep=0.03 if ride else 0.02)
    grade = np.gradient(e, s)
    x, y = _loop(rng, length, s)

    v_flat = (7.4 if ride else who.flat_speed) * sess.effort * rng.normal(1.0, 0.015)
    up, down = np.maximum(grade, 0.0), np.maximum(-grade, 0.0)
    if ride:
        factor = np.clip(1.0 - 8.0 * up + 5.0 * down, 0.4, 1.5)
    else:
        factor = np.minimum(1.0 - 3.3 * up + 2.0 * down, 1.18)
    warmup = np.interp(s, [0.0, 800.0], [0.9, 1.0])
    v = v_flat * factor * warmup * (1.0 + _wander(rng, s.size, 150.0, 0.025))

    # Time at each metre, then traffic-light stops inserted as flat steps of the clock.
    clock = np.concatenate([[0.0], np.cumsum(np.diff(s) / (0.5 * (v[1:] + v[:-1])))])
    stops: list[tuple[float, float]] = []
    if sess.route == "rolling" and not ride:
        n_stops = int(rng.integers(0, 3))
        where = np.sort(rng.uniform(0.15, 0.85, n_stops)) * length
        for at, dur in zip(where, rng.integers(8, 30, n_stops), strict=True):
            k = int(np.searchsorted(s, at))
            stops.append((clock[k], clock[k] + float(dur)))
            clock = np.concatenate([clock[: k + 1], [clock[k] + dur], clock[k + 1 :] + dur])
            s = np.concatenate([s[: k + 1], [s[k]], s[k + 1 :]])
            v = np.concatenate([v[: k + 1], [v[k]], v[k + 1 :]])
            e = np.concatenate([e[: k + 1], [e[k]], e[k + 1 :]])
            grade = np.concatenate([grade[: k + 1], [grade[k]], grade[k + 1 :]])
            x = np.concatenate([x[: k + 1], [x[k]], x[k + 1 :]])
            y = np.concatenate([y[: k + 1], [y[k]], y[k + 1 :]])

    t = np.arange(0.0, np.ceil(clock[-1]) + 1.0)
    n = t.size
    dist = np.interp(t, clock, s)
    stopped = np.zeros(n, dtype=bool)
    for a, b in stops:
        stopped |= (t > a) & (t < b)
    g_t = np.interp(t, clock, grade)
    v_true = np.where(stopped, 0.0, np.interp(t, clock, v))
    speed = np.where(stopped, 0.0, np.maximum(v_true + rng.normal(0.0, 0.04, n), 0.0))

    alt_true = place.alt_m + np.interp(t, clock, e)
    baro = np.clip(rng.normal(0.0, 0.15, n), -0.5, 0.5) + _wander(rng, n, 300.0, 0.25)
    jitter_x, jitter_y = _wander(rng, n, 10.0, 2.5), _wander(rng, n, 10.0, 2.5)
    px, py = np.interp(t, clock, x) + jitter_x, np.interp(t, clock, y) + jitter_y
    lat = place.lat + py / EARTH_M_PER_DEG
    lon = place.lon + px / (EARTH_M_PER_DEG * np.cos(np.radians(place.lat)))

    if ride:
        rpm = 86.0 + _wander(rng, n, 20.0, 4.0) + rng.normal(0.0, 1.5, n)
        cadence = np.where((g_t < -0.035) | stopped, 0.0, np.round(rpm))
        effort = 8.0 * (v_true / v_flat - 1.0) + 220.0 * np.maximum(g_t, 0.0)
        hr_base = who.hr_easy - 15.0
    else:
        base = rng.uniform(*who.cadence_spm)
        spm = base + who.cadence_slope * (v_true - v_flat) + _wander(rng, n, 20.0, 1.0)
        spm = spm + rng.normal(0.0, 1.2, n)
        cadence = np.where(stopped, 0.0, spm / 2.0)
        effort = 150.0 * np.maximum(g_t, 0.0) - 60.0 * np.maximum(-g_t, 0.0)
        hr_base = who.hr_easy
    target = hr_base + effort + 5.0 * t / 3600.0 - 20.0 * stopped
    hr = np.round(_lag(target, 35.0, 92.0) + rng.normal(0.0, 1.0, n))

    return Track(t, dist, speed, alt_true + baro, alt_true, lat, lon, cadence, hr)


def simulate_strength(rng: np.random.Generator, who: Athlete, sess: Session) -> Track:
    """Heart rate only: sets of ~45 s lifting then ~90 s rest."""
    n = round(sess.minutes * 60) + 1
    t = np.arange(float(n))
    period = rng.uniform(125.0, 145.0)
    lifting = (t % period) < 45.0
    target = 98.0 + 32.0 * lifting + _wander(rng, n, 60.0, 4.0)
    hr = np.round(_lag(target, 25.0, 85.0) + rng.normal(0.0, 1.0, n))
    nothing = np.full(n, np.nan)
    return Track(t, nothing, nothing, nothing, nothing, nothing, nothing, nothing, hr)


# --------------------------------------------------------------------------------------
# FIT encoding.
# --------------------------------------------------------------------------------------

_NUMPY_TYPES = {
    BaseType.ENUM: "u1",
    BaseType.SINT8: "i1",
    BaseType.UINT8: "u1",
    BaseType.UINT8Z: "u1",
    BaseType.BYTE: "u1",
    BaseType.SINT16: "i2",
    BaseType.UINT16: "u2",
    BaseType.UINT16Z: "u2",
    BaseType.SINT32: "i4",
    BaseType.UINT32: "u4",
    BaseType.UINT32Z: "u4",
    BaseType.SINT64: "i8",
    BaseType.UINT64: "u8",
    BaseType.UINT64Z: "u8",
}


def _ms(unix_s: float) -> int:
    return round(unix_s * 1000)


def _pack_rows(template: DataMessage, values: dict[str, np.ndarray], header: bytes) -> bytes:
    """All rows of one record layout, packed by NumPy as fit-tool would encode them.

    The layout (field order, sizes, base types) is taken from fit-tool's own
    definition of ``template``; each physical value is encoded with the field's
    profile scale and offset exactly as fit-tool does: ``round((value + offset) * scale)``.
    """
    definition = DefinitionMessage.from_data_message(template)
    endian = "<" if definition.endian.value == 0 else ">"
    by_id = {f.field_id: f for f in template.fields}
    n = len(next(iter(values.values())))
    dtype = [("header", "u1")]
    cols: dict[str, np.ndarray] = {"header": np.full(n, header[0], dtype=np.uint8)}
    for fd in definition.field_definitions:
        field = by_id[fd.field_id]
        np_type = endian + _NUMPY_TYPES[fd.base_type]
        if np.dtype(np_type).itemsize != fd.size:
            raise RuntimeError(f"record field {field.name}: arrays are not supported")
        scale = field.scale if field.scale is not None else 1.0
        offset = field.offset if field.offset is not None else 0.0
        raw = np.round((values[field.name] + offset) * scale)
        dtype.append((field.name, np_type))
        cols[field.name] = raw.astype(np_type)
    table = np.empty(n, dtype=dtype)
    for name, col in cols.items():
        table[name] = col
    return table.tobytes()


def _record_values(track: Track, start_unix: int, kind: Kind) -> dict[str, np.ndarray]:
    """Physical record values in fit-tool's units (ms timestamps, degrees, m, m/s)."""
    values: dict[str, np.ndarray] = {
        "timestamp": (start_unix + track.t) * 1000.0,
        "heart_rate": track.heart_rate,
    }
    if kind == "strength":
        return values
    values |= {
        "position_lat": track.lat,
        "position_long": track.lon,
        "distance": track.distance,
        "enhanced_speed": track.speed,
        "enhanced_altitude": track.altitude,
    }
    if kind == "run":
        # Cadence is strides/min; the fraction goes to fractional_cadence (1/128 steps).
        q = np.round(track.cadence * 128.0)
        values["cadence"] = np.floor(q / 128.0)
        values["fractional_cadence"] = (q % 128.0) / 128.0
    else:
        values["cadence"] = track.cadence
    return values


def _first_row(values: dict[str, np.ndarray], row: int = 0) -> RecordMessage:
    msg = RecordMessage()
    for name, col in values.items():
        value = col[row]
        if name == "timestamp":
            setattr(msg, name, round(value))
        elif name in ("cadence", "heart_rate"):
            setattr(msg, name, int(value))
        else:
            setattr(msg, name, float(value))
    return msg


@dataclass(frozen=True, slots=True)
class Totals:
    """Summary of a span of samples, for lap and session messages."""

    start: int
    end: int
    elapsed: float
    distance: float | None
    avg_speed: float | None
    max_speed: float | None
    avg_hr: int
    max_hr: int
    avg_cadence: float | None
    max_cadence: float | None
    ascent: int | None
    descent: int | None


def _totals(track: Track, lo: int, hi: int, kind: Kind) -> Totals:
    sl = slice(lo, hi + 1)
    elapsed = float(track.t[hi] - track.t[lo])
    hr = track.heart_rate[sl]
    if kind == "strength":
        avg_hr, max_hr = round(hr.mean()), int(hr.max())
        return Totals(lo, hi, elapsed, None, None, None, avg_hr, max_hr, None, None, None, None)
    dist = float(track.distance[hi] - track.distance[lo])
    moving = track.cadence[sl] > 0
    cad = track.cadence[sl][moving]
    climb = np.diff(track.altitude_true[sl])
    return Totals(
        lo,
        hi,
        elapsed,
        dist,
        dist / elapsed if elapsed else 0.0,
        float(track.speed[sl].max()),
        round(hr.mean()),
        int(hr.max()),
        float(cad.mean()) if cad.size else 0.0,
        float(cad.max()) if cad.size else 0.0,
        round(climb[climb > 0].sum()),
        round(-climb[climb < 0].sum()),
    )


def _fill_summary(
    msg: LapMessage | SessionMessage, tot: Totals, start_unix: int, kind: Kind, track: Track
) -> None:
    """Lap and session share their summary fields (FIT profile names)."""
    msg.timestamp = _ms(start_unix + track.t[tot.end])
    msg.start_time = _ms(start_unix + track.t[tot.start])
    msg.event = Event.LAP if isinstance(msg, LapMessage) else Event.SESSION
    msg.event_type = EventType.STOP
    msg.total_elapsed_time = tot.elapsed
    msg.total_timer_time = tot.elapsed
    msg.avg_heart_rate = tot.avg_hr
    msg.max_heart_rate = tot.max_hr
    minutes = tot.elapsed / 60.0
    if kind == "strength":
        msg.total_calories = round(6.0 * minutes)
        return
    assert tot.distance is not None and tot.avg_speed is not None and tot.max_speed is not None
    msg.start_position_lat = float(track.lat[tot.start])
    msg.start_position_long = float(track.lon[tot.start])
    msg.total_distance = tot.distance
    msg.enhanced_avg_speed = tot.avg_speed
    msg.enhanced_max_speed = tot.max_speed
    msg.avg_speed = tot.avg_speed
    msg.max_speed = tot.max_speed
    msg.total_ascent = tot.ascent
    msg.total_descent = tot.descent
    msg.total_calories = round((0.07 if kind == "run" else 0.028) * tot.distance)
    avg_cad, max_cad = tot.avg_cadence or 0.0, tot.max_cadence or 0.0
    msg.avg_cadence = int(avg_cad)
    msg.max_cadence = int(max_cad)
    if kind == "run":
        msg.avg_fractional_cadence = round((avg_cad % 1.0) * 128) % 128 / 128
        msg.max_fractional_cadence = round((max_cad % 1.0) * 128) % 128 / 128


_FIT_SPORT: dict[tuple[Kind, Route], tuple[Sport, SubSport]] = {
    ("run", "rolling"): (Sport.RUNNING, SubSport.GENERIC),
    ("run", "hilly"): (Sport.RUNNING, SubSport.TRAIL),
    ("ride", "rolling"): (Sport.CYCLING, SubSport.ROAD),
    ("strength", "rolling"): (Sport.TRAINING, SubSport.STRENGTH_TRAINING),
}


def encode_fit(who: Athlete, sess: Session, track: Track) -> bytes:
    """A complete FIT activity file as a Garmin watch would write it."""
    start = int(sess.start_utc(who.timezone).timestamp())
    end = start + int(track.t[-1])
    local_end = datetime.fromtimestamp(end, ZoneInfo(who.timezone))
    offset_s = int(local_end.utcoffset().total_seconds())  # type: ignore[union-attr]
    sport, sub_sport = _FIT_SPORT[(sess.kind, sess.route)]

    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.GARMIN.value
    file_id.product = who.product.value
    file_id.serial_number = who.serial
    file_id.time_created = _ms(start)

    device = DeviceInfoMessage()
    device.timestamp = _ms(start)
    device.device_index = 0
    device.manufacturer = Manufacturer.GARMIN.value
    device.product = who.product.value
    device.serial_number = who.serial
    device.software_version = 21.19

    timer_start = EventMessage()
    timer_start.timestamp = _ms(start)
    timer_start.event = Event.TIMER
    timer_start.event_type = EventType.START

    values = _record_values(track, start, sess.kind)
    template = _first_row(values)

    timer_stop = EventMessage()
    timer_stop.timestamp = _ms(end)
    timer_stop.event = Event.TIMER
    timer_stop.event_type = EventType.STOP_ALL

    # Auto-lap every km (5 km on the bike); strength is one lap.
    if sess.kind == "strength":
        bounds = [0, track.t.size - 1]
    else:
        step = 5000.0 if sess.kind == "ride" else 1000.0
        marks = np.flatnonzero(np.diff(np.floor(track.distance / step)) > 0) + 1
        bounds = [0, *marks.tolist(), track.t.size - 1]
        if bounds[-1] == bounds[-2]:
            bounds.pop()
    laps = []
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        lap = LapMessage()
        lap.message_index = i
        _fill_summary(lap, _totals(track, lo, hi, sess.kind), start, sess.kind, track)
        lap.lap_trigger = LapTrigger.SESSION_END if hi == bounds[-1] else LapTrigger.DISTANCE
        lap.sport = sport
        lap.sub_sport = sub_sport
        laps.append(lap)

    session = SessionMessage()
    session.message_index = 0
    _fill_summary(session, _totals(track, 0, track.t.size - 1, sess.kind), start, sess.kind, track)
    session.sport = sport
    session.sub_sport = sub_sport
    session.first_lap_index = 0
    session.num_laps = len(laps)
    session.trigger = SessionTrigger.ACTIVITY_END

    activity = ActivityMessage()
    activity.timestamp = _ms(end)
    activity.total_timer_time = float(track.t[-1])
    activity.num_sessions = 1
    activity.type = FitActivityType.MANUAL
    activity.event = Event.ACTIVITY
    activity.event_type = EventType.STOP
    activity.local_timestamp = end - FIT_EPOCH_UNIX + offset_s

    builder = FitFileBuilder(auto_define=True, min_string_size=50)
    for msg in (file_id, device, timer_start):
        builder.add(msg)
    builder.add(template)
    template_index = len(builder.records) - 1
    for msg in (timer_stop, *laps, session, activity):
        builder.add(msg)
    chunks = [record.to_bytes() for record in builder.records]
    first = chunks[template_index]
    rows = _pack_rows(template, values, first)
    if rows[: len(first)] != first:
        raise RuntimeError(f"{sess.stem()}: NumPy record layout differs from fit-tool's")
    chunks[template_index] = rows
    body = b"".join(chunks)
    header = FitFileHeader(records_size=len(body), gen_crc=True).to_bytes()
    return header + body + struct.pack("<H", crc16(body, crc=crc16(header)))


# --------------------------------------------------------------------------------------
# GPX encoding (Garmin Connect style export, TrackPointExtension v1).
# --------------------------------------------------------------------------------------


def _fixed(col: str, decimals: int) -> pl.Expr:
    """Fixed-point text from integer arithmetic, so the bytes never depend on float repr."""
    unit = 10**decimals
    scaled = (pl.col(col) * unit).round(0).cast(pl.Int64)
    whole = scaled.abs() // unit
    frac = (scaled.abs() % unit).cast(pl.Utf8).str.zfill(decimals)
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole.cast(pl.Utf8), pl.lit("."), frac])


def encode_gpx(who: Athlete, sess: Session, track: Track) -> bytes:
    """GPX 1.1 with ``gpxtpx:hr`` and ``gpxtpx:cad`` (whole strides/min, as Garmin exports)."""
    start = sess.start_utc(who.timezone)
    frame = pl.DataFrame(
        {
            "lat": track.lat,
            "lon": track.lon,
            "ele": track.altitude,
            "time": [start] * track.t.size,
            "dt": track.t.astype(np.int64),
            "hr": track.heart_rate.astype(np.int64),
            "cad": np.floor(np.round(track.cadence * 128.0) / 128.0).astype(np.int64),
        }
    )
    points = frame.select(
        pl.format(
            '      <trkpt lat="{}" lon="{}"><ele>{}</ele><time>{}</time><extensions>'
            "<gpxtpx:TrackPointExtension><gpxtpx:hr>{}</gpxtpx:hr><gpxtpx:cad>{}</gpxtpx:cad>"
            "</gpxtpx:TrackPointExtension></extensions></trkpt>",
            _fixed("lat", 7),
            _fixed("lon", 7),
            _fixed("ele", 1),
            (
                pl.col("time").dt.replace_time_zone("UTC") + pl.duration(seconds=pl.col("dt"))
            ).dt.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            pl.col("hr"),
            pl.col("cad"),
        ).alias("xml")
    )["xml"]
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx creator="Garmin Connect" version="1.1"\n'
        '  xsi:schemaLocation="http://www.topografix.com/GPX/1/1 '
        "http://www.topografix.com/GPX/1/1/gpx.xsd "
        "http://www.garmin.com/xmlschemas/TrackPointExtension/v1 "
        'http://www.garmin.com/xmlschemas/TrackPointExtensionv1.xsd"\n'
        '  xmlns="http://www.topografix.com/GPX/1/1"\n'
        '  xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"\n'
        '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        "  <metadata>\n"
        '    <link href="connect.garmin.com">\n'
        "      <text>Garmin Connect</text>\n"
        "    </link>\n"
        f"    <time>{start.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</time>\n"
        "  </metadata>\n"
        "  <trk>\n"
        f"    <name>{who.track_name}</name>\n"
        "    <type>running</type>\n"
        "    <trkseg>\n"
    )
    tail = "\n    </trkseg>\n  </trk>\n</gpx>\n"
    return (head + points.str.join("\n").item() + tail).encode("utf-8")


# --------------------------------------------------------------------------------------
# Driver.
# --------------------------------------------------------------------------------------


def build(athlete_index: int, who: Athlete, plan: Sequence[Session]) -> dict[str, bytes]:
    """Every file of one athlete, by file name."""
    files: dict[str, bytes] = {}
    for i, sess in enumerate(sorted(plan, key=lambda p: (p.local_day, p.start))):
        rng = np.random.default_rng([SEED, athlete_index, i])
        if sess.kind == "strength":
            track = simulate_strength(rng, who, sess)
        else:
            track = simulate_moving(rng, who, sess)
        for fmt in sess.formats:
            name = f"{sess.stem()}.{fmt}"
            if name in files:
                raise ValueError(f"{who.folder}: two sessions named {name}")
            encode = encode_fit if fmt == "fit" else encode_gpx
            files[name] = encode(who, sess, track)
    return files


def generate(out_dir: Path) -> list[Path]:
    """Write all sample files under ``out_dir``; return their paths.

    Stale ``.fit``/``.gpx`` files in the athlete folders (from an older plan) are
    removed; anything else there is left alone. Unchanged files are not rewritten.
    """
    written: list[Path] = []
    for index, (who, plan) in enumerate(ATHLETES):
        folder = out_dir / who.folder
        folder.mkdir(parents=True, exist_ok=True)
        files = build(index, who, plan)
        for old in sorted(folder.iterdir()):
            if old.suffix in (".fit", ".gpx") and old.name not in files:
                old.unlink()
        for name, data in files.items():
            path = folder / name
            if not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="output folder"
    )
    args = parser.parse_args(argv)
    paths = generate(args.out)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {total / 1e6:.1f} MB, under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
