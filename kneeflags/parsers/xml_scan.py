"""Vectorised scan of machine-written GPX segments and TCX tracks: XML at near-FIT speed.

Why: even the streaming extractor (:mod:`.xml_fast`) spends ~20 µs of Python per point
(an element object, a dict of attributes, a tuple), which is 10-17 times what a FIT
record costs. Activity files are written by machines, though: every ``<trkpt>`` of a
Garmin, Strava, Suunto or phone export has the very same tags in the very same order,
only the values change. This module *proves* that, with numpy over the raw bytes, and then
reads every value of a segment at once. What it cannot prove it declines
(:class:`ScanDeclined`), and the caller reads that file with the streaming reader, so
there is no guessing anywhere.

How, for each ``<trkseg>`` body (between ``<trkseg>`` and ``</trkseg>``):

1. the body must be ASCII, hold no ``&``, no control character other than tab, CR and
   LF, and its ``<`` and ``>`` must alternate (no ``>`` in text or attribute values);
2. points are cut at their ``<trkpt`` tags; the first point's tags are read in Python (a
   dozen), checked to nest properly, and become a *template*; every point of that tag
   count that repeats it byte for byte (tags and constant indentation compared as runs,
   the ``lat``/``lon`` values of the start tag excepted, whose surrounding bytes are
   checked instead) belongs to that *shape*; the first point left starts the next shape
   (at most :data:`MAX_SHAPES` per segment: a phone that sometimes omits ``<ele>``);
3. text between a leaf element's start and end tag is a *slot*; every slot of every point
   must be a plain decimal number (``[+-]digits[.digits]``) or a plain UTC time
   (``YYYY-MM-DDThh:mm:ss[.ffffff]Z``) of the kind its first point holds; every other text
   in the body must be whitespace (proved by counting non-whitespace bytes);
4. which slot is the elevation, the time, the cadence and the heart rate is not decided
   here at all: the segment's body is replaced by one *marker* point per shape, the shape's
   first point with every value replaced by the slot's number (times by
   ``2000-01-01T00:00:<slot>Z``), and the resulting small document goes through the
   streaming extractor, which applies all of gpxpy's rules (namespaces and prefixes in
   scope, GPX 1.0 vs 1.1, misplaced segments, the first ``<ele>``, the last readable
   ``hr``, metadata, names, types, routes, DTDs and entities refused). The marker's values
   name the slots; the shape's index rides in the marker's ``lon``. So the scan and the
   extractor cannot disagree on meaning, only on numbers, which are parsed exactly (see
   :func:`parse_decimals`).

TCX (:func:`scan_tcx`) takes the same steps 1-3 on ``<Track>`` bodies of ``<Trackpoint>``
elements; its meaning is the TCX reader's (fields by local name at any depth, the last of
a name winning), applied to the template directly, and the rest of the document is parsed
by the C ElementTree with one marker element per track.

Security: the scan reads bytes only, never expands anything; everything outside the
segment bodies (the prolog, a DOCTYPE if any, metadata) goes through the regular readers
and their screening unchanged, and a body can hold no ``<!``, ``<?`` or ``&`` (steps 1-2).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from kneeflags.parsers.fit_fast import FastPathUnsupported
from kneeflags.parsers.gpx import GpxDocument, GpxTrack, _strip_bom
from kneeflags.records import record

DECODER_NAME = "scan"
_T = TypeVar("_T")

MAX_TEMPLATE_TAGS = 64
"""Tags per point beyond which a file is not scanned (real points have 4-16)."""
MAX_VALUE_BYTES = 48
"""Longest slot value scanned (Garmin writes 30-digit latitudes)."""

_LT, _GT, _QUOTE, _AMP = 60, 62, 34, 38
_WS = (b" ", b"\t", b"\n", b"\r")
_IS_WS = np.zeros(256, dtype=bool)
_IS_WS[[32, 9, 10, 13]] = True
_SENTINEL_EPOCH_US = 946_684_800_000_000
"""2000-01-01T00:00:00Z: a time slot ``s`` is marked as this instant plus ``s`` seconds."""

_POW10_I = np.array([10**i for i in range(19)], dtype=np.int64)

_TRKPT = re.compile(
    rb"trkpt(\s+)(lat|lon)=\"([^\"<&]*)\"(\s+)(lat|lon)=\"([^\"<&]*)\"(\s*)(/?)", re.ASCII
)
_GPX_CHECKED_CHILDREN = frozenset(
    {
        b"magvar",
        b"geoidheight",
        b"hdop",
        b"vdop",
        b"pdop",
        b"ageofdgpsdata",
        b"sat",
        b"dgpsid",
        b"fix",
        b"course",
        b"speed",
    }
)
"""Point children gpxpy type-checks (a bad value makes it refuse the file): not scanned."""


class ScanDeclined(FastPathUnsupported):
    """The scan cannot prove it reads this file exactly: use the streaming extractor."""


# --------------------------------------------------------------------------------------------
# Byte helpers
# --------------------------------------------------------------------------------------------


def _windows(a: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """``width`` bytes from each start, as an (n, width) array (zero past the end of ``a``)."""
    if starts.size and int(starts.max()) + width > a.size:  # near or past the end: pad
        starts = np.minimum(starts, a.size)
        a = np.concatenate([a, np.zeros(width, dtype=np.uint8)])
    return sliding_window_view(a, width)[starts]


def _values(a: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The bytes of each value, zero-padded to a common width: (n, width) uint8."""
    width = int(lengths.max()) if lengths.size else 1
    if width > MAX_VALUE_BYTES:
        raise ScanDeclined(f"a value longer than {MAX_VALUE_BYTES} bytes")
    width = max(width, 1)
    win = _windows(a, starts, width)
    # (a product with the mask: ~20x cheaper than np.where with a scalar, same bytes)
    inside = np.arange(width, dtype=np.int32) < lengths.astype(np.int32)[:, None]
    return win * inside


