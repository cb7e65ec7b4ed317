"""A small, fast FIT *writer* for tests and benchmarks.

kneeflags never writes FIT files for users; this module exists so tests can
build files with exactly known content (including the awkward corners of the
format: big-endian definitions, compressed-timestamp headers, developer
fields, chained files, wrong CRCs, truncation) and so ``make bench`` can
generate hundreds of one-hour runs in seconds. It is checked against fitparse
in ``tests/test_fitwriter.py``.

Two layers:

* :class:`FitEncoder` writes raw messages: definitions, single data
  messages, and whole blocks of data messages built as one numpy structured
  array (one row per message, header byte included), so an hour of 1 Hz
  records costs a few array operations instead of 3,600 Python steps.
  ``to_bytes`` adds the header and both CRCs.
* :func:`write_activity` writes a complete activity file (file_id,
  device_info, events, records, laps, session, activity) from columns in
  physical units, and :func:`synthetic_run` makes realistic columns for a
  run (positions, altitude, speed, cadence with fractional part, heart rate).

Values go through the profile's scale and offset (``raw = round((value +
offset) * scale)``); NaN means "invalid" and is written as the base type's
invalid value, which a decoder must turn back into null.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kneeflags.parsers import fit_profile as prof
from kneeflags.parsers.fit_decoded import FIT_EPOCH_UNIX
from kneeflags.parsers.fit_fast import fit_crc
from kneeflags.records import record

FIT_EPOCH = datetime.fromtimestamp(FIT_EPOCH_UNIX, tz=UTC)

FieldLayout = tuple[int, str, int]
"""(field number, base type name, number of values); strings: number of bytes."""


def fit_time(when: datetime) -> int:
    """FIT seconds (since 1989-12-31T00:00:00Z) of an aware datetime."""
    if when.tzinfo is None:
        raise ValueError("fit_time needs an aware datetime")
    return round((when - FIT_EPOCH).total_seconds())


def _bt(name: str) -> prof.BaseType:
    return prof.BASE_TYPE_BY_NAME[name]


@record
class _Layout:
    mesg_num: int
    big_endian: bool
    fields: tuple[FieldLayout, ...]
    dev_size: int
    dtype: np.dtype
    """Whole data message: ``h`` (header byte), ``f0``.. (fields), ``dev`` (raw bytes)."""


class FitEncoder:
    """Builds the data section of one FIT file, message by message or block by block.

    Definitions are written with :meth:`define`; data with :meth:`message` (one message, any
    values) or :meth:`rows` + :meth:`write_rows` (many messages at once, vectorised). Raw bytes
    can be spliced in with :meth:`raw` to make deliberately broken files.
    """

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._layouts: dict[int, _Layout] = {}

    def define(
        self,
        local: int,
        mesg_num: int,
        fields: Sequence[FieldLayout],
        *,
        big_endian: bool = False,
        dev_fields: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        """Write a definition message for ``local`` (0-15).

        ``dev_fields`` are (developer field number, size in bytes, developer data index).
        """
        e = ">" if big_endian else "<"
        header = 0x40 | local | (0x20 if dev_fields else 0)
        out = bytearray(struct.pack(e + "BBBHB", header, 0, int(big_endian), mesg_num, len(fields)))
        names, formats, offsets = ["h"], ["u1"], [0]
        off = 1
        for i, (num, bname, count) in enumerate(fields):
            bt = _bt(bname)
            size = bt.size * count
            out += bytes((num, size, bt.num))
            names.append(f"f{i}")
            if bname == "string":
                formats.append(f"S{count}")
            else:
                base = prof.numpy_dtype(bt, big_endian)
                formats.append(base if count == 1 else (base, (count,)))
            offsets.append(off)
            off += size
        dev_size = sum(size for _n, size, _i in dev_fields)
        if dev_fields:
            out.append(len(dev_fields))
            for num, size, index in dev_fields:
                out += bytes((num, size, index))
            names.append("dev")
            formats.append(("u1", (dev_size,)))
            offsets.append(off)
        dtype = np.dtype(
            {"names": names, "formats": formats, "offsets": offsets, "itemsize": off + dev_size}
        )
        self._layouts[local] = _Layout(mesg_num, big_endian, tuple(fields), dev_size, dtype)
        self._chunks.append(bytes(out))

    def message(
        self,
        local: int,
        values: Sequence[Any],
        *,
        dev: bytes = b"",
        time_offset: int | None = None,
    ) -> None:
        """Write one data message; ``values`` are raw (already scaled), None = invalid.

        ``time_offset`` (0-31) writes a compressed-timestamp header instead of a normal one.
        """
        lay = self._layouts[local]
        row = np.zeros(1, dtype=lay.dtype)
        row["h"] = _header(local, time_offset)
        for i, ((_num, bname, count), v) in enumerate(zip(lay.fields, values, strict=True)):
            bt = _bt(bname)
            if bname == "string":
                row[f"f{i}"] = b"" if v is None else str(v).encode()[:count]
            elif v is None:
                row[f"f{i}"] = _invalid(bt)
            else:
                row[f"f{i}"] = v
        if lay.dev_size:
            row["dev"] = np.frombuffer(dev.ljust(lay.dev_size, b"\xff"), np.uint8)
        self._chunks.append(row.tobytes())

    def rows(
        self,
        local: int,
        columns: Sequence[np.ndarray | None],
        *,
        time_offsets: np.ndarray | None = None,
        dev: np.ndarray | None = None,
    ) -> np.ndarray:
        """Many data messages of ``local`` as one structured array (not yet written).

        ``columns`` hold raw values per field (None: all invalid); ``time_offsets`` gives
        compressed-timestamp headers; ``dev`` is an (n, dev_size) uint8 array of developer bytes.
        """
        lay = self._layouts[local]
        n = next(len(c) for c in (*columns, time_offsets, dev) if c is not None)
        rows = np.zeros(n, dtype=lay.dtype)
        rows["h"] = local if time_offsets is None else 0x80 | (local << 5) | (time_offsets & 0x1F)
        for i, ((_num, bname, _count), col) in enumerate(zip(lay.fields, columns, strict=True)):
            rows[f"f{i}"] = _invalid(_bt(bname)) if col is None else col
        if lay.dev_size:
            rows["dev"] = 0xFF if dev is None else dev
        return rows

    def write_rows(self, *blocks: tuple[np.ndarray, np.ndarray | None]) -> None:
        """Write blocks from :meth:`rows`, merged in the order of their sort keys.

        Each block is (rows, keys); keys (floats) interleave messages of different sizes, ties
        keep block order. With one block the keys may be None.
        """
        if len(blocks) == 1:
            self._chunks.append(blocks[0][0].tobytes())
            return
        sizes = np.concatenate([np.full(len(r), r.dtype.itemsize) for r, _k in blocks])
        keys = np.concatenate([np.asarray(k, dtype=np.float64) for _r, k in blocks])
        order = np.argsort(keys, kind="stable")
        starts_sorted = np.concatenate(([0], np.cumsum(sizes[order])[:-1]))
        starts = np.empty_like(starts_sorted)
        starts[order] = starts_sorted
        out = np.empty(int(sizes.sum()), dtype=np.uint8)
        first = 0
        for r, _k in blocks:
            n, size = len(r), r.dtype.itemsize
            raw = np.frombuffer(r.tobytes(), dtype=np.uint8).reshape(n, size)
            out[starts[first : first + n, None] + np.arange(size)] = raw
            first += n
        self._chunks.append(out.tobytes())

    def raw(self, data: bytes) -> None:
        """Append arbitrary bytes (for deliberately broken files)."""
        self._chunks.append(bytes(data))

    def data(self) -> bytes:
        return b"".join(self._chunks)

    def to_bytes(
        self,
        *,
        header_size: int = 14,
        protocol_version: int = 0x20,
        profile_version: int = 2080,
        data_size: int | None = None,
        header_crc: bool = True,
    ) -> bytes:
        """Header + data + file CRC. ``data_size`` overrides the header's size field."""
        return fit_file(
            self.data(),
            header_size=header_size,
            protocol_version=protocol_version,
            profile_version=profile_version,
            data_size=data_size,
            header_crc=header_crc,
        )


