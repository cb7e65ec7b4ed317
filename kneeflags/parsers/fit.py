"""Reference FIT decoder on top of fitparse, producing :class:`FitDecoded` parts.

Why not just ``fitparse.FitFile(path)``:

* Chained files (several FIT headers back to back) are split here, by the
  header's declared data size, so each part gets its own CRC verdict and a
  corrupt second header cannot cost the first part.
* fitparse runs with ``check_crc=False``: a wrong CRC is common in real files
  whose data is fine, so the CRC is checked separately (CRC-16/ARC, which is
  the FIT SDK's CRC) and reported as a warning, never as a lost run.
* A file that ends early (a watch that died mid-run) keeps every complete
  message before the break and is marked ``partial``.
* Date-time fields are kept as raw FIT-epoch integers (fitparse would turn
  device-relative values into bogus 1990 dates); everything else uses
  fitparse's scaled values and enum names, as :mod:`.fit_decoded` requires.
* A developer field whose description is missing is read as opaque bytes, as the
  fast decoder does (and as fitparse 1.2's ``check_developer_data=False`` would):
  its size is in the definition, kneeflags uses no developer field, and refusing it
  lost every record of the run (see :func:`_tolerant_dev_type`).
"""

from __future__ import annotations

import io
import struct
from typing import Any

import fitparse.base
import numpy as np
from fitparse import FitFile
from fitparse.records import BASE_TYPES, DevField
from fitparse.utils import FitEOFError, FitParseError

from kneeflags.parsers.common import one_line
from kneeflags.parsers.fit_crc import fit_crc
from kneeflags.parsers.fit_decoded import (
    MAX_FIT_MESSAGES,
    RECORD_COLUMNS,
    FitDecoded,
    FitTooLarge,
    Message,
    NotFitError,
    column_from_values,
)

FIT_SIGNATURE = b".FIT"
MIN_HEADER_SIZE = 12

_strict_dev_type = fitparse.base.get_dev_type


def _tolerant_dev_type(dev_data_index: int, field_def_num: int) -> Any:
    """fitparse's developer-field lookup, but a field without its description (a Connect
    IQ app that never wrote one) is opaque bytes instead of an error that ends the file.

    Decided with the fast decoder, which skips such a field by its declared size: both
    decoders now read the run's records and ignore the field (kneeflags uses none)."""
    try:
        return _strict_dev_type(dev_data_index, field_def_num)
    except FitParseError:
        return DevField(
            dev_data_index=dev_data_index,
            def_num=field_def_num,
            type=BASE_TYPES[0x0D],  # byte
            name=f"unknown_dev_{dev_data_index}_{field_def_num}",
            units=None,
            native_field_num=None,
        )


fitparse.base.get_dev_type = _tolerant_dev_type  # the name FitFile looks up

_DATE_TYPES = frozenset({"date_time", "local_date_time"})
_KEPT = {
    "file_id": "file_ids",
    "device_info": "device_infos",
    "session": "sessions",
    "lap": "laps",
    "activity": "activities",
    "event": "events",
    "sport": "sports",
}


def is_fit(data: bytes) -> bool:
    return len(data) >= MIN_HEADER_SIZE and data[8:12] == FIT_SIGNATURE


def split_parts(data: bytes) -> tuple[list[tuple[int, int, int]], str | None]:
    """Byte ranges ``(start, data_end, part_end)`` of each chained FIT part.

    ``data_end`` is where the declared data stops (the CRC follows);
    ``part_end`` is ``data_end + 2`` or the file end when truncated. The
    second value is a one-line problem for trailing bytes that are not a FIT
    header (a corrupt chained header), else ``None``.
    """
    if not is_fit(data):
        raise NotFitError("not a FIT file: no '.FIT' signature at byte 8")
    parts: list[tuple[int, int, int]] = []
    off = 0
    n = len(data)
    while off < n:
        if n - off < MIN_HEADER_SIZE or data[off + 8 : off + 12] != FIT_SIGNATURE:
            problem = (
                f"corrupt chained FIT header at byte {off:,}: {n - off:,} trailing bytes ignored"
            )
            return parts, problem
        header_size = data[off]
        data_size = struct.unpack_from("<I", data, off + 4)[0]
        if header_size < MIN_HEADER_SIZE:
            return parts, f"invalid FIT header size {header_size} at byte {off:,}"
        data_end = off + header_size + data_size
        part_end = min(data_end + 2, n)
        parts.append((off, data_end, part_end))
        off = data_end + 2
    return parts, None


