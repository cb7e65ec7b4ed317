"""GPX 1.0/1.1: decode (gpxpy) into a small intermediate, then build activities from it.

The split is deliberate: :class:`GpxDocument`/:class:`GpxTrack` are all a
decoder must produce (a later fast streaming extractor produces the same
thing), and :func:`build_gpx` holds every meaning decision (sport, cadence
unit, distance from positions) exactly once.

Security: GPX is XML from strangers. Before gpxpy sees the text, the whole
document is parsed once with defusedxml (``forbid_dtd``, no entities, no
external references), so entity-expansion bombs and external entities are
refused rather than expanded.
"""

from __future__ import annotations

from dataclasses import field
from datetime import UTC, datetime

import numpy as np
import polars as pl
from defusedxml import ElementTree as DefusedET

from kneeflags.model import Activity, LoadResult, Problem, Provenance, Skipped, SourceRef, Sport
from kneeflags.parsers.common import (
    apply_cadence,
    drop_all_zero_altitude,
    finish_samples,
    screen_samples,
    sport_from_text,
)
from kneeflags.records import record
from kneeflags.timezones import resolve_offset

GPX_POINT_SCHEMA: dict[str, pl.DataType] = {
    "time": pl.Datetime("us", "UTC"),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "ele": pl.Float64(),
    "cad": pl.Float64(),
    "hr": pl.Float64(),
}
"""Columns of :attr:`GpxTrack.points` (raw file values; ``cad`` in the file's own unit)."""

TRACKPOINT_EXTENSION_URIS = frozenset(
    {
        "http://www.garmin.com/xmlschemas/TrackPointExtension/v1",
        "http://www.garmin.com/xmlschemas/TrackPointExtension/v2",
        "http://www.cluetrust.com/XML/GPXDATA/1/0",
        "",  # un-namespaced <cad>/<hr> written by some small exporters
    }
)
"""Extension namespaces whose ``cad``/``hr`` children are read (prefixes vary: gpxtpx:, ns3:)."""

_CAD_NAMES = frozenset({"cad", "cadence"})
_HR_NAMES = frozenset({"hr", "heartrate"})


@record
class GpxTrack:
    """One ``<trk>``: its points in file order (all segments joined) plus name and type."""

    name: str | None
    type: str | None
    points: pl.DataFrame
    """Frame with :data:`GPX_POINT_SCHEMA`; points without a time have a null ``time``."""


@record
class GpxDocument:
    """What any GPX decoder hands to :func:`build_gpx`."""

    creator: str | None = None
    version: str | None = None
    name: str | None = None
    tracks: list[GpxTrack] = field(default_factory=list)
    n_routes: int = 0
    n_waypoints: int = 0
    decoder: str = ""


class GpxRefused(ValueError):
    """The document was refused before parsing (DTD, entities, malformed XML)."""


def guard_xml(data: bytes) -> None:
    """Refuse DTDs, entity declarations and external references (defusedxml), or bad XML."""
    try:
        DefusedET.fromstring(_strip_bom(data), forbid_dtd=True)
    except DefusedET.ParseError as exc:
        raise GpxRefused(f"malformed XML: {exc}") from exc
    except (
        Exception
    ) as exc:  # defusedxml's DTDForbidden / EntitiesForbidden / ExternalReferenceForbidden
        raise GpxRefused(
            f"refused XML ({type(exc).__name__}): DTD/entities are not allowed"
        ) from exc


