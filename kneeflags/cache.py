"""Persistent parse cache: per-file outcomes and per-activity summaries as Parquet.

Why a cache: parsing is the expensive step (FIT decoding, grade resampling),
and a weekly cron run sees the same hundreds of files again. What is stored
is what analysis needs — per-activity summary rows, the cadence histogram and
each file's problems — never raw samples.

Layout (one consolidated set of files per cache *key*, so a warm year loads
in one read of each table)::

    <root>/v<CACHE_FORMAT>/<key>/files.parquet     one row per input content hash
    <root>/v<CACHE_FORMAT>/<key>/summaries.parquet one row per activity
    <root>/v<CACHE_FORMAT>/<key>/cadence.parquet   cadence histogram rows

``key`` hashes everything that changes a summary: the decoder, the package
and metrics versions, the time zone option and the analysis settings that
summaries depend on. Entries are looked up by the content sha256, so renamed
or moved files still hit (the source path is re-attached on the way out).

Writes are atomic (temp file + ``os.replace``) under an advisory lock; a
table that cannot be read or has the wrong schema is ignored and rebuilt,
never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

CACHE_FORMAT = 1

CACHE_LOCK_TIMEOUT_S = 60.0
"""How long a writer waits for another run's cache lock before leaving the cache as it is."""

FILES_SCHEMA: dict[str, pl.DataType] = {
    "sha256": pl.String(),
    "status": pl.String(),  # "ok" | "error" | "skipped"
    "problems": pl.String(),  # JSON list of [kind, message] (path re-attached on read)
    "skip_reason": pl.String(),
}


def default_cache_dir() -> Path:
    """The user cache folder (``$XDG_CACHE_HOME/kneeflags`` on Linux)."""
    from platformdirs import user_cache_path

    return user_cache_path("kneeflags", appauthor=False)


def cache_key(**parts: object) -> str:
    """A short stable hash of the settings that change cached content."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(slots=True)
class FileEntry:
    """What the cache remembers about one input content (by sha256), besides its rows."""

    sha256: str
    status: str
    problems: list[tuple[str, str]] = field(default_factory=list)
    skip_reason: str = ""


@dataclass(slots=True)
class CacheHits:
    """What a lookup found: one entry per known content hash, and their rows in bulk.

    The rows stay two frames with a ``sha256`` column (summaries in
    ``ACTIVITY_SUMMARY_SCHEMA``, cadence histogram rows) rather than one small frame per
    file: a warm run over thousands of files then joins them in one step.
    """

    entries: dict[str, FileEntry] = field(default_factory=dict)
    summaries: pl.DataFrame = field(default_factory=pl.DataFrame)
    cadence: pl.DataFrame = field(default_factory=pl.DataFrame)

    def rows_of(self, sha: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(summary rows, cadence rows) of one content hash (for tests and debugging)."""
        return tuple(  # type: ignore[return-value]
            frame.filter(pl.col("sha256") == sha) if frame.height else frame
            for frame in (self.summaries, self.cadence)
        )


