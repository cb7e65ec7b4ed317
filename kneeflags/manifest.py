"""``kneeflags batch --manifest athletes.csv|athletes.parquet``: athletes without folders.

Platforms do not keep one folder per athlete; they know which files belong to whom. A
manifest has two columns, ``athlete`` and ``path`` (a file, a folder, a quoted glob, or a
URL such as ``file:///data/a.fit`` or ``s3://bucket/athlete-7/``), and any number of rows
per athlete. Relative local paths are read from the manifest's own folder, so a manifest
travels with its data.

Anything wrong with the manifest itself is a :class:`ManifestError`: one line naming the
file (exit code 2), raised before any athlete is analysed or anything is written. A path
that does not exist is not a manifest error: that athlete's report names it, like a
missing file given on the command line.
"""

from __future__ import annotations

import os
from pathlib import Path

from kneeflags.model import safe_text
from kneeflags.parsers.common import exception_line

MAX_MANIFEST_BYTES = 256 * 1024 * 1024
"""A manifest of a million rows is ~100 MB of CSV; anything larger is not a manifest."""

COLUMNS = ("athlete", "path")


class ManifestError(ValueError):
    """The manifest cannot be used (the message names the file; exit code 2)."""


def is_url(path: str) -> bool:
    """True for ``scheme://...`` (fsspec's notation); a Windows drive letter is not one."""
    head, sep, _ = path.partition("://")
    return bool(sep) and len(head) > 1 and head.replace("+", "").replace("-", "").isalnum()


def read_manifest(path: str | os.PathLike[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(athlete, paths) in order of first appearance; paths in row order, duplicates once."""
    import polars as pl

    file = Path(os.path.expanduser(os.fspath(path)))
    where = safe_text(str(path))
    try:
        if not file.is_file():
            raise ManifestError(f"--manifest {where}: not a regular file")
        if file.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"--manifest {where}: larger than {MAX_MANIFEST_BYTES >> 20} MiB")
        suffix = file.suffix.lower()
        if suffix == ".csv":
            frame = pl.read_csv(file, infer_schema=False, encoding="utf8")
        elif suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(file)
        else:
            raise ManifestError(f"--manifest {where}: expected a .csv or .parquet file")
    except ManifestError:
        raise
    except Exception as exc:  # polars' and the OS's errors, as one line
        text = exception_line(exc, 200)
        raise ManifestError(f"--manifest {where}: cannot be read ({text})") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ManifestError(
            f"--manifest {where}: missing column(s) {', '.join(missing)} "
            f"(needs 'athlete' and 'path'; has {', '.join(frame.columns) or 'none'})"
        )
    if frame.height == 0:
        raise ManifestError(f"--manifest {where}: no rows")
    try:
        frame = frame.select(pl.col(c).cast(pl.String) for c in COLUMNS)
    except Exception:
        raise ManifestError(f"--manifest {where}: 'athlete' and 'path' must be text") from None
    base = file.resolve().parent
    athletes: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for line, (name, raw) in enumerate(frame.iter_rows(), 2):
        name = (name or "").strip()
        raw = (raw or "").strip()
        if not name or not raw:
            column = "athlete" if not name else "path"
            raise ManifestError(f"--manifest {where}: row {line} has an empty '{column}'")
        key = name.casefold()
        names.setdefault(key, name)
        target = raw if is_url(raw) or os.path.isabs(os.path.expanduser(raw)) else str(base / raw)
        paths = athletes.setdefault(key, [])
        if target not in paths:
            paths.append(target)
    return [(safe_text(names[k]), tuple(v)) for k, v in athletes.items()]


__all__ = ["ManifestError", "is_url", "read_manifest"]
