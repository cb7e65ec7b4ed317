"""Turn user paths (files, folders, globs, archives) into a flat list of units of work.

:func:`iter_sources` yields :class:`SourceItem` objects in a deterministic
order. Each item names its input (:class:`~kneeflags.model.SourceRef`), knows
its size, and reads its bytes lazily with :meth:`SourceItem.read`. Items are
plain data (picklable), so a caller may hand them to worker processes.

Archives are read in memory and never extracted: a zip member name is only
ever a *name* (``../../x.fit`` or ``/etc/passwd`` inside a zip is harmless
here), sizes and member counts are capped, and nested zips (Garmin
``UploadedFiles_*.zip``) are expanded up to :data:`MAX_ZIP_DEPTH` levels.

Strava bulk exports are recognised by their ``activities.csv`` (in a zip or
an unpacked folder): its type and name columns become :attr:`SourceItem.hints`
for the files it lists, and the ``routes/`` folder (planned routes, no
timestamps) is skipped.
"""

from __future__ import annotations

import csv
import fnmatch
import glob
import io
import os
import posixpath
import stat
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any, BinaryIO

from kneeflags.model import SourceRef
from kneeflags.parsers.detect import expected_activity
from kneeflags.records import record

MAX_MEMBER_BYTES = 512 * 1024 * 1024
"""Largest file or archive member read (decompressed size)."""

MAX_ZIP_MEMBERS = 50_000
"""Members read from one zip archive; the rest are reported, not read."""

MAX_ZIP_DEPTH = 3
"""Zip inside zip inside zip at most (Garmin exports need 2)."""

MAX_CSV_BYTES = 64 * 1024 * 1024
"""Largest Strava activities.csv read for hints."""

MAX_COMPRESSION_RATIO = 200
"""Zip members expanding more than this (declared size / compressed size) are not read.

Real activity files deflate 3-25 fold (FIT least, TCX most); zeros deflate ~1000 fold, so
a bomb member is refused from its header, before a byte is inflated."""

RATIO_CHECK_MIN_BYTES = 8 * 1024 * 1024
"""Members declaring less than this are never refused for their ratio (cheap either way)."""

MAX_CHAIN_RATIO = MAX_COMPRESSION_RATIO
"""All members of one archive, nested archives included, inflate at most this many times
the archive's own size (see :class:`_Budget`); real exports inflate 2-25 fold."""

MIN_CHAIN_BUDGET = 64 * 1024 * 1024
"""A small archive may always inflate this much in total (a 100 KB zip of one long run)."""

BATCH_PARTS_DIR = ".kneeflags-parts"
"""The folder of per-athlete Parquet parts a batch ``--out-dir`` holds (:mod:`kneeflags.tables`
names it from here): a folder holding it is a report root, not input."""

REPORT_FOLDER_MARK = ".kneeflags-athlete"
"""The mark kneeflags leaves in each athlete report folder (:mod:`kneeflags.journeys`);
a folder holding it is output, and is not read as input."""

_GLOB_CHARS = frozenset("*?[")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@record(frozen=True)
class SourceItem:
    """One file or archive member to parse (or to report as skipped / in error).

    ``chain`` lists, from the outer archive inwards, each member's *position* in its
    archive's central directory (empty for a plain file). Positions, not names: one zip
    may hold two members called ``run.fit``, and a member may literally be called
    ``inner.zip!run.fit``; a name is only shown, a position always reads the right bytes.
    Exactly one of ``error`` / ``skip`` is set for items that must not be parsed.
    """

    ref: SourceRef
    size: int
    chain: tuple[int, ...] = ()
    hints: dict[str, Any] | None = None
    error: str | None = None
    skip: str | None = None

    def read(self) -> bytes:
        """The item's bytes (decompressed from the zip when it is a member)."""
        return read_item(self.ref.path, self.chain)


class SourceTooLarge(ValueError):
    pass


class NotRegularFile(OSError):
    """A FIFO, device or socket where a file was expected: never opened for a blocking read."""


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "not a file"


