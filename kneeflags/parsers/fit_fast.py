"""Columnar FIT decoder: the fast path for the messages kneeflags reads.

fitparse builds several Python objects per field, which costs about a
millisecond per hundred records; a year of one athlete's runs takes minutes.
The bytes of a run are tiny, though, and almost all of them are ``record``
messages of one fixed layout. So this decoder

1. walks the message *headers* in Python only as far as needed to find
   message boundaries: definitions are few, and data messages of one local
   definition all have the same size, so a run of same-type messages is found
   with one strided numpy comparison instead of one Python step per message;
2. groups the data messages by definition and unpacks each record group with
   one structured ``numpy.frombuffer`` over a gathered index array, turning
   every field into a column in a handful of vectorised operations;
3. decodes the few non-record messages it needs (file_id, device_info,
   session, lap, activity, event) one by one in Python, following fitparse's
   rules exactly (sub-fields, components, scale and offset, enum names).

fitparse stays the reference: the output follows the
:mod:`kneeflags.parsers.fit_decoded` conventions and is checked against
fitparse on every real file in the test corpus. Where fitparse has a quirk
that matters for equality (a component and a field of the same name: the last
one in the definition wins; accumulated distance restarting at every
redefinition), this decoder reproduces it. Anything it cannot reproduce with
certainty raises :class:`FastPathUnsupported`, and the caller falls back to
fitparse.

Broken input is handled, not rejected: a file that ends early keeps every
complete message before the break (``partial=True``, with a problem text
such as ``truncated FIT file: data ends at byte 61,440 of 102,400``); a wrong
CRC is reported in ``crc_ok`` and ``problem`` but the data is still used.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np

from kneeflags.parsers import fit_profile as prof
from kneeflags.parsers.fit_crc import crc_bytewise, fit_crc
from kneeflags.parsers.fit_decoded import (
    MAX_FIT_MESSAGES,
    RECORD_COLUMNS,
    DeferredColumn,
    FitDecoded,
    FitTooLarge,
    Message,
    NotFitError,
    column_array,
)
from kneeflags.records import record

DECODER_NAME = "fast"


class FastPathUnsupported(Exception):
    """The file uses something the fast path does not reproduce; decode it with fitparse."""


# --------------------------------------------------------------------------------------------
# Definitions and the header walk
# --------------------------------------------------------------------------------------------

_WANTED = {
    prof.MESG_FILE_ID: "file_ids",
    prof.MESG_DEVICE_INFO: "device_infos",
    prof.MESG_SESSION: "sessions",
    prof.MESG_LAP: "laps",
    prof.MESG_ACTIVITY: "activities",
    prof.MESG_EVENT: "events",
    prof.MESG_SPORT: "sports",
}
"""Non-record messages decoded one by one, and the FitDecoded list each goes to."""


INT_COLUMNS = frozenset({"timestamp", "position_lat", "position_long"})

_TS = prof.FIELD_NUM_TIMESTAMP
_CSD = 8  # record.compressed_speed_distance


@record
class _Def:
    """One definition message, as found in the file."""

    pos: int
    mesg_num: int
    big_endian: bool
    fields: tuple[tuple[int, int, int], ...]
    """(field number, size in bytes, base-type number) in data order."""
    offsets: tuple[int, ...]
    """Byte offset of each field inside the data message, after the 1-byte header."""
    dev_nums: tuple[int, ...]
    size: int
    """Size of a data message using this definition, header byte included."""
    bad: str | None = None
    """Why data messages of this definition cannot be read like fitparse does (or None)."""

    def field_index(self, num: int) -> int | None:
        for i, f in enumerate(self.fields):
            if f[0] == num:
                return i
        return None


@record
class _Walk:
    """Message boundaries of one FIT part: where each data message read afterwards starts,
    and its definition (a message nothing reads is counted, not listed: see :func:`_kept`)."""

    defs: list[_Def]
    starts: np.ndarray
    """Byte offset of every listed data message (header byte), in file order (int32, or
    int64 for data past 2 GiB)."""
    def_of: np.ndarray
    """Index into ``defs`` of each listed data message (int32)."""
    comp: np.ndarray
    """True where the message has a compressed-timestamp header."""
    stop_pos: int
    """Where decoding stopped (== end of data when complete)."""
    stop_reason: str | None
    """None if the walk reached the end; else "truncated" or a one-line problem."""

    def release(self) -> None:
        """Drop the per-message arrays (9 bytes a message) once the messages are read:
        only where the walk stopped is used after that."""
        self.starts = self.def_of = np.zeros(0, dtype=np.int64)
        self.comp = np.zeros(0, dtype=bool)

    def offsets(self, di: int, comp: bool | None = None) -> np.ndarray:
        """Start offsets of the data messages of definition ``di`` (optionally by header kind)."""
        sel = self.def_of == di
        if comp is not None:
            sel &= self.comp == comp
        return self.starts[sel]


def _run_count(u8: np.ndarray, pos: int, size: int, end: int, header: int) -> int:
    """How many complete data messages of ``size`` bytes with this header follow from ``pos``.

    Message k+1 starts right after message k, so the first mismatch in the strided view of
    header bytes ends the run; checking chunks of growing length keeps a short run cheap and
    a long one a few vectorised comparisons.
    """
    most = (end - pos) // size
    if most <= 0:
        return 0
    view = u8[pos : pos + most * size : size]
    k = 0
    chunk = 64
    while k < most:
        hi = min(most, k + chunk)
        bad = np.flatnonzero(view[k:hi] != header)
        if bad.size:
            return k + int(bad[0])
        k = hi
        chunk *= 4
    return most


_FIELD_LISTS: dict[bytes, tuple[tuple[int, int, int], ...]] = {}
_FIELD_LISTS_MAX = 2048
"""A definition's fields are (number, size, base type) triples: tuples made anew for
every definition of every file were a third of a small file's decoding memory (a device
writes the same few hundred definitions again and again). Up to this many field lists,
keyed by their bytes, are shared: one look-up a definition, not one a field."""


def _field_list(raw: bytes) -> tuple[tuple[int, int, int], ...]:
    fields = _FIELD_LISTS.get(raw)
    if fields is None:
        fields = tuple((raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3))
        if len(_FIELD_LISTS) < _FIELD_LISTS_MAX:
            _FIELD_LISTS[raw] = fields
    return fields


def _parse_definition(buf: bytes, pos: int, end: int, header: int) -> tuple[_Def, int] | None:
    """Parse the definition message at ``pos``: (definition, next position), or None if it
    does not fit before ``end``."""
    if pos + 6 > end:
        return None
    big = buf[pos + 2] != 0
    mesg_num = int.from_bytes(buf[pos + 3 : pos + 5], "big" if big else "little")
    nf = buf[pos + 5]
    p = pos + 6 + 3 * nf
    if p > end:
        return None
    raw = buf[pos + 6 : p]
    fields = _field_list(raw)
    dev_nums: tuple[int, ...] = ()
    dev_size = 0
    bad = None
    if header & 0x20:
        if p + 1 > end:
            return None
        nd = buf[p]
        q = p + 1 + 3 * nd
        if q > end:
            return None
        draw = buf[p + 1 : q]
        dev_nums = tuple(draw[i] for i in range(0, 3 * nd, 3))
        sizes = [draw[i + 1] for i in range(0, 3 * nd, 3)]
        dev_size = sum(sizes)
        if 0 in sizes:
            bad = "developer field of size 0"
        p = q
    offsets = []
    off = 1
    for num, size, bnum in fields:
        bt = prof.base_type(bnum)
        if size % bt.size:
            raise FastPathUnsupported(
                f"field {num} of message {mesg_num} has size {size}, not a multiple of "
                f"its base type {bt.name} ({bt.size} bytes)"
            )
        if size == 0:
            bad = f"field {num} of message {mesg_num} has size 0"
        offsets.append(off)
        off += size
    return _Def(
        pos=pos,
        mesg_num=mesg_num,
        big_endian=big,
        fields=fields,
        offsets=tuple(offsets),
        dev_nums=dev_nums,
        size=off + dev_size,
        bad=bad,
    ), p


_RUN_JUMP = 16
"""After this many identical headers in a row, the rest of the run is found with numpy."""


def _kept(d: _Def) -> bool:
    """Whether the data messages of ``d`` are listed by the walk: the messages decoded
    (records and :data:`_WANTED`), those that may set the compressed-timestamp accumulator
    (a timestamp field, or a developer field numbered 253, which :func:`_resolve_compressed`
    refuses) and those of a definition the fast path cannot read (refused if used)."""
    return (
        d.mesg_num == prof.MESG_RECORD
        or d.mesg_num in _WANTED
        or d.bad is not None
        or d.field_index(_TS) is not None
        or 253 in d.dev_nums
    )


def _walk(buf: bytes, u8: np.ndarray, start: int, end: int) -> _Walk:
    """Find every message boundary between ``start`` and ``end`` (one FIT part's data).

    The loop does the least possible per data message (two table lookups, by header byte, of
    its size and definition, and two appends); long runs of one message type are skipped
    with :func:`_run_count` and written out by numpy.

    Only the messages read afterwards are listed (see :func:`_kept`, and every message with a
    compressed-timestamp header): a device's file is up to half per-beat and GPS metadata
    messages of 5 to 9 bytes, which nothing reads. They are listed in two ``array.array``
    of 4-byte integers (8-byte past 2 GiB) that numpy then reads in place: the Python lists
    and int64 pieces joined at the end, as before, held 33 bytes for every message of the
    file at the walk's peak, twice the file for such a device.
    """
    code = "i" if end < 2**31 else "q"
    idtype = np.int32 if code == "i" else np.int64
    defs: list[_Def] = []
    sizes = [0] * 256  # data-message size by header byte under the current definitions
    def_by_header = [0] * 256  # index into defs, by header byte
    keep = [True] * 256  # whether the message is listed, by header byte
    starts = array(code)  # offsets of the listed messages, in file order
    start_defs = array("i")  # their definitions
    append, append_def = starts.append, start_defs.append
    pos = start
    last_h = -1
    rep = 0
    size = 0
    skipped = 0  # messages not listed (counted for the cap)
    reason: str | None = None
    while pos < end:
        h = buf[pos]
        size = sizes[h]
        if size:
            if keep[h]:
                append(pos)
                append_def(def_by_header[h])
            else:
                skipped += 1
            pos += size
            if h == last_h:
                rep += 1
                if rep == _RUN_JUMP:
                    m = _run_count(u8, pos, size, end, h)
                    if skipped + len(starts) + m > MAX_FIT_MESSAGES:
                        raise FitTooLarge
                    if m:
                        if keep[h]:
                            run = np.arange(pos, pos + m * size, size, dtype=idtype)
                            starts.frombytes(run.tobytes())
                            run = np.full(m, def_by_header[h], dtype=np.int32)
                            start_defs.frombytes(run.tobytes())
                            del run
                        else:
                            skipped += m
                        pos += m * size
                    rep = 0
            else:
                last_h = h
                rep = 0
                # checked on a change of header only: cheap, and a file over the cap
                # changes header at least every _RUN_JUMP messages (else it is a run)
                if skipped + len(starts) > MAX_FIT_MESSAGES:
                    raise FitTooLarge
            continue
        if h & 0x80 or not h & 0x40:
            lt = (h >> 5) & 3 if h & 0x80 else h & 0x0F
            reason = f"FIT data message at byte {pos:,} uses undefined local message type {lt}"
            break
        parsed = _parse_definition(buf, pos, end, h)
        if parsed is None:
            reason = "truncated"
            break
        d, pos = parsed
        lt = h & 0x0F
        di = len(defs)
        defs.append(d)
        kept = _kept(d)
        for hb in (lt, lt | 0x10, lt | 0x20, lt | 0x30):
            sizes[hb] = d.size
            def_by_header[hb] = di
            keep[hb] = kept
        if lt < 4:  # compressed-timestamp headers: always listed (keep stays True)
            base = 0x80 | (lt << 5)
            sizes[base : base + 32] = [d.size] * 32
            def_by_header[base : base + 32] = [di] * 32
        last_h = -1
    arr = np.frombuffer(starts, dtype=idtype)  # no copy: the arrays are not grown again
    def_of = np.frombuffer(start_defs, dtype=np.int32)
    total = skipped + arr.size
    if pos > end:  # the last message (found alone, not in a run) runs past the end of the data
        pos -= size
        total -= 1
        if keep[buf[pos]]:
            arr, def_of = arr[:-1], def_of[:-1]
        reason = "truncated"
    if total > MAX_FIT_MESSAGES:  # exact: the checks in the loop may run short by a run
        raise FitTooLarge
    comp = u8[arr] >= 0x80
    used = np.bincount(def_of, minlength=len(defs)) if def_of.size else np.zeros(len(defs))
    for di in np.flatnonzero(used).tolist():
        if defs[di].bad:
            raise FastPathUnsupported(f"{defs[di].bad} (fitparse cannot read it either)")
    return _Walk(defs=defs, starts=arr, def_of=def_of, comp=comp, stop_pos=pos, stop_reason=reason)


def _rows(
    u8: np.ndarray, buf: bytes, d: _Def, offs: np.ndarray, dtype: np.dtype
) -> tuple[np.ndarray | dict[str, np.ndarray], bool]:
    """The fields of ``dtype`` over the data messages of ``d`` starting at ``offs``, by name,
    and whether they are views of the file's bytes.

    ``dtype`` describes a whole message (header byte included). One run of adjacent messages
    is read in place (a structured array). Of scattered messages, each field is gathered on
    its own into a compact array, its bytes in each message taken as one row of a sliding
    window over the file: an index array of every byte of the messages, as before, was
    eight times their size, most of the memory of reading a real device's file (whose
    records are interleaved with other messages), and the fields not read are not copied.
    """
    n = offs.size
    if n == 1 or int(offs[-1] - offs[0]) == (n - 1) * d.size:
        return np.frombuffer(buf, dtype=dtype, count=n, offset=int(offs[0])), True
    fields: dict[str, np.ndarray] = {}
    for name in dtype.names or ():
        fmt, off = dtype.fields[name][:2]  # type: ignore[index]
        window = np.lib.stride_tricks.sliding_window_view(u8, fmt.itemsize)
        fields[name] = window[offs + off].view(fmt.base).reshape((n, *fmt.shape))
    return fields, False


def _struct_dtype(d: _Def, indices: Iterable[int]) -> np.dtype:
    names, formats, offsets = [], [], []
    for i in indices:
        _num, size, bnum = d.fields[i]
        bt = prof.base_type(bnum)
        names.append(f"f{i}")
        n = size // bt.size
        base = prof.numpy_dtype(bt, d.big_endian)
        formats.append(base if n == 1 else (base, (n,)))
        offsets.append(d.offsets[i])
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": d.size})


# --------------------------------------------------------------------------------------------
# Timestamps of compressed-header messages
# --------------------------------------------------------------------------------------------


def _valid_mask(values: np.ndarray, bt: prof.BaseType) -> np.ndarray:
    if bt.dtype.startswith("f"):
        return ~np.isnan(values)
    return values != bt.invalid


def _resolve_compressed(
    walk: _Walk, u8: np.ndarray, buf: bytes
) -> tuple[np.ndarray, np.ndarray] | None:
    """Timestamps of compressed-header messages: (sorted message offsets, FIT seconds).

    fitparse keeps one accumulator per part: every field numbered 253 with a valid value sets
    it, and a compressed header adds its 5-bit offset with rollover. Between two absolute
    timestamps the increments only depend on consecutive offsets, so the whole chain resolves
    with one cumulative sum.
    """
    if not walk.comp.any():
        return None
    abs_offs: list[np.ndarray] = []
    abs_vals: list[np.ndarray] = []
    for di, d in enumerate(walk.defs):
        offs = walk.offsets(di)
        if not offs.size:
            continue
        if 253 in d.dev_nums:
            raise FastPathUnsupported("a developer field numbered 253 feeds the timestamp")
        ti = d.field_index(_TS)
        if ti is None:
            continue
        if walk.offsets(di, comp=True).size:
            raise FastPathUnsupported("compressed-timestamp header on a message with a timestamp")
        _num, size, bnum = d.fields[ti]
        bt = prof.base_type(bnum)
        if size != bt.size or bt.name in ("string", "byte") or bt.size == 8 or bt.dtype[0] == "f":
            raise FastPathUnsupported(f"timestamp field of size {size} ({bt.name})")
        vals = _rows(u8, buf, d, offs, _struct_dtype(d, [ti]))[0][f"f{ti}"]
        ok = _valid_mask(vals, bt)
        abs_offs.append(offs[ok])
        abs_vals.append(vals[ok].astype(np.int64))
    comp_offs = walk.starts[walk.comp]
    a_offs = np.concatenate(abs_offs) if abs_offs else np.zeros(0, np.int64)
    a_vals = np.concatenate(abs_vals) if abs_vals else np.zeros(0, np.int64)
    offs = np.concatenate((a_offs, comp_offs))
    is_abs = np.concatenate((np.ones(a_offs.size, bool), np.zeros(comp_offs.size, bool)))
    low5 = np.concatenate((a_vals & 0x1F, u8[comp_offs].astype(np.int64) & 0x1F))
    absval = np.concatenate((a_vals, np.zeros(comp_offs.size, np.int64)))
    order = np.argsort(offs, kind="stable")
    offs, is_abs, low5, absval = offs[order], is_abs[order], low5[order], absval[order]
    seg = np.cumsum(is_abs)  # segment 0: before any absolute timestamp (accumulator = 0)
    prev = np.concatenate(([0], low5[:-1]))
    delta = np.where(is_abs, 0, (low5 - prev) & 0x1F)
    csum = np.cumsum(delta)
    base_abs = np.concatenate(([0], absval[is_abs]))
    csum_at_seg = np.concatenate(([0], csum[is_abs]))
    ts = base_abs[seg] + csum - csum_at_seg[seg]
    comp = ~is_abs
    return offs[comp], ts[comp]


def _lookup_ts(resolved: tuple[np.ndarray, np.ndarray], offs: np.ndarray) -> np.ndarray:
    keys, ts = resolved
    return ts[np.searchsorted(keys, offs)]


# --------------------------------------------------------------------------------------------
# Records: columnar
# --------------------------------------------------------------------------------------------

_RECORD = prof.MESSAGES[prof.MESG_RECORD]


def _record_plan(d: _Def) -> dict[str, tuple[int, prof.Component | None]]:
    """Which field (or component of a field) supplies each record column.

    A field written in the file beats a value expanded from another field's component
    (``enhanced_speed`` over the one fitparse derives from ``speed``), whatever the order; of
    several components of one name the first wins. This is the rule of
    :func:`kneeflags.parsers.fit._fields_by_name`, so both decoders agree.
    """
    real: dict[str, tuple[int, prof.Component | None]] = {}
    derived: dict[str, tuple[int, prof.Component | None]] = {}
    for i, (num, _size, _b) in enumerate(d.fields):
        spec = _RECORD.fields.get(num)
        if spec is None:
            continue
        for comp in spec.components:
            derived.setdefault(_RECORD.fields[comp.num].name, (i, comp))
        real[spec.name] = (i, None)
    plan = derived | real
    plan.pop("compressed_speed_distance", None)
    return plan


def _scaled(values: np.ndarray, scale: float | None, offset: float | None) -> np.ndarray:
    """``values / scale - offset`` as a new float64 array, worked on in place (the same
    IEEE operations; one array per column instead of three at once)."""
    out = values.astype(np.float64)  # a copy, always
    if scale:
        out /= scale
    if offset:
        out -= offset
    return out


def _invalid_to_nan(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``np.where(valid, values, nan)`` in place (``values`` and ``valid`` are fresh arrays of
    ours: ``valid`` is inverted in place)."""
    values[np.logical_not(valid, out=valid)] = np.nan
    return values