def _all_columns(m: np.ndarray) -> np.ndarray:
    """``m.all(axis=1)`` of a narrow 2-D bool array, as one AND per column.

    Why: numpy reduces each row's few contiguous columns with a per-row set-up, ~13x
    slower on (72,000 x 2) than ANDing whole columns (0.87 ms against 0.07 ms): that
    reduction was a sixth of a TCX scan.
    """
    if m.shape[1] == 0:
        return np.ones(m.shape[0], dtype=bool)
    out = m[:, 0].copy()
    for j in range(1, m.shape[1]):
        out &= m[:, j]
    return out


def _nonspace(buf: np.ndarray) -> int:
    """Non-whitespace, non-padding bytes in a values buffer (control bytes are refused
    before this is asked)."""
    return int(np.count_nonzero(buf > 32))


# --------------------------------------------------------------------------------------------
# Numbers and times, vectorised and exact
# --------------------------------------------------------------------------------------------


_PAD, _DIGIT, _DOT, _SIGN, _OTHER = range(5)
_DECIMAL_CLASS = np.full(256, _OTHER, dtype=np.uint8)
_DECIMAL_CLASS[0] = _PAD
_DECIMAL_CLASS[48:58] = _DIGIT
_DECIMAL_CLASS[46] = _DOT
_DECIMAL_CLASS[[43, 45]] = _SIGN


