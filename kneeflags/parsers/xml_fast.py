"""Streaming GPX extractor: the fast path to :class:`~kneeflags.parsers.gpx.GpxDocument`.

gpxpy builds a Python object per point and copies every extension element;
at 10-12 thousand points a second a one-hour 1 Hz run costs about 0.3 s.
kneeflags needs six values per point, so this module streams the document
through ElementTree's C parser (``XMLPullParser``), reads each ``<trkpt>``
as soon as it is complete, clears it, and builds the columns at the end.

It hands over exactly what :func:`kneeflags.parsers.gpx.parse_gpx` (the
gpxpy reference) hands over, so :func:`~kneeflags.parsers.gpx.build_gpx`
cannot tell the two apart. That means following gpxpy's reading of GPX, not
only the schema:

* the document is decoded as UTF-8 after stripping NULs, a BOM and leading
  whitespace, as ``parse_gpx`` does; bytes that are not UTF-8 go through the
  same defusedxml guard as there (a declared single-byte encoding passes, bad
  bytes in a UTF-8 document are refused) and are then replaced;
* gpxpy drops the *first* default-namespace declaration, so elements in that
  namespace count as un-namespaced (GPX structure and extension children
  alike), while prefixed GPX elements are invisible to it;
* only direct children count (``gpx/trk/trkseg/trkpt``); GPX 1.0 documents
  (any ``version`` other than ``"1.1"``) have no track ``type`` and no point
  extensions, and take their name from ``<gpx><name>``, 1.1 from
  ``<metadata><name>``;
* times follow gpxpy's grammar (``YYYY-M-D[T ]h:m:s[.fraction][zone]``, an
  unparsable time is null) and its float arithmetic for microseconds;
* a value gpxpy would reject for the whole file (a point without ``lat``, an
  ``<ele>`` that is not a number, a bad ``<sat>``...) is not guessed at: the
  extractor raises :class:`~kneeflags.parsers.fit_fast.FastPathUnsupported`
  and the caller asks gpxpy, which reports the file.

Security: the text is scanned for ``<!DOCTYPE`` and ``<!ENTITY`` before any
parsing and refused with :class:`~kneeflags.parsers.gpx.GpxRefused` (as the
defusedxml guard of ``parse_gpx`` does). Without a DTD an XML document can
declare no entities, so entity expansion ("billion laughs") and external
entities (``file:///etc/passwd``) cannot happen. A DOCTYPE inside a comment is
refused too; that false alarm is the price of not parsing before checking.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.etree.ElementTree import ParseError, XMLPullParser

import numpy as np
import polars as pl

from kneeflags.parsers.fit_fast import FastPathUnsupported
from kneeflags.parsers.gpx import (
    TRACKPOINT_EXTENSION_URIS,
    GpxDocument,
    GpxRefused,
    GpxTrack,
    decode_text,
    guard_xml,
)

DECODER_NAME = "iterparse"

_FORBIDDEN = ("<!DOCTYPE", "<!ENTITY")
_CHUNK = 1 << 16
"""Characters fed to the parser at a time: memory stays bounded by one track's columns."""

_DEFAULT_NS = re.compile(r"""\sxmlns=(['"])([^'"]+)\1""")
"""The declaration gpxpy removes before parsing (its first match in the text)."""

_PREFIXED_GPX = re.compile(
    r"""\sxmlns:[A-Za-z_][\w.\-]*=(['"])(http://www\.topografix\.com/GPX/1/[01])\1"""
)
"""A GPX namespace bound to a prefix. gpxpy sees no element of such a document and skips
this valid file (issue 10); the extractor reads the elements of that namespace instead."""

_TIME = re.compile(
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})[T ]"
    r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})"
    r"(?P<f>\.[0-9]{1,15})?"
    r"(?P<z>Z|[+-\u2212][0-9]{2}:?(?:[0-9]{2})?)?$"
)
"""gpxpy's time grammar. The sign class is a *range* from '+' to U+2212, as in gpxpy."""

_CAD_NAMES = frozenset({"cad", "cadence"})
_HR_NAMES = frozenset({"hr", "heartrate"})

_CHECKED_POINT_FIELDS: dict[str, Any] = {
    "magvar": float,
    "geoidheight": float,
    "hdop": float,
    "vdop": float,
    "pdop": float,
    "ageofdgpsdata": float,
    "sat": int,
    "dgpsid": int,
}
"""Typed point children gpxpy converts (a bad value makes it reject the whole file)."""
_FIX_VALUES = frozenset({"none", "2d", "3d", "dgps", "pps", "3"})