def fit_file(
    data: bytes,
    *,
    header_size: int = 14,
    protocol_version: int = 0x20,
    profile_version: int = 2080,
    data_size: int | None = None,
    header_crc: bool = True,
) -> bytes:
    """Wrap a data section in a FIT header and append the file CRC (over header + data)."""
    if header_size not in (12, 14):
        raise ValueError("FIT header size must be 12 or 14")
    size = len(data) if data_size is None else data_size
    head = struct.pack("<BBHI4s", header_size, protocol_version, profile_version, size, b".FIT")
    if header_size == 14:
        head += struct.pack("<H", fit_crc(head) if header_crc else 0)
    body = head + data
    return body + struct.pack("<H", fit_crc(body))


def chain(*files: bytes) -> bytes:
    """A chained FIT file: complete FIT files one after the other (e.g. a triathlon)."""
    return b"".join(files)


def _header(local: int, time_offset: int | None) -> int:
    if time_offset is None:
        return local
    if not 0 <= local <= 3:
        raise ValueError("compressed-timestamp headers only address local types 0-3")
    return 0x80 | (local << 5) | (time_offset & 0x1F)


def _invalid(bt: prof.BaseType) -> Any:
    if bt.invalid is not None:
        return bt.invalid
    if bt.name.startswith("float"):
        return np.nan
    return 0xFF  # byte arrays: all 0xFF