class _FieldColumn(DeferredColumn):
    """A record column still in the file's bytes: one field of the record messages (a view of
    ``_rows``), or a bit-field component of one, scaled when the builder takes it.

    Converting every column up front held all the decoded float64 columns (2.6 times the
    file for a typical run) with the file itself and then with the canonical columns: the
    builder now converts each when it makes the canonical column from it.
    :meth:`materialize` does what the decoder did (the same operations, the same values).
    """

    __slots__ = ("borrowed", "bt", "mask", "offset", "raw", "scale", "shift")

    def __init__(
        self,
        raw: np.ndarray,
        bt: prof.BaseType,
        scale: float | None,
        offset: float | None,
        shift: int | None = None,
        mask: int = 0,
        *,
        borrowed: bool = False,
    ) -> None:
        self.raw, self.bt, self.scale, self.offset = raw, bt, scale, offset
        self.shift, self.mask = shift, mask
        self.borrowed = borrowed
        """Whether ``raw`` is a view of the file's bytes (else a compact copy of its own)."""

    def __len__(self) -> int:
        return len(self.raw)

    def any_valid(self) -> bool:
        """Whether any value is valid (else the column is all NaN: absent)."""
        if self.bt.dtype.startswith("f"):
            return not np.isnan(self.raw).all()
        return bool((self.raw != self.bt.invalid).any())

    def select(self, mask: np.ndarray) -> DeferredColumn:
        return _FieldColumn(self.raw[mask], self.bt, self.scale, self.offset, self.shift, self.mask)

    def rows(self, a: int, b: int) -> _FieldColumn:
        """Rows ``a:b`` (a view of the raw values: their conversion is the same)."""
        return _FieldColumn(self.raw[a:b], self.bt, self.scale, self.offset, self.shift, self.mask)

    def detach(self) -> None:
        if self.borrowed:
            self.raw = self.raw.copy()  # the field alone, compact: not the messages' other bytes
            self.borrowed = False

    def materialize(self) -> np.ndarray:
        valid = _valid_mask(self.raw, self.bt)
        if self.shift is None:
            vals = _scaled(self.raw, self.scale, self.offset)
        else:
            bits = self.raw.astype(np.int64)  # ((raw >> shift) & mask), in place
            bits >>= self.shift
            bits &= self.mask
            vals = _scaled(bits, self.scale, self.offset)
            del bits
        return _invalid_to_nan(vals, valid)


