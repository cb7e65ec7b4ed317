"""Persistent parse cache: per-file outcomes and per-activity summaries as Parquet.

Why a cache: parsing is the expensive step (FIT decoding, grade resampling),
and a weekly cron run sees the same hundreds of files again. What is stored
is what analysis needs — per-activity summary rows, the cadence histogram and
each file's problems — never raw samples.

Layout (one consolidated set of tables per cache *key*, so a warm year loads in one
read of each table, committed as one unit by a manifest written last)::

    <root>/v<CACHE_FORMAT>/<key>/manifest.json          names the current generation
    <root>/v<CACHE_FORMAT>/<key>/files-<gen>.parquet     one row per input key
    <root>/v<CACHE_FORMAT>/<key>/summaries-<gen>.parquet one row per activity
    <root>/v<CACHE_FORMAT>/<key>/cadence-<gen>.parquet   cadence histogram rows

``key`` hashes everything that changes a summary: the decoder, the package
and metrics versions, the time zone option and the analysis settings that
summaries depend on. Entries are looked up by the input's content sha256, mixed with
its hints (a Strava ``activities.csv`` sport changes the outcome, so the same bytes
read with another hint are another entry); renamed or moved files still hit (the
source path is re-attached on the way out).

A store writes a new generation's three tables (each fsynced), then replaces
``manifest.json`` (fsynced): a crash or a full disk at any point leaves the previous
generation whole, never ``files`` of one run with ``summaries`` of another. A reader
trusts only what the manifest names, and only tables whose layout (column names and
types) is exactly the expected one; anything else is ignored and rebuilt. An entry
marked ``ok`` with no summary rows is a miss, never an empty activity.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import field
from pathlib import Path

import polars as pl

from kneeflags.records import record

CACHE_FORMAT = 2
"""2: tables committed by ``manifest.json`` (format 1 wrote three tables one by one)."""

MANIFEST = "manifest.json"
TABLES = ("files", "summaries", "cadence")

CACHE_LOCK_TIMEOUT_S = 60.0
"""How long a writer waits for another run's cache lock before leaving the cache as it is."""

FILES_SCHEMA: dict[str, pl.DataType] = {
    "sha256": pl.String(),
    "status": pl.String(),  # "ok" | "error" | "skipped"
    "problems": pl.String(),  # JSON list of [kind, message] (path re-attached on read)
    "skip_reason": pl.String(),
}


def table_schemas() -> dict[str, dict[str, pl.DataType]]:
    """The exact layout of each table (a table of another layout is not trusted)."""
    from kneeflags.metrics.cadence import CADENCE_HIST_SCHEMA
    from kneeflags.metrics.summary import ACTIVITY_SUMMARY_SCHEMA

    return {
        "files": FILES_SCHEMA,
        "summaries": {**ACTIVITY_SUMMARY_SCHEMA, "sha256": pl.String()},
        "cadence": {**CADENCE_HIST_SCHEMA, "sha256": pl.String()},
    }


def entry_key(content_sha256: str, hints: dict[str, object] | None) -> str:
    """The cache entry of one input: its content, and the hints it was read with."""
    if not hints:
        return content_sha256
    blob = json.dumps(hints, sort_keys=True, default=str)
    return hashlib.sha256(f"{content_sha256}|{blob}".encode()).hexdigest()


class CacheClearError(OSError):
    """``cache clear`` could not delete everything (a read-only cache, a busy file)."""


def default_cache_dir() -> Path:
    """The user cache folder (``$XDG_CACHE_HOME/kneeflags`` on Linux)."""
    from platformdirs import user_cache_path

    return user_cache_path("kneeflags", appauthor=False)


