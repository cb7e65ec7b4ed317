"""Shared builders and the harness of the hostile-input suite (``tests/test_hostile_*.py``).

Every hostile case runs the real command line (:func:`kneeflags.cli.main`, in this process,
or the ``kneeflags`` console script as a subprocess) inside a :class:`Sandbox`:

* ``in/`` holds the inputs, ``out/`` and ``cache/`` are the only places kneeflags may write;
  the whole sandbox tree is snapshotted (type, content hash, link target) before and after,
  so a file written anywhere else, or an input changed by one byte, fails the test;
* :func:`hard_timeout` arms ``SIGALRM`` so a hang fails the test instead of the suite
  (pytest-timeout is deliberately not a dependency);
* :meth:`CliRun.check` holds the contract of issue 6: the good files analysed, the bad one
  named in ``errors`` or ``warnings`` with a one-line message, no traceback, and the exit
  code of the documented table (0 ok, 1 some files unreadable, 2 usage, 3 fail-on).

The builders make hostile bytes cheaply: FIT runs through
:mod:`kneeflags.testing.fitwriter`, a map of a FIT file's header / definition / data bytes
for targeted bit flips, GPX text from explicit point lists, and zip bombs assembled by hand
from one deflate block repeated (gigabytes of zeros for the cost of compressing one MiB).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import stat
import struct
import subprocess
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity

REPO_ROOT = Path(__file__).resolve().parent.parent
KNEEFLAGS_BIN = REPO_ROOT / ".venv" / "bin" / "kneeflags"

START = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
"""A Monday; every generated activity starts ``day`` days after it, so all share one window."""

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_FAIL_ON = 0, 1, 2, 3
"""The documented exit-code table (README, ``--help``)."""

RUN_SECONDS = 600
"""Length of the generated good runs: long enough for every metric, cheap to analyse."""

DEFAULT_TIMEOUT_S = 60.0
"""Per-invocation hang guard: any single hostile case finishing later is a hang."""


# ------------------------------------------------------------------------------------------
# hang guard


class Hang(BaseException):
    """Raised (as a test failure) when a guarded block outlives its deadline.

    A ``BaseException`` so that no ``except Exception`` in the code under test can
    swallow it and carry on into the next blocking call.
    """


@contextlib.contextmanager
def hard_timeout(seconds: float, what: str = "kneeflags") -> Iterator[None]:
    """Fail instead of hanging: ``SIGALRM`` after ``seconds`` raises :class:`Hang`.

    The CLI's ``main`` turns any exception into a one-line error and exit 1, which
    would disguise a hang as an ordinary failure; so the handler also records that it
    fired and the context manager re-raises after the block, whatever the block did.
    """
    if not hasattr(signal, "setitimer"):  # pragma: no cover - POSIX only
        yield
        return
    fired: list[bool] = []

    def on_alarm(signum: int, frame: Any) -> None:
        fired.append(True)
        raise Hang(f"{what} did not finish within {seconds:g} s (hang)")

    outer_delay = signal.getitimer(signal.ITIMER_REAL)[0]  # a guard around this one
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    # re-fires every second: a second blocking call after a caught first alarm is cut too
    first = min(seconds, outer_delay) if outer_delay else seconds
    signal.setitimer(signal.ITIMER_REAL, first, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
    if fired:
        raise Hang(f"{what} did not finish within {seconds:g} s (hang)")


# ------------------------------------------------------------------------------------------
# file-system snapshots


Snapshot = dict[str, tuple[str, str]]
"""Relative path -> (kind, fingerprint): file content hash, link target, or mode."""


def snapshot(root: Path) -> Snapshot:
    """Everything under ``root`` without following symlinks or opening FIFOs/devices."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", "")
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", _hash_file(p, st))
            else:
                out[rel] = ("special", oct(stat.S_IFMT(st.st_mode)))
    return out