_MERGED_REBUILDS = 4
"""Sessions' takes of a merged record column that rebuild it (see
:meth:`_MergedColumn.rows_of`); more sessions than this keep it built."""


class _MergedColumn(DeferredColumn):
    """A record column of several record definitions, merged into file order when taken:
    ``parts`` (a column or None for all-invalid, and its length) in group order, ``which``
    the part each row of the merged column comes from. A part's messages are in file order,
    so its values fill the rows labelled with it in order: one byte a row (the int64 row
    index of every element, as before, was a third of a device's file)."""

    __slots__ = ("_selections", "_whole", "parts", "which")

    def __init__(
        self, parts: list[tuple[np.ndarray | DeferredColumn | None, int]], which: np.ndarray
    ) -> None:
        self.parts, self.which = parts, which
        self._selections = 0  # sessions' rows taken so far (see rows_of)
        self._whole: np.ndarray | None = None

    def __len__(self) -> int:
        return self.which.size

    def any_valid(self) -> bool:
        for part, _n in self.parts:
            if isinstance(part, _FieldColumn):
                if part.any_valid():
                    return True
            elif part is not None and not np.isnan(part).all():
                return True
        return False

    def select(self, mask: np.ndarray) -> DeferredColumn:
        return _SelectedColumn(self, mask)

    def rows_of(self, mask: np.ndarray) -> np.ndarray:
        """The merged column's rows where ``mask`` is true. The first
        :data:`_MERGED_REBUILDS` takes build the column and let it go (a multisport file's
        few sessions: memory as for one); from then on it is built once and kept, since
        rebuilding it for each of a file's 1,000 sessions took 24 s instead of 2 s."""
        if self._whole is not None:
            return self._whole[mask]
        self._selections += 1
        whole = self.materialize()
        if self._selections > _MERGED_REBUILDS:
            self._whole = whole
        return whole[mask]

    def detach(self) -> None:
        for part, _n in self.parts:
            if isinstance(part, DeferredColumn):
                part.detach()

    def materialize(self) -> np.ndarray:
        """``np.concatenate(parts)[order]``, written a block of rows at a time: a part
        converted whole (float64, next to the merged column) was a third of a real
        device's file (records of two or three definitions interleaved) at the peak, which
        is the last sample column's. Blocks of an eighth of the rows (at least
        :data:`_MERGE_STEP_MIN`): a few steps a column, and a step's arrays are a byte a
        row."""
        which = self.which
        out = np.empty(which.size)
        parts = self.parts
        step = min(_CHUNK_ROWS, max(_MERGE_STEP_MIN, which.size // _MERGE_STEPS))
        if len(parts) > _MERGE_STEP_PARTS:  # (hostile) every part is read once, in one block
            step = max(1, which.size)
        taken = [0] * len(parts)  # values of each part written so far

        def values(k: int, count: int) -> np.ndarray:
            part = parts[k][0]
            a, b = taken[k], taken[k] + count
            taken[k] = b
            if part is None:
                return np.full(count, np.nan)
            if isinstance(part, _FieldColumn):
                return part.rows(a, b).materialize()
            return column_array(part)[a:b]

        for r0 in range(0, which.size, step):
            block = which[r0 : r0 + step]
            dest = out[r0 : r0 + step]
            present = np.flatnonzero(np.bincount(block, minlength=len(parts))).tolist()
            if len(present) <= _MERGE_STEP_PARTS:  # a mask a part: a byte a row
                for k in present:
                    mine = block == k
                    dest[mine] = values(k, int(np.count_nonzero(mine)))
            else:  # the rows grouped by part (in order within a part), then scattered
                counts = np.bincount(block, minlength=len(parts))
                dest[np.argsort(block, kind="stable")] = np.concatenate(
                    [values(k, int(counts[k])) for k in present]
                )
        return out


class _SelectedColumn(DeferredColumn):
    """Rows of a merged column (a session's, of a file with several), selected when taken:
    selected at once, as before, every column of the session was converted whole and held
    next to the session's sample columns (a third more than the table at the peak)."""

    __slots__ = ("column", "mask", "size")

    def __init__(self, column: _MergedColumn, mask: np.ndarray) -> None:
        self.column, self.mask = column, mask
        self.size = int(np.count_nonzero(mask))

    def __len__(self) -> int:
        return self.size

    def select(self, mask: np.ndarray) -> np.ndarray:
        return self.materialize()[mask]  # rare (relative stamps and several sessions): eager

    def detach(self) -> None:
        self.column.detach()

    def materialize(self) -> np.ndarray:
        return self.column.rows_of(self.mask)


def _numeric(d: _Def, i: int, what: str) -> prof.BaseType:
    _num, size, bnum = d.fields[i]
    bt = prof.base_type(bnum)
    if bt.name in ("string", "byte") or (bt.size == 8 and not bt.dtype.startswith("f")):
        raise FastPathUnsupported(f"record field {what} has base type {bt.name}")
    if size != bt.size:
        raise FastPathUnsupported(f"record field {what} is an array ({size} bytes of {bt.name})")
    return bt


def _decode_records(
    walk: _Walk, u8: np.ndarray, buf: bytes, resolved: tuple[np.ndarray, np.ndarray] | None
) -> dict[str, np.ndarray | DeferredColumn]:
    groups: list[tuple[np.ndarray, dict[str, np.ndarray | DeferredColumn]]] = []
    acc_jobs: list[tuple[int, str, np.ndarray, np.ndarray, np.ndarray]] = []
    resets: list[int] = []
    for di, d in enumerate(walk.defs):
        if d.mesg_num != prof.MESG_RECORD:
            continue
        ci = d.field_index(_CSD)
        if ci is not None:
            resets.append(d.pos)
        if not (walk.def_of == di).any():
            continue
        plan = _record_plan(d)
        # Only the fields of the columns made are read (gathered, when the records are
        # scattered): a device's records carry more (power, temperature, developer fields...)
        dtype = _struct_dtype(
            d,
            sorted(
                {i for name, (i, _c) in plan.items() if name in RECORD_COLUMNS}
                | {i for i, _c in plan.values() if d.fields[i][0] == _CSD}
            ),
        )
        for comp_flag in (False, True):
            offs = walk.offsets(di, comp_flag)
            if not offs.size:
                continue
            rows, borrowed = _rows(u8, buf, d, offs, dtype)
            cols: dict[str, np.ndarray | DeferredColumn] = {}
            for name, (i, comp) in plan.items():
                num = d.fields[i][0]
                if num == _CSD and comp is not None:
                    raw24, valid = _csd_raw(d, i, rows)
                    bits = (raw24 >> comp.bit_offset) & ((1 << comp.bits) - 1)
                    if comp.accumulate:
                        acc_jobs.append((len(groups), name, offs, bits, valid))
                        cols[name] = np.full(offs.size, np.nan)
                    else:
                        cols[name] = _invalid_to_nan(_scaled(bits, comp.scale, comp.offset), valid)
                    continue
                bt = _numeric(d, i, name)
                if name not in RECORD_COLUMNS:  # not read; checked all the same
                    if comp is not None and comp.accumulate:
                        raise FastPathUnsupported(f"accumulated component {name}")
                    continue
                if name in INT_COLUMNS and bt.dtype.startswith("f"):
                    raise FastPathUnsupported(f"record field {name} has base type {bt.name}")
                raw = rows[f"f{i}"]
                if comp is None:
                    spec = _RECORD.fields[num]
                    col = _FieldColumn(raw, bt, spec.scale, spec.offset, borrowed=borrowed)
                else:
                    if comp.accumulate:
                        raise FastPathUnsupported(f"accumulated component {name}")
                    shift = None if bt.dtype.startswith("f") else comp.bit_offset
                    bitmask = (1 << comp.bits) - 1
                    col = _FieldColumn(
                        raw, bt, comp.scale, comp.offset, shift, bitmask, borrowed=borrowed
                    )
                # deferred (see _FieldColumn), but for the timestamp, which the builder needs
                # whole at once
                cols[name] = col.materialize() if name == "timestamp" else col
            if comp_flag:
                if "timestamp" in cols or resolved is None:
                    raise FastPathUnsupported("compressed header on a record with a timestamp")
                cols["timestamp"] = _lookup_ts(resolved, offs).astype(np.float64)
            groups.append((offs, cols))
    walk.release()  # every message is read: the columns are merged without the walk's arrays
    if not groups:
        return {}
    if acc_jobs:
        _accumulate(groups, acc_jobs, np.asarray(sorted(resets), dtype=np.int64))
    return _assemble(groups)


def _csd_raw(
    d: _Def, i: int, rows: np.ndarray | dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """compressed_speed_distance as a 24-bit little-endian number, and its validity."""
    _num, size, bnum = d.fields[i]
    if prof.base_type(bnum).name != "byte" or size != 3:
        raise FastPathUnsupported("compressed_speed_distance is not 3 bytes")
    b = rows[f"f{i}"].astype(np.int64)
    return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16), ~(b == 0xFF).all(axis=1)


def _accumulate(
    groups: list[tuple[np.ndarray, dict[str, np.ndarray | DeferredColumn]]],
    jobs: list[tuple[int, str, np.ndarray, np.ndarray, np.ndarray]],
    resets: np.ndarray,
) -> None:
    """Distance from compressed_speed_distance: 12-bit counts of 1/16 m, accumulated.

    fitparse restarts the accumulator at 0 at every record definition holding the field and
    skips invalid values; within one such segment the distance is the cumulative sum of the
    12-bit rollover increments, in file order across all record definitions.
    """
    names = {j[1] for j in jobs}
    if len(names) != 1:  # pragma: no cover - the profile has a single accumulated record field
        raise FastPathUnsupported("several accumulated record fields")
    comp = next(c for c in _RECORD.fields[_CSD].components if c.accumulate)
    mask = (1 << comp.bits) - 1
    offs = np.concatenate([j[2] for j in jobs])
    raw = np.concatenate([j[3] for j in jobs])
    valid = np.concatenate([j[4] for j in jobs])
    order = np.argsort(offs, kind="stable")
    v_offs, v_raw = offs[order][valid[order]], raw[order][valid[order]]
    seg = np.searchsorted(resets, v_offs, side="right")
    first = np.ones(v_raw.size, dtype=bool)
    first[1:] = seg[1:] != seg[:-1]
    prev = np.concatenate(([0], v_raw[:-1]))
    prev[first] = 0
    csum = np.cumsum((v_raw - prev) & mask)
    seg_start = np.maximum.accumulate(np.where(first, np.arange(v_raw.size), 0))
    acc = csum - np.concatenate(([0], csum))[seg_start]
    values_sorted = np.full(offs.size, np.nan)
    values_sorted[valid[order]] = _scaled(acc, comp.scale, comp.offset)
    values = np.empty(offs.size)
    values[order] = values_sorted
    start = 0
    for gi, name, j_offs, _raw, _valid in jobs:
        groups[gi][1][name] = values[start : start + j_offs.size]
        start += j_offs.size


_CHUNK_ROWS = 1 << 16
"""Most rows of a merged column written in one step (a bound on the step's own memory)."""

_MERGE_STEPS = 8
_MERGE_STEP_PARTS = 32
_MERGE_STEP_MIN = 256
"""A merged column is written in about :data:`_MERGE_STEPS` steps of at least this many rows
(and at most :data:`_CHUNK_ROWS`), in one when it has more than :data:`_MERGE_STEP_PARTS`
parts (each part is then converted once): see :meth:`_MergedColumn.materialize`."""


def _assemble(
    groups: list[tuple[np.ndarray, dict[str, np.ndarray | DeferredColumn]]],
) -> dict[str, np.ndarray | DeferredColumn]:
    """The groups' columns merged into file order (see ``FitDecoded.record_columns``).

    The columns of several groups stay deferred (:class:`_MergedColumn`), but for the
    timestamp; a column that is invalid throughout is left out.
    """
    names = [c for c in RECORD_COLUMNS if any(c in cols for _o, cols in groups)]
    data: dict[str, np.ndarray | DeferredColumn]
    if len(groups) == 1:
        _offs, cols = groups[0]
        data = {n: cols[n] for n in names}
    else:
        order = np.argsort(np.concatenate([o for o, _c in groups]), kind="stable")
        label = np.repeat(
            np.arange(len(groups), dtype=np.min_scalar_type(len(groups))),
            [o.size for o, _c in groups],
        )
        which = label[order]  # the group of each row of the merged columns
        del order, label
        data = {n: _MergedColumn([(c.get(n), o.size) for o, c in groups], which) for n in names}
        if "timestamp" in data:
            data["timestamp"] = column_array(data["timestamp"])
    rows = len(next(iter(data.values())))
    out: dict[str, np.ndarray | DeferredColumn] = {
        "timestamp": data.get("timestamp", np.full(rows, np.nan))
    }
    for n in names:
        if n == "timestamp":
            continue
        v = data[n]
        if isinstance(v, _FieldColumn | _MergedColumn):
            if v.any_valid():
                out[n] = v
        elif not np.isnan(v).all():  # all invalid: absent
            out[n] = np.asarray(v, dtype=np.float64)
    return out


# --------------------------------------------------------------------------------------------
# Other messages: one by one, exactly as fitparse renders them
# --------------------------------------------------------------------------------------------


def _parse_string(raw: bytes) -> str | None:
    cut = raw.find(b"\x00")
    s = raw if cut < 0 else raw[:cut]
    return s.decode("utf-8", errors="replace") or None


def _parse_value(bt: prof.BaseType, chunk: bytes, big: bool) -> Any:
    """A field's raw value as fitparse gives it: None if invalid, tuples for arrays."""
    if bt.name == "string":
        return _parse_string(chunk)
    if bt.name == "byte":
        return None if all(b == 0xFF for b in chunk) else tuple(chunk)
    n = len(chunk) // bt.size
    vals = struct.unpack(("<" if not big else ">") + f"{n}{bt.struct_fmt}", chunk)

    def clean(v: Any) -> Any:
        if bt.invalid is None:
            return None if v != v else v  # NaN
        return None if v == bt.invalid else v

    if n == 1:
        return clean(vals[0])
    return tuple(clean(v) for v in vals)


def _scale_offset(scale: float | None, offset: float | None, value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_scale_offset(scale, offset, v) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if scale:
            value = float(value) / scale
        if offset:
            value = value - offset
    return value


def _render(type_name: str, value: Any) -> Any:
    table = prof.TYPES.get(type_name)
    if table is not None and isinstance(value, int) and value in table:
        return table[value]
    return value


def _component_raw(comp: prof.Component, raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, tuple):
        if comp.bit_offset and comp.bit_offset >= len(raw) << 3:
            raise ValueError
        if not all(isinstance(v, int) for v in raw):
            # fitparse fails on this (TypeError): let the fallback report it
            raise FastPathUnsupported(f"component {comp.name} of an array with invalid values")
        n = 0
        for v in reversed(raw):
            n = (n << 8) + v
        raw = n
    if isinstance(raw, int):
        raw = (raw >> comp.bit_offset) & ((1 << comp.bits) - 1)
    return raw


def _resolve_subfield(
    spec: prof.FieldSpec, raw_by_num: dict[int, Any]
) -> prof.FieldSpec | prof.SubField:
    for sub in spec.subfields:
        for ref_num, ref_raw in sub.refs:
            if ref_num in raw_by_num and raw_by_num[ref_num] == ref_raw:
                return sub
    return spec


def _decode_message(
    mspec: prof.MessageSpec, d: _Def, buf: bytes, off: int, ts: int | None
) -> Message:
    raws: list[Any] = []
    raw_by_num: dict[int, Any] = {}
    for (num, size, bnum), foff in zip(d.fields, d.offsets, strict=True):
        if num in mspec.fields:
            v = _parse_value(
                prof.base_type(bnum), buf[off + foff : off + foff + size], d.big_endian
            )
        else:
            v = None
        raws.append(v)
        raw_by_num.setdefault(num, v)
    out: Message = {}
    for (num, _size, _b), raw in zip(d.fields, raws, strict=True):  # see _record_plan for rules
        spec = mspec.fields.get(num)
        if spec is None:
            continue
        field = _resolve_subfield(spec, raw_by_num)
        for comp in field.components:
            if comp.accumulate:
                raise FastPathUnsupported(f"accumulated component in {mspec.name}")
            try:
                c = _component_raw(comp, raw)
            except ValueError:
                continue
            c = _scale_offset(comp.scale, comp.offset, c)
            target = _resolve_subfield(mspec.fields[comp.num], raw_by_num)
            if target.name not in out:
                out[target.name] = _render(target.type, c)
        if field.type in prof.DATE_TIME_TYPES:
            out[field.name] = raw
        else:
            out[field.name] = _scale_offset(field.scale, field.offset, _render(field.type, raw))
    if ts is not None:
        out["timestamp"] = ts
    return out


# --------------------------------------------------------------------------------------------
# Parts and the public entry point
# --------------------------------------------------------------------------------------------


_NOT_ACTIVITY_OK = (None, "activity", 4)


def _decode_part(
    buf: bytes, u8: np.ndarray, start: int, end: int
) -> tuple[FitDecoded, _Walk, bool]:
    """Decode one part; the flag is False for a non-activity file (only file_id is kept)."""
    walk = _walk(buf, u8, start, end)
    resolved = _resolve_compressed(walk, u8, buf)
    out = FitDecoded(decoder=DECODER_NAME)
    found: dict[str, list[tuple[int, Message]]] = {}
    for di, d in enumerate(walk.defs):
        attr = _WANTED.get(d.mesg_num)
        if attr is None:
            continue
        if not (walk.def_of == di).any():
            continue
        mspec = prof.MESSAGES[d.mesg_num]
        for comp_flag in (False, True):
            offs = walk.offsets(di, comp_flag)
            if not offs.size:
                continue
            tss = _lookup_ts(resolved, offs).tolist() if comp_flag and resolved else None
            if tss is not None and d.field_index(_TS) is not None:
                raise FastPathUnsupported("compressed header on a message with a timestamp")
            lst = found.setdefault(attr, [])
            for k, o in enumerate(offs.tolist()):
                lst.append((o, _decode_message(mspec, d, buf, o, tss[k] if tss else None)))
    for items in found.values():
        items.sort(key=lambda t: t[0])
    file_ids = found.get("file_ids", [])
    if file_ids and file_ids[0][1].get("type") not in _NOT_ACTIVITY_OK:
        # Settings, monitoring, workouts...: nothing below file_id is needed (as in fit.py).
        first = file_ids[0][0]
        out.file_ids = [m for o, m in file_ids if o <= first]
        return out, walk, False
    for attr, items in found.items():
        setattr(out, attr, [m for _o, m in items])
    out.record_columns = _decode_records(walk, u8, buf, resolved)
    return out, walk, True


def _add_problem(part: FitDecoded, text: str) -> None:
    part.problem = text if not part.problem else f"{part.problem}; {text}"


def decode_fit_fast(data: bytes | bytearray | memoryview) -> list[FitDecoded]:
    """Decode a FIT file (possibly several chained FIT files) into one FitDecoded per part.

    Raises :class:`~kneeflags.parsers.fit_decoded.NotFitError` (as the fitparse decoder
    does) when the data does not start with a FIT header, and
    :class:`FastPathUnsupported` when fitparse must decode the file instead. Everything else
    (truncation, CRC mismatch, junk after the data) is reported in the parts' ``problem``.
    """
    buf = bytes(data)
    n = len(buf)
    u8 = np.frombuffer(buf, dtype=np.uint8)
    parts: list[FitDecoded] = []
    if n == 0:
        raise NotFitError("not a FIT file: empty")
    pos = 0
    while pos < n:
        bad_header = None
        if n - pos < 12:
            bad_header = f"{n - pos} bytes, too short for a FIT header"
        elif buf[pos + 8 : pos + 12] != b".FIT":
            bad_header = "no .FIT signature"
        elif buf[pos] < 12 or buf[pos] == 13:
            bad_header = f"invalid FIT header size {buf[pos]}"
        if bad_header:
            if not parts:
                raise NotFitError(f"not a FIT file: {bad_header}")
            _add_problem(parts[-1], f"unreadable data after byte {pos:,} ({bad_header}); ignored")
            break
        hsize = buf[pos]
        data_size = int.from_bytes(buf[pos + 4 : pos + 8], "little")
        data_start = pos + hsize
        data_end = data_start + data_size
        expected = data_end + 2
        header_crc_ok = True
        if hsize >= 14 and data_start <= n:
            stored = int.from_bytes(buf[pos + 12 : pos + 14], "little")
            header_crc_ok = stored in (0, crc_bytewise(buf[pos : pos + 12]))
        walk_end = min(data_end, n)
        # The CRC of every part that is whole (the only ones checked below), taken before
        # its records are decoded: the CRC's working memory and the decoded columns are
        # then never held at the same time (together they were 8 times a FIT file).
        computed = fit_crc(memoryview(buf)[pos:data_end]) if expected <= n else 0
        if data_start > n:
            part = FitDecoded(decoder=DECODER_NAME)
            walk_stop, reason = n, "truncated"
        else:
            part, walk, activity = _decode_part(buf, u8, data_start, walk_end)
            walk_stop, reason = walk.stop_pos, walk.stop_reason
            if not activity and reason != "truncated":
                reason, walk_stop = None, data_end  # not read past file_id, like fit.py
        parts.append(part)
        truncated_text = f"truncated FIT file: data ends at byte {n:,} of {expected:,}"
        if reason == "truncated" and data_end <= n:
            reason = (
                f"FIT message at byte {walk_stop:,} runs past the end of the data "
                f"({data_end:,} per the header)"
            )
        if reason == "truncated" or (reason is None and expected > n):
            part.partial = True
            _add_problem(part, truncated_text)
            break
        if reason is not None:
            # Broken data inside the part: keep what came before, go on with the next
            # chained part (its header says where it starts).
            part.partial = True
            _add_problem(part, f"{reason}; the rest of this part is ignored")
            if expected > n:
                _add_problem(part, truncated_text)
                break
        elif walk_stop != data_end:  # pragma: no cover - the walk stops exactly at the end
            raise FastPathUnsupported("message boundaries do not meet the data size")
        stored_crc = int.from_bytes(buf[data_end : data_end + 2], "little")
        part.crc_ok = stored_crc in (0, computed)  # 0: the writer did not compute one
        if not part.crc_ok:
            _add_problem(
                part,
                f"FIT file CRC mismatch (stored 0x{stored_crc:04X}, computed 0x{computed:04X})",
            )
        elif not header_crc_ok:
            _add_problem(part, "FIT header CRC mismatch")
        pos = expected
    return parts
