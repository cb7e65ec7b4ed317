"""Garmin TrainingCenterDatabase v2 (TCX) -> canonical activities.

Security first, then speed: a document with a DTD or an entity declaration is
refused (defusedxml's rules: no DTDs, no entities, no external references).
Without either, expat can expand nothing but the five predefined entities, so
such a document (the usual case) is parsed by the standard library's C
ElementTree; anything else (a declaration present, an encoding that is not
ASCII-compatible) goes through defusedxml, which refuses or parses it exactly
as before. Trackpoints are read as the parser streams past them and their
children dropped, so memory holds one small element per point. Elements are
matched by *local name* so the many namespace prefixes
in the wild (``ns3:``, ``tpx:``, default namespaces, none at all) do not
matter. Tolerates leading
whitespace and a UTF-8 BOM before the XML declaration, and files holding
several ``<Activity>`` elements (one canonical activity each).

Cadence: ``Extensions/TPX/RunCadence`` (ActivityExtension v2) is preferred for
on-foot sports, else ``<Cadence>``; Garmin writes strides/min, other exporters
steps/min, so the unit is decided per activity from the median over running
samples (:func:`~kneeflags.parsers.common.decide_cadence_unit`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from xml.etree import ElementTree as StdET

import polars as pl
from defusedxml import ElementTree as DefusedET

from kneeflags.model import Activity, LoadResult, Problem, Provenance, Skipped, SourceRef, Sport
from kneeflags.parsers.common import (
    apply_cadence,
    drop_all_zero_altitude,
    finish_samples,
    one_line,
    screen_samples,
    sport_from_text,
)
from kneeflags.parsers.xml_scan import TCX_COLUMNS, TCX_MARKER, ScanDeclined, scan_tcx
from kneeflags.timezones import resolve_offset

_TCX_SPORTS = {"running": Sport.RUNNING, "biking": Sport.CYCLING, "other": Sport.OTHER}

_FLOAT_FIELDS = {
    "LatitudeDegrees": "lat",
    "LongitudeDegrees": "lon",
    "AltitudeMeters": "altitude_m",
    "DistanceMeters": "distance_m",
    "Speed": "speed_mps",
    "RunCadence": "run_cadence",
    "Cadence": "cadence",
}


@lru_cache(maxsize=4096)  # called for every element; a file has a few dozen distinct tags
def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag.rsplit(":", 1)[-1]


_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


def _plain_xml(body: bytes) -> bool:
    """True when ``body`` can go to the C parser: an ASCII-compatible encoding (so the
    declarations below would appear as these bytes) and no DTD or entity declaration."""
    if not body.startswith(b"<") or body[1:2] == b"\x00":  # UTF-16/32: not checkable here
        return False
    if body.find(b"!") < 0:  # memchr: most documents hold no '!' at all
        return True
    return not any(token in body for token in _DECLARATIONS)


def _to_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        return None


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 instant -> aware UTC datetime; naive times are taken as UTC (TCX says UTC)."""
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _child(el: Any, name: str) -> Any | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


_COLUMNS = TCX_COLUMNS


def _trackpoint_row(tp: Any) -> tuple[Any, ...]:
    """One ``<Trackpoint>`` as values in :data:`_COLUMNS` order (the last of a name wins)."""
    row: dict[str, Any] = {}
    for el in tp.iter():
        name = _local(el.tag)
        if name == "Time":
            t = parse_time(el.text)
            row["timestamp"] = None if t is None else int(t.timestamp() * 1_000_000)
        elif name == "Value":  # HeartRateBpm/Value
            row["heart_rate"] = _to_float(el.text)
        elif name in _FLOAT_FIELDS:
            row[_FLOAT_FIELDS[name]] = _to_float(el.text)
    return tuple(row.get(key) for key in _COLUMNS)