def _open_regular(path: str) -> BinaryIO:
    """Open a *regular* file for reading.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer
    (which hung a cron run forever); ``fstat`` on the open descriptor then refuses FIFOs
    and devices (``/dev/zero`` behind a symlink) without a race between check and open.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{_file_kind(mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_capped_file(path: str) -> bytes:
    with _open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_MEMBER_BYTES:
            raise SourceTooLarge(f"file is {size:,} bytes, over the {MAX_MEMBER_BYTES:,} byte cap")
        # Asked for the size fstat gave (and one byte to see growth), not for the cap: a
        # read of cap + 1 bytes makes a buffer of the cap, fresh pages from the kernel at
        # every file (25 page faults for a 100 kB FIT, a third of a cold run's system time),
        # then shrunk. A file that grew is read on, up to the cap as before.
        data = fh.read(size + 1)
        if len(data) > size:
            data += fh.read(MAX_MEMBER_BYTES + 1 - len(data))
    if len(data) > MAX_MEMBER_BYTES:  # grew while we read it
        raise SourceTooLarge(f"file grew beyond the {MAX_MEMBER_BYTES:,} byte cap while read")
    return data


def _read_member(zf: zipfile.ZipFile, member: int | str) -> bytes:
    """One member's bytes, by central-directory position (or by name, for a csv lookup)."""
    info = zf.infolist()[member] if isinstance(member, int) else zf.getinfo(member)
    if info.file_size > MAX_MEMBER_BYTES:
        raise SourceTooLarge(
            f"zip member is {info.file_size:,} bytes, over the {MAX_MEMBER_BYTES:,} byte cap"
        )
    with zf.open(info) as fh:
        # zipfile inflates as much as asked before cutting to the declared size: asking
        # for the cap made a member claiming 1 MiB inflate 512 MiB (4 s, 1 GB)
        data = fh.read(min(info.file_size, MAX_MEMBER_BYTES) + 1)
    if len(data) > MAX_MEMBER_BYTES:  # the header lied about the size
        raise SourceTooLarge(f"zip member expands beyond the {MAX_MEMBER_BYTES:,} byte cap")
    return data


OPEN_ARCHIVES = 4
"""Archives kept open per thread between member reads (an export and its nested zips)."""


class _OwnedZipFile(zipfile.ZipFile):
    """A zip that closes the file object it was opened on (:func:`_open_regular`'s
    checked regular file), also when dropped from the cache of open archives."""

    def close(self) -> None:
        fh = self.fp
        try:
            super().close()
        finally:
            if fh is not None and not isinstance(fh, io.BytesIO):
                fh.close()


_ArchiveKey = tuple[str, tuple[int, int, int], tuple[int, ...]]


class _OpenArchives(threading.local):
    """The archives one thread keeps open, least recently used first.

    Per thread: a batch may run several athletes' pipelines in threads of one process,
    and one run's :func:`release_archives` must not close an archive another is reading.
    """

    def __init__(self) -> None:
        self.lru: OrderedDict[_ArchiveKey, zipfile.ZipFile] = OrderedDict()


_open = _OpenArchives()


def _open_archive(
    path: str, identity: tuple[int, int, int], chain: tuple[int, ...]
) -> zipfile.ZipFile:
    """The (nested) archive at ``chain`` in ``path``, opened once and kept open.

    Opening a zip parses its whole central directory. Reopening it for every member read
    made a 10,000-member export quadratic (over 600 s); with the archive kept open a
    pass over its members opens it once. ``identity`` (inode, size, mtime) is part of the
    key so a file replaced between two reads is opened afresh, never read with the old
    directory. At most :data:`OPEN_ARCHIVES` stay open per thread.
    """
    key = (path, identity, chain)
    lru = _open.lru
    if key in lru:
        lru.move_to_end(key)
        return lru[key]
    if not chain:
        fh = _open_regular(path)
        try:
            archive: zipfile.ZipFile = _OwnedZipFile(fh)
        except BaseException:
            fh.close()
            raise
    else:
        parent = _open_archive(path, identity, chain[:-1])
        archive = zipfile.ZipFile(io.BytesIO(_read_member(parent, chain[-1])))
    lru[key] = archive
    while len(lru) > OPEN_ARCHIVES:
        _, evicted = lru.popitem(last=False)
        evicted.close()  # an outer archive closed under a nested one: the nested is bytes
    return archive