def _strip_lead(data: bytes) -> bytes:
    """What ``parse_gpx`` strips before decoding: NULs, a UTF-8 BOM, leading whitespace."""
    data = data.lstrip(b"\x00")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.lstrip()


def _tz_offset_minutes(zone: str) -> int:
    """UTC offset of a zone suffix, by gpxpy's rule (sign, two hour digits, last two digits)."""
    if len(zone) < 2:
        return 0
    mult = 1
    if zone[0] in ("\u2212", "-"):
        mult = -1
        zone = zone[1:]
    elif zone[0] == "+":
        zone = zone[1:]
    hour = int(zone[:2]) if zone[:2].isdigit() else 0
    minute = int(zone[-2:]) if len(zone) >= 4 and zone[-2:].isdigit() else 0
    return mult * (hour * 60 + minute)


_ZONES: dict[int, timezone] = {}


def time_us(text: str | None) -> int | None:
    """Microseconds since 1970 of a GPX time, exactly as ``parse_gpx`` computes them."""
    if not text:
        return None
    m = _TIME.match(text)
    if m is None:
        return None
    frac = m["f"]
    us = int(frac[1:7].ljust(6, "0")) if frac else 0
    zone = m["z"]
    if zone:
        off = _tz_offset_minutes(zone)
        if abs(off) >= 24 * 60:
            raise FastPathUnsupported(f"time zone offset out of range in {text!r}")
        tz = _ZONES.get(off)
        if tz is None:
            tz = _ZONES[off] = UTC if off == 0 else timezone(timedelta(minutes=off))
    else:
        tz = UTC
    try:
        t = datetime(
            int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"]), int(m["s"]), us, tz
        )
    except ValueError:
        return None  # e.g. month 13: gpxpy gives no time
    return int(t.timestamp() * 1_000_000)