def decode_text(data: bytes) -> str:
    """The document as text, the way both GPX readers take it: UTF-16 when it starts with
    a UTF-16 byte-order mark (issue 10: such files were read as garbled UTF-8 and refused),
    else UTF-8 after NULs, a UTF-8 BOM and leading whitespace, bad bytes replaced."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").lstrip()
    return _strip_bom(data).decode("utf-8", errors="replace")


def _strip_bom(data: bytes) -> bytes:
    data = data.lstrip(b"\x00")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.lstrip()


def _split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def _ext_values(extensions: list) -> tuple[float | None, float | None]:
    cad = hr = None
    for ext in extensions:
        for el in ext.iter():
            uri, local = _split_tag(el.tag)
            if uri not in TRACKPOINT_EXTENSION_URIS:
                continue
            low = local.lower()
            if low in _CAD_NAMES or low in _HR_NAMES:
                try:
                    val = float((el.text or "").strip())
                except ValueError:
                    continue
                if low in _CAD_NAMES:
                    cad = val
                else:
                    hr = val
    return cad, hr


def _utc_us(t: datetime | None) -> int | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1_000_000)


def parse_gpx(data: bytes) -> GpxDocument:
    """Decode GPX bytes with gpxpy into a :class:`GpxDocument` (after the defusedxml guard).

    gpxpy is imported here, not with the module: the streaming extractor reads almost every
    file, and a worker process should not pay ~30 ms to load the reference it rarely needs.
    """
    import gpxpy

    guard_xml(data)
    gpx = gpxpy.parse(decode_text(data))
    doc = GpxDocument(
        creator=gpx.creator,
        version=gpx.version,
        name=gpx.name,
        n_routes=len(gpx.routes),
        n_waypoints=len(gpx.waypoints),
        decoder="gpxpy",
    )
    for trk in gpx.tracks:
        times: list[int | None] = []
        lat: list[float | None] = []
        lon: list[float | None] = []
        ele: list[float | None] = []
        cad: list[float | None] = []
        hr: list[float | None] = []
        for seg in trk.segments:
            for p in seg.points:
                times.append(_utc_us(p.time))
                lat.append(p.latitude)
                lon.append(p.longitude)
                ele.append(p.elevation)
                c, h = _ext_values(p.extensions) if p.extensions else (None, None)
                cad.append(c)
                hr.append(h)
        points = pl.DataFrame(
            {
                "time": pl.Series(times, dtype=pl.Int64),
                "lat": pl.Series(lat, dtype=pl.Float64),
                "lon": pl.Series(lon, dtype=pl.Float64),
                "ele": pl.Series(ele, dtype=pl.Float64),
                "cad": pl.Series(cad, dtype=pl.Float64),
                "hr": pl.Series(hr, dtype=pl.Float64),
            }
        ).with_columns(pl.col("time").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        doc.tracks.append(GpxTrack(name=trk.name, type=trk.type, points=points))
    return doc


ASSUMED_RUN_SPEED_MPS = (1.8, 6.5)
"""Median moving speed band in which an untyped track is assumed to be a run [eng]."""


def infer_sport(samples: pl.DataFrame) -> tuple[Sport, str]:
    """Sport for a file that does not state one, from its median moving speed [eng].

    Untyped GPX is common (phone apps, GPSBabel). Runs are assumed inside
    :data:`ASSUMED_RUN_SPEED_MPS`, slower tracks are walking, faster ones
    (cars, bikes) other; the note says it was assumed.
    """
    speed = samples["speed_mps"].drop_nulls()
    moving = speed.filter(speed > 0.5)
    if moving.len() == 0:
        return Sport.RUNNING, "sport not stated in the file and no speed: assumed running"
    med = float(np.median(moving.to_numpy()))
    lo, hi = ASSUMED_RUN_SPEED_MPS
    if med < lo:
        sport = Sport.WALKING
    elif med > hi:
        sport = Sport.OTHER
    else:
        sport = Sport.RUNNING
    return sport, (
        f"sport not stated in the file: assumed {sport.value} from median moving speed "
        f"{med:.2f} m/s"
    )


def build_gpx(
    doc: GpxDocument,
    ref: SourceRef,
    sha256: str,
    tz: str | None = None,
    hints: dict | None = None,
    *,
    tz_source: str = "option",
) -> LoadResult:
    """One activity per track that has timed points (see module docstring)."""
    out = LoadResult()
    path = str(ref)
    hints = hints or {}
    timed = [t for t in doc.tracks if t.points["time"].null_count() < t.points.height]
    if not timed:
        if any(t.points.height for t in doc.tracks):
            reason = "GPX track without timestamps (a planned route, not a recording)"
        elif doc.n_routes:
            reason = "GPX route only (no recorded track)"
        else:
            reason = "GPX without track points"
        out.skipped.append(Skipped(path, reason))
        if any(t.points.height for t in doc.tracks):  # a .gpx track the user may expect used
            out.warnings.append(Problem(path, f"{reason}: not used", "warning"))
        return out
    for part, trk in enumerate(timed):
        pts = trk.points
        if pts["time"].null_count():
            pts = pts.filter(pl.col("time").is_not_null())
        # the columns renamed as Series (a DataFrame of them is no polars query)
        frame = pl.DataFrame(
            [
                pts.get_column("time").alias("timestamp"),
                pts.get_column("lat"),
                pts.get_column("lon"),
                pts.get_column("ele").alias("altitude_m"),
                pts.get_column("cad").alias("cadence_spm"),
                pts.get_column("hr").alias("heart_rate"),
            ]
        )
        frame, screen_notes = screen_samples(frame)
        out.warnings.extend(Problem(path, note, "warning") for note in screen_notes)
        samples, dist_source = finish_samples(frame)
        samples, ele_note = drop_all_zero_altitude(samples)
        start_utc = samples["timestamp"].min()
        assert isinstance(start_utc, datetime)
        notes: list[str] = [ele_note] if ele_note else []
        detail = (trk.type or "").strip()
        sport = sport_from_text(detail)
        if sport is None and hints.get("type"):
            sport = sport_from_text(str(hints["type"]))
            if sport is not None:
                notes.append(f"sport from Strava activities.csv: {hints['type']}")
        if sport is None:
            sport, note = infer_sport(samples)
            notes.append(note if not detail else f"unrecognised GPX type {detail!r}; {note}")
        samples, cad = apply_cadence(samples, sport)
        if cad.guessed and cad.unit != "none":
            out.warnings.append(Problem(path, f"cadence unit guessed: {cad.reason}", "warning"))
        start_us = int(start_utc.timestamp() * 1_000_000)
        samples = samples.with_columns(
            ((pl.col("timestamp").dt.epoch("us") - start_us) / 1e6).alias("elapsed_s")
        )
        offset, offset_source = resolve_offset(start_utc, tz=tz, tz_source=tz_source)  # type: ignore[arg-type]
        dist = samples["distance_m"].max() if dist_source != "none" else None
        span = float(samples["elapsed_s"].max() or 0.0)
        has_ele = samples["altitude_m"].null_count() < samples.height
        out.activities.append(
            Activity(
                source=ref,
                sha256=sha256,
                format="gpx",
                sport=sport,
                start_utc=start_utc,
                samples=samples,
                sport_detail=detail,
                name=(trk.name or doc.name or hints.get("name") or None),
                utc_offset_s=offset,
                utc_offset_source=offset_source,
                device=doc.creator,
                distance_m=None if dist is None else float(dist),  # type: ignore[arg-type]
                timer_s=None,
                elapsed_s=span,
                part=part,
                provenance=Provenance(
                    cadence_unit=cad.unit,
                    cadence_reason=cad.reason,
                    elevation_source="unknown" if has_ele else "none",
                    distance_source=dist_source,  # type: ignore[arg-type]
                    partial=False,
                    decoder=doc.decoder,
                    notes=notes,
                ),
            )
        )
    return out


__all__ = [
    "GPX_POINT_SCHEMA",
    "GpxDocument",
    "GpxRefused",
    "GpxTrack",
    "build_gpx",
    "decode_text",
    "guard_xml",
    "infer_sport",
    "parse_gpx",
]
