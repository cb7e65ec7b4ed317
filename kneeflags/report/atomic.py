"""Report writes: a reader (or a crash) never sees a half-written report, and a device
or pipe given as the output is written to, never replaced.

A regular file (or a new path) is written to a temporary file in the *same* directory,
flushed and fsynced, then moved over the target with :func:`os.replace` (atomic on POSIX
and Windows within one file system), and the directory entry is fsynced too. If the
target already holds exactly the same bytes it is left untouched, so a cron rerun does
not even change modification times.

Anything else - a character or block device (``-o /dev/null``, the cron idiom), a FIFO,
a socket, ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N`` - is
opened and written *in place* (:func:`write_output`): renaming a file over ``/dev/null``
as root would destroy the device for the whole machine. A FIFO without a reader is a
named error, not a hang.

Several files that belong together (one athlete's ``.md``, ``.html`` and ``.json``) are
written by :func:`atomic_write_group`: every temporary file first, then every rename, so
a full disk leaves the previous trio whole. Every ``OSError`` names the target file.

Two cron runs writing the same folder at once are serialised by :func:`folder_lock`, an
advisory ``flock`` on the folder itself: no lock file is left in the report tree, and a
planted ``.kneeflags.lock`` symlink is never followed. The folder is opened with
``O_NOFOLLOW``, so an athlete folder that is a symlink (out of ``--out-dir``) is refused.
Without ``fcntl`` (Windows) the lock is a no-op and atomic rename alone still prevents
corruption.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

LOCK_TIMEOUT_S = 300.0
"""How long to wait for another run's lock before giving up with an error (no hang)."""

_STREAM_PATH = re.compile(r"^/(?:dev/fd|proc/self/fd|proc/thread-self/fd)/(\d+)$")
_STD_STREAMS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


class LockTimeout(OSError):
    """Another kneeflags run held the folder lock for longer than the timeout."""


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; return False if it already held those bytes."""
    return bool(atomic_write_group([(path, data)]))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> bool:
    """UTF-8 text, ``\\n`` line endings on every platform (byte-identical reruns)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_group(
    files: Sequence[tuple[str | os.PathLike[str], bytes]],
) -> list[Path]:
    """Write every file to a temporary sibling, then rename them all; return the changed.

    A failure before the renames (ENOSPC, EDQUOT, EIO) leaves every target as it was and
    no temporary file behind; the raised ``OSError`` names the target, not the temp file.
    """
    staged: list[tuple[Path, str]] = []
    try:
        for path, data in files:
            target = Path(path)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if _same_content(target, data):
                    continue
                staged.append((target, _stage(target, data)))
            except OSError as exc:
                raise _naming(exc, target) from None
        for target, tmp in staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise _naming(exc, target) from None
    except BaseException:
        for _, tmp in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    for parent in {target.parent for target, _ in staged}:
        _fsync_dir(parent)
    return [target for target, _ in staged]


def is_in_place_target(path: str | os.PathLike[str]) -> bool:
    """True for outputs that must be written in place: streams, devices, FIFOs, sockets."""
    text = os.fspath(path)
    if text == "-" or text in _STD_STREAMS or _STREAM_PATH.match(text):
        return True
    try:
        mode = os.stat(text).st_mode
    except OSError:
        return False  # a new path: atomic write creates it
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def write_output(path: str | os.PathLike[str], data: bytes) -> bool:
    """The ``-o`` writer: in place for streams and devices, atomic for files."""
    text = os.fspath(path)
    if not is_in_place_target(text):
        return atomic_write_bytes(text, data)
    fd_number = _STD_STREAMS.get(text)
    if text == "-":
        fd_number = 1
    elif (m := _STREAM_PATH.match(text)) is not None:
        fd_number = int(m.group(1))
    if fd_number in (1, 2):
        stream = sys.stdout if fd_number == 1 else sys.stderr
        stream.flush()
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:  # a text-only stream (a test runner's capture)
            stream.write(data.decode("utf-8"))
            stream.flush()
        return True
    if fd_number is not None:
        try:
            _write_all(fd_number, data)
        except OSError as exc:
            raise _naming(exc, Path(text)) from None
        return True
    _write_in_place(text, data)
    return True


def _write_in_place(path: str, data: bytes) -> None:
    """Open a device/FIFO/socket path for writing (never create, never rename)."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISSOCK(mode):
            import socket

            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(path)
                sock.sendall(data)
            return
        flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0)
        if stat.S_ISFIFO(mode):
            # Non-blocking open fails with ENXIO at once when nobody reads the FIFO
            # (a blocking open would hang the cron job for ever).
            try:
                fd = os.open(path, flags | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    raise OSError(errno.ENXIO, "FIFO has no reader", path) from None
                raise
            os.set_blocking(fd, True)
        else:
            fd = os.open(path, flags)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _naming(exc, Path(path)) from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _stage(target: Path, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _naming(exc: OSError, target: Path) -> OSError:
    """The same error, naming the file the user asked for (not ``.x.html.abc.tmp``)."""
    if isinstance(exc, LockTimeout):
        return exc
    reason = exc.strerror or str(exc)
    return OSError(exc.errno or errno.EIO, reason, str(target))


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``folder`` itself (created if missing).

    The folder must be a real directory, not a symlink: an athlete folder planted as a
    symlink would carry the reports out of ``--out-dir``.
    """
    directory = Path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic rename is the guarantee
        yield
        return
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(directory, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise OSError(
                exc.errno,
                "is a symlink or not a folder; refusing to write through it",
                str(directory),
            ) from None
        raise _naming(exc, directory) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"{directory}: another kneeflags run has held this folder's lock "
                        f"for over {timeout:.0f} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _same_content(path: Path, data: bytes) -> bool:
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every OS lets you open a dir)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