def release_archives() -> None:
    """Close the archives this thread keeps open for :func:`read_item` (end of a run)."""
    lru = _open.lru
    while lru:
        lru.popitem(last=False)[1].close()


def read_item(path: str, chain: tuple[int, ...]) -> bytes:
    """Bytes of a plain file (``chain`` empty) or of a (nested) zip member."""
    if not chain:
        return _read_capped_file(path)
    st = os.stat(path)
    archive = _open_archive(path, (st.st_ino, st.st_size, st.st_mtime_ns), chain[:-1])
    return _read_member(archive, chain[-1])


# --------------------------------------------------------------------------- Strava


def _norm_key(name: str) -> str:
    return posixpath.normpath(name.replace("\\", "/")).lstrip("./").lower()


def parse_strava_csv(data: bytes) -> dict[str, dict[str, str]]:
    """``activities.csv`` -> {relative filename (lower-case): {"type", "name"}}."""
    text = data[:MAX_CSV_BYTES].decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    out: dict[str, dict[str, str]] = {}
    fields = {(f or "").strip().lower(): f for f in (reader.fieldnames or [])}
    fcol = fields.get("filename")
    tcol = fields.get("activity type")
    ncol = fields.get("activity name")
    if fcol is None:
        return out
    for row in reader:
        fname = (row.get(fcol) or "").strip()
        if not fname:
            continue
        hint: dict[str, str] = {}
        if tcol and (row.get(tcol) or "").strip():
            hint["type"] = row[tcol].strip()
        if ncol and (row.get(ncol) or "").strip():
            hint["name"] = row[ncol].strip()
        out[_norm_key(fname)] = hint
    return out


def _strava_roots(names: Iterable[str]) -> dict[str, str]:
    """Folder prefixes (``""`` or ``"export_1/"``) that hold a Strava ``activities.csv``."""
    roots: dict[str, str] = {}
    for n in names:
        if posixpath.basename(n).lower() == "activities.csv":
            prefix = n[: -len("activities.csv")]
            roots[prefix] = n
    return roots


# --------------------------------------------------------------------------- zip


class _Budget:
    """Bytes one archive chain may still inflate (a top-level archive and all it nests).

    Every level's ratio cap alone multiplies: a 466 KB zip holding a zip of 20 members of
    512 MiB passed each level's check and inflated 10 GiB. The budget is charged with the
    declared size of every member the run will inflate (nested archives and leaves), so
    the whole chain expands at most :data:`MAX_CHAIN_RATIO` times the outer archive.
    """

    __slots__ = ("left", "limit", "outer")

    def __init__(self, outer_size: int) -> None:
        self.outer = outer_size
        self.limit = max(MAX_CHAIN_RATIO * outer_size, MIN_CHAIN_BUDGET)
        self.left = self.limit

    def charge(self, size: int) -> str | None:
        """Take ``size`` bytes; the refusal message when the chain would exceed its budget."""
        if size > self.left:
            return (
                f"zip bomb: reading it would make the archive expand past {self.limit:,} "
                f"bytes in total ({MAX_CHAIN_RATIO} times its {self.outer:,} bytes, nested "
                "archives included): not read"
            )
        self.left -= size
        return None


def _display_names(infos: list[tuple[int, zipfile.ZipInfo]]) -> dict[int, str]:
    """Member name shown for each position; repeated names get "(entry N)" from the 2nd on.

    Two members may share a name (two ``run.fit``): both are read (they are keyed by
    position), and the report must tell them apart.
    """
    seen: dict[str, int] = {}
    out: dict[int, str] = {}
    for pos, info in infos:
        name = _member_name(info)
        n = seen.get(name, 0) + 1
        seen[name] = n
        out[pos] = name if n == 1 else f"{name} (entry {n} of that name)"
    return out