def cache_key(**parts: object) -> str:
    """A short stable hash of the settings that change cached content."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@record
class FileEntry:
    """What the cache remembers about one input content (by sha256), besides its rows."""

    sha256: str
    status: str
    problems: list[tuple[str, str]] = field(default_factory=list)
    skip_reason: str = ""


@record
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
        """Entries for the given keys; anything unreadable, mislaid or empty is a miss."""
        if not shas:
            return CacheHits()
        tables = self._read_generation()
        if tables is None:
            return CacheHits()
        files = tables["files"].filter(pl.col("sha256").is_in(list(shas)))
        if files.is_empty():
            return CacheHits()
        summaries, cadence = tables["summaries"], tables["cadence"]
        with_rows = set(summaries.get_column("sha256").unique().to_list())
        entries: dict[str, FileEntry] = {}
        for row in files.iter_rows(named=True):
            sha = row["sha256"]
            if row["status"] == "ok" and sha not in with_rows:
                continue  # "ok" without a summary row: a miss, never an empty activity
            try:
                problems = [(str(k), str(m)) for k, m in json.loads(row["problems"] or "[]")]
            except (ValueError, TypeError):
                continue  # corrupt row: treat as a miss
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

    def _manifest(self) -> dict[str, str] | None:
        try:
            raw = json.loads((self.dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict) or raw.get("format") != CACHE_FORMAT:
            return None
        names = raw.get("tables")
        if not isinstance(names, dict) or set(names) != set(TABLES):
            return None
        if not all(isinstance(v, str) and _is_table_name(v) for v in names.values()):
            return None
        return names

    def _read_generation(self) -> dict[str, pl.DataFrame] | None:
        """The three tables the manifest names, each of exactly its layout, or ``None``."""
        names = self._manifest()
        if names is None:
            return None
        schemas = table_schemas()
        out: dict[str, pl.DataFrame] = {}
        for table in TABLES:
            frame = _read_table(self.dir / names[table], schemas[table])
            if frame is None:
                return None
            out[table] = frame
        return out

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
            old = self._read_generation() or {}
            news = {"files": new_files, "summaries": new_summaries, "cadence": new_cadence}
            schemas = table_schemas()
            generation = secrets.token_hex(8)
            names = {table: f"{table}-{generation}.parquet" for table in TABLES}
            for table in TABLES:
                merged = _merge(old.get(table), news[table], new_shas)
                if merged is None or not merged.width:
                    merged = pl.DataFrame(schema=schemas[table])
                merged = merged.select(list(schemas[table])).cast(schemas[table])  # type: ignore[arg-type]
                _atomic_write_parquet(merged, self.dir / names[table])
            manifest = {"format": CACHE_FORMAT, "tables": names}
            from kneeflags.report.atomic import atomic_write_bytes

            atomic_write_bytes(self.dir / MANIFEST, json.dumps(manifest, indent=1).encode())
            self._remove_old_generations(set(names.values()))

    def _remove_old_generations(self, keep: set[str]) -> None:
        """Tables no manifest names any more (older generations, a crashed store's)."""
        for path in self.dir.iterdir():
            if path.name not in keep and (_is_table_name(path.name) or path.suffix == ".tmp"):
                with contextlib.suppress(OSError):
                    path.unlink()

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
        tables = ParseCache(base, key_dir.name)._read_generation() or {}
        files = tables.get("files")
        summaries = tables.get("summaries")
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
    """Delete the cache folder's kneeflags content; returns bytes freed.

    Raises :class:`CacheClearError` naming what is left when anything could not be deleted
    (a read-only cache used to be reported as cleared).
    """
    base = Path(root).expanduser()
    freed = 0
    failures: list[str] = []

    def failed(_func: object, path: str, info: object) -> None:
        exc = info[1] if isinstance(info, tuple) else info
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        failures.append(f"{path}: {reason}")

    for version_dir in base.glob("v*"):
        if version_dir.is_dir() and not version_dir.is_symlink():
            size = sum(p.stat().st_size for p in version_dir.rglob("*") if p.is_file())
            if sys.version_info >= (3, 12):
                shutil.rmtree(version_dir, onexc=failed)
            else:  # pragma: no cover - 3.11
                shutil.rmtree(version_dir, onerror=failed)
            if version_dir.exists():
                left = sum(p.stat().st_size for p in version_dir.rglob("*") if p.is_file())
                freed += size - left
            else:
                freed += size
    if failures:
        raise CacheClearError(
            f"cache not cleared: {failures[0]}"
            + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
        )
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


def _is_table_name(name: str) -> bool:
    stem, _, ext = name.partition(".")
    table, _, generation = stem.partition("-")
    return (
        ext == "parquet"
        and table in TABLES
        and len(generation) == 16
        and all(c in "0123456789abcdef" for c in generation)
        and os.sep not in name
    )


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
