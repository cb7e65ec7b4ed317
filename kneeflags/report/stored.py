"""An :class:`~kneeflags.report.model.AthleteReport` as JSON bytes, and back, exactly.

``kneeflags batch --out-dir`` keeps each athlete's report in its part file
(:mod:`kneeflags.tables`) so that a rerun can skip an athlete whose inputs and options are
unchanged *without parsing or analysing anything*: the client rebuilds the athlete's
summary row, its place in the ranking, the index and the batch summary (JSON included,
which holds every athlete's whole report) from the stored report, and they come out
byte-identical to a full run's.

Why not ``pickle``: a part file lives in the output folder, and unpickling runs whatever
the file says. This codec only ever builds kneeflags' own dataclasses and enums of the
report's modules (:data:`MODULES`, :data:`PACKAGES`; looked up by name and checked to be
one), dates, datetimes and plain JSON values; anything else
in a stored document is refused (:class:`StoredReportError`), and the batch then analyses
the athlete again. The layout is versioned by :data:`FORMAT`; any other is refused too.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
from datetime import date, datetime
from typing import Any

FORMAT = 1
"""Bumped whenever the encoding changes: a report stored in another layout is refused."""

MODULES = (
    "kneeflags.config",
    "kneeflags.corrections",
    "kneeflags.findings",
    "kneeflags.model",
    "kneeflags.report.model",
)
"""Where a report's classes live; with :data:`PACKAGES`, the only modules a stored report
may name (nothing else is ever imported to read one)."""

PACKAGES = ("kneeflags.journal.", "kneeflags.plan.")


def _allowed(module: str) -> bool:
    return module in MODULES or module.startswith(PACKAGES)


class StoredReportError(ValueError):
    """A stored report that cannot be rebuilt (damaged, foreign or of another layout)."""


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):  # first: a StrEnum is a str too
        if not _allowed(type(value).__module__):
            raise StoredReportError(f"cannot store a {_name(type(value))}")
        return {"$enum": _name(type(value)), "v": _encode(value.value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, list):
        return {"$list": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, datetime):  # before date: a datetime is a date
        tz = value.tzinfo
        key = getattr(tz, "key", None)  # a ZoneInfo: its name, not only its offset
        naive = value.replace(tzinfo=None) if key else value
        return {"$dt": naive.isoformat(), "zone": key, "fold": value.fold}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not _allowed(cls.__module__):  # a new home for a report class: add it above
            raise StoredReportError(f"cannot store a {_name(cls)}")
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$obj": _name(cls), "f": fields}
    raise StoredReportError(f"cannot store a {_name(type(value))}")


def encode_report(report: Any) -> bytes:
    """The report as compact JSON (UTF-8); raises :class:`StoredReportError` on a value
    of a type the codec does not know (a new field type must be added here, not guessed)."""
    doc = {"format": FORMAT, "report": _encode(report)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_CLASSES: dict[tuple[str, str], tuple[type, tuple[str, ...]]] = {}
"""Classes already looked up (a report names a dozen classes some 800 times)."""


def _kneeflags_class(name: Any, kind: str) -> tuple[type, tuple[str, ...]]:
    """A report dataclass (and its field names) or enum by ``module:qualname``; nothing
    outside the report's modules is ever imported."""
    if not isinstance(name, str):
        raise StoredReportError(f"bad {kind} name")
    known = _CLASSES.get((name, kind))
    if known is not None:
        return known
    module, _, qualname = name.partition(":")
    if not _allowed(module) or "." in qualname or not qualname.isidentifier():
        raise StoredReportError(f"refused {kind} {name!r}")
    try:
        cls = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        raise StoredReportError(f"unknown {kind} {name!r}") from None
    ok = (
        dataclasses.is_dataclass(cls)
        if kind == "class"
        else isinstance(cls, type) and issubclass(cls, enum.Enum)
    )
    if not isinstance(cls, type) or not ok:
        raise StoredReportError(f"refused {kind} {name!r}")
    names = tuple(f.name for f in dataclasses.fields(cls)) if kind == "class" else ()
    _CLASSES[(name, kind)] = (cls, names)
    return cls, names


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    if not isinstance(value, dict):
        return value
    if "$obj" in value:
        cls, names = _kneeflags_class(value["$obj"], "class")
        stored = value.get("f")
        if (
            not isinstance(stored, dict)
            or len(stored) != len(names)
            or any(n not in stored for n in names)
        ):
            raise StoredReportError(f"fields of {value['$obj']} do not match")
        obj = object.__new__(cls)  # no __init__: the stored fields are the object
        for name in names:
            object.__setattr__(obj, name, _decode(stored[name]))
        return obj
    if "$enum" in value:
        return _kneeflags_class(value["$enum"], "enum")[0](_decode(value.get("v")))
    if "$list" in value:
        return [_decode(v) for v in value["$list"]]
    if "$dict" in value:
        return {_decode(k): _decode(v) for k, v in value["$dict"]}
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$dt" in value:
        moment = datetime.fromisoformat(value["$dt"])
        if value.get("zone"):
            from zoneinfo import ZoneInfo

            moment = moment.replace(tzinfo=ZoneInfo(value["zone"]))
        return moment.replace(fold=int(value.get("fold") or 0))
    raise StoredReportError("unknown tag in stored report")


def decode_report(blob: bytes) -> Any:
    """The report :func:`encode_report` stored; :class:`StoredReportError` when it is
    damaged, of another layout, or names anything but kneeflags' own classes."""
    try:
        doc = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise StoredReportError("stored report is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StoredReportError("stored report of another layout")
    try:
        report = _decode(doc.get("report"))
    except StoredReportError:
        raise
    except Exception as exc:  # a value the class cannot hold: damaged, not trusted
        raise StoredReportError(f"stored report unreadable ({type(exc).__name__})") from None
    from kneeflags.report.model import AthleteReport

    if not isinstance(report, AthleteReport):
        raise StoredReportError("stored document is not an athlete report")
    return report


__all__ = ["FORMAT", "MODULES", "PACKAGES", "StoredReportError", "decode_report", "encode_report"]