def _fields_by_name(msg: Any) -> dict[str, Any]:
    """Field data by name; a field encoded in the file beats one expanded from a component.

    fitparse expands ``speed`` into an ``enhanced_speed`` component (and
    ``altitude`` likewise); when the file also carries its own
    ``enhanced_speed``, that explicit value must win whatever the field order.
    """
    out: dict[str, Any] = {}
    for fd in msg.fields:
        name = fd.name
        if fd.field_def is None and name in out:
            continue
        out[name] = fd
    return out


def _message_dict(msg: Any) -> Message:
    out: Message = {}
    for name, fd in _fields_by_name(msg).items():
        if name.startswith("unknown_"):
            continue
        ftype = fd.field.type.name if fd.field is not None else ""
        out[name] = fd.raw_value if ftype in _DATE_TYPES else fd.value
    return out


def _position(fit: FitFile | None, start: int, default: int) -> int:
    """Absolute byte offset where fitparse stopped (best effort, for the problem text)."""
    handle = getattr(fit, "_file", None) if fit is not None else None
    if handle is None:
        return default
    try:
        return start + handle.tell()
    except (ValueError, OSError):
        return default


def _decode_part(data: bytes, start: int, data_end: int, part_end: int) -> FitDecoded:
    dec = FitDecoded(decoder="fitparse")
    total = len(data)
    expected_end = data_end + 2
    chunk = data[start:part_end]
    cols: dict[str, list[Any]] = {c: [] for c in RECORD_COLUMNS}
    truncated = expected_end > total
    fit: FitFile | None = None
    eof = False
    corrupt: str | None = None
    pos = start
    try:
        fit = FitFile(io.BytesIO(chunk), check_crc=False)
        for n_msg, msg in enumerate(fit.get_messages()):
            if n_msg >= MAX_FIT_MESSAGES:
                raise FitTooLarge
            name = msg.name
            if name == "record":
                values = _fields_by_name(msg)
                for c in RECORD_COLUMNS:
                    fd = values.get(c)
                    if fd is None:
                        cols[c].append(None)
                    else:
                        cols[c].append(fd.raw_value if c == "timestamp" else fd.value)
            elif name in _KEPT:
                d = _message_dict(msg)
                getattr(dec, _KEPT[name]).append(d)
                if name == "file_id" and d.get("type") not in (None, "activity", 4):
                    break  # not an activity: nothing below is needed
    except FitEOFError:
        eof = True
        pos = _position(fit, start, total)
    except (FitParseError, struct.error, KeyError, IndexError, ValueError, TypeError) as exc:
        pos = _position(fit, start, start)
        corrupt = one_line(exc, 120)
    n_rec = len(cols["timestamp"])
    if corrupt is not None:
        dec.partial = True
        dec.problem = (
            f"corrupt FIT data near byte {pos:,} ({corrupt}); kept the {n_rec:,} records before it"
        )
        if truncated:
            dec.problem += f"; the file is also truncated at byte {total:,} of {expected_end:,}"
    elif truncated:
        dec.partial = True
        dec.problem = f"truncated FIT file: data ends at byte {total:,} of {expected_end:,}"
    elif eof:
        dec.partial = True
        dec.problem = (
            f"truncated FIT file: the last message runs past the end of the data "
            f"(byte {pos:,} of {expected_end:,}); kept the {n_rec:,} records before it"
        )

    if not truncated:
        stored = struct.unpack_from("<H", data, data_end)[0]
        dec.crc_ok = stored == 0 or fit_crc(memoryview(data)[start:data_end]) == stored
        if not dec.crc_ok and dec.problem is None:
            dec.problem = "FIT CRC mismatch (data read anyway)"

    if cols["timestamp"]:
        arrays = {c: column_from_values(v) for c, v in cols.items()}
        dec.record_columns = {
            c: a for c, a in arrays.items() if c == "timestamp" or not np.isnan(a).all()
        }
    return dec


def decode_fit_fitparse(data: bytes) -> list[FitDecoded]:
    """Decode every chained part of a FIT file with fitparse (see module docstring).

    Raises :class:`NotFitError` when the bytes are not FIT at all; every other
    defect is reported on the returned parts (``partial``, ``problem``, ``crc_ok``).
    """
    parts, trailing_problem = split_parts(data)
    if not parts:  # e.g. an invalid header size: say so rather than "no activity data"
        raise NotFitError(f"not a FIT file: {trailing_problem or 'no FIT header'}")
    decoded = [_decode_part(data, s, d, e) for s, d, e in parts]
    if trailing_problem and decoded:
        last = decoded[-1]
        last.problem = f"{last.problem}; {trailing_problem}" if last.problem else trailing_problem
    return decoded