def _member_name(info: zipfile.ZipInfo) -> str:
    """A member's name; ``run.fit/`` (a "folder" entry that holds data) is ``run.fit``."""
    return info.filename.rstrip("/") if info.is_dir() else info.filename


def _zip_items(
    zf: zipfile.ZipFile,
    path: str,
    chain_prefix: tuple[int, ...],
    member_prefix: str,
    depth: int,
    archive_size: int,
    budget: _Budget,
) -> Iterator[SourceItem]:
    """Items for one open zip (nested archives are opened here, once each).

    ``archive_size`` (bytes of this zip) exposes overlapping members: honest members'
    compressed data are disjoint, so together they cannot exceed the archive. Overlap
    (many central-directory entries sharing one deflate stream) is the zip-bomb trick
    that multiplies a small file into terabytes; such an archive is not read at all.
    """
    # A directory entry that holds data (``run.fit/`` with bytes) is a file to read.
    infos = [
        (pos, i) for pos, i in enumerate(zf.infolist()) if not (i.is_dir() and i.file_size == 0)
    ]
    infos.sort(key=lambda t: (t[1].filename, t[0]))
    claimed = sum(i.compress_size for _, i in infos)
    if claimed > archive_size:
        yield SourceItem(
            SourceRef(path, member_prefix.rstrip("!") or None),
            archive_size,
            chain_prefix,
            error=f"zip members claim {claimed:,} compressed bytes in a {archive_size:,} "
            "byte archive (overlapping members, a zip bomb): not read",
        )
        return
    shown = _display_names(infos)
    roots = _strava_roots(i.filename for _, i in infos)
    hints_by_root: dict[str, dict[str, dict[str, str]]] = {}
    for prefix, csv_name in roots.items():
        try:
            hints_by_root[prefix] = parse_strava_csv(_read_member(zf, csv_name))
        except Exception:  # unreadable csv: no hints, the files still load
            hints_by_root[prefix] = {}

    if len(infos) > MAX_ZIP_MEMBERS:
        yield SourceItem(
            SourceRef(path, member_prefix.rstrip("!") or None),
            0,
            chain_prefix,
            error=f"zip archive has {len(infos):,} members; only the first "
            f"{MAX_ZIP_MEMBERS:,} were read",
        )
        infos = infos[:MAX_ZIP_MEMBERS]

    for pos, info in infos:
        name = _member_name(info)
        ref = SourceRef(path, f"{member_prefix}{shown[pos]}")
        chain = (*chain_prefix, pos)
        low = name.lower()
        base = posixpath.basename(low)
        root = next((p for p in roots if name.startswith(p)), None)
        item = partial(SourceItem, ref, info.file_size, chain)
        if low.startswith("__macosx/") or base.startswith("._"):
            yield item(skip="macOS metadata file")
            continue
        if info.flag_bits & 0x1:
            yield item(error="encrypted zip member")
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            yield item(
                error=f"zip member is {info.file_size:,} bytes, over the "
                f"{MAX_MEMBER_BYTES:,} byte cap"
            )
            continue
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            yield item(
                error=f"zip member would expand {ratio:,.0f}-fold ({info.compress_size:,} "
                f"to {info.file_size:,} bytes, a zip bomb): not read"
            )
            continue
        if root is not None:
            rel = name[len(root) :]
            if rel.lower() == "activities.csv":
                yield item(skip="Strava activities.csv (used for activity types and names)")
                continue
            if rel.lower().startswith("routes/"):
                yield item(skip="Strava route (planned, no timestamps)")
                continue
        hints = (
            hints_by_root.get(root, {}).get(_norm_key(name[len(root) :]))
            if root is not None
            else None
        )
        refusal = budget.charge(info.file_size)
        if refusal is not None:
            yield item(error=refusal)
            continue
        if low.endswith(".zip"):
            if depth + 1 >= MAX_ZIP_DEPTH:
                yield item(error="zip nested too deeply")
                continue
            try:
                inner_bytes = _read_member(zf, pos)
                inner = zipfile.ZipFile(io.BytesIO(inner_bytes))
            except (zipfile.BadZipFile, SourceTooLarge, OSError, ValueError) as exc:
                yield item(error=f"unreadable zip: {exc}")
                continue
            with inner:
                yield from _zip_items(
                    inner,
                    path,
                    chain,
                    f"{ref.member}!",
                    depth + 1,
                    len(inner_bytes),
                    budget,
                )
            continue
        yield item(hints=hints or None)


