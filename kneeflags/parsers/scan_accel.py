"""The C accelerator of the vectorised scan: the same proof and values, one pass in C.

Why: the numpy scan (:mod:`.xml_scan`) spends ~9 ms on a 1.2 MB Garmin GPX in a few dozen
whole-array passes; walking the bytes once in C (``_scan.c``) takes a fraction of that.
Meaning stays in Python: each point *template* is built here from a point's own tags with
the numpy path's rules (:func:`.xml_scan._template`, the ``<trkpt>`` start tag pattern, the
tags gpxpy type-checks, the TCX reader's fields by local name), and handed to C as a list
of operations: literal bytes, whitespace, a decimal, a UTC time, or (TCX, unread) text.
C walks a segment body point by point against the templates, proving every byte; a point
no template fits comes back here to become the next template (at most
:data:`.xml_scan.MAX_SHAPES`). The result is the very :class:`.xml_scan._Shape` list the
numpy path returns, so everything after it (markers, the streaming extractor, frames) is
shared.

Anything the C walk cannot prove raises :class:`AccelDeclined`; the caller then reads the
file with the numpy scan (and that, if it must, declines to the streaming reader).

The accelerator is optional: without a compiler the extension is not built and
:data:`AVAILABLE` is False. ``KNEEFLAGS_NO_C=1`` in the environment (read once, at import)
or :data:`ENABLED` = False turns it off.
"""

from __future__ import annotations

import os
import re

import numpy as np

from kneeflags.parsers.xml_scan import (
    _CLOSING,
    _GPX_CHECKED_CHILDREN,
    _TRKPT,
    MAX_SHAPES,
    MAX_TEMPLATE_TAGS,
    TCX_FIELDS,
    ScanDeclined,
    _Shape,
    _Tag,
    _template,
    tcx_field_slots,
)

try:
    from kneeflags.parsers import _scan  # type: ignore[attr-defined]
except ImportError:  # no compiler at install time: the numpy scan does the work
    _scan = None

AVAILABLE = _scan is not None
"""Whether the extension was built and imports."""
ENABLED = AVAILABLE and os.environ.get("KNEEFLAGS_NO_C", "") not in ("1", "true", "yes")
"""Whether the scan uses it (tests flip this to run the numpy path)."""

_LIT, _WS, _NUM_TEXT, _NUM_ATTR, _TIME_TEXT, _TEXT, _WS_LIT = range(7)
_NO_BYTES = b""

_PLAIN_TAG = re.compile(rb"<[^<>&\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]*>")
"""A tag the C walk may compare literally: ASCII, no '&', no control bytes but whitespace,
no '<' or '>' inside (what the numpy path proves of every tag of a body)."""


class AccelDeclined(ScanDeclined):
    """The C walk cannot prove this body: read the file with the numpy scan."""


def _point_tags(
    data: bytes, p: int, hi: int, point: bytes
) -> tuple[list[_Tag], list[int], list[int]]:
    """The tags of the point starting at ``p`` (checked to nest and to be plain), with the
    positions of their '<' and '>'."""
    lt: list[int] = []
    gt: list[int] = []
    at = p
    while len(lt) < MAX_TEMPLATE_TAGS:
        lo_ = data.find(b"<", at, hi)
        if lo_ < 0:
            break
        g = data.find(b">", lo_, hi)
        if g < 0:
            break
        lt.append(lo_)
        gt.append(g)
        at = g + 1
        # stop at the point's end tag (or an empty point): no need to look further
        if (lo_ > p and data.startswith(b"</" + point, lo_)) or (lo_ == p and data[g - 1] == 47):
            break
    if not lt:
        raise AccelDeclined("no point where one was expected")
    tags = _template(data, np.array(lt), np.array(gt), point)
    k = len(tags)
    for j in range(k):
        if _PLAIN_TAG.fullmatch(data, lt[j], gt[j] + 1) is None:
            raise AccelDeclined("a tag the C scan does not compare")
    return tags, lt[:k], gt[:k]


class _Template:
    """A point template: C operations plus what Python needs to build the shape."""

    __slots__ = ("edits", "fields", "first_point", "numbers", "ops", "times")

    def __init__(self) -> None:
        self.ops: list[tuple[int, bytes, int]] = []
        self.edits: list[tuple[int, int, bytes]] = []
        self.numbers: dict[int, int] = {}  # numpy-path slot id (-1 lat, -2 lon) -> column
        self.times: dict[int, int] = {}  # slot -> column
        self.fields: dict[str, int | None] = {}  # TCX: field -> column (None: null)
        self.first_point = (0, 0)


