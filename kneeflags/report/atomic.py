"""Atomic report writes: a reader (or a crash) never sees a half-written report.

Each file is written to a temporary file in the *same* directory, flushed and
fsynced, then moved over the target with :func:`os.replace` (atomic on POSIX and
Windows within one file system), and the directory entry is fsynced too. If the
target already holds exactly the same bytes it is left untouched, so a cron rerun
does not even change modification times.

Two cron runs writing the same folder at once are serialised by
:func:`folder_lock` (an advisory ``flock`` on ``.kneeflags.lock``), so one run's
``.md``, ``.html`` and ``.json`` are never mixed with the other's. Without
``fcntl`` (Windows) the lock is a no-op and atomic rename alone still prevents
corruption.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".kneeflags.lock"
LOCK_TIMEOUT_S = 300.0
"""How long to wait for another run's lock before giving up with an error (no hang)."""


class LockTimeout(OSError):
    """Another kneeflags run held the folder lock for longer than the timeout."""


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; return False if it already held those bytes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if _same_content(target, data):
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)
    return True


def atomic_write_text(path: str | os.PathLike[str], text: str) -> bool:
    """UTF-8 text, ``\\n`` line endings on every platform (byte-identical reruns)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``folder`` (created if missing)."""
    directory = Path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic rename is the guarantee
        yield
        return
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"{directory}: another kneeflags run has held {LOCK_NAME} "
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
        if path.stat().st_size != len(data):
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