def iter_zip_file(path: str) -> Iterator[SourceItem]:
    """Items for every member of a zip file on disk (bytes read later, lazily)."""
    try:
        fh = _open_regular(path)
    except OSError as exc:
        yield SourceItem(SourceRef(path), _size(path), error=f"not a readable zip archive: {exc}")
        return
    with fh:  # ZipFile does not close a file object it was given
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            yield SourceItem(
                SourceRef(path), _size(path), error=f"not a readable zip archive: {exc}"
            )
            return
        with zf:
            size = _size(path)
            yield from _zip_items(zf, path, (), "", 0, size, _Budget(size))


def iter_zip_bytes(data: bytes, ref: SourceRef) -> Iterator[tuple[SourceItem, bytes | None]]:
    """Members of an in-memory zip (used by the parser for archives inside gzip etc.).

    Yields each item with its bytes already read (``None`` for error/skip items).
    Refs are ``ref`` with the member names appended after ``!``. Each nested archive is
    opened once (the last one stays open while its members are read).
    """
    prefix = f"{ref.member}!" if ref.member else ""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        yield SourceItem(ref, len(data), error=f"not a readable zip archive: {exc}"), None
        return
    opened: dict[tuple[int, ...], zipfile.ZipFile] = {(): zf}

    def archive(chain: tuple[int, ...]) -> zipfile.ZipFile:
        if chain not in opened:
            parent = archive(chain[:-1])
            for key in [k for k in opened if k and k != chain[: len(k)]]:
                del opened[key]  # a sibling's archive: done with it
            opened[chain] = zipfile.ZipFile(io.BytesIO(_read_member(parent, chain[-1])))
        return opened[chain]

    with zf:
        for item in _zip_items(zf, ref.path, (), prefix, 0, len(data), _Budget(len(data))):
            if item.error or item.skip:
                yield item, None
                continue
            try:
                payload = _read_member(archive(item.chain[:-1]), item.chain[-1])
            except (SourceTooLarge, zipfile.BadZipFile, OSError, ValueError) as exc:
                yield SourceItem(item.ref, item.size, item.chain, error=str(exc)), None
                continue
            yield item, payload


# --------------------------------------------------------------------------- paths


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _is_zip(path: str) -> bool:
    try:
        with _open_regular(path) as fh:
            return fh.read(4) in _ZIP_MAGIC
    except OSError:
        return False


def _file_items(path: str, hints: dict[str, Any] | None = None) -> Iterator[SourceItem]:
    try:
        st = os.stat(path)  # stat never blocks, even on a FIFO
        mode: int | None = st.st_mode
    except OSError:
        st, mode = None, None  # broken link etc.: reading it reports the reason
    if mode is not None and not stat.S_ISREG(mode):
        reason = f"{_file_kind(mode)}, not a regular file: not read"
        if expected_activity(path):
            yield SourceItem(SourceRef(path), 0, error=reason)
        else:
            yield SourceItem(SourceRef(path), 0, skip=reason)
        return
    if _is_zip(path):
        yield from iter_zip_file(path)
    else:
        yield SourceItem(SourceRef(path), st.st_size if st else 0, hints=hints)


def _walk_error(exc: OSError) -> SourceItem:
    where = exc.filename if isinstance(exc.filename, str) else "?"
    return SourceItem(SourceRef(where), 0, error=f"folder could not be read: {exc.strerror or exc}")


def _excluded(path: str, skip: frozenset[str]) -> bool:
    """Whether ``path`` is, or lies under, an excluded folder."""
    real = os.path.realpath(path)
    return any(real == s or real.startswith(s.rstrip(os.sep) + os.sep) for s in skip)