def _gap(data: bytes, start: int, end: int) -> bytes:
    """The whitespace between two tags of a template point, as a hint for the C walk (which
    then compares it at once); empty if it is not all whitespace (the walk then finds what
    is wrong with it byte by byte)."""
    gap = data[start:end]
    return gap if not gap.strip(b" \t\r\n") else _NO_BYTES


def _ws_then_tag(data: bytes, start: int, lt: int, end: int) -> tuple[int, bytes, int]:
    """Whitespace then the tag at ``lt``: one operation comparing the template's own gap
    and the tag at once (:func:`_gap`)."""
    gap = _gap(data, start, lt)
    return (_WS_LIT, gap + data[lt:end], len(gap))


def _value_kind(value: bytes) -> int | None:
    """How the numpy path reads a slot's first value: a time, a decimal, or neither."""
    assert _scan is not None
    if _scan.parse_time(value) is not None:
        return _TIME_TEXT
    if _scan.parse_decimal(value) is not None:
        return _NUM_TEXT
    return None


def _gpx_template(data: bytes, p: int, hi: int, marker_id: int) -> _Template:
    """The template of the ``<trkpt>`` at ``p`` (:func:`.xml_scan._read_shape`'s rules)."""
    tags, lt, gt = _point_tags(data, p, hi, b"trkpt")
    k = len(tags)
    for tag in tags:
        if tag.depth == 1 and tag.kind != "end" and tag.name in _GPX_CHECKED_CHILDREN:
            raise AccelDeclined(f"a <{tag.name.decode()}> gpxpy checks")
    m = _TRKPT.fullmatch(data, lt[0] + 1, gt[0])
    if m is None or m[2] == m[5] or (m[8] == b"/") != (k == 1):
        raise AccelDeclined("a <trkpt> start tag other than lat/lon attributes")
    tpl = _Template()
    cols = {b"lat": 0, b"lon": 1}
    tpl.ops += [
        (_LIT, data[lt[0] : m.start(3)], 0),
        (_NUM_ATTR, _NO_BYTES, cols[m[2]]),
        (_LIT, data[m.end(3) : m.start(6)], 0),
        (_NUM_ATTR, _NO_BYTES, cols[m[5]]),
        (_LIT, data[m.end(6) : gt[0] + 1], 0),
    ]
    for value in (m[3], m[6]):
        if _scan.parse_decimal(value) is None:  # type: ignore[union-attr]
            raise AccelDeclined("a position that is not a plain decimal")
    tpl.numbers = {-1: 0, -2: 1}
    marks = {b"lat": b"0", b"lon": str(marker_id).encode()}
    tpl.edits = [(m.start(3), m.end(3), marks[m[2]]), (m.start(6), m.end(6), marks[m[5]])]
    slots = [j for j in range(k - 1) if tags[j].kind == "start" and tags[j + 1].kind == "end"]
    if len(slots) > 59:
        raise AccelDeclined("too many values per point")
    slot_of = {j + 1: s for s, j in enumerate(slots)}  # end tag column -> slot number
    for j in range(1, k):
        s = slot_of.get(j)
        if s is None:
            tpl.ops.append(_ws_then_tag(data, gt[j - 1] + 1, lt[j], gt[j] + 1))
            continue
        start, end = gt[j - 1] + 1, lt[j]
        if end > start:  # <x></x>: no text (None in both parsers), nothing to read
            kind = _value_kind(data[start:end])
            if kind is None:
                raise AccelDeclined("a point value that is neither a number nor a UTC time")
            tpl.ops.append((kind, _NO_BYTES, 2 + s))
            if kind == _TIME_TEXT:
                tpl.times[s] = 2 + s
                marker = f"2000-01-01T00:00:{s:02d}Z".encode()
            else:
                tpl.numbers[s] = 2 + s
                marker = str(s).encode()
            tpl.edits.append((start, end, marker))
        tpl.ops.append((_LIT, data[lt[j] : gt[j] + 1], 0))
    tpl.edits.sort()
    tpl.first_point = (lt[0], gt[k - 1] + 1)
    return tpl