def _hash_file(path: Path, st: os.stat_result) -> str:
    """Content hash plus permission bits (a chmod by kneeflags would be a change too)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return f"{h.hexdigest()}:{oct(st.st_mode & 0o7777)}"


@dataclass
class Sandbox:
    """A tmp tree with ``in/`` (inputs), ``out/`` and ``cache/`` (the only writable places)."""

    root: Path
    allowed: tuple[str, ...] = ("out", "cache")

    def __post_init__(self) -> None:
        self.inputs.mkdir(parents=True, exist_ok=True)
        self._before: Snapshot | None = None

    @property
    def inputs(self) -> Path:
        return self.root / "in"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def put(self, name: str, data: bytes | str) -> Path:
        """Write an input file (``name`` may contain folders)."""
        p = self.inputs / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    def rel(self, path: Path) -> str:
        """How kneeflags names ``path`` when the run's working directory is the sandbox."""
        return str(path.relative_to(self.root))

    def freeze(self) -> None:
        """Snapshot the tree; :meth:`verify` compares against it."""
        self._before = snapshot(self.root)

    def verify(self, *, removed: Iterable[str] = ()) -> None:
        """Inputs byte-identical (bar ``removed``); changes only under ``out/`` or ``cache/``."""
        assert self._before is not None, "freeze() first"
        after = snapshot(self.root)
        gone = set(removed)
        for rel, fp in self._before.items():
            if rel in gone or rel.split(os.sep, 1)[0] in self.allowed:
                continue
            assert rel in after, f"input {rel} disappeared"
            assert after[rel] == fp, f"input {rel} changed: {fp} -> {after[rel]}"
        stray = [
            rel
            for rel in after
            if rel not in self._before and rel.split(os.sep, 1)[0] not in self.allowed
        ]
        assert not stray, f"written outside the output location: {stray}"


# ------------------------------------------------------------------------------------------
# running the command line


@dataclass
class CliRun:
    """One kneeflags invocation: exit code, streams, and the JSON report if one was written."""

    args: list[str]
    code: int
    stdout: str
    stderr: str
    doc: dict[str, Any] | None = None

    def problems(self, kind: str | None = None) -> list[dict[str, str]]:
        assert self.doc is not None, "no JSON report"
        kinds = ("errors", "warnings") if kind is None else (kind,)
        return [p for k in kinds for p in self.doc[k]]

    def sources(self) -> list[str]:
        """Source of every analysed activity in the report window."""
        assert self.doc is not None, "no JSON report"
        return [a["source"] for ath in self.doc["athletes"] for a in ath["activities"]]

    def no_traceback(self) -> None:
        for stream, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            assert "Traceback (most recent call last)" not in text, f"traceback on {stream}"
            assert 'File "' not in text, f"traceback fragment on {stream}:\n{text[-2000:]}"
        for line in self.stderr.splitlines():
            if line.strip():
                assert line.startswith("kneeflags: "), f"stray stderr line: {line!r}"

    def check(
        self,
        *,
        good: Iterable[str] = (),
        bad: Iterable[str] = (),
        codes: Iterable[int] | None = None,
        bad_in: str | None = None,
    ) -> None:
        """The issue-6 contract for one run (see module docstring).

        ``good``: sources that must be analysed; ``bad``: names (substrings of a
        problem's path) that must appear in ``errors`` or ``warnings`` (or only in
        ``bad_in``). ``codes``: allowed exit codes; by default 1 when a bad file is in
        ``errors``, else 0, which is exactly the documented table.
        """
        self.no_traceback()
        assert self.doc is not None, f"no report (exit {self.code}): {self.stderr[-500:]}"
        sources = self.sources()
        for g in good:
            assert g in sources, f"good file {g} not analysed; got {sources}"
        for p in self.problems():
            msg = p["message"]
            assert msg.strip(), f"empty problem message for {p['path']}"
            assert "\n" not in msg and "\r" not in msg, f"multi-line message: {msg!r}"
            assert len(msg) <= 600, f"message too long: {msg[:100]}..."
            assert "Traceback" not in msg
        for b in bad:
            pool = self.problems(bad_in)
            hits = [p for p in pool if b in p["path"]]
            assert hits, f"{b} not named in {bad_in or 'errors/warnings'}: {pool}"
        expected = (
            set(codes) if codes is not None else {EXIT_INPUT if self.doc["errors"] else EXIT_OK}
        )
        assert self.code in expected, (
            f"exit {self.code}, expected {sorted(expected)}; errors={self.doc['errors']}"
        )
        if self.doc["errors"]:
            assert self.code != EXIT_OK, "errors in the report but exit code 0"


