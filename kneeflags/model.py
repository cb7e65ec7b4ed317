"""The canonical activity model: the contract between ingest and every later stage.

Every parser (FIT, GPX, TCX; fitparse, gpxpy or the fast decoders) produces
:class:`Activity` objects and nothing else. Metrics never look at a file format
again, so every unit decision (strides vs steps, semicircles vs degrees,
enhanced vs legacy fields) must be settled here, once, and recorded in
:class:`Provenance` so a report can say *why* a number is what it is.

Samples
-------
One polars DataFrame per activity with exactly :data:`SAMPLE_SCHEMA`, sorted by
``timestamp``; a column the file does not carry is all-null, never missing:

=============== ================================ =========================================
column          dtype                            meaning
=============== ================================ =========================================
timestamp       Datetime(us, UTC)                instant of the sample (UTC)
elapsed_s       Float64                          seconds since the activity start
distance_m      Float64                          cumulative distance (file or haversine)
altitude_m      Float64                          elevation, metres (enhanced_* preferred)
speed_mps       Float64                          speed, m/s (file, else from distance/time)
cadence_spm     Float64                          steps per minute (both feet), sport-agnostic
heart_rate      Float64                          beats per minute
lat / lon       Float64                          WGS84 degrees
=============== ================================ =========================================

``cadence_spm`` is steps/min only for on-foot sports; for cycling it is the raw
crank rpm and for rowing the stroke rate (nobody reads it there).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

import polars as pl

from kneeflags.records import record

if TYPE_CHECKING:
    import numpy as np

SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": pl.Datetime("us", "UTC"),
    "elapsed_s": pl.Float64(),
    "distance_m": pl.Float64(),
    "altitude_m": pl.Float64(),
    "speed_mps": pl.Float64(),
    "cadence_spm": pl.Float64(),
    "heart_rate": pl.Float64(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
}
"""Fixed schema of an activity's sample table (see module docstring)."""


_SCHEMA_ITEMS = list(SAMPLE_SCHEMA.items())


def empty_samples() -> pl.DataFrame:
    """A zero-row frame with the canonical schema (activities with no records)."""
    return pl.DataFrame(schema=SAMPLE_SCHEMA)


def epoch_seconds(ts: pl.Series) -> np.ndarray:
    """``ts.dt.epoch("us").cast(pl.Float64).to_numpy() / 1e6``, without a polars query for a
    microsecond column without nulls (every canonical sample table that has times).

    Why: each such Series expression is a polars query (~0.1 ms); the summary and the
    classifier asked for it on every activity. Same values: the same int64 microseconds,
    cast to float64 the same way (round to nearest), divided by 1e6 in numpy as before.
    """
    import numpy as np

    dtype = ts.dtype
    if isinstance(dtype, pl.Datetime) and dtype.time_unit == "us" and not ts.null_count():
        return ts.to_numpy().view(np.int64).astype(np.float64) / 1e6
    return ts.dt.epoch("us").cast(pl.Float64).to_numpy() / 1e6