def _trackpoints(
    activity: Any, rows: dict[int, tuple[Any, ...]], tracks: list[pl.DataFrame] | None = None
) -> pl.DataFrame:
    """The activity's trackpoints in document order (``rows``: those read while streaming;
    ``tracks``: the frames of a scanned document, met at their markers)."""
    if tracks:
        frames = [
            tracks[int(el.get("n"))] for el in activity.iter() if _local(el.tag) == _SCAN_MARKER
        ]
        if frames:
            return pl.concat(frames) if len(frames) > 1 else frames[0]
        return _trackpoints(activity, {})
    points = [
        rows[id(tp)] if id(tp) in rows else _trackpoint_row(tp)
        for tp in activity.iter()
        if _local(tp.tag) == "Trackpoint"
    ]
    cols = list(zip(*points, strict=True)) if points else [()] * len(_COLUMNS)
    frame = pl.DataFrame(
        {
            k: pl.Series(v, dtype=pl.Int64 if k == "timestamp" else pl.Float64)
            for k, v in zip(_COLUMNS, cols, strict=True)
        }
    )
    return frame.with_columns(
        pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    )


_CHUNK = 1 << 16
"""Bytes fed to the streaming parser at a time."""


USE_SCAN = True
"""Read track bodies with the vectorised scan where it can prove its result (tests turn
it off to compare with the streamed reader)."""
_SCAN_MARKER = TCX_MARKER.decode()


def read_document(
    body: bytes,
) -> tuple[Any, dict[int, tuple[Any, ...]], str, list[pl.DataFrame], str | None]:
    """(root element, trackpoint rows by element id, parser used, scanned track frames,
    why the scan stepped aside).

    A screened document is first offered to the vectorised scan
    (:func:`kneeflags.parsers.xml_scan.scan_tcx`): every ``<Track>`` body it proves is read
    at once and the rest of the document (a skeleton) is parsed here. Otherwise:

    A screened document (see the module docstring) is streamed: each ``<Trackpoint>`` is
    read when it ends and its children are dropped, so memory holds one small element per
    point instead of a dozen. Anything else is parsed whole by defusedxml (rows are then read
    from the tree). Raises ``ParseError`` for malformed XML and defusedxml's errors for DTDs,
    entities and external references.
    """
    if not _plain_xml(body):
        return DefusedET.fromstring(body, forbid_dtd=True), {}, "defusedxml", [], None
    note = None
    if USE_SCAN:
        notes: list[str] = []
        try:
            skeleton, tracks = scan_tcx(body, notes)
            return StdET.fromstring(skeleton), {}, "scan", tracks, "; ".join(notes) or None
        except ScanDeclined as exc:
            note = "; ".join([f"fast TCX scan not used ({exc}): streamed instead", *notes])
        except StdET.ParseError:
            pass  # the whole document names the error (and its real line) below
    parser = StdET.XMLPullParser(events=("end",))
    rows: dict[int, tuple[Any, ...]] = {}
    ended: list[Any] = [None]

    def take_events() -> None:
        for _event, el in parser.read_events():
            if _local(el.tag) == "Trackpoint":
                rows[id(el)] = _trackpoint_row(el)
                el.clear()  # keeps the (empty) element alive: its id stays its own
            ended[0] = el

    for start in range(0, max(len(body), 1), _CHUNK):
        parser.feed(body[start : start + _CHUNK])
        take_events()
    parser.close()
    take_events()
    return ended[0], rows, "etree", [], note  # the last element to end is the root