def run_cli(
    args: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    report: Path | None = None,
) -> CliRun:
    """``kneeflags ARGS`` in this process through the console-script entry point.

    Streams are captured (neither is a terminal, as under cron). ``report``: a JSON file
    the command wrote, parsed into :attr:`CliRun.doc` when present.
    """
    from kneeflags.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int
    with (
        hard_timeout(timeout, "kneeflags " + " ".join(args[:1])),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    run = CliRun(list(args), code, out.getvalue(), err.getvalue())
    if report is not None and report.is_file():
        run.doc = json.loads(report.read_text(encoding="utf-8"))
    return run


def analyze_json(
    box: Sandbox,
    paths: Sequence[str] | None = None,
    *extra: str,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> CliRun:
    """``kneeflags analyze PATHS --format json -o out/report.json`` with the sandbox cache.

    Runs with the sandbox as working directory (relative writes would land inside it and
    be caught by :meth:`Sandbox.verify`) and one worker (parallel parsing has its own test).
    """
    target = box.out / "report.json"
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    box.out.mkdir(exist_ok=True)
    args = [
        "analyze",
        *(paths if paths is not None else ["in"]),
        "--format",
        "json",
        "--output",
        box.rel(target),
        "--cache-dir",
        box.rel(box.cache),
        "--workers",
        "1",
        *extra,
    ]
    with chdir(box.root):
        return run_cli(args, timeout=timeout, report=target)


@contextlib.contextmanager
def chdir(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def subprocess_env(box: Sandbox, **extra: str) -> dict[str, str]:
    """Environment for a ``kneeflags`` subprocess: caches and temp files inside the sandbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(
        XDG_CACHE_HOME=str(box.cache),
        TMPDIR=str(box.cache),
        PYTHONDONTWRITEBYTECODE="1",
        COLUMNS="100",
    )
    env.update(extra)
    return env


def run_subprocess(
    box: Sandbox,
    args: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    report: Path | None = None,
    env: dict[str, str] | None = None,
) -> CliRun:
    """The installed console script, as cron would run it (a hang is a test failure)."""
    if not KNEEFLAGS_BIN.exists():
        pytest.skip(f"{KNEEFLAGS_BIN} is absent (run `make test` to create the venv)")
    try:
        proc = subprocess.run(
            [str(KNEEFLAGS_BIN), *args],
            cwd=box.root,
            env=env or subprocess_env(box),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise Hang(f"kneeflags {' '.join(args)} did not finish within {timeout:g} s") from exc
    run = CliRun(list(args), proc.returncode, proc.stdout, proc.stderr)
    if report is not None and report.is_file():
        run.doc = json.loads(report.read_text(encoding="utf-8"))
    return run


def alarm_fixture(seconds: float) -> Callable[..., Iterator[None]]:
    """An autouse fixture bounding every test of a module (assign it to a module name)."""

    @pytest.fixture(autouse=True)
    def _hang_guard() -> Iterator[None]:
        with hard_timeout(seconds, "test"):
            yield

    return _hang_guard


# ------------------------------------------------------------------------------------------
# FIT


def fit_run(day: int = 0, seconds: int = RUN_SECONDS, *, seed: int = 0, **kw: Any) -> bytes:
    """A valid FIT run starting ``day`` days after :data:`START` (fitwriter, 1 Hz)."""
    start = START + timedelta(days=day)
    return write_activity(synthetic_run(fit_time(start), seconds, seed=seed), **kw)


@dataclass(frozen=True)
class FitMap:
    """Byte ranges of a FIT file by role, for targeted corruption."""

    header: tuple[int, int]
    definitions: list[tuple[int, int]] = field(default_factory=list)
    data: list[tuple[int, int]] = field(default_factory=list)
    crc: tuple[int, int] = (0, 0)

    def offsets(self, region: str) -> list[int]:
        """Every byte offset of ``header``, ``definitions`` or ``data``."""
        spans = {"header": [self.header], "definitions": self.definitions, "data": self.data}
        return [i for a, b in spans[region] for i in range(a, b)]


def fit_map(data: bytes) -> FitMap:
    """Walk one (unchained) FIT file's messages: which bytes are header, definition, data."""
    hsize = data[0]
    size = struct.unpack_from("<I", data, 4)[0]
    end = hsize + size
    sizes: dict[int, int] = {}
    defs: list[tuple[int, int]] = []
    recs: list[tuple[int, int]] = []
    pos = hsize
    while pos < end:
        h = data[pos]
        if h & 0x80:  # compressed timestamp header: a data message
            n = sizes[(h >> 5) & 0x3]
            recs.append((pos, pos + 1 + n))
            pos += 1 + n
        elif h & 0x40:  # definition
            nfields = data[pos + 5]
            length = 6 + 3 * nfields
            dev = 0
            if h & 0x20:
                ndev = data[pos + length]
                dev_sizes = [data[pos + length + 1 + 3 * i + 1] for i in range(ndev)]
                dev = sum(dev_sizes)
                length += 1 + 3 * ndev
            fields = [data[pos + 6 + 3 * i + 1] for i in range(nfields)]
            sizes[h & 0x0F] = sum(fields) + dev
            defs.append((pos, pos + length))
            pos += length
        else:
            n = sizes[h & 0x0F]
            recs.append((pos, pos + 1 + n))
            pos += 1 + n
    assert pos == end, "FIT walk did not meet the data size"
    return FitMap(header=(0, hsize), definitions=defs, data=recs, crc=(end, end + 2))


def flip_bits(data: bytes, flips: Iterable[tuple[int, int]]) -> bytes:
    """``data`` with bit ``b`` of byte ``i`` inverted for each ``(i, b)``."""
    out = bytearray(data)
    for i, b in flips:
        out[i] ^= 1 << b
    return bytes(out)


# ------------------------------------------------------------------------------------------
# GPX / TCX


GPX_NS = "http://www.topografix.com/GPX/1/1"


def gpx_points(
    day: int = 0, n: int = 300, *, speed: float = 3.0, lat0: float = 47.37, lon0: float = 8.54
) -> list[tuple[float, float, float | None, datetime | None]]:
    """(lat, lon, ele, time) of a plausible 1 Hz run northwards at ``speed`` m/s."""
    t0 = START + timedelta(days=day)
    return [
        (lat0 + i * speed / 111_195.0, lon0, 400.0, t0 + timedelta(seconds=i)) for i in range(n)
    ]


def gpx_doc(
    points: Sequence[tuple[Any, Any, Any, datetime | str | None]],
    *,
    name: str = "Morning run",
    sport: str | None = "running",
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
) -> bytes:
    """A GPX 1.1 document from explicit points; ``name`` is inserted as given (raw XML)."""
    pts = []
    for lat, lon, ele, t in points:
        e = f"<ele>{ele}</ele>" if ele is not None else ""
        if isinstance(t, datetime):
            t = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        tt = f"<time>{t}</time>" if t is not None else ""
        pts.append(f'<trkpt lat="{lat}" lon="{lon}">{e}{tt}</trkpt>')
    typ = f"<type>{sport}</type>" if sport else ""
    return (
        f'{prolog}<gpx version="1.1" creator="hostile-suite" xmlns="{GPX_NS}">'
        f"<trk><name>{name}</name>{typ}<trkseg>{''.join(pts)}</trkseg></trk></gpx>\n"
    ).encode()


def tcx_doc(day: int = 0, n: int = 300, *, lead: str = "", speed: float = 3.0) -> bytes:
    """A Garmin TCX v2 run (positions, distance, RunCadence) with ``lead`` before the prolog."""
    t0 = START + timedelta(days=day)
    tps = []
    for i in range(n):
        t = (t0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        tps.append(
            f"<Trackpoint><Time>{t}</Time><Position><LatitudeDegrees>"
            f"{47.37 + i * speed / 111_195.0:.7f}</LatitudeDegrees><LongitudeDegrees>8.54"
            f"</LongitudeDegrees></Position><AltitudeMeters>400</AltitudeMeters>"
            f"<DistanceMeters>{i * speed:.1f}</DistanceMeters><Extensions><ns3:TPX>"
            "<ns3:RunCadence>84</ns3:RunCadence></ns3:TPX></Extensions></Trackpoint>"
        )
    st = t0.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'{lead}<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
        'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"><Activities>'
        f'<Activity Sport="Running"><Id>{st}</Id><Lap StartTime="{st}">'
        f"<TotalTimeSeconds>{n - 1}</TotalTimeSeconds><Track>{''.join(tps)}</Track></Lap>"
        "</Activity></Activities></TrainingCenterDatabase>\n"
    ).encode()


# ------------------------------------------------------------------------------------------
# zip and gzip bombs


MIB = 1 << 20


def deflate_zeros(total: int, block: int = MIB) -> bytes:
    """A raw deflate stream of ``total`` zero bytes, built in O(one block) time.

    One block of zeros compressed and ended with a *full flush* is byte-aligned and does
    not refer back to earlier data, so repeating it ``total // block`` times and closing
    with an empty final block is a valid stream: 2 GiB cost one MiB of compression.
    """
    assert total % block == 0
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = comp.compress(b"\0" * block) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    stream = unit * (total // block) + tail
    if total <= 4 * block:  # self-check of the construction on small sizes
        assert zlib.decompress(stream, -15) == b"\0" * total
    return stream


def crc32_zeros(total: int, block: int = MIB) -> int:
    crc = 0
    zeros = b"\0" * block
    for _ in range(total // block):
        crc = zlib.crc32(zeros, crc)
    return crc


@dataclass(frozen=True)
class ZipEntry:
    """One member of a hand-built zip: what the headers *claim* and the stored bytes."""

    name: str
    payload: bytes
    """Compressed (method 8) or stored (method 0) bytes."""
    file_size: int
    crc: int
    method: int = 8
    offset: int | None = None
    """Point the central directory at an earlier local header (overlapping members)."""


def build_zip(entries: Sequence[ZipEntry]) -> bytes:
    """A zip archive written field by field, so headers can lie (bombs, hostile names).

    Entries with ``offset`` set get no local header of their own: their central
    directory record points at the local header already written at that offset.
    """
    body = bytearray()
    central = bytearray()
    for e in entries:
        name = e.name.encode("utf-8")
        if e.offset is None:
            offset = len(body)
            body += struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0x800,
                e.method,
                0,
                0x21,
                e.crc,
                len(e.payload),
                e.file_size,
                len(name),
                0,
            )
            body += name + e.payload
        else:
            offset = e.offset
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0x800,
            e.method,
            0,
            0x21,
            e.crc,
            len(e.payload),
            e.file_size,
            len(name),
            0,
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        central += name
    eocd = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0
    )
    return bytes(body + central + eocd)


def stored(name: str, data: bytes) -> ZipEntry:
    """An honest uncompressed member."""
    return ZipEntry(name, data, len(data), zlib.crc32(data), method=0)


def deflated(name: str, data: bytes) -> ZipEntry:
    """An honest deflated member."""
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return ZipEntry(name, comp.compress(data) + comp.flush(), len(data), zlib.crc32(data))


def zeros_member(name: str, total: int, *, claim: int | None = None) -> ZipEntry:
    """``total`` zero bytes deflated; ``claim`` makes the headers lie about the size."""
    size = total if claim is None else claim
    crc = crc32_zeros(size) if size <= 64 * MIB else 0
    return ZipEntry(name, deflate_zeros(total), size, crc)


def gzip_zeros(total: int) -> bytes:
    """A gzip file of ``total`` zeros (a gzip bomb), built like :func:`deflate_zeros`."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    crc = crc32_zeros(total) if total <= 64 * MIB else 0
    return header + deflate_zeros(total) + struct.pack("<II", crc, total & 0xFFFFFFFF)


def same_ish(a: bytes, b: bytes) -> bool:
    """Byte-identical documents apart from the ``generated_at`` line."""
    strip = [b"\n".join(ln for ln in x.splitlines() if b'"generated_at"' not in ln) for x in (a, b)]
    return strip[0] == strip[1]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
