"""Per-file parsing: bytes in, canonical activities and problems out.

:func:`parse_source` is the unit of work of ingest. It is a pure,
module-level function of its arguments (no I/O, no global state), so a
caller may run it in worker processes; :func:`kneeflags.ingest.load` simply
calls it once per :class:`~kneeflags.sources.SourceItem`.

Dispatch is by content (:mod:`.detect`): FIT header, gzip/zip magic, XML
root element. gzip is unwrapped here with a size cap; zip bytes that reach
this function (an archive nested deeper than :mod:`kneeflags.sources`
expands) are read in memory too. Nothing is ever written to disk.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

try:
    # Intel ISA-L's inflate (python-isal, the pycompression project's binding that xopen and
    # cutadapt use): the same gzip semantics and decompressobj API as zlib, ~3x faster (a
    # Strava 2.4 MB .tcx.gz: 0.66 ms against zlib's 2.1 ms, where gunzip was half of
    # parse_source). Without a wheel for the platform, zlib does the same work.
    from isal import isal_zlib as _inflate

    INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, _inflate.error)
except ImportError:  # pragma: no cover - every supported platform has a wheel
    _inflate = zlib  # type: ignore[assignment]
    INFLATE_ERRORS = (zlib.error,)

from kneeflags.model import Activity, LoadResult, OffsetSource, Problem, Skipped, SourceRef
from kneeflags.parsers.common import (
    ON_FOOT_SPORTS,
    exception_line,
    implausible_distance,
    one_line,
    sha256_hex,
    sport_from_text,
)
from kneeflags.parsers.detect import (
    detect,
    expected_activity,
    strip_compression_suffix,
    xml_root,
)
from kneeflags.parsers.fit_decoded import FitDecoded, FitTooLarge

DECODERS = ("auto", "fast", "fitparse")
"""``fitparse``: reference decoder; ``fast``: columnar decoder, no fallback;
``auto``: fast when it can, fitparse otherwise (noted in provenance)."""

MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024
"""Cap on the decompressed size of one gzip file or zip member (zip/gzip bombs)."""

MAX_NESTING = 3
"""Archives inside archives deeper than this are refused."""

EARLIEST_PLAUSIBLE_START = datetime(1990, 1, 1, tzinfo=UTC)
"""Starts before this are a device clock that was never set (e.g. 1901 GPX dates)."""

FUTURE_TOLERANCE = timedelta(days=2)


MAX_EXPANSION_RATIO = 200
"""gzip data inflating more than this many times its compressed size is a bomb (real
activity files: 3-25 fold; zeros: ~1000 fold). Same rule as zip members in sources."""

RATIO_CHECK_MIN_BYTES = 8 * 1024 * 1024
"""The ratio is only judged past this much output (small files cost nothing either way)."""

GUNZIP_CHUNK_BYTES = 1024 * 1024
"""Inflate step: limits are checked between steps. Also the memory bound: zlib grows each
step's output in blocks and joins them (twice the step, briefly), so a small step keeps a
gunzip's peak near twice the inflated size (16 MiB steps held 3.3 times a 2.4 MB TCX)."""

MAX_SESSIONS_PER_FILE = 1_000
"""Sessions read from one FIT file [eng]: a triathlon has 5, a day of a watch's multisport
log a few dozen. More is refused by name (each session is an activity to summarise and to
compare with every other)."""


class DecompressionLimit(ValueError):
    """Decompressed data would exceed :data:`MAX_DECOMPRESSED_BYTES`."""