def parse_tcx_activities(
    data: bytes,
    ref: SourceRef,
    sha256: str,
    tz: str | None = None,
    hints: dict | None = None,
    *,
    tz_source: str = "option",
) -> LoadResult:
    """Bytes of a TCX file -> activities and problems (never raises for bad XML)."""
    out = LoadResult()
    path = str(ref)
    hints = hints or {}
    body = data.lstrip(b"\x00")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        root, rows, parser, tracks, scan_note = read_document(body.lstrip())
    except StdET.ParseError as exc:
        out.errors.append(Problem(path, f"malformed TCX (XML error: {one_line(exc, 160)})"))
        return out
    except Exception as exc:  # DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
        out.errors.append(
            Problem(path, f"refused TCX ({type(exc).__name__}): DTD/entities are not allowed")
        )
        return out

    activities = [el for el in root.iter() if _local(el.tag) == "Activity"]
    if not activities:
        kind = (
            "a course (planned route)"
            if any(_local(el.tag) == "Course" for el in root.iter())
            else "no activity"
        )
        out.skipped.append(Skipped(path, f"TCX with {kind}, not a recording"))
        return out

    for part, act_el in enumerate(activities):
        sport_attr = (act_el.get("Sport") or "").strip()
        sport = _TCX_SPORTS.get(sport_attr.lower()) or sport_from_text(sport_attr)
        notes: list[str] = []
        if (sport is None or sport is Sport.OTHER) and hints.get("type"):
            hinted = sport_from_text(str(hints["type"]))
            if hinted is not None:
                sport = hinted
                notes.append(f"sport from Strava activities.csv: {hints['type']}")
        if sport is None:
            sport = Sport.OTHER
            notes.append(f"unrecognised TCX sport {sport_attr!r}")

        laps = [el for el in act_el if _local(el.tag) == "Lap"]
        lap_time = sum(
            _to_float(getattr(_child(lap, "TotalTimeSeconds"), "text", None)) or 0.0 for lap in laps
        )
        lap_dist = sum(
            _to_float(getattr(_child(lap, "DistanceMeters"), "text", None)) or 0.0 for lap in laps
        )
        creator = _child(act_el, "Creator")
        device = None
        if creator is not None:
            name_el = _child(creator, "Name")
            device = (name_el.text or "").strip() if name_el is not None else None

        if scan_note:
            notes.append(scan_note)
        tps = _trackpoints(act_el, rows, tracks)
        run_cad = tps["run_cadence"]
        use_run = run_cad.null_count() < tps.height
        frame = tps.with_columns(
            (pl.col("run_cadence") if use_run else pl.col("cadence")).alias("cadence_spm")
        ).drop("run_cadence", "cadence")
        start = parse_time(getattr(_child(act_el, "Id"), "text", None))
        if start is None and laps:
            start = parse_time(laps[0].get("StartTime"))
        timed = frame.filter(pl.col("timestamp").is_not_null())
        if start is None and timed.height:
            start = timed["timestamp"].min()  # type: ignore[assignment]
        if start is None:
            out.errors.append(Problem(path, f"TCX activity {part} has no start time"))
            continue
        start_us = int(start.timestamp() * 1_000_000)
        timed, screen_notes = screen_samples(timed)
        out.warnings.extend(Problem(path, note, "warning") for note in screen_notes)
        samples, dist_source = finish_samples(timed, start_us)
        samples, ele_note = drop_all_zero_altitude(samples)
        if ele_note:
            notes.append(ele_note)
        samples, cad = apply_cadence(samples, sport)
        if cad.guessed and cad.unit != "none":
            out.warnings.append(Problem(path, f"cadence unit guessed: {cad.reason}", "warning"))
        # The recorded track's own distance wins (as FIT's session total does);
        # lap totals cover files without trackpoint distances (manual laps).
        dist: float | None = None
        if dist_source == "file" and samples.height:
            dist = samples["distance_m"].max()  # type: ignore[assignment]
        elif lap_dist > 0:
            dist, dist_source = lap_dist, "file"
        elif dist_source == "positions" and samples.height:
            dist = samples["distance_m"].max()  # type: ignore[assignment]
        span = float(samples["elapsed_s"].max() or 0.0) if samples.height else None
        offset, offset_source = resolve_offset(start, tz=tz, tz_source=tz_source)  # type: ignore[arg-type]
        has_ele = samples.height > 0 and samples["altitude_m"].null_count() < samples.height
        out.activities.append(
            Activity(
                source=ref,
                sha256=sha256,
                format="tcx",
                sport=sport,
                start_utc=start,
                samples=samples,
                sport_detail=sport_attr,
                name=hints.get("name") or None,
                utc_offset_s=offset,
                utc_offset_source=offset_source,
                device=device or None,
                distance_m=None if dist is None else float(dist),  # type: ignore[arg-type]
                timer_s=lap_time if lap_time > 0 else span,
                elapsed_s=span if span is not None else (lap_time or None),
                part=part,
                provenance=Provenance(
                    cadence_unit=cad.unit,
                    cadence_reason=cad.reason
                    + ("" if not use_run or cad.unit == "none" else " (RunCadence)"),
                    elevation_source="unknown" if has_ele else "none",
                    distance_source=dist_source,  # type: ignore[arg-type]
                    partial=False,
                    decoder=parser,
                    notes=notes,
                ),
            )
        )
    return out