def _float(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        raise FastPathUnsupported(f"{what} is not a number: {text[:40]!r}") from None


class _Names:
    """Tag strings of the GPX structure as ElementTree spells them in this document."""

    def __init__(self, default_ns: str | None) -> None:
        self.default_ns = default_ns
        p = f"{{{default_ns}}}" if default_ns else ""
        self.prefix = p
        self.trk, self.trkseg, self.trkpt = p + "trk", p + "trkseg", p + "trkpt"
        self.wpt, self.rte, self.rtept = p + "wpt", p + "rte", p + "rtept"
        self.name, self.type, self.number = p + "name", p + "type", p + "number"
        self.ele, self.time, self.fix = p + "ele", p + "time", p + "fix"
        self.extensions, self.metadata = p + "extensions", p + "metadata"
        self.ext_kind: dict[str, str | None] = {}

    def kind(self, tag: Any) -> str | None:
        """'cad', 'hr' or None for an element inside ``<extensions>`` (cached per tag)."""
        try:
            return self.ext_kind[tag]
        except KeyError:
            pass
        kind = None
        if isinstance(tag, str):
            uri, local = "", tag
            if tag.startswith("{"):
                uri, _, local = tag[1:].partition("}")
            if uri == self.default_ns:
                uri = ""
            if uri in TRACKPOINT_EXTENSION_URIS:
                low = local.lower()
                kind = "cad" if low in _CAD_NAMES else "hr" if low in _HR_NAMES else None
        self.ext_kind[tag] = kind
        return kind


_ELE, _TIME_TAG, _EXT, _FIX, _GPX10_ONLY = range(5)


def _point_codes(names: _Names) -> dict[str, Any]:
    """What to do with each child tag of a point: read it, or check it like gpxpy does."""
    codes: dict[str, Any] = {
        names.ele: _ELE,
        names.time: _TIME_TAG,
        names.fix: _FIX,
        names.extensions: _EXT,
        names.prefix + "course": _GPX10_ONLY,
        names.prefix + "speed": _GPX10_ONLY,
    }
    for local, conv in _CHECKED_POINT_FIELDS.items():
        codes[names.prefix + local] = conv
    return codes


class _Doc:
    """State of one streaming pass; the GPX version is only known at the end (root element)."""

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.codes = _point_codes(names)
        self.bad_gpx10_value: str | None = None
        """A <course>/<speed> that is no number: fatal for gpxpy only in GPX 1.0 documents."""


def _point(el: Any, doc: _Doc) -> tuple[Any, ...]:
    """(time text, lat, lon, ele, cad, hr) of a point element, read as gpxpy reads it."""
    attrib = el.attrib
    try:  # float() ignores surrounding whitespace exactly like gpxpy's float(text.strip())
        lat = float(attrib["lat"])
        lon = float(attrib["lon"])
    except (KeyError, ValueError):
        raise FastPathUnsupported("a point without a numeric lat/lon") from None
    codes = doc.codes
    ele = t = ext = None
    seen_ele = seen_time = False
    for child in el:
        code = codes.get(child.tag)
        if code is None:
            continue
        if code == _ELE:
            if not seen_ele:
                seen_ele = True
                ele = _float(child.text, "<ele>")
        elif code == _TIME_TAG:
            if not seen_time:
                seen_time = True
                t = child.text
        elif code == _EXT:
            if ext is None:
                ext = child
        elif code == _FIX:
            if child.text is not None and child.text not in _FIX_VALUES:
                raise FastPathUnsupported(f"<fix> value {child.text!r} that gpxpy refuses")
        elif child.text is not None:
            conv = float if code == _GPX10_ONLY else code
            try:
                conv(child.text.strip())
            except ValueError:
                if code != _GPX10_ONLY:
                    raise FastPathUnsupported(f"{child.tag} is not a number") from None
                doc.bad_gpx10_value = child.tag
    cad = hr = None
    if ext is not None:
        kind_of = doc.names.kind
        for top in ext:
            for sub in top.iter():
                kind = kind_of(sub.tag)
                if kind is None:
                    continue
                try:
                    value = float((sub.text or "").strip())
                except ValueError:
                    continue
                if kind == "cad":
                    cad = value
                else:
                    hr = value
    return t, lat, lon, ele, cad, hr


_STRICT_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
"""The usual GPX time; numpy parses a whole column of these at once."""


def times_us(texts: list[str | None]) -> np.ndarray:
    """Microseconds since 1970 (float64, NaN = no time) of GPX times, as ``parse_gpx`` has them.

    Columns of plain UTC times go through numpy's ISO parser in one call, then through the
    same float arithmetic as ``int(datetime.timestamp() * 1_000_000)`` (exact for real dates,
    kept so that no date can differ); anything else is parsed one by one with :func:`time_us`.
    """
    match = _STRICT_UTC.fullmatch
    out = np.full(len(texts), np.nan)
    strict = [i for i, t in enumerate(texts) if t and match(t)]
    if strict:
        try:
            parsed = np.array([texts[i][:-1] for i in strict], dtype="datetime64[us]")  # type: ignore[index]
        except ValueError:  # an impossible date: let the exact path decide
            strict = []
        else:
            exact = parsed.astype(np.int64)
            out[strict] = np.trunc((exact / 1e6) * 1e6)
    if len(strict) < len(texts):
        done = set(strict)
        for i, t in enumerate(texts):
            if i not in done and t:
                v = time_us(t)
                if v is not None:
                    out[i] = v
    return out


def _frame(points: list[tuple[Any, ...]], v11: bool) -> pl.DataFrame:
    cols = list(zip(*points, strict=True)) if points else [()] * 6
    if not v11:  # GPX 1.0 points have no extensions for gpxpy
        cols[4] = cols[5] = (None,) * len(points)
    # (Series.cast runs directly; a with_columns is a lazy query, ~0.3 ms a file even for
    # the scan's one-row skeleton: Int64 microseconds -> aware UTC datetimes either way)
    time = pl.Series(times_us(list(cols[0])), nan_to_null=True).cast(pl.Int64)
    return pl.DataFrame(
        {
            "time": time.cast(pl.Datetime("us", "UTC")),
            "lat": pl.Series(cols[1], dtype=pl.Float64),
            "lon": pl.Series(cols[2], dtype=pl.Float64),
            "ele": pl.Series(cols[3], dtype=pl.Float64),
            "cad": pl.Series(cols[4], dtype=pl.Float64),
            "hr": pl.Series(cols[5], dtype=pl.Float64),
        }
    )


def _text(el: Any, tag: str) -> str | None:
    child = el.find(tag) if el is not None else None
    return None if child is None else child.text


def _check_int(el: Any, tag: str, what: str) -> None:
    number = _text(el, tag)
    if number is not None:
        try:
            int(number.strip())
        except ValueError:
            raise FastPathUnsupported(f"{what} <number> is not an integer") from None


def _check_bounds(el: Any, names: _Names) -> None:
    bounds = el.find(names.prefix + "bounds") if el is not None else None
    if bounds is not None:
        for attr in ("minlat", "maxlat", "minlon", "maxlon"):
            _float(bounds.get(attr), f"bounds {attr}")


def parse_gpx_fast(data: bytes) -> GpxDocument:
    """GPX bytes -> :class:`GpxDocument`, streaming; same result as ``gpx.parse_gpx``.

    Only "end" events are taken from the parser (half the Python work of start+end). A point
    is read and cleared when it ends; whether it really sits at ``gpx/trk/trkseg/trkpt`` is
    checked when its segment and track end, by identity among their direct children.

    Raises :class:`GpxRefused` for DTDs/entities and malformed XML, and
    :class:`FastPathUnsupported` where gpxpy must decide (see the module docstring).
    """
    raw = _strip_lead(data)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Not UTF-8: the reference's defusedxml guard decides (it honours a declared
        # single-byte encoding and refuses bytes that are invalid in the declared one), then
        # gpxpy reads the text with replacement characters, as here.
        guard_xml(raw)
        text = decode_text(raw)
    for bad in _FORBIDDEN:
        if bad in text:
            raise GpxRefused(f"refused XML ({bad[2:]} found): DTD/entities are not allowed")
    m = _DEFAULT_NS.search(text)
    if m is None:  # GPX bound to a prefix only (<g:gpx xmlns:g=...>): read by namespace
        m = _PREFIXED_GPX.search(text)
    names = _Names(m.group(2) if m else None)
    state = _Doc(names)
    trkpt, trkseg, trk = names.trkpt, names.trkseg, names.trk
    wpt, rte = names.wpt, names.rte
    structure = frozenset({trkseg, trk, wpt, rte})
    points: dict[int, tuple[Any, ...]] = {}
    segments: dict[int, list[tuple[Any, ...]]] = {}
    tracks: dict[int, tuple[Any, list[tuple[Any, ...]]]] = {}
    parser = XMLPullParser(events=("end",))
    el: Any = None
    try:
        for start in range(0, max(len(text), 1), _CHUNK):
            parser.feed(text[start : start + _CHUNK])
            for _event, el in parser.read_events():
                tag = el.tag
                if tag == trkpt:
                    points[id(el)] = _point(el, state)
                    el.clear()
                elif tag not in structure:
                    continue
                elif tag == trkseg:
                    segments[id(el)] = [
                        points.pop(id(c)) for c in el if c.tag == trkpt and id(c) in points
                    ]
                    el.clear()
                elif tag == trk:
                    _check_int(el, names.number, "track")
                    pts = [
                        p
                        for c in el
                        if c.tag == trkseg and id(c) in segments
                        for p in segments.pop(id(c))
                    ]
                    info = (_text(el, names.name), _text(el, names.type))
                    tracks[id(el)] = (info, pts)
                    el.clear()
                elif tag == wpt:
                    _point(el, state)
                elif tag == rte:
                    _check_int(el, names.number, "route")
                    for pt in el.iterfind(names.rtept):
                        _point(pt, state)
        parser.close()
        for _event, last in parser.read_events():
            el = last
    except ParseError as exc:
        raise GpxRefused(f"malformed XML: {exc}") from exc
    root = el  # the last element to end is the root
    if root is None:
        raise GpxRefused("malformed XML: no element found")
    version = root.get("version")
    v11 = version == "1.1"
    if state.bad_gpx10_value and not v11:
        raise FastPathUnsupported(f"{state.bad_gpx10_value} is not a number")
    doc = GpxDocument(
        creator=root.get("creator"),
        version=version,
        n_routes=sum(1 for c in root if c.tag == rte),
        n_waypoints=sum(1 for c in root if c.tag == wpt),
        decoder=DECODER_NAME,
    )
    for child in root:
        if child.tag == trk and id(child) in tracks:
            (name, typ), pts = tracks.pop(id(child))
            doc.tracks.append(
                GpxTrack(name=name, type=typ if v11 else None, points=_frame(pts, v11))
            )
    holder = root.find(names.metadata) if v11 else root
    doc.name = _text(holder, names.name)
    _check_bounds(holder, names)
    return doc


def parse_gpx_auto(data: bytes) -> tuple[GpxDocument, str | None]:
    """The fastest reader that can prove its result: the vectorised scan
    (:mod:`.xml_scan`), else this streaming extractor, else gpxpy. Returns the document
    and a note (shown under ``--debug``) saying why a faster reader stepped aside."""
    from kneeflags.parsers.gpx import parse_gpx
    from kneeflags.parsers.xml_scan import ScanDeclined, scan_gpx

    note = None
    notes: list[str] = []
    try:
        return scan_gpx(data, notes), "; ".join(notes) or None
    except ScanDeclined as exc:
        note = "; ".join([f"fast GPX scan not used ({exc}): streamed instead", *notes])
    except (FastPathUnsupported, GpxRefused):
        pass  # the whole document decides (and names its own line numbers) below
    try:
        return parse_gpx_fast(data), note
    except FastPathUnsupported as exc:
        return parse_gpx(data), f"fast GPX extractor fell back to gpxpy: {exc}"


__all__ = ["DECODER_NAME", "parse_gpx_auto", "parse_gpx_fast", "time_us"]