def _dir_items(root: str, skip: frozenset[str] = frozenset()) -> Iterator[SourceItem]:
    """Recursive, sorted walk; an unpacked Strava export gets its hints and skips routes/.

    A subfolder that cannot be listed (permissions, removed mid-walk) is an error item:
    ``os.walk`` on its own skips it silently, and its runs would vanish unreported.
    """
    failed: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=failed.append):
        while failed:
            yield _walk_error(failed.pop(0))
        dirnames.sort()
        if skip:  # one realpath per folder, only when something is excluded
            dirnames[:] = [d for d in dirnames if not _excluded(os.path.join(dirpath, d), skip)]
        if dirpath != root and (REPORT_FOLDER_MARK in filenames or BATCH_PARTS_DIR in dirnames):
            # kneeflags' own output: an athlete report folder (it holds the mark) or a
            # batch --out-dir (it holds the Parquet part files, beside its index and
            # tables): reports are never input. A folder that merely contains a report
            # folder is read as usual; only the report folder below it is passed over.
            dirnames[:] = []
            continue
        filenames.sort()
        strava_hints: dict[str, dict[str, str]] | None = None
        if "activities.csv" in filenames and "activities" in dirnames:
            try:
                with _open_regular(os.path.join(dirpath, "activities.csv")) as fh:
                    strava_hints = parse_strava_csv(fh.read(MAX_CSV_BYTES))
            except OSError:
                strava_hints = {}
            if "routes" in dirnames:
                dirnames.remove("routes")
                yield SourceItem(
                    SourceRef(os.path.join(dirpath, "routes")),
                    0,
                    skip="Strava routes folder (planned routes, no timestamps)",
                )
            yield SourceItem(
                SourceRef(os.path.join(dirpath, "activities.csv")),
                _size(os.path.join(dirpath, "activities.csv")),
                skip="Strava activities.csv (used for activity types and names)",
            )
            for fname in _walk_files(os.path.join(dirpath, "activities"), failed):
                rel = os.path.relpath(fname, dirpath)
                yield from _file_items(fname, strava_hints.get(_norm_key(rel)))
            while failed:
                yield _walk_error(failed.pop(0))
            dirnames.remove("activities")
            filenames = [f for f in filenames if f != "activities.csv"]
        for fname in filenames:
            yield from _file_items(os.path.join(dirpath, fname))
    while failed:
        yield _walk_error(failed.pop(0))


def _walk_files(root: str, failed: list[OSError]) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=failed.append):
        dirnames.sort()
        for fname in sorted(filenames):
            yield os.path.join(dirpath, fname)