class ParseCache:
    """A cache folder for one key; see the module docstring for the layout."""

    def __init__(self, root: str | Path, key: str) -> None:
        self.root = Path(root).expanduser()
        self.dir = self.root / f"v{CACHE_FORMAT}" / key

    # -- reading ---------------------------------------------------------
    def lookup(self, shas: set[str]) -> CacheHits:
        """Entries for the given content hashes; anything unreadable is a miss."""
        if not shas:
            return CacheHits()
        files = _read_table(self.dir / "files.parquet", FILES_SCHEMA)
        if files is None or files.is_empty():
            return CacheHits()
        files = files.filter(pl.col("sha256").is_in(list(shas)))
        if files.is_empty():
            return CacheHits()
        summaries = _read_table(self.dir / "summaries.parquet")
        cadence = _read_table(self.dir / "cadence.parquet")
        needs_tables = files.filter(pl.col("status") == "ok").height > 0
        if needs_tables and (summaries is None or cadence is None):
            return CacheHits()
        entries: dict[str, FileEntry] = {}
        for row in files.iter_rows(named=True):
            try:
                problems = [(str(k), str(m)) for k, m in json.loads(row["problems"] or "[]")]
            except (ValueError, TypeError):
                continue  # corrupt row: treat as a miss
            sha = row["sha256"]
            entries[sha] = FileEntry(
                sha256=sha,
                status=row["status"],
                problems=problems,
                skip_reason=row["skip_reason"] or "",
            )
        found = list(entries)
        return CacheHits(
            entries=entries,
            summaries=_rows_for(summaries, found),
            cadence=_rows_for(cadence, found),
        )

    # -- writing ---------------------------------------------------------
    def store(
        self,
        entries: list[FileEntry],
        summaries: pl.DataFrame | None = None,
        cadence: pl.DataFrame | None = None,
    ) -> None:
        """Merge ``entries`` and their rows into the consolidated tables, atomically.

        ``summaries`` and ``cadence`` carry a ``sha256`` column naming the entry each row
        belongs to; rows of hashes not in ``entries`` are not stored, and the same content
        given twice is stored once.
        """
        entries = list({e.sha256: e for e in reversed(entries)}.values())[::-1]  # one per content
        if not entries:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        new_shas = [e.sha256 for e in entries]
        new_files = pl.DataFrame(
            {
                "sha256": new_shas,
                "status": [e.status for e in entries],
                "problems": [json.dumps(e.problems) for e in entries],
                "skip_reason": [e.skip_reason for e in entries],
            },
            schema=FILES_SCHEMA,
        )
        # Two paths with the same content: one copy of its rows (only ``source`` differs).
        new_summaries = _rows_for(summaries, new_shas)
        if {"sha256", "activity_id"} <= set(new_summaries.columns):
            new_summaries = new_summaries.unique(
                ["sha256", "activity_id"], keep="first", maintain_order=True
            )
        new_cadence = _rows_for(cadence, new_shas).unique(maintain_order=True)
        with self._lock():
            tables = {
                "files.parquet": (_read_table(self.dir / "files.parquet", FILES_SCHEMA), new_files),
                "summaries.parquet": (_read_table(self.dir / "summaries.parquet"), new_summaries),
                "cadence.parquet": (_read_table(self.dir / "cadence.parquet"), new_cadence),
            }
            for name, (old, new) in tables.items():
                merged = _merge(old, new, new_shas)
                if merged is not None:
                    _atomic_write_parquet(merged, self.dir / name)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise writers (two cron jobs); readers never wait.

        A writer waits at most :data:`CACHE_LOCK_TIMEOUT_S` (a stuck holder must not hang
        a cron job), then raises ``TimeoutError``; the pipeline then skips the cache update.
        """
        lock_path = self.dir / ".lock"
        with open(lock_path, "a+b") as handle:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - non-POSIX: atomic renames still hold
                yield
                return
            deadline = time.monotonic() + CACHE_LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TimeoutError(
                            f"{lock_path}: held by another run for over {CACHE_LOCK_TIMEOUT_S:g} s"
                        ) from None
                    time.sleep(0.05)
                except OSError:  # pragma: no cover - no locks on this file system
                    break
            yield


def cache_info(root: str | Path) -> dict[str, object]:
    """Size and entry counts per key, for ``kneeflags cache info``."""
    base = Path(root).expanduser()
    keys = []
    total = 0
    for key_dir in sorted(base.glob(f"v{CACHE_FORMAT}/*")):
        if not key_dir.is_dir():
            continue
        size = sum(p.stat().st_size for p in key_dir.iterdir() if p.is_file())
        total += size
        files = _read_table(key_dir / "files.parquet", FILES_SCHEMA)
        summaries = _read_table(key_dir / "summaries.parquet")
        keys.append(
            {
                "key": key_dir.name,
                "files": 0 if files is None else files.height,
                "activities": 0 if summaries is None else summaries.height,
                "bytes": size,
            }
        )
    return {"path": str(base), "format": CACHE_FORMAT, "bytes": total, "keys": keys}


def clear_cache(root: str | Path) -> int:
    """Delete the cache folder's kneeflags content; returns bytes freed."""
    base = Path(root).expanduser()
    freed = 0
    for version_dir in base.glob("v*"):
        if version_dir.is_dir():
            freed += sum(p.stat().st_size for p in version_dir.rglob("*") if p.is_file())
            shutil.rmtree(version_dir, ignore_errors=True)
    return freed


# -- helpers -------------------------------------------------------------
def _read_table(path: Path, schema: dict[str, pl.DataType] | None = None) -> pl.DataFrame | None:
    """Read one table, or ``None`` when absent, unreadable or of another schema."""
    if not path.is_file():
        return None
    try:
        frame = pl.read_parquet(path)
    except Exception:  # corrupt or partial file: never trusted
        return None
    if "sha256" not in frame.columns:
        return None
    if schema is not None and dict(frame.schema) != schema:
        return None
    return frame


def _rows_for(frame: pl.DataFrame | None, shas: list[str]) -> pl.DataFrame:
    """The rows of ``frame`` whose ``sha256`` is one of ``shas`` (empty frame if none)."""
    if frame is None or frame.is_empty() or "sha256" not in frame.columns:
        return pl.DataFrame()
    return frame.filter(pl.col("sha256").is_in(shas))


def _merge(old: pl.DataFrame | None, new: pl.DataFrame, replaced: list[str]) -> pl.DataFrame | None:
    """Old rows for other hashes plus the new rows; ``None`` when nothing to write."""
    if old is None or old.is_empty():
        return new if new.width else None
    kept = old.filter(~pl.col("sha256").is_in(replaced))
    if not new.width:
        return kept
    try:
        return pl.concat([kept, new], how="diagonal_relaxed")
    except Exception:  # schema drift between versions: start over with the new rows
        return new


def _atomic_write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Parquet bytes through the project's one atomic writer (temp file, fsync, rename)."""
    from kneeflags.report.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    atomic_write_bytes(path, buffer.getvalue())