def is_decimal(buf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rows that are ``[+-]?`` digits with at most one ``.`` and at least one digit.

    Python's ``float`` and polars agree on every such string (they disagree on others:
    ``1_0``, ``0x1``...), which is why nothing else is scanned.
    """
    cls = _DECIMAL_CLASS[buf]
    inside = np.arange(buf.shape[1]) < lengths[:, None]
    ok = ~((cls == _OTHER) | (cls == _PAD) & inside).any(axis=1)
    ok &= ~(cls[:, 1:] == _SIGN).any(axis=1)
    ok &= np.count_nonzero(cls == _DOT, axis=1) <= 1
    return ok & (np.count_nonzero(cls == _DIGIT, axis=1) >= 1) & (lengths >= 1)


_LD = np.longdouble
_EXTENDED = np.finfo(_LD).nmant >= 63
"""x86-64 long double has a 64-bit significand: enough to round 38-digit decimals exactly
(with the margin check below); elsewhere every long value goes the slow way."""
_POW10_U = np.array([10**i for i in range(20)], dtype=np.uint64)
_POW10_LD = np.ones(49, dtype=_LD)
for _i in range(1, 28):  # exact: 5**27 < 2**64
    _POW10_LD[_i] = _POW10_LD[_i - 1] * _LD(10)
_POW10_LD[28:] = _POW10_LD[27] * _POW10_LD[1:22]  # one rounding each: correctly rounded
"""Powers of ten in long double: exact up to 1e27, correctly rounded beyond."""
_EXACT_INT = np.uint64(2**53)
"""Integers up to this are exact as doubles (Clinger's fast path)."""
_POW10_F = np.array([float(10**i) for i in range(23)])
"""10**0 .. 10**22 as doubles: every one exact."""
_MARGIN_ULPS = 16
"""The extended result is within 4 of its ulps of the true value; a decimal whose extended
value lies within this many ulps of a double midpoint is parsed by Python instead."""


def parse_decimal_columns(columns: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """:func:`parse_decimals` of several columns, stacked: short values (heart rate,
    cadence, elevation) in one call and long ones (positions) in another, since each call
    costs a fixed few dozen numpy steps whatever its size."""
    out: list[np.ndarray] = [np.empty(0)] * len(columns)
    # Long columns (positions) are parsed one by one: each then has its decimal point in
    # one place on every row (Garmin's "47.37..." and "8.55..."), which lets
    # :func:`_parse_block` take its slice path instead of a per-row gather; stacking them
    # saved nothing anyway (blocks of :data:`_BLOCK_ROWS` rows either way).
    groups = [[c] for c in range(len(columns))]
    for group in groups:
        if not group:
            continue
        width = max(columns[c][0].shape[1] for c in group)
        sizes = [columns[c][0].shape[0] for c in group]
        stacked = np.zeros((sum(sizes), width), dtype=np.uint8)
        at = 0
        for c, size in zip(group, sizes, strict=True):
            buf = columns[c][0]
            stacked[at : at + size, : buf.shape[1]] = buf
            at += size
        values = parse_decimals(stacked, np.concatenate([columns[c][1] for c in group]))
        at = 0
        for c, size in zip(group, sizes, strict=True):
            out[c] = values[at : at + size]
            at += size
    return out


_BLOCK_ROWS = 2048
"""Rows parsed at a time: the per-digit temporaries stay a fraction of a file's size."""


def parse_decimals(buf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """:func:`_parse_block` over blocks of :data:`_BLOCK_ROWS` rows."""
    if buf.shape[0] <= _BLOCK_ROWS:
        return _parse_block(buf, lengths)
    return np.concatenate(
        [
            _parse_block(buf[i : i + _BLOCK_ROWS], lengths[i : i + _BLOCK_ROWS])
            for i in range(0, buf.shape[0], _BLOCK_ROWS)
        ]
    )


def _parse_block(buf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """float64 of each row (``[+-]?digits[.digits]``), exactly as ``float()``; declines
    (:class:`ScanDeclined`) when a row is not such a decimal.

    The rows are aligned on their decimal point (integer digits right-aligned, fraction
    digits left-aligned, zero-padded), so every column has one place value for all rows and
    the digits become two unsigned integers by one matrix product each: the high 19 digits
    ``H`` and the low ones ``L``. In x86 extended precision ``(H * 10**k + L) / 10**F`` is
    then within 4 extended ulps of the true value, 2,048 times finer than a double's ulp;
    rounding that to double is the correctly rounded result unless the extended value sits
    within a few of its ulps of a midpoint between two doubles. Those rare values (about 1
    in 60) are parsed by Python's ``float`` (numpy's string cast), so every value equals
    ``float(text)``.

    Two cheaper routes give the very same digits and values (why: they were ~40% of the
    scan of a Garmin GPX): when every row has its decimal point in one column (a position
    column), the alignment is two slices instead of a per-row gather; and a row of at most
    19 digits whose own integer is below 2**53 takes Clinger's fast path in plain doubles
    (one exact-operand IEEE division), skipping the extended arithmetic.
    """
    n, width = buf.shape
    if n == 0:
        return np.empty(0)
    rows = np.arange(n)
    first = buf[:, 0]
    signed = (first == 45) | (first == 43)
    dot = buf == 46
    first_dot = dot.argmax(axis=1)
    has_dot = dot[rows, first_dot]  # (a gather: any(axis=1) over a few columns is slow)
    dot_at = np.where(has_dot, first_dot, lengths)
    n_int = dot_at - signed
    n_frac = np.where(has_dot, lengths - dot_at - 1, 0)
    if (n_int + n_frac < 1).any() or (lengths < 1).any():
        raise ScanDeclined("an empty number")
    width_int, width_frac = int(n_int.max()), int(n_frac.max())
    if width_int + width_frac > 38:  # aligned, too many digits: Python parses every row
        if not is_decimal(buf, lengths).all():
            raise ScanDeclined("a value that is not a plain decimal")
        return np.ascontiguousarray(buf).view(f"S{width}").ravel().astype(np.float64)
    offsets = np.concatenate([np.arange(-width_int, 0), np.arange(1, width_frac + 1)])
    d0 = int(dot_at[0])
    if d0 == width_int and not signed.any() and bool((dot_at == d0).all()):
        # One decimal point column for every row, no sign (a position column, most
        # elevations): the alignment below is the identity but for dropping that column,
        # so the digits are two slices, not a per-row gather (same digits, same result).
        cols = d0 + offsets
        raw = np.concatenate([buf[:, :d0], buf[:, d0 + 1 : d0 + 1 + width_frac]], axis=1)
        if raw.shape[1] < cols.size:  # a row's fraction runs to the buffer's edge
            raw = np.pad(raw, ((0, 0), (0, cols.size - raw.shape[1])))
        inside = cols.astype(np.int32) < lengths.astype(np.int32)[:, None]
    else:
        idx = (dot_at[:, None] + offsets).astype(np.int32)
        inside = (idx >= signed[:, None]) & (idx < lengths[:, None])
        flat = (rows * width).astype(np.int32)[:, None] + np.clip(idx, 0, width - 1)
        raw = np.take(np.ascontiguousarray(buf).ravel(), flat)  # 1-D take: ~3x a 2-D gather
    digits = (raw - np.uint8(48)) * inside  # uint8 (np.where with a scalar was ~20x this)
    if (digits > 9).any():
        raise ScanDeclined("a value that is not a plain decimal")
    total = width_int + width_frac
    n_low = max(total - 19, 0)
    high = digits[:, : total - n_low].astype(np.uint64) @ _POW10_U[total - n_low - 1 :: -1]
    negative = first == 45
    out = np.zeros(n)
    unsafe = np.ones(n, dtype=bool)
    if not n_low and width_frac <= 22:
        # Clinger's fast path in plain doubles, row by row: a row's own digits (the
        # alignment's padding zeros divided away, exactly) form an integer; below 2**53 it
        # is exact as a double, and so is 10**n_frac <= 1e22, so the one IEEE division is
        # the correctly rounded quotient, i.e. float(text). Heart rates, cadences and most
        # elevations end here; the other rows go on to the extended path.
        own = high // _POW10_U[width_frac - n_frac]
        unsafe = own > _EXACT_INT
        out = own.astype(np.float64) / _POW10_F[n_frac]
    rest = np.flatnonzero(unsafe)
    if rest.size and _EXTENDED:
        every = rest.size == n  # (no copies when every row is left)
        x = (high if every else high[rest]).astype(_LD)
        if n_low:
            part = digits[:, total - n_low :] if every else digits[rest, total - n_low :]
            low = part.astype(np.uint64) @ _POW10_U[n_low - 1 :: -1]
            x = x * _POW10_LD[n_low] + low.astype(_LD)
        x = x / _POW10_LD[width_frac]
        near = x.astype(np.float64)
        toward = np.nextafter(near, np.where(x > near.astype(_LD), np.inf, -np.inf))
        mid = (near.astype(_LD) + toward.astype(_LD)) / 2
        risky = np.abs(x - mid) <= _MARGIN_ULPS * np.spacing(x)
        risky |= ~np.isfinite(near)
        out[rest] = near
        unsafe[rest] = risky
    out = np.where(negative, -out, out)
    slow = np.flatnonzero(unsafe)
    if slow.size:
        text = np.ascontiguousarray(buf[slow]).view(f"S{width}").ravel()
        out[slow] = text.astype(np.float64)  # Python's float(), value by value
    return out


_TIME_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_TIME_PUNCT = ((4, 45), (7, 45), (10, 84), (13, 58), (16, 58))


def is_utc_time(buf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rows that are ``YYYY-MM-DDThh:mm:ss[.f{1,6}]Z`` with plausible field ranges."""
    n, width = buf.shape
    if width < 20:
        return np.zeros(n, dtype=bool)
    digit = (buf >= 48) & (buf <= 57)
    ok = (lengths == 20) | ((lengths >= 22) & (lengths <= 27))
    for pos in _TIME_DIGITS:
        ok &= digit[:, pos]
    for pos, char in _TIME_PUNCT:
        ok &= buf[:, pos] == char
    rows = np.arange(n)
    ok &= buf[rows, np.clip(lengths - 1, 0, width - 1)] == 90  # 'Z'
    frac = lengths > 20
    ok &= ~frac | (buf[:, 19] == 46)
    col = np.arange(width)
    frac_cols = (col >= 20) & (col < lengths[:, None] - 1)
    ok &= _all_columns(digit | ~frac_cols)
    d = buf.astype(np.int64) - 48
    hour, minute, second = (
        d[:, 11] * 10 + d[:, 12],
        d[:, 14] * 10 + d[:, 15],
        d[:, 17] * 10 + d[:, 18],
    )
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    return ok & (hour <= 23) & (minute <= 59) & (second <= 59) & (year >= 1)


def parse_utc_times(buf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Microseconds (float64) of checked times (:func:`is_utc_time`), as gpxpy computes them.

    gpxpy's value is ``int(datetime.timestamp() * 1_000_000)``; the same float arithmetic
    (``trunc(us / 1e6 * 1e6)``) is applied to the exact value, as in
    :func:`kneeflags.parsers.xml_fast.times_us`. An impossible date (30 February) declines.
    """
    n = buf.shape[0]
    if n == 0:
        return np.empty(0)
    head = np.ascontiguousarray(buf[:, :19]).view("S19").ravel()
    try:
        seconds = head.astype("datetime64[s]").astype(np.int64)
    except ValueError as exc:
        raise ScanDeclined(f"an impossible date ({exc})") from None
    frac = buf[:, 20:26].astype(np.int64) - 48  # up to six fraction digits
    col = np.arange(20, 20 + frac.shape[1])
    weight = np.where(col < lengths[:, None] - 1, _POW10_I[25 - col], 0)
    micros = (frac * weight).sum(axis=1)
    exact = seconds * 1_000_000 + micros
    return np.trunc((exact / 1e6) * 1e6)


# --------------------------------------------------------------------------------------------
# Points of one segment
# --------------------------------------------------------------------------------------------


@record
class _Tag:
    name: bytes
    kind: str  # start | end | empty
    depth: int  # depth of the element (the point itself is 0)


@record
class _Shape:
    """The points of one segment that share one template, and their values by slot."""

    rows: np.ndarray  # point numbers in the segment
    first_point: tuple[int, int]  # byte range of its first point in the document
    edits: list[tuple[int, int, bytes]]  # (start, end, replacement) making the marker
    numbers: dict[int, np.ndarray]  # slot -> values; -1 lat, -2 lon
    times: dict[int, np.ndarray]  # slot -> microseconds
    fields: dict[str, np.ndarray | None] | None = None  # TCX: column -> values (None: null)


MAX_SHAPES = 8
"""Templates per segment beyond which a segment is not scanned (real files: 1-4)."""


def _template(data: bytes, lt: np.ndarray, gt: np.ndarray, point: bytes) -> list[_Tag]:
    """The tags of the first point (checked to nest), or decline."""
    tags: list[_Tag] = []
    stack: list[bytes] = []
    for j in range(min(lt.size, MAX_TEMPLATE_TAGS)):
        content = data[int(lt[j]) + 1 : int(gt[j])]
        if not content or content[:1] in (b"?", b"!"):
            raise ScanDeclined("a comment, CDATA or processing instruction among the points")
        if content[:1] == b"/":
            name = content[1:].rstrip()
            if not stack or stack.pop() != name:
                raise ScanDeclined("tags that do not nest")
            tags.append(_Tag(name, "end", len(stack)))
        else:
            name = re.split(rb"[\s/]", content, maxsplit=1)[0]
            if j == 0 and name != point:
                raise ScanDeclined(f"a segment that does not start with <{point.decode()}>")
            if content.endswith(b"/"):
                tags.append(_Tag(name, "empty", len(stack)))
            else:
                tags.append(_Tag(name, "start", len(stack)))
                stack.append(name)
        if not stack:
            return tags
    raise ScanDeclined("a point with too many tags")


def _runs(tags: list[_Tag], lt2: np.ndarray, gt2: np.ndarray, begin: int) -> list[tuple[int, int]]:
    """Tag columns ``begin..k-1`` grouped into runs compared as one literal each.

    Consecutive tags join a run when the text between them is no slot and has the same
    length in every row (machine-written indentation): comparing the whole run byte for
    byte then proves the tags and that text at once, in one gather instead of one per tag.
    """
    k = len(tags)
    gaps = lt2[:, 1:] - gt2[:, :-1]
    same_gap = (gaps == gaps[0]).all(axis=0) if gaps.size else np.ones(0, dtype=bool)
    runs: list[tuple[int, int]] = []
    j0 = begin
    for j in range(begin, k):
        slot = j + 1 < k and tags[j].kind == "start" and tags[j + 1].kind == "end"
        if j + 1 == k or slot or not same_gap[j]:
            runs.append((j0, j))
            j0 = j + 1
    return runs


def _rows_equal(a: np.ndarray, starts: np.ndarray, literal: bytes) -> np.ndarray:
    """Per row: does ``literal`` sit at the start?"""
    if not literal:
        return np.ones(starts.size, dtype=bool)
    size = -(-len(literal) // 8) * 8
    want = np.frombuffer(literal.ljust(size, b"\0"), dtype=np.uint64)
    mask = np.frombuffer((b"\xff" * len(literal)).ljust(size, b"\0"), dtype=np.uint64)
    words = np.ascontiguousarray(_windows(a, starts, size)).view(np.uint64)
    same = (words & mask) == want
    return _all_columns(same)


def _ws_count(text: bytes) -> int:
    return sum(text.count(w) for w in _WS)


def _scan_segment(
    data: bytes, a: np.ndarray, lo: int, hi: int, first_id: int, kind: str = "gpx"
) -> tuple[int, list[_Shape]]:
    """Prove the body ``data[lo:hi]`` is a run of ``<trkpt>`` of a few shapes, and read it.

    Returns the number of points and their shapes (each with the rows it covers). The
    marker of shape ``i`` carries ``lon="first_id + i"``.
    """
    body = a[lo:hi]
    if body.size and int(body.max()) >= 128:
        raise ScanDeclined("non-ASCII bytes among the points")
    if np.count_nonzero(body == _AMP):
        raise ScanDeclined("an entity or character reference among the points")
    # (whole-body comparisons and counts are SIMD loops: each costs ~0.1 ms per MB)
    n_control = int(np.count_nonzero(body < 32))
    if n_control != np.count_nonzero(body == 10) and n_control != (
        np.count_nonzero(body == 10) + np.count_nonzero(body == 9) + np.count_nonzero(body == 13)
    ):
        raise ScanDeclined("a control character among the points")
    n_nonspace = int(np.count_nonzero(body > 32))
    # int32 positions (a document is capped at 512 MiB): half the memory of int64
    lt = (np.flatnonzero(body == _LT) + lo).astype(np.int32)
    gt = (np.flatnonzero(body == _GT) + lo).astype(np.int32)
    if lt.size != gt.size or not (gt > lt).all() or not (lt[1:] > gt[:-1]).all():
        raise ScanDeclined("'>' outside a tag or an unclosed tag among the points")
    if kind == "gpx":
        quotes = (np.flatnonzero(body == _QUOTE) + lo).astype(np.int32)
        # '<trkpt' as one masked 8-byte word per tag, then the byte after it: whitespace
        # (two passes over the tags instead of a (tags, 6) window compared column by column)
        starts_point = _rows_equal(a, lt, b"<trkpt")
        starts_point &= _IS_WS[a[np.minimum(lt + 6, a.size - 1)]]
    else:  # TCX: <Trackpoint> has no attributes
        quotes = np.empty(0, dtype=np.int32)
        # '<Trackpo' as one word per tag, then 'int>' for those alone (a tenth of them)
        starts_point = _rows_equal(a, lt, b"<Trackpo")
        maybe = np.flatnonzero(starts_point)
        starts_point[maybe] = _rows_equal(a, lt[maybe] + 8, b"int>")
    first = np.flatnonzero(starts_point).astype(np.int32)
    if first.size == 0 or first[0] != 0:
        raise ScanDeclined("a segment that does not start with a point")
    counts = np.diff(np.append(first, lt.size))
    n = first.size
    nonspace = int((gt - lt).sum()) + lt.size
    remaining = np.arange(n)
    shapes: list[_Shape] = []
    while remaining.size:
        if len(shapes) == MAX_SHAPES:
            raise ScanDeclined(f"points of more than {MAX_SHAPES} shapes in a segment")
        shape, tag_ws, slot_nonspace = _read_shape(
            data, a, lt, gt, quotes, first, counts, remaining, first_id + len(shapes), kind
        )
        nonspace += slot_nonspace - shape.rows.size * tag_ws
        shapes.append(shape)
        remaining = remaining[~np.isin(remaining, shape.rows)]
    if n_nonspace != nonspace:
        raise ScanDeclined("text other than whitespace between the point tags")
    return n, shapes


def _read_shape(
    data: bytes,
    a: np.ndarray,
    lt: np.ndarray,
    gt: np.ndarray,
    quotes: np.ndarray,
    first: np.ndarray,
    counts: np.ndarray,
    remaining: np.ndarray,
    marker_id: int,
    kind: str = "gpx",
) -> tuple[_Shape, int, int]:
    """The points among ``remaining`` shaped like the first of them, read.

    Returns the shape, the whitespace bytes inside one point's tags and the non-whitespace
    bytes of all its slot values (for the whitespace proof of :func:`_scan_segment`).
    """
    t = int(remaining[0])
    k = int(counts[t])
    p0 = int(first[t])
    point = b"trkpt" if kind == "gpx" else b"Trackpoint"
    tags = _template(data, lt[p0 : p0 + k], gt[p0 : p0 + k], point)
    if len(tags) != k:
        raise ScanDeclined("tags between the points")
    for tag in tags:
        if (
            kind == "gpx"
            and tag.depth == 1
            and tag.kind != "end"
            and tag.name in _GPX_CHECKED_CHILDREN
        ):
            raise ScanDeclined(f"a <{tag.name.decode()}> gpxpy checks")
    cand = remaining[counts[remaining] == k]
    cols = first[cand][:, None] + np.arange(k, dtype=np.int32)
    lt2, gt2 = lt[cols], gt[cols]
    length = gt2 - lt2
    ok = _all_columns(length[:, 1:] == length[0, 1:])
    tag_ws = 0
    for j0, j1 in _runs(tags, lt2, gt2, 1 if kind == "gpx" else 0):
        literal = data[int(lt2[0, j0]) : int(gt2[0, j1]) + 1]
        ok &= _rows_equal(a, lt2[:, j0], literal)
        for j in range(j0, j1 + 1):
            tag_ws += _ws_count(data[int(lt2[0, j]) : int(gt2[0, j]) + 1])
    if kind != "gpx":
        return _read_tcx_shape(a, tags, cand[ok], lt2[ok], gt2[ok], tag_ws)
    # the <trkpt lat=".." lon=".."> start tag: fixed bytes around two values
    m = _TRKPT.fullmatch(data, int(lt2[0, 0]) + 1, int(gt2[0, 0]))
    if m is None or m[2] == m[5] or (m[8] == b"/") != (k == 1):
        raise ScanDeclined("a <trkpt> start tag other than lat/lon attributes")
    head = b"<" + data[m.start() : m.start(3)]
    mid = data[m.end(3) : m.start(6)]
    tail = data[m.end(6) : m.end()] + b">"
    tag_ws += _ws_count(head + mid + tail)
    ok &= _rows_equal(a, lt2[:, 0], head)
    s1 = lt2[:, 0] + len(head)
    e1 = _next_quote(quotes, s1)
    ok &= (e1 < gt2[:, 0]) & _rows_equal(a, e1, mid)
    s2 = e1 + len(mid)
    e2 = _next_quote(quotes, s2)
    ok &= (e2 + len(tail) == gt2[:, 0] + 1) & _rows_equal(a, e2, tail)
    rows = cand[ok]
    lt2, gt2, s1, e1, s2, e2 = lt2[ok], gt2[ok], s1[ok], e1[ok], s2[ok], e2[ok]
    attrs = {m[2]: (s1, e1 - s1), m[5]: (s2, e2 - s2)}

    marks = {b"lat": b"0", b"lon": str(marker_id).encode()}
    edits: list[tuple[int, int, bytes]] = [
        (int(s1[0]), int(e1[0]), marks[m[2]]),
        (int(s2[0]), int(e2[0]), marks[m[5]]),
    ]
    columns: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for name, (starts, lens) in attrs.items():
        columns[-1 if name == b"lat" else -2] = (_values(a, starts, lens), lens)
    slots = [j for j in range(k - 1) if tags[j].kind == "start" and tags[j + 1].kind == "end"]
    if len(slots) > 59:
        raise ScanDeclined("too many values per point")
    times: dict[int, np.ndarray] = {}
    slot_nonspace = 0
    for s, j in enumerate(slots):
        starts = gt2[:, j] + 1
        lens = lt2[:, j + 1] - starts
        if not lens.any():  # <x></x> everywhere: no text, read as None by both parsers
            continue
        buf = _values(a, starts, lens)
        slot_nonspace += _nonspace(buf)
        if is_utc_time(buf[:1], lens[:1])[0]:
            if not is_utc_time(buf, lens).all():
                raise ScanDeclined("a time that is not a plain UTC time")
            times[s] = parse_utc_times(buf, lens)
            marker = f"2000-01-01T00:00:{s:02d}Z".encode()
        elif is_decimal(buf[:1], lens[:1])[0]:
            columns[s] = (buf, lens)  # every row is checked while parsed
            marker = str(s).encode()
        else:
            raise ScanDeclined("a point value that is neither a number nor a UTC time")
        edits.append((int(starts[0]), int(starts[0] + lens[0]), marker))
    numbers = parse_decimal_columns(list(columns.values()))
    numbers = dict(zip(columns, numbers, strict=True))
    edits.sort()
    shape = _Shape(
        rows=rows,
        first_point=(int(lt2[0, 0]), int(gt2[0, k - 1]) + 1),
        edits=edits,
        numbers=numbers,
        times=times,
    )
    return shape, tag_ws, slot_nonspace


TCX_FIELDS = {
    b"Time": "timestamp",
    b"LatitudeDegrees": "lat",
    b"LongitudeDegrees": "lon",
    b"AltitudeMeters": "altitude_m",
    b"DistanceMeters": "distance_m",
    b"Speed": "speed_mps",
    b"RunCadence": "run_cadence",
    b"Cadence": "cadence",
    b"Value": "heart_rate",
}
"""Local names the TCX reader takes from any depth of a trackpoint (the last one wins)."""


def tcx_field_slots(tags: list[_Tag]) -> tuple[set[int], dict[int, str]]:
    """(the leaf elements of a TCX point's tags, the leaf read for each field) by the TCX
    reader's rule: every element whose *local* name is a field, the last one of a name
    winning; a field whose last element is not a leaf is null. Shared by this scan and the
    C accelerator's template (:mod:`.scan_accel`), which must read the same values."""
    slots = {
        j for j in range(len(tags) - 1) if tags[j].kind == "start" and tags[j + 1].kind == "end"
    }
    last: dict[str, int | None] = {}
    for j, tag in enumerate(tags):
        if tag.kind != "end":
            field = TCX_FIELDS.get(tag.name.rsplit(b":", 1)[-1])
            if field is not None:
                last[field] = j if j in slots else None
    return slots, {j: field for field, j in last.items() if j is not None}


def _read_tcx_shape(
    a: np.ndarray,
    tags: list[_Tag],
    rows: np.ndarray,
    lt2: np.ndarray,
    gt2: np.ndarray,
    tag_ws: int,
) -> tuple[_Shape, int, int]:
    """Values of TCX points of one shape, by the TCX reader's rule: every element of the
    point whose *local* name is a field, the last one of a name winning; an element that is
    not a leaf, or has no text, gives null (its text is whitespace or absent)."""
    slots, wanted = tcx_field_slots(tags)
    fields: dict[str, np.ndarray | None] = dict.fromkeys(TCX_FIELDS.values())
    slot_nonspace = 0
    for j in sorted(slots):
        starts = gt2[:, j] + 1
        lens = lt2[:, j + 1] - starts
        if not lens.any():
            continue  # no text anywhere: null, as in the reader
        buf = _values(a, starts, lens)
        slot_nonspace += _nonspace(buf)
        field = wanted.get(j)
        if field == "timestamp":
            if not is_utc_time(buf, lens).all():
                raise ScanDeclined("a <Time> that is not a plain UTC time")
            fields[field] = parse_utc_times(buf, lens)
        elif field is not None:
            fields[field] = parse_decimals(buf, lens)
    shape = _Shape(rows=rows, first_point=(0, 0), edits=[], numbers={}, times={}, fields=fields)
    return shape, tag_ws, slot_nonspace


def _next_quote(quotes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Position of the first '"' at or after each start (past the end: a huge number)."""
    at = np.searchsorted(quotes, starts)
    return np.append(quotes, np.iinfo(np.int32).max // 2).astype(np.int32)[at]


def _marker(data: bytes, seg: _Shape) -> bytes:
    start, end = seg.first_point
    out = []
    pos = start
    for lo, hi, text in seg.edits:
        out.append(data[pos:lo])
        out.append(text)
        pos = hi
    out.append(data[pos:end])
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


def _slot_of(value: object, kind: str, shape: _Shape) -> np.ndarray | None:
    """The column a marker's value names (None: no such value in the file)."""
    if value is None:
        return None
    if kind == "time":
        s = (int(value) - _SENTINEL_EPOCH_US) / 1e6  # type: ignore[call-overload]
        table = shape.times
    else:
        s = float(value)  # type: ignore[arg-type]
        table = shape.numbers
    if s != int(s) or int(s) < 0 or int(s) not in table:
        raise ScanDeclined(f"the extractor read a {kind} the scan cannot place")
    return table[int(s)]


_COLUMNS = ("time", "lat", "lon", "ele", "cad", "hr")


def _track_points(
    marks: pl.DataFrame, shapes: list[tuple[int, _Shape]], sizes: list[int], used: set[int]
) -> pl.DataFrame:
    """The real points of one track, from the marker rows the extractor returned for it.

    A segment's points are those of its shapes whose marker came back (a shape gpxpy would
    not see, e.g. in another namespace, drops its points as gpxpy does); segments follow in
    the order of their first marker.
    """
    by_segment: dict[int, list[tuple[_Shape, dict[str, np.ndarray | None]]]] = {}
    for row in marks.iter_rows(named=True):
        marker = row["lon"]
        if row["lat"] != 0.0 or marker != int(marker) or not 0 <= marker < len(shapes):
            raise ScanDeclined("the extractor read a point that is not a marker")
        if int(marker) in used:
            raise ScanDeclined("a marker read twice")
        used.add(int(marker))
        segment, shape = shapes[int(marker)]
        t = row["time"]
        cols = {
            "time": _slot_of(None if t is None else int(t.timestamp() * 1e6), "time", shape),
            "lat": shape.numbers[-1],
            "lon": shape.numbers[-2],
            "ele": _slot_of(row["ele"], "number", shape),
            "cad": _slot_of(row["cad"], "number", shape),
            "hr": _slot_of(row["hr"], "number", shape),
        }
        by_segment.setdefault(segment, []).append((shape, cols))
    out: dict[str, list[np.ndarray]] = {name: [] for name in _COLUMNS}
    for segment, parts in by_segment.items():
        n = sizes[segment]
        keep = np.zeros(n, dtype=bool)
        full = {name: np.full(n, np.nan) for name in _COLUMNS}
        for shape, cols in parts:
            keep[shape.rows] = True
            for name, values in cols.items():
                if values is not None:
                    full[name][shape.rows] = values
        for name in _COLUMNS:
            out[name].append(full[name] if keep.all() else full[name][keep])
    series = {
        name: pl.Series(name, np.concatenate(cols), nan_to_null=True) for name, cols in out.items()
    }
    # Series.cast runs directly (no lazy query): Int64 microseconds -> aware UTC datetimes
    series["time"] = series["time"].cast(pl.Int64).cast(pl.Datetime("us", "UTC"))
    return pl.DataFrame(list(series.values()))


SegmentReader = Callable[[bytes, int, int, str], tuple[int, int, list[_Shape]] | None]
"""(data, body start, first marker id, kind) -> (body end, points, shapes) of the body
that starts there and ends at the first closing tag (``</trkseg>``, ``</Track>``) after
it; None when there is no closing tag."""

_CLOSING = {"gpx": b"</trkseg>", "tcx": b"</Track>"}


def _numpy_reader(data: bytes) -> SegmentReader:
    a = np.frombuffer(data, dtype=np.uint8)

    def read(d: bytes, lo: int, first_id: int, kind: str) -> tuple[int, int, list[_Shape]] | None:
        hi = d.find(_CLOSING[kind], lo)
        if hi < 0:
            return None
        if d.find(b"<", lo, hi) < 0:  # an empty body
            return hi, 0, []
        return hi, *_scan_segment(d, a, lo, hi, first_id, kind)

    return read


def _with_reader(
    scan: Callable[[bytes, SegmentReader], _T], data: bytes, notes: list[str] | None
) -> _T:
    """``scan`` with the C accelerator's segment reader (:mod:`.scan_accel`) when it is
    built and enabled, else (or when it cannot prove a body) with the numpy one; a C
    decline is noted in ``notes`` (shown under ``--debug``)."""
    from kneeflags.parsers import scan_accel

    if scan_accel.ENABLED:
        try:
            return scan(data, scan_accel.scan_segment)
        except scan_accel.AccelDeclined as exc:
            if notes is not None:
                notes.append(f"C scan not used ({exc}): numpy scan instead")
    return scan(data, _numpy_reader(data))


def scan_gpx(data: bytes, notes: list[str] | None = None) -> GpxDocument:
    """GPX bytes -> :class:`GpxDocument` by the vectorised scan (module docstring).

    Raises :class:`ScanDeclined` when it cannot prove the result equal to the streaming
    extractor's (and so gpxpy's); ``GpxRefused`` or ``FastPathUnsupported`` from the
    extractor pass through unchanged. Why the C accelerator stepped aside, if it did, is
    appended to ``notes``.
    """
    return _with_reader(_scan_gpx, _strip_bom(data), notes)


def _scan_gpx(data: bytes, read_segment: SegmentReader) -> GpxDocument:
    from kneeflags.parsers.xml_fast import parse_gpx_fast

    # Segment bodies are found by their literal tags: this is only sound where no comment,
    # CDATA section or DTD can hide a '<trkseg>' (after the last '-->', none may appear).
    search_from = _prolog_end(data)
    pieces: list[bytes] = []
    shapes: list[tuple[int, _Shape]] = []
    sizes: list[int] = []
    pos = 0  # end of what is already in pieces
    cursor = search_from
    while True:
        open_at = data.find(b"<trkseg>", cursor)
        if open_at < 0:
            break
        lo = open_at + len(b"<trkseg>")
        found = read_segment(data, lo, len(shapes), "gpx")
        if found is None:
            break
        hi, n, seg_shapes = found
        cursor = hi
        if not n:  # empty segment
            continue
        pieces.append(data[pos:lo])
        pieces.extend(_marker(data, shape) for shape in seg_shapes)
        shapes.extend((len(sizes), shape) for shape in seg_shapes)
        sizes.append(n)
        pos = hi
    pieces.append(data[pos:])
    if not shapes:
        raise ScanDeclined("no segment the scan can read")
    skeleton_bytes = b"".join(pieces)
    originals = skeleton_bytes.count(b"trkpt") - sum(
        _marker(data, shape).count(b"trkpt") for _, shape in shapes
    )
    if originals:
        raise ScanDeclined("points outside the scanned segments")
    skeleton = parse_gpx_fast(skeleton_bytes)
    used: set[int] = set()
    tracks = []
    for trk in skeleton.tracks:
        if trk.points.height == 0:
            tracks.append(trk)
            continue
        points = _track_points(trk.points, shapes, sizes, used)
        tracks.append(GpxTrack(name=trk.name, type=trk.type, points=points))
    skeleton.tracks = tracks
    skeleton.decoder = DECODER_NAME
    return skeleton


TCX_MARKER = b"kneeflags-scan-marker"
"""Element left in a TCX skeleton where a scanned <Track> body was (``n`` = its index)."""

TCX_COLUMNS = (
    "timestamp",
    "lat",
    "lon",
    "altitude_m",
    "distance_m",
    "speed_mps",
    "heart_rate",
    "run_cadence",
    "cadence",
)
"""A TCX track's columns, in order: the scanned and the streamed reader build the same frame."""


def _prolog_end(data: bytes) -> int:
    """Where segments may be looked for: after the last comment, or decline (see scan_gpx).

    Single-byte finds are memchr: a document without any '!' costs almost nothing here.
    """
    search_from = data.rfind(b"-->") + 1 if data.find(b"!") >= 0 else 0
    if data.find(b"!", search_from) >= 0 and data.find(b"<!", search_from) >= 0:
        raise ScanDeclined("a CDATA section or DTD after the prolog")
    prolog_end = data.find(b"?>") + 2 if data.startswith(b"<?") else 0
    if (
        data.find(b"?", max(search_from, prolog_end)) >= 0
        and data.find(b"<?", max(search_from, 1)) >= 0
    ):
        raise ScanDeclined("a processing instruction after the prolog")
    return search_from


def scan_tcx(body: bytes, notes: list[str] | None = None) -> tuple[bytes, list[pl.DataFrame]]:
    """A screened TCX document (ASCII-compatible, no DTD) -> (skeleton, one frame per track).

    Every ``<Track>`` body is proved and read like a GPX segment (module docstring), with
    the TCX reader's meaning: fields by local name at any depth, the last of a name wins.
    The skeleton is the document with each scanned body replaced by
    ``<kneeflags-scan-marker n="i"/>``; the TCX reader parses it (Activities, Laps, Id,
    Creator...) and takes track ``i``'s frame where it meets the marker. Why the C
    accelerator stepped aside, if it did, is appended to ``notes``.
    """
    return _with_reader(_scan_tcx, body, notes)


def _scan_tcx(body: bytes, read_segment: SegmentReader) -> tuple[bytes, list[pl.DataFrame]]:
    search_from = _prolog_end(body)
    pieces: list[bytes] = []
    frames: list[pl.DataFrame] = []
    pos = 0
    cursor = search_from
    while True:
        open_at = body.find(b"<Track>", cursor)
        if open_at < 0:
            break
        lo = open_at + len(b"<Track>")
        found = read_segment(body, lo, 0, "tcx")
        if found is None:
            break
        hi, n, shapes = found
        cursor = hi
        if not n:
            continue
        full = {name: np.full(n, np.nan) for name in TCX_COLUMNS}
        for shape in shapes:
            for name, values in (shape.fields or {}).items():
                if values is not None:
                    full[name][shape.rows] = values
        series = [pl.Series(name, full[name], nan_to_null=True) for name in TCX_COLUMNS]
        series[0] = series[0].cast(pl.Int64).cast(pl.Datetime("us", "UTC"))
        frames.append(pl.DataFrame(series))
        pieces.append(body[pos:lo])
        pieces.append(b"<" + TCX_MARKER + b' n="' + str(len(frames) - 1).encode() + b'"/>')
        pos = hi
    pieces.append(body[pos:])
    if not frames:
        raise ScanDeclined("no track the scan can read")
    skeleton = b"".join(pieces)
    # The marker name anywhere but in the markers made here is declined. Asked of the
    # small skeleton, not the whole document (a search of it was ~0.5 ms a file): a scanned
    # body, the only text not in the skeleton, never reaches the TCX reader, and a marker
    # joined in cannot make a new occurrence (it is bounded by '<' and '/>').
    if skeleton.count(TCX_MARKER) != len(frames):
        raise ScanDeclined("a document that already holds the scan's marker name")
    if skeleton.count(b"Trackpoint"):
        raise ScanDeclined("trackpoints outside the scanned tracks")
    return skeleton, frames


__all__ = [
    "DECODER_NAME",
    "ScanDeclined",
    "is_decimal",
    "is_utc_time",
    "parse_decimals",
    "parse_utc_times",
    "scan_gpx",
    "scan_tcx",
]
