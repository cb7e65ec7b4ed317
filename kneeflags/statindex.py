"""The parse cache's stat pre-check: an unchanged file's content hash without re-reading it.

Why: a cache hit used to read and SHA-256 every input again just to find its cache
entry (300 one-hour FIT files: ~40 ms of a ~0.4 s warm run, a Garmin export far more).
Like ``git status`` and ``make``, this remembers, per input file, what ``stat`` said when
its content was last hashed, and trusts the remembered hash while ``stat`` says the same.

What is trusted, and when a file is read again (SECURITY.md, "The parse cache's stat
pre-check"):

* The signature is the file's device, inode, size, modification time and *change time*
  (``st_ctime_ns``), all in nanoseconds, taken before the content is read. Rewriting a
  file in place, replacing it by a rename, or restoring its modification time with
  ``touch``/``os.utime`` all set the change time to the current time, which no
  unprivileged call can set back; a different file at the same path has another inode.
* A file whose modification or change time is less than :data:`RACY_SECONDS` before
  the moment it was hashed is not remembered ("racy git"): the file system's clock ticks
  coarsely, so a write in the same tick as the hashing could leave the signature as it
  was with other bytes behind it. It is hashed again next run.
* Archive members are remembered under the archive's signature and their position in it:
  any change to the archive is a change to each member.
* The index holds content hashes only; the hints a file is read with (a Strava
  ``activities.csv`` sport) are mixed in afresh each run, so a changed CSV still misses.
* ``--rehash`` (``analyze``, ``report``, ``batch``; ``run_pipeline(rehash=True)``)
  ignores the index and hashes every input, then records the fresh signatures;
  ``--no-cache`` neither reads nor writes it.

The index is one JSON file per cache shard (``<cache>/vstat-1/<shard>.json``), written
atomically; an unreadable or foreign index is an empty one (the files are hashed, as
before). It only ever saves time: losing it, or two runs overwriting each other's,
costs a re-hash, never a wrong report.
"""

from __future__ import annotations

import json
import os
import stat as statmod
import time
from pathlib import Path

INDEX_FORMAT = 1
INDEX_DIR = f"vstat-{INDEX_FORMAT}"
"""Beside the cache's ``v2`` folder (``cache clear`` removes every ``v*`` folder; not inside
``v2``, whose folders are cache keys). Not imported from :mod:`kneeflags.cache`, which
imports polars: the command line reads the index before it needs polars."""
RACY_SECONDS = 2.0
"""A file changed this recently before it was hashed is hashed again next run [eng]:
longer than any file system's timestamp tick (FAT's 2 s included)."""

MAX_ENTRIES = 50_000
"""Past this many remembered files, only the current run's are kept: the entries of files
that were moved or deleted (or of a batch manifest's remote inputs, staged in a new
temporary folder each run) must not grow the index, read at every run, for ever."""

Signature = tuple[int, int, int, int, int]
"""(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)."""


def signature(path: str) -> Signature | None:
    """What ``stat`` says about a regular file now (``None``: not one, or not there)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not statmod.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def item_key(path: str, chain: tuple[int, ...]) -> str:
    """The index key of a file or archive member: its absolute path and member positions."""
    where = os.path.abspath(path)
    return where if not chain else where + "\0" + ",".join(map(str, chain))


def index_path(root: str | os.PathLike[str], shard: str | None) -> Path:
    """Where the index of a cache folder and shard (``None``: no shard) is kept."""
    return Path(root).expanduser() / INDEX_DIR / f"{shard or '_'}.json"


class StatIndex:
    """Remembered (signature -> content hash) of inputs, for one cache folder."""

    def __init__(self, root: str | os.PathLike[str], shard: str | None = None) -> None:
        self.path = index_path(root, shard)
        self._old: dict[str, list[object]] = {}
        self._new: dict[str, list[object]] = {}
        self._loaded = False
        self._found = False

    def _load(self) -> dict[str, list[object]]:
        if not self._loaded:
            self._loaded = True
            try:
                raw = json.loads(self.path.read_bytes())
                self._found = True
                if isinstance(raw, dict) and raw.get("format") == INDEX_FORMAT:
                    entries = raw.get("entries")
                    if isinstance(entries, dict):
                        self._old = entries
            except (OSError, ValueError):
                pass
        return self._old

    def known(self, key: str, sig: Signature | None) -> str | None:
        """The content hash remembered for ``key`` if its signature is still ``sig``."""
        if sig is None:
            return None
        entry = self._load().get(key)
        if (
            isinstance(entry, list)
            and len(entry) == 6
            and tuple(entry[:5]) == sig
            and isinstance(entry[5], str)
            and len(entry[5]) == 64
        ):
            self._new[key] = entry
            return entry[5]
        return None

    def remember(self, key: str, sig: Signature | None, content_sha: str, hashed_at: float) -> None:
        """Record that ``key`` had content ``content_sha`` when ``stat`` said ``sig``.

        ``hashed_at``: ``time.time()`` just before ``sig`` was taken. A file changed less
        than :data:`RACY_SECONDS` before it is not recorded (see the module docs).
        """
        if sig is None:
            return
        newest = max(sig[3], sig[4]) / 1e9
        if hashed_at - newest < RACY_SECONDS:
            return
        self._new[key] = [*sig, content_sha]

    def save(self) -> None:
        """Write the index if this run learnt anything (atomic; errors are the caller's)."""
        old = self._load()
        if self._found and all(old.get(k) == v for k, v in self._new.items()):
            return  # (written even empty the first time: it marks a cache that saw a run)
        merged = {**old, **self._new} if len(old) + len(self._new) <= MAX_ENTRIES else self._new
        from kneeflags.report.atomic import atomic_write_bytes

        blob = json.dumps({"format": INDEX_FORMAT, "entries": merged}, separators=(",", ":"))
        atomic_write_bytes(self.path, blob.encode())


def now() -> float:
    """The clock :meth:`StatIndex.remember` compares signatures with."""
    return time.time()