def conform_samples(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast/complete ``frame`` to :data:`SAMPLE_SCHEMA`, sorted by timestamp.

    Parsers may build frames with any subset of the columns; this adds the
    missing ones as nulls and fixes dtypes and column order, so the contract
    holds by construction rather than by each parser's care.
    """
    if list(frame.schema.items()) == _SCHEMA_ITEMS:  # already canonical: check rows only
        out = frame
    else:
        cols = []
        for name, dtype in SAMPLE_SCHEMA.items():
            if name in frame.columns:
                cols.append(pl.col(name).cast(dtype, strict=False))
            else:
                cols.append(pl.lit(None, dtype=dtype).alias(name))
        out = frame.select(cols) if frame.width else pl.DataFrame(schema=SAMPLE_SCHEMA)
    if out.height:
        ts = out.get_column("timestamp")
        nulls = ts.null_count()
        if nulls == out.height:
            return out
        if nulls:
            out = out.filter(pl.col("timestamp").is_not_null())
            ts = out.get_column("timestamp")
        if not ts.is_sorted():
            out = out.sort("timestamp", maintain_order=True)
    return out


class Sport(StrEnum):
    """Normalised sport; what counts as running volume is decided here only."""

    RUNNING = "running"
    TRAIL_RUNNING = "trail_running"
    TREADMILL_RUNNING = "treadmill_running"
    TRACK_RUNNING = "track_running"
    WALKING = "walking"
    HIKING = "hiking"
    CYCLING = "cycling"
    SWIMMING = "swimming"
    ROWING = "rowing"
    STRENGTH_TRAINING = "strength_training"
    OTHER = "other"

    @property
    def is_running(self) -> bool:
        """Counts as running volume (rules.md: treadmill and virtual runs included)."""
        return self in _RUNNING

    @property
    def has_terrain(self) -> bool:
        """Running whose elevation can mean downhill (treadmill/indoor cannot)."""
        return self in _RUNNING and self is not Sport.TREADMILL_RUNNING

    @property
    def is_cross_training(self) -> bool:
        """Aerobic work that is not running (evidence.md §4: cycling, swimming, rowing...)."""
        return self in (Sport.CYCLING, Sport.SWIMMING, Sport.ROWING, Sport.OTHER)


_RUNNING = frozenset(
    {Sport.RUNNING, Sport.TRAIL_RUNNING, Sport.TREADMILL_RUNNING, Sport.TRACK_RUNNING}
)

Format = Literal["fit", "gpx", "tcx"]
CadenceUnit = Literal["strides", "steps", "none", "unknown"]
ElevationSource = Literal["barometric", "gps", "unknown", "none"]
DistanceSource = Literal["file", "positions", "none"]
OffsetSource = Literal["fit_local_timestamp", "option", "config", "system"]

FORMAT_RICHNESS: dict[str, int] = {"fit": 3, "tcx": 2, "gpx": 1}
"""Which record to keep when two files hold the same run (FIT over TCX over GPX)."""


_INVISIBLE = re.compile(r"[\x80-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C1 controls, Unicode line separators and bidi controls: shown as ``\\uNNNN``."""


def _escape_invisible(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 run``, ``2 runs`` (``many`` for irregular plurals: ``activity``/``activities``).

    Here, beside :func:`safe_text`, because notes (analysis) and reports both say counts,
    and the analysis stage must not depend on the report package."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def safe_text(text: str) -> str:
    """``text`` made encodable as UTF-8 and unable to forge a line, for every report,
    log line and table cell.

    File names that are not valid UTF-8 (Latin-1 names unpacked from an old zip) reach
    Python as lone surrogates, which polars, JSON files and terminals all refuse: one
    such name used to abort the whole run. Undecodable bytes are shown as ``\\xNN``.
    C1 controls (U+0085 ends a line for ``str.splitlines``), U+2028/U+2029 and bidi
    overrides (U+202E shows ``gpj.fit`` for ``tif.jpg``) are shown as ``\\uNNNN``.
    """
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub(_escape_invisible, text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that did not come from file-name bytes
        return text.encode("utf-8", "replace").decode("utf-8")


@record(frozen=True)
class SourceRef:
    """Where an activity came from: a file, or a member inside an archive.

    ``member`` is the path inside a zip (nested zips joined with ``!``), or
    ``None`` for a plain or gzipped file.
    """

    path: str
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}!{self.member}" if self.member else self.path


@record
class Provenance:
    """How the numbers were obtained; shown as caveats, never silently assumed."""

    cadence_unit: CadenceUnit = "none"
    cadence_reason: str = ""
    elevation_source: ElevationSource = "none"
    distance_source: DistanceSource = "none"
    partial: bool = False
    decoder: str = ""
    notes: list[str] = field(default_factory=list)
    reclassified_from: str | None = None
    """The sport the file said, when :mod:`kneeflags.classify` classed the session otherwise."""
    classification: str = ""
    """Why it was reclassified (one line, shown in reports and ``kneeflags activities``)."""


@record(frozen=True)
class Lap:
    """One FIT lap, as far as speed-work detection needs it (``rtr-speed-work``).

    Kept because the watch knows what the runner did: a structured workout writes its
    repeats as ``active`` laps between ``rest``/``recovery`` laps, and a runner pressing
    the lap button marks each repeat (``manual`` trigger). Times are seconds from the
    activity start; enum values are the FIT profile's names (numbers when unknown).
    """

    start_s: float
    elapsed_s: float | None
    distance_m: float | None
    intensity: str | None = None
    trigger: str | None = None


@record
class Activity:
    """One activity (one session of a multisport file) in canonical form.

    ``start_utc`` is timezone-aware UTC. ``utc_offset_s`` is the athlete's
    offset from UTC at the start, in seconds, and ``utc_offset_source`` says
    where it came from; weeks are bucketed on :attr:`local_start`, never on
    the UTC date.
    """

    source: SourceRef
    sha256: str
    format: Format
    sport: Sport
    start_utc: datetime
    samples: pl.DataFrame
    sport_detail: str = ""
    """Raw sport/sub-sport as the file says it (e.g. ``fitness_equipment/elliptical``)."""
    name: str | None = None
    utc_offset_s: int | None = None
    utc_offset_source: OffsetSource | None = None
    device: str | None = None
    distance_m: float | None = None
    timer_s: float | None = None
    elapsed_s: float | None = None
    part: int = 0
    """Index of the session inside a multisport or chained file."""
    provenance: Provenance = field(default_factory=Provenance)
    laps: tuple[Lap, ...] = ()
    """The session's FIT laps (empty for GPX/TCX and files without laps)."""

    @property
    def activity_id(self) -> str:
        """Stable id: content hash plus session index (same file -> same id)."""
        return f"{self.sha256[:16]}:{self.part}"

    @property
    def local_start(self) -> datetime:
        """Start in the athlete's local wall-clock time (naive)."""
        offset = timedelta(seconds=self.utc_offset_s or 0)
        return (self.start_utc.astimezone(UTC) + offset).replace(tzinfo=None)

    @property
    def local_date(self) -> date:
        return self.local_start.date()

    @property
    def duration_s(self) -> float | None:
        """Moving (timer) time if known, else elapsed."""
        return self.timer_s if self.timer_s is not None else self.elapsed_s

    def replace(self, **changes: object) -> Activity:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


ProblemKind = Literal["error", "warning"]


@record(frozen=True)
class Problem:
    """A one-line, user-facing statement about one input file.

    ``error``: the file (or member) was not used. ``warning``: it was used
    with a caveat (partial, CRC mismatch, duplicate dropped, unit guessed).
    """

    path: str
    message: str
    kind: ProblemKind = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@record
class Skipped:
    """A file that is not an activity (CSV, image, settings FIT): counted, not an error."""

    path: str
    reason: str


@record
class LoadResult:
    """What :func:`kneeflags.load` returns: activities plus per-file problems."""

    activities: list[Activity] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    transient: bool = False
    """An outcome of circumstance (the clock today, a memory limit): never cached."""

    @property
    def problems(self) -> list[Problem]:
        return [*self.errors, *self.warnings]

    def extend(self, other: LoadResult) -> None:
        self.activities.extend(other.activities)
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        self.skipped.extend(other.skipped)
        self.transient = self.transient or other.transient