def _tcx_template(data: bytes, p: int, hi: int) -> _Template:
    """The template of the ``<Trackpoint>`` at ``p`` (:func:`.xml_scan._read_tcx_shape`'s
    rules: fields by local name, the last of a name winning, non-leaves null)."""
    if not data.startswith(b"<Trackpoint>", p):
        raise AccelDeclined("a track that does not start with <Trackpoint>")
    tags, lt, gt = _point_tags(data, p, hi, b"Trackpoint")
    k = len(tags)
    slots, wanted = tcx_field_slots(tags)
    tpl = _Template()
    tpl.fields = dict.fromkeys(TCX_FIELDS.values())
    tpl.ops.append((_LIT, data[lt[0] : gt[0] + 1], 0))
    for j in range(1, k):
        if j - 1 not in slots:
            tpl.ops.append(_ws_then_tag(data, gt[j - 1] + 1, lt[j], gt[j] + 1))
            continue
        field = wanted.get(j - 1)
        start, end = gt[j - 1] + 1, lt[j]
        if field is None:
            tpl.ops.append((_TEXT, _NO_BYTES, 0))
        elif end > start:  # empty: null, as in the reader (and no op: must stay empty)
            value = data[start:end]
            col = len([f for f in tpl.fields.values() if f is not None])
            if field == "timestamp":
                if _scan.parse_time(value) is None:  # type: ignore[union-attr]
                    raise AccelDeclined("a <Time> that is not a plain UTC time")
                tpl.ops.append((_TIME_TEXT, _NO_BYTES, col))
            else:
                if _scan.parse_decimal(value) is None:  # type: ignore[union-attr]
                    raise AccelDeclined("a value that is not a plain decimal")
                tpl.ops.append((_NUM_TEXT, _NO_BYTES, col))
            tpl.fields[field] = col
        tpl.ops.append((_LIT, data[lt[j] : gt[j] + 1], 0))
    return tpl


def scan_segment(
    data: bytes, lo: int, first_id: int, kind: str = "gpx"
) -> tuple[int, int, list[_Shape]]:
    """:func:`.xml_scan._scan_segment` in C, a :data:`.xml_scan.SegmentReader`: (end,
    points, shapes) of the body that starts at ``lo`` and ends at the first closing tag
    after it (``</trkseg>``, ``</Track>``).

    The walk finds that end itself (a search for it was ~0.5 ms of a 1.2 MB file): it may,
    since the only bytes it passes are whitespace, values (which hold no '<') and template
    tags, none of which is the closing tag (checked as each template is made).

    Raises :class:`AccelDeclined` when the C walk cannot prove the body (the numpy scan
    then reads the file), never a different result.
    """
    assert _scan is not None
    closing = _CLOSING[kind]
    templates: list[_Template] = []
    while True:
        try:
            status, *rest = _scan.match_points(
                data, lo, len(data), [tuple(t.ops) for t in templates] or [_EMPTY], closing
            )
        except (ValueError, TypeError) as exc:  # a template C does not take: numpy reads it
            raise AccelDeclined(f"a template the C scan refused ({exc})") from None
        if status == "ok":
            break
        if status == "decline":
            raise AccelDeclined(str(rest[0]))
        pos = int(rest[0])
        if len(templates) == MAX_SHAPES:
            raise AccelDeclined(f"points of more than {MAX_SHAPES} shapes in a segment")
        if templates and pos <= templates[-1].first_point[0]:
            raise AccelDeclined("a point that does not fit its own template")
        try:
            if kind == "gpx":
                tpl = _gpx_template(data, pos, len(data), first_id + len(templates))
            else:
                tpl = _tcx_template(data, pos, len(data))
                tpl.first_point = (pos, pos)
        except ScanDeclined as exc:  # (the numpy scan decides the file, and says why)
            raise AccelDeclined(str(exc)) from None
        if any(code in (_LIT, _WS_LIT) and closing in lit for code, lit, _ in tpl.ops):
            raise AccelDeclined("a point holding its body's closing tag")
        templates.append(tpl)
    shape_of, values, end = rest
    idx = np.frombuffer(shape_of, dtype=np.uint8)
    n = idx.size
    shapes = []
    for t, tpl in enumerate(templates):
        cols = [*tpl.numbers.values(), *tpl.times.values()]
        cols += [c for c in tpl.fields.values() if c is not None]
        width = max(cols, default=-1) + 1  # = the C side's columns of this template
        rows = np.arange(n) if len(templates) == 1 else np.flatnonzero(idx == t)
        table = np.frombuffer(values[t], dtype=np.float64)
        table = table.reshape(rows.size, width) if width else table.reshape(rows.size, 0)
        if kind == "gpx":
            shapes.append(
                _Shape(
                    rows=rows,
                    first_point=tpl.first_point,
                    edits=tpl.edits,
                    numbers={s: table[:, c] for s, c in tpl.numbers.items()},
                    times={s: table[:, c] for s, c in tpl.times.items()},
                )
            )
        else:
            fields = {f: None if c is None else table[:, c] for f, c in tpl.fields.items()}
            shapes.append(
                _Shape(rows=rows, first_point=(0, 0), edits=[], numbers={}, times={}, fields=fields)
            )
    return end, n, shapes


_EMPTY: tuple[tuple[int, bytes, int], ...] = ((_LIT, b"\0", 0),)
"""Asked first, before any template: matches no point (a NUL byte), so the first point
comes back as the first template."""