# --------------------------------------------------------------------------------------------
# Profile-aware encoding (physical units in, raw values out)
# --------------------------------------------------------------------------------------------


def _spec(mesg_num: int, name: str) -> prof.FieldSpec:
    for spec in prof.MESSAGES[mesg_num].fields.values():
        if spec.name == name:
            return spec
    raise KeyError(f"{name} is not a field of message {mesg_num} in kneeflags' profile subset")


def _base_name(spec: prof.FieldSpec) -> str:
    return spec.type if spec.type in prof.BASE_TYPE_BY_NAME else prof.TYPE_BASE[spec.type]


def encode_column(mesg_num: int, name: str, values: Any, base: str | None = None) -> np.ndarray:
    """Raw values of a profile field from physical values (NaN -> invalid), vectorised."""
    spec = _spec(mesg_num, name)
    bt = _bt(base or _base_name(spec))
    v = np.asarray(values, dtype=np.float64)
    raw = v.copy()
    if spec.offset:
        raw = raw + spec.offset
    if spec.scale:
        raw = raw * spec.scale
    raw = np.rint(raw)
    bad = np.isnan(raw)
    dtype = np.dtype(bt.dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        good = raw[~bad]
        if good.size and (good.min() < info.min or good.max() > info.max):
            raise ValueError(f"{name}: values out of range for {bt.name}")
        if bt.invalid is not None and good.size and (good == bt.invalid).any():
            raise ValueError(f"{name}: a value encodes as the invalid marker of {bt.name}")
    return np.where(bad, _invalid(bt), raw).astype(dtype)


def _encode_scalar(mesg_num: int, name: str, value: Any) -> tuple[FieldLayout, Any]:
    spec = _spec(mesg_num, name)
    bname = _base_name(spec)
    if bname == "string":
        text = "" if value is None else str(value)
        return (spec.num, "string", len(text.encode()) + 1), text
    if value is None:
        return (spec.num, bname, 1), None
    if isinstance(value, str):
        table = prof.TYPES.get(spec.type, {})
        reverse = {v: k for k, v in table.items()}
        if value not in reverse:
            raise KeyError(f"{value!r} is not a {spec.type} name")
        return (spec.num, bname, 1), reverse[value]
    if isinstance(value, datetime):
        value = fit_time(value)
    return (spec.num, bname, 1), int(encode_column(mesg_num, name, [value])[0])


def write_message(
    enc: FitEncoder,
    local: int,
    mesg_num: int,
    values: Mapping[str, Any],
    *,
    big_endian: bool = False,
) -> None:
    """Define ``local`` for these fields and write one message (profile names and units)."""
    encoded = [_encode_scalar(mesg_num, k, v) for k, v in values.items()]
    enc.define(local, mesg_num, [lay for lay, _v in encoded], big_endian=big_endian)
    enc.message(local, [v for _lay, v in encoded])


# --------------------------------------------------------------------------------------------
# Whole activities
# --------------------------------------------------------------------------------------------

RECORD_FIELD_ORDER = (
    "timestamp",
    "position_lat",
    "position_long",
    "distance",
    "enhanced_speed",
    "speed",
    "enhanced_altitude",
    "altitude",
    "heart_rate",
    "cadence",
    "fractional_cadence",
)
"""Default order of record fields (a typical Garmin layout)."""

FILLER_MESG_NUM = 0xFF01
"""A manufacturer-specific message number no decoder knows; used to interleave other messages."""


@record
class DeveloperField:
    """A developer (Connect IQ) record field: described by field_description messages."""

    name: str
    num: int
    values: np.ndarray
    """Raw values, one per record, in ``base_type``."""
    base_type: str = "uint16"
    units: str = ""
    developer_data_index: int = 0


def write_activity(
    records: Mapping[str, np.ndarray],
    *,
    sport: str = "running",
    sub_sport: str = "generic",
    manufacturer: str | int = "garmin",
    product: str | int = "fr935",
    serial_number: int = 3_912_345_678,
    utc_offset_s: int = 0,
    laps: int = 1,
    lap_starts: Sequence[int] | None = None,
    lap_fields: Sequence[Mapping[str, Any]] | None = None,
    big_endian: bool = False,
    compressed_timestamps: bool = False,
    developer_fields: Sequence[DeveloperField] = (),
    field_order: Sequence[str] | None = None,
    filler_every: int | None = None,
    session: Mapping[str, Any] | None = None,
    header_size: int = 14,
) -> bytes:
    """A complete single-session activity FIT file from record columns in physical units.

    ``records`` maps record field names (see :data:`RECORD_FIELD_ORDER`) to equal-length
    arrays; ``timestamp`` (FIT seconds, increasing) is required. Positions are semicircles.
    Options exercise decoder paths: ``big_endian`` definitions, ``compressed_timestamps``
    (record headers carry a 5-bit time offset wherever the gap is under 32 s),
    ``developer_fields`` (developer_data_id + field_description + extra record bytes),
    ``field_order`` (e.g. put ``enhanced_speed`` before ``speed``), ``filler_every`` (an
    unknown message with a timestamp after every n-th record, so records are not contiguous).
    ``session`` overrides or adds session fields. ``lap_starts`` (record indices, first 0)
    places the laps instead of splitting the records evenly, and ``lap_fields`` overrides
    or adds fields per lap (e.g. ``{"intensity": "rest"}``): a structured workout's laps.
    """
    ts = np.asarray(records["timestamp"], dtype=np.int64)
    n = ts.size
    if n == 0:
        raise ValueError("write_activity needs at least one record")
    order = [f for f in (field_order or RECORD_FIELD_ORDER) if f in records]
    unknown = set(records) - set(order)
    if unknown:
        raise KeyError(f"record fields not written: {sorted(unknown)}")
    enc = FitEncoder()
    e = big_endian
    start, end = int(ts[0]), int(ts[-1])
    dist = records.get("distance")
    if dist is not None:  # carry the last valid distance over invalid samples
        dist = np.asarray(dist, dtype=np.float64)
        valid = ~np.isnan(dist)
        last = np.maximum.accumulate(np.where(valid, np.arange(n), -1))
        dist = np.where(last >= 0, dist[np.maximum(last, 0)], 0.0)
    total_distance = float(dist[-1]) if dist is not None else 0.0
    product_field = "garmin_product" if manufacturer in ("garmin", 1) else "product"
    write_message(
        enc,
        3,
        prof.MESG_FILE_ID,
        {
            "type": "activity",
            "manufacturer": manufacturer,
            "product": _product_raw(product, product_field),
            "serial_number": serial_number,
            "time_created": start,
        },
        big_endian=e,
    )
    write_message(
        enc,
        4,
        prof.MESG_DEVICE_INFO,
        {
            "timestamp": start,
            "device_index": 0,
            "manufacturer": manufacturer,
            "serial_number": serial_number,
            "product": _product_raw(product, product_field),
            "software_version": 12.34,
        },
        big_endian=e,
    )
    if developer_fields:
        _write_developer_messages(enc, developer_fields, e)
    write_message(
        enc,
        5,
        prof.MESG_EVENT,
        {"timestamp": start, "event": "timer", "event_type": "start", "data": 0},
        big_endian=e,
    )

    # Records: one vectorised block (two local types when some headers are compressed).
    cols = {
        name: (
            ts.astype(np.uint32)
            if name == "timestamp"
            else encode_column(prof.MESG_RECORD, name, records[name])
        )
        for name in order
    }
    layouts: list[FieldLayout] = []
    for name in order:
        spec = _spec(prof.MESG_RECORD, name)
        layouts.append((spec.num, _base_name(spec), 1))
    dev_defs = [(f.num, _bt(f.base_type).size, f.developer_data_index) for f in developer_fields]
    dev_bytes = None
    if developer_fields:
        dtype = np.dtype(
            [
                (f"d{k}", prof.numpy_dtype(_bt(f.base_type), e))
                for k, f in enumerate(developer_fields)
            ]
        )
        packed = np.zeros(n, dtype=dtype)
        for k, f in enumerate(developer_fields):
            packed[f"d{k}"] = f.values
        dev_bytes = np.frombuffer(packed.tobytes(), np.uint8).reshape(n, dtype.itemsize)
    enc.define(0, prof.MESG_RECORD, layouts, big_endian=e, dev_fields=dev_defs)
    full_idx = np.arange(n)
    blocks: list[tuple[np.ndarray, np.ndarray | None]] = []
    if compressed_timestamps:
        gap = np.diff(ts, prepend=ts[0] - 1000)
        comp = (gap >= 0) & (gap < 32)
        comp[0] = False
        full_idx = np.flatnonzero(~comp)
        comp_idx = np.flatnonzero(comp)
        keep = [k for k, name in enumerate(order) if name != "timestamp"]
        enc.define(
            1,
            prof.MESG_RECORD,
            [layouts[k] for k in keep],
            big_endian=e,
            dev_fields=dev_defs,
        )
        if comp_idx.size:
            blocks.append(
                (
                    enc.rows(
                        1,
                        [cols[order[k]][comp_idx] for k in keep],
                        time_offsets=ts[comp_idx] & 0x1F,
                        dev=None if dev_bytes is None else dev_bytes[comp_idx],
                    ),
                    comp_idx.astype(np.float64),
                )
            )
    if full_idx.size:
        blocks.append(
            (
                enc.rows(
                    0,
                    [cols[name][full_idx] for name in order],
                    dev=None if dev_bytes is None else dev_bytes[full_idx],
                ),
                full_idx.astype(np.float64),
            )
        )
    if filler_every:
        enc.define(2, FILLER_MESG_NUM, [(253, "uint32", 1), (0, "uint8", 1), (1, "uint16", 3)])
        after = np.arange(filler_every - 1, n, filler_every)
        filler = enc.rows(
            2,
            [ts[after].astype(np.uint32), after % 200, np.tile([1, 2, 3], (after.size, 1))],
        )
        blocks.append((filler, after + 0.5))
    enc.write_rows(*blocks)

    # Laps split the records evenly; then the session and activity summaries.
    if lap_starts is not None:
        laps = len(lap_starts)
        bounds = np.asarray([*lap_starts, n], dtype=int)
    else:
        bounds = np.linspace(0, n, max(1, laps) + 1).astype(int)
    for k in range(max(1, laps)):
        a, b = bounds[k], bounds[k + 1] - 1
        lap_dist = _at(dist, b) - (_at(dist, a - 1) if a > 0 else 0.0)
        write_message(
            enc,
            6,
            prof.MESG_LAP,
            {
                "timestamp": int(ts[b]),
                "message_index": k,
                "event": "lap",
                "event_type": "stop",
                "start_time": int(ts[a]),
                "total_elapsed_time": float(ts[b] - ts[a]),
                "total_timer_time": float(ts[b] - ts[a]),
                "total_distance": lap_dist,
                "sport": sport,
                "sub_sport": sub_sport,
                "lap_trigger": "manual" if k < laps - 1 else "session_end",
                **(lap_fields[k] if lap_fields is not None else {}),
            },
            big_endian=e,
        )
    write_message(
        enc,
        5,
        prof.MESG_EVENT,
        {"timestamp": end, "event": "timer", "event_type": "stop_all", "data": 0},
        big_endian=e,
    )
    sess: dict[str, Any] = {
        "timestamp": end,
        "message_index": 0,
        "event": "session",
        "event_type": "stop",
        "start_time": start,
        "sport": sport,
        "sub_sport": sub_sport,
        "total_elapsed_time": float(end - start),
        "total_timer_time": float(end - start),
        "total_distance": total_distance,
        "first_lap_index": 0,
        "num_laps": max(1, laps),
        "trigger": "activity_end",
    }
    sess.update(session or {})
    write_message(enc, 7, prof.MESG_SESSION, sess, big_endian=e)
    write_message(
        enc,
        8,
        prof.MESG_ACTIVITY,
        {
            "timestamp": end,
            "total_timer_time": float(end - start),
            "num_sessions": 1,
            "type": "manual",
            "event": "activity",
            "event_type": "stop",
            "local_timestamp": end + utc_offset_s,
        },
        big_endian=e,
    )
    return enc.to_bytes(header_size=header_size)


def _at(values: np.ndarray | None, i: int) -> float:
    return 0.0 if values is None else float(values[i])


def _product_raw(product: str | int, field: str) -> int:
    if isinstance(product, int):
        return product
    reverse = {v: k for k, v in prof.TYPES[field].items()} if field == "garmin_product" else {}
    if product not in reverse:
        raise KeyError(f"unknown product {product!r}")
    return reverse[product]


def _write_developer_messages(
    enc: FitEncoder, fields: Sequence[DeveloperField], big_endian: bool
) -> None:
    """developer_data_id and field_description messages (profile numbers 207 and 206)."""
    e = big_endian
    indices = sorted({f.developer_data_index for f in fields})
    enc.define(
        9,
        prof.MESG_DEVELOPER_DATA_ID,
        [(0, "byte", 16), (1, "byte", 16), (2, "uint16", 1), (3, "uint8", 1), (4, "uint32", 1)],
        big_endian=e,
    )
    for index in indices:
        app_id = tuple(range(index * 16, index * 16 + 16))
        enc.message(9, [(0xFF,) * 16, app_id, 255, index, 1])
    for f in fields:
        name = f.name.encode()
        units = f.units.encode()
        enc.define(
            10,
            prof.MESG_FIELD_DESCRIPTION,
            [
                (0, "uint8", 1),
                (1, "uint8", 1),
                (2, "uint8", 1),
                (3, "string", len(name) + 1),
                (8, "string", len(units) + 1),
            ],
            big_endian=e,
        )
        enc.message(10, [f.developer_data_index, f.num, _bt(f.base_type).num, f.name, f.units])


# --------------------------------------------------------------------------------------------
# Synthetic runs
# --------------------------------------------------------------------------------------------


def synthetic_run(
    start: datetime | int,
    seconds: int = 3600,
    *,
    seed: int = 0,
    lat0: float = 47.37,
    lon0: float = 8.54,
    positions: bool = True,
    altitude: bool = True,
    cadence: bool = True,
    heart_rate: bool = True,
    legacy_fields: bool = False,
) -> dict[str, np.ndarray]:
    """Record columns of a plausible run at 1 Hz, deterministic for a seed.

    Values are already quantised to the profile's resolution, so a decoder must give them
    back exactly. Cadence is strides/min (FIT convention) with a fractional part in 1/128.
    ``legacy_fields`` writes 16-bit ``speed``/``altitude`` instead of the enhanced fields.
    """
    rng = np.random.default_rng(seed)
    t0 = start if isinstance(start, int) else fit_time(start)
    n = int(seconds)
    t = np.arange(n, dtype=np.float64)

    def smooth(x: np.ndarray, width: int) -> np.ndarray:
        width = max(1, min(width, x.size))
        kernel = np.ones(width) / width
        return np.convolve(x, kernel, mode="same")[: x.size]

    speed = 2.9 + 0.25 * np.sin(t / 400.0 + seed) + smooth(rng.normal(0, 0.15, n), 15)
    speed = np.round(np.clip(speed, 1.0, 6.0), 3)
    distance = np.round(np.concatenate(([0.0], np.cumsum(speed[1:]))), 2)
    out: dict[str, np.ndarray] = {"timestamp": (t0 + np.arange(n)).astype(np.int64)}
    if positions:
        heading = np.cumsum(smooth(rng.normal(0, 0.02, n), 30)) + rng.uniform(0, 2 * np.pi)
        lat = lat0 + np.cumsum(speed * np.cos(heading)) / 111_320.0
        lon = lon0 + np.cumsum(speed * np.sin(heading)) / (111_320.0 * np.cos(np.radians(lat0)))
        out["position_lat"] = np.round(lat * (2**31 / 180.0)).astype(np.int64)
        out["position_long"] = np.round(lon * (2**31 / 180.0)).astype(np.int64)
    out["distance"] = distance
    out["speed" if legacy_fields else "enhanced_speed"] = speed
    if altitude:
        alt = (
            420.0
            + 25.0 * np.sin(distance / 1500.0 + seed)
            + 8.0 * np.sin(distance / 310.0)
            + smooth(rng.normal(0, 0.3, n), 9)
        )
        out["altitude" if legacy_fields else "enhanced_altitude"] = np.round(alt * 5) / 5
    if heart_rate:
        hr = 118 + 32 * (1 - np.exp(-t / 420.0)) + smooth(rng.normal(0, 2.0, n), 5)
        out["heart_rate"] = np.round(hr)
    if cadence:
        cad = 84.0 + 2.5 * np.sin(t / 250.0) + smooth(rng.normal(0, 1.0, n), 5)
        cad = np.round(cad * 128) / 128
        out["cadence"] = np.floor(cad)
        out["fractional_cadence"] = cad - np.floor(cad)
    return out