def safe_glob(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)``, sorted, but safe from symlink loops.

    ``glob``'s ``**`` follows every directory symlink, so two links to ``.`` in one folder
    make it explore 2**40 paths (a hang). Here ``**`` walks the tree following links but
    enters each real folder once. Glob rules otherwise hold: ``*`` and ``**`` skip hidden
    names, matching is case-sensitive on POSIX.
    """
    if "**" not in pattern:
        return sorted(glob.glob(pattern))
    head, parts = _split_pattern(pattern)
    dirs_only = pattern.endswith(("/", os.sep))  # like glob: a trailing slash means folders
    tail = os.sep if dirs_only else ""
    base = head or os.curdir
    hidden_ok = any(p.startswith(".") for p in parts)  # else glob never enters .folders
    if not os.path.isdir(base):
        return []
    found: list[str] = [os.path.join(head, "")] if head and _match_parts(parts, []) else []
    seen = {os.path.realpath(base)}
    for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
        dirnames.sort()
        keep = []
        for d in dirnames:
            real = os.path.realpath(os.path.join(dirpath, d))
            if (d.startswith(".") and not hidden_ok) or real in seen:
                continue
            seen.add(real)
            keep.append(d)
        dirnames[:] = keep
        rel_dir = os.path.relpath(dirpath, base)
        prefix = [] if rel_dir == os.curdir else rel_dir.split(os.sep)
        if prefix and _match_parts(parts, prefix):
            found.append((dirpath if head else os.path.join(*prefix)) + tail)
        if dirs_only:
            continue
        for name in filenames:
            if _match_parts(parts, [*prefix, name]):
                found.append(os.path.join(dirpath, name) if head else os.path.join(*prefix, name))
    return sorted(set(found))


def _split_pattern(pattern: str) -> tuple[str, list[str]]:
    """(literal leading folder, remaining pattern components)."""
    parts = pattern.split(os.sep) if os.sep in pattern else pattern.split("/")
    if os.altsep:
        parts = [q for p in parts for q in p.split(os.altsep)]
    literal: list[str] = []
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            rest = [p for p in parts[i:] if p]
            head = os.sep.join(literal) if literal else ""
            if pattern.startswith(os.sep) and not head:
                head = os.sep
            return head, rest
        literal.append(part)
    return os.sep.join(literal), []


def _match_parts(pattern: list[str], path: list[str]) -> bool:
    """Glob matching of path components; ``**`` spans zero or more non-hidden components."""
    if not pattern:
        return not path
    first, rest = pattern[0], pattern[1:]
    if first == "**":
        for i in range(len(path) + 1):
            if i and path[i - 1].startswith("."):
                break
            if _match_parts(rest, path[i:]):
                return True
        return False
    if not path:
        return False
    name = path[0]
    if name.startswith(".") and not first.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, first) and _match_parts(rest, path[1:])


def expand_path(arg: str | os.PathLike[str]) -> tuple[list[str], str | None]:
    """Expand ``~`` and glob patterns (``**`` recursive); returns paths and an error, if any."""
    raw = os.fspath(arg)
    text = os.path.expanduser(raw)
    if any(ch in text for ch in _GLOB_CHARS) and not os.path.exists(text):
        matches = safe_glob(text)
        if not matches:
            return [], "no files match this pattern"
        return matches, None
    if not os.path.exists(text):
        return [], "no such file or directory"
    return [text], None


class _RealPaths:
    """``os.path.realpath`` of many files, resolving each folder once.

    Why: the walk names every file of a folder; ``realpath`` resolves every component of
    every path again (one ``lstat`` per component, in Python), ~4 system calls a file for
    a shallow folder and more for ``~/runs/garmin/2024``. A file that is not itself a
    link has the real path of its folder plus its own name, so one ``lstat`` of the file
    and one resolution per folder give the same answer.
    """

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        head, tail = os.path.split(path)
        if not head or tail in ("", ".", ".."):
            return os.path.realpath(path)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return os.path.realpath(path)
        except OSError:
            return os.path.realpath(path)
        folder = self._folders.get(head)
        if folder is None:
            folder = self._folders[head] = os.path.realpath(head)
        return os.path.join(folder, tail)


def iter_sources(
    paths: Iterable[str | os.PathLike[str]],
    exclude: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[SourceItem]:
    """Every input unit under ``paths``, in a deterministic order (see module docstring).

    Paths that do not exist, and patterns that match nothing, come back as
    items with ``error`` set. The same file named twice is yielded once. Folders in
    ``exclude`` (and everything under them) are not read: a report's ``--out-dir``
    inside its input folder made every run read the previous run's reports.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    skip = frozenset(os.path.realpath(os.path.expanduser(os.fspath(e))) for e in exclude)
    seen: set[tuple[str, tuple[int, ...]]] = set()
    real_path = _RealPaths()
    for arg in paths:
        expanded, error = expand_path(arg)
        if error:
            yield SourceItem(SourceRef(os.fspath(arg)), 0, error=error)
            continue
        for p in expanded:
            if skip and _excluded(p, skip):
                continue
            candidates = _dir_items(p, skip) if os.path.isdir(p) else _file_items(p)
            for item in candidates:
                key = (real_path(item.ref.path), item.chain)
                if key in seen:
                    continue
                seen.add(key)
                yield item


__all__ = [
    "MAX_CHAIN_RATIO",
    "MAX_COMPRESSION_RATIO",
    "MAX_MEMBER_BYTES",
    "MAX_ZIP_DEPTH",
    "MAX_ZIP_MEMBERS",
    "SourceItem",
    "expand_path",
    "iter_sources",
    "iter_zip_bytes",
    "parse_strava_csv",
    "read_item",
    "release_archives",
    "safe_glob",
]