class _Owned:
    """Bytes handed to a callee with their only reference: the callee takes them out
    (:meth:`take`) and lets them go as soon as it has read them. The inflated bytes of a
    ``.fit.gz`` are so freed once its records are decoded, before its sample table is built
    (held by the callers' frames to the end, they were a third of the peak memory)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data: bytes | None = data

    def take(self) -> bytes:
        data, self.data = self.data, None
        if data is None:  # pragma: no cover - a programming error
            raise RuntimeError("owned bytes taken twice")
        return data


def _joined(pieces: list[bytes]) -> bytes:
    """One bytes object of the pieces (the piece itself when there is one: no copy)."""
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def gunzip_capped(data: bytes, cap: int | None = None) -> tuple[bytes, str | None]:
    """Decompress gzip (multi-member too) without ever holding more than ``cap`` bytes.

    Returns the data and a one-line warning when the stream was cut short
    (the bytes before the cut are returned: a truncated .fit.gz can still
    give a partial run). Corrupt streams raise one of :data:`INFLATE_ERRORS`; a stream that
    would pass ``cap`` or expand more than :data:`MAX_EXPANSION_RATIO`-fold
    raises :class:`DecompressionLimit` as soon as it shows (inflated in
    :data:`GUNZIP_CHUNK_BYTES` steps, so a bomb costs milliseconds, not the cap).
    """
    if cap is None:
        cap = MAX_DECOMPRESSED_BYTES
    # The pieces are kept as zlib returns them and joined once at the end (a file that fits
    # one piece is returned as is): growing one bytearray and copying it out held the
    # bytearray, the last piece and the copy at once.
    pieces: list[bytes] = []
    size = 0
    d = _inflate.decompressobj(wbits=31)
    buf = data
    # A gzip member ends with its inflated size (mod 2**32): asked for exactly that much,
    # zlib fills one buffer instead of growing blocks of 32, 64 and 256 KiB (whose peak
    # was five times a 100 kB FIT file). Only a hint: a wrong one costs another step.
    hint = int.from_bytes(data[-4:], "little") + 1 if len(data) >= 18 else GUNZIP_CHUNK_BYTES
    while True:
        limit = min(GUNZIP_CHUNK_BYTES, cap + 1 - size, hint)
        hint = GUNZIP_CHUNK_BYTES
        chunk = d.decompress(buf, limit)
        pieces.append(chunk)
        size += len(chunk)
        del chunk
        if size > cap:
            raise DecompressionLimit(
                f"gzip data expands beyond the {cap // (1024 * 1024)} MiB cap (possible gzip bomb)"
            )
        consumed = len(data) - len(d.unused_data if d.eof else d.unconsumed_tail)
        if size > RATIO_CHECK_MIN_BYTES and size > MAX_EXPANSION_RATIO * max(consumed, 1):
            raise DecompressionLimit(
                f"gzip data expands more than {MAX_EXPANSION_RATIO}-fold "
                f"({consumed:,} bytes gave {size:,} and counting): a gzip bomb, not read"
            )
        if d.eof:
            rest = d.unused_data
            if rest[:2] == b"\x1f\x8b":
                d = _inflate.decompressobj(wbits=31)
                buf = rest
                continue
            return _joined(pieces), None
        if d.unconsumed_tail or len(pieces[-1]) == limit:  # more input, or output still pending
            buf = d.unconsumed_tail
            continue
        return _joined(pieces), (
            f"truncated gzip stream: {len(data):,} compressed bytes gave {size:,} bytes"
        )


def decode_fit(data: bytes, decoder: str = "auto") -> tuple[list[FitDecoded], str | None]:
    """Run the chosen FIT decoder; returns the parts and a fallback note (auto mode) if any.

    fitparse itself is imported only when it decodes (a worker process on the fast path
    never loads it).
    """
    if decoder == "fitparse":
        from kneeflags.parsers.fit import decode_fit_fitparse

        return decode_fit_fitparse(data), None
    if decoder not in ("auto", "fast"):
        raise ValueError(f"unknown decoder {decoder!r} (choose from {', '.join(DECODERS)})")
    try:
        from kneeflags.parsers.fit_fast import (  # type: ignore[import-not-found]
            FastPathUnsupported,
            decode_fit_fast,
        )
    except ImportError as exc:
        if decoder == "fast":
            raise RuntimeError("the fast FIT decoder is not available in this build") from exc
        from kneeflags.parsers.fit import decode_fit_fitparse

        return decode_fit_fitparse(data), None
    try:
        return decode_fit_fast(data), None
    except FitTooLarge:
        raise  # refused by name: fitparse would need far more memory for the same file
    except FastPathUnsupported as exc:
        if decoder == "fast":
            raise RuntimeError(f"fast FIT decoder cannot read this file: {one_line(exc)}") from exc
        note = f"fast decoder fell back to fitparse: {one_line(exc, 160)}"
    except Exception as exc:  # auto mode: any fast-path failure falls back
        if decoder == "fast":
            raise
        note = f"fast decoder fell back to fitparse: {type(exc).__name__}: {one_line(exc, 160)}"
    from kneeflags.parsers.fit import decode_fit_fitparse

    return decode_fit_fitparse(data), note


def _parse_fit(
    source: bytes | _Owned, ref: SourceRef, sha: str, decoder: str, tz: str | None
) -> LoadResult:
    from kneeflags.parsers.fit_build import build_fit, keep_read_fields

    owned = isinstance(source, _Owned)
    decoded, note = decode_fit(source.take() if isinstance(source, _Owned) else source, decoder)
    for part in decoded:
        keep_read_fields(part)  # the messages' other fields go before the samples are built
    if owned:
        # The deferred record columns are the bytes' last readers: with their fields
        # copied out (about the file's size, and each copy goes as its column is built),
        # the bytes go now rather than after the sample table is built.
        for part in decoded:
            part.detach_records()
    sessions = sum(len(part.sessions) for part in decoded)
    if sessions > MAX_SESSIONS_PER_FILE:
        # 60,000 sessions in a 1.4 MB file made 60,000 activities to summarise and compare
        res = LoadResult()
        res.errors.append(
            Problem(
                str(ref),
                f"FIT file holds {sessions:,} sessions, over the cap of "
                f"{MAX_SESSIONS_PER_FILE:,} per file (a multisport file has a handful): not read",
            )
        )
        return res
    res = build_fit(decoded, ref, sha, tz)
    if note:
        for act in res.activities:
            act.provenance.notes.append(note)
    return res


def _parse_xml(
    kind: str,
    data: bytes,
    ref: SourceRef,
    sha: str,
    tz: str | None,
    hints: dict | None,
    decoder: str = "auto",
) -> LoadResult:
    if kind == "gpx":
        # The streaming extractor unless the reference decoders were asked for
        # (``--decoder fitparse`` means "the reference libraries": gpxpy for GPX).
        from kneeflags.parsers.gpx import build_gpx, parse_gpx
        from kneeflags.parsers.xml_fast import parse_gpx_auto

        if decoder == "fitparse":
            return build_gpx(parse_gpx(data), ref, sha, tz, hints)
        doc, note = parse_gpx_auto(data)
        res = build_gpx(doc, ref, sha, tz, hints)
        if note:
            for act in res.activities:
                act.provenance.notes.append(note)
        return res
    from kneeflags.parsers.tcx import parse_tcx_activities

    return parse_tcx_activities(data, ref, sha, tz, hints)


def _check_plausible(res: LoadResult, path: str) -> None:
    """Drop activities whose clock was never set or is set in the future, or whose distance
    cannot have been covered in their time (corrupt positions or distance)."""
    keep: list[Activity] = []
    now = datetime.now(UTC)
    for act in res.activities:
        if act.start_utc < EARLIEST_PLAUSIBLE_START:
            res.errors.append(
                Problem(
                    path,
                    f"implausible start date {act.start_utc:%Y-%m-%d} (device clock not set): "
                    "activity not used",
                )
            )
            continue
        if act.start_utc > now + FUTURE_TOLERANCE:
            # Not used: the report window ends with the latest activity, so one file from a
            # watch set to 2099 (or 9999) would push every real run out of the report.
            # Clock-dependent: the same file is usable once today passes its date.
            res.transient = True
            res.errors.append(
                Problem(
                    path,
                    f"start date {act.start_utc:%Y-%m-%d} is in the future (device clock wrong): "
                    "activity not used",
                )
            )
            continue
        corrupt = implausible_distance(act.distance_m, act.elapsed_s or act.timer_s)
        if corrupt:
            res.errors.append(Problem(path, corrupt))
            continue
        keep.append(act)
    res.activities = keep


def _apply_hints(res: LoadResult, hints: dict | None) -> None:
    """Fill what the file itself left open: the name, and a FIT sport lost with its session."""
    if not hints:
        return
    name = hints.get("name")
    hinted = sport_from_text(str(hints.get("type") or ""))
    for act in res.activities:
        if act.name is None and name:
            act.name = str(name)
        if hinted is not None and act.format == "fit" and act.sport_detail.startswith("unknown/"):
            act.sport = hinted
            act.provenance.notes.append(f"sport from Strava activities.csv: {hints['type']}")
            cad = act.samples["cadence_spm"]
            if hinted in ON_FOOT_SPORTS and cad.null_count() < act.samples.height:
                # the builder kept raw rpm for an unknown sport; FIT on-foot cadence is strides
                act.samples = act.samples.with_columns(pl.col("cadence_spm") * 2.0)
                act.provenance.cadence_unit = "strides"
                act.provenance.cadence_reason = (
                    "FIT record cadence is strides/min: spm = 2 x (cadence + fractional_cadence)"
                )


def _parse(
    source: bytes | _Owned,
    ref: SourceRef,
    name: str,
    decoder: str,
    tz: str | None,
    hints: dict | None,
    depth: int,
) -> LoadResult:
    """Parse ``source``: the caller's bytes, or bytes it handed over (:class:`_Owned`,
    e.g. gunzip's output), which a FIT file's parse lets go once they are decoded."""
    owned = isinstance(source, _Owned)
    data = source.take() if isinstance(source, _Owned) else source
    del source
    path = str(ref)
    res = LoadResult()
    if not data:
        if expected_activity(name):
            res.errors.append(Problem(path, "empty file"))
        else:
            res.skipped.append(Skipped(path, "empty file"))
        return res
    kind = detect(data)
    if kind == "gzip":
        if depth >= MAX_NESTING:
            res.errors.append(Problem(path, "compressed data nested too deeply"))
            return res
        try:
            inner, warn = gunzip_capped(data)
        except INFLATE_ERRORS as exc:
            res.errors.append(Problem(path, f"corrupt gzip data: {one_line(exc)}"))
            return res
        except DecompressionLimit as exc:
            res.errors.append(Problem(path, str(exc)))
            return res
        handed = _Owned(inner)
        del inner  # the inner parse holds the only reference
        inner_res = _parse(
            handed, ref, strip_compression_suffix(name), decoder, tz, hints, depth + 1
        )
        if warn:
            if inner_res.activities:
                inner_res.warnings.insert(0, Problem(path, warn, "warning"))
                for act in inner_res.activities:
                    act.provenance.partial = True
                    act.provenance.notes.append(warn)
            else:
                inner_res.errors.insert(0, Problem(path, warn))
        return inner_res
    if kind == "zip":
        from kneeflags.sources import iter_zip_bytes

        if depth >= MAX_NESTING:
            res.errors.append(Problem(path, "zip archive nested too deeply"))
            return res
        for item, payload in iter_zip_bytes(data, ref):
            if item.error:
                res.errors.append(Problem(str(item.ref), item.error))
            elif item.skip:
                res.skipped.append(Skipped(str(item.ref), item.skip))
            elif payload is not None:
                res.extend(
                    parse_source(
                        payload,
                        item.ref,
                        decoder=decoder,
                        tz=tz,
                        hints=item.hints,
                        _depth=depth + 1,
                    )
                )
        return res
    sha = sha256_hex(data)
    if kind == "fit":
        fit_source: bytes | _Owned = data
        if owned:
            fit_source = _Owned(data)
            del data  # handed on: freed once decoded (see _parse_fit)
        res = _parse_fit(fit_source, ref, sha, decoder, tz)
    elif kind in ("gpx", "tcx"):
        res = _parse_xml(kind, data, ref, sha, tz, hints, decoder)
    elif (
        kind == "unknown" and xml_root(data) is not None and name.lower().endswith((".tcx", ".gpx"))
    ):
        # XML named like an activity but with an unexpected root: let the format's
        # parser give the precise XML error (or read it, if it is merely unusual).
        fmt = "tcx" if name.lower().endswith(".tcx") else "gpx"
        res = _parse_xml(fmt, data, ref, sha, tz, hints, decoder)
    elif expected_activity(name):
        ext = strip_compression_suffix(name).rsplit(".", 1)[-1].upper()
        res.errors.append(
            Problem(path, f"not a valid {ext} file: content not recognised ({len(data):,} bytes)")
        )
    else:
        res.skipped.append(Skipped(path, "not an activity file"))
    _check_plausible(res, path)
    _apply_hints(res, hints)
    return res


def parse_source(
    data: bytes,
    ref: SourceRef,
    *,
    decoder: str = "auto",
    tz: str | None = None,
    hints: dict[str, Any] | None = None,
    tz_source: OffsetSource = "option",
    _depth: int = 0,
) -> LoadResult:
    """Parse one file's (or archive member's) bytes into activities and problems.

    Never raises for bad content: every failure becomes a one-line
    :class:`~kneeflags.model.Problem` naming ``ref``. ``hints`` carries
    metadata found next to the file (Strava ``activities.csv``: ``type``,
    ``name``), used only where the file itself is silent. ``tz_source``
    labels where ``tz`` came from (``option`` or ``config``).
    """
    name = ref.member.rsplit("!", 1)[-1] if ref.member else ref.path
    try:
        res = _parse(data, ref, name, decoder, tz, hints, _depth)
        if tz_source != "option":
            for act in res.activities:
                if act.utc_offset_source == "option":
                    act.utc_offset_source = tz_source
        return res
    except MemoryError:
        res = LoadResult(transient=True)  # a limit of this run, not a property of the file
        res.errors.append(Problem(str(ref), "could not read: out of memory"))
        return res
    except Exception as exc:  # one bad file must never stop the others
        res = LoadResult()
        msg = exception_line(exc)
        res.errors.append(Problem(str(ref), f"could not read: {msg}"))
        return res


__all__ = [
    "DECODERS",
    "MAX_DECOMPRESSED_BYTES",
    "DecompressionLimit",
    "decode_fit",
    "gunzip_capped",
    "parse_source",
]
