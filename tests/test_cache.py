"""The parse cache: round trips, merging, and never trusting a damaged entry."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import polars as pl
import pytest

from kneeflags.cache import (
    MANIFEST,
    CacheClearError,
    FileEntry,
    ParseCache,
    cache_info,
    cache_key,
    clear_cache,
    table_schemas,
)


def _full(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """``frame`` in the table's exact layout (columns not given are null)."""
    schema = table_schemas()[table]
    missing = [
        pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in frame.columns
    ]
    return frame.with_columns(missing).select(list(schema)).cast(schema)  # type: ignore[arg-type]


def _table(cache: ParseCache, table: str) -> Path:
    """The current generation's file of ``table`` (named by the manifest)."""
    return cache.dir / json.loads((cache.dir / MANIFEST).read_text())["tables"][table]


def _entry(sha: str, km: float, status: str = "ok") -> tuple[FileEntry, pl.DataFrame, pl.DataFrame]:
    summaries = _full(
        pl.DataFrame({"sha256": [sha], "activity_id": [f"{sha}:0"], "distance_km": [km]}),
        "summaries",
    )
    cadence = _full(
        pl.DataFrame(
            {
                "sha256": [sha, sha],
                "activity_id": [f"{sha}:0"] * 2,
                "spm": [170, 171],
                "seconds": [5.0, 7.0],
            }
        ),
        "cadence",
    )
    entry = FileEntry(sha256=sha, status=status, problems=[("warning", "cadence unit guessed")])
    if status != "ok":
        return entry, pl.DataFrame(), pl.DataFrame()
    return entry, summaries, cadence


def _store(cache: ParseCache, *entries: tuple[FileEntry, pl.DataFrame, pl.DataFrame]) -> None:
    """Store like the pipeline does: entries plus their rows in bulk."""
    frames = [e for e in entries if e[1].height]
    cache.store(
        [e[0] for e in entries],
        pl.concat([e[1] for e in frames]) if frames else None,
        pl.concat([e[2] for e in frames]) if frames else None,
    )


def test_round_trip_and_merge(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, cache_key(decoder="auto"))
    _store(cache, _entry("a" * 64, 10.0), _entry("b" * 64, 5.0, status="error"))
    _store(cache, _entry("c" * 64, 7.5))
    _store(cache, _entry("a" * 64, 11.0))  # replaced, not duplicated
    _store(cache, _entry("c" * 64, 7.5), _entry("c" * 64, 7.5))  # two copies of one file

    found = cache.lookup({"a" * 64, "b" * 64, "c" * 64, "d" * 64})
    assert set(found.entries) == {"a" * 64, "b" * 64, "c" * 64}
    a_rows, a_cadence = found.rows_of("a" * 64)
    assert a_rows["distance_km"].to_list() == [11.0]
    assert a_cadence["seconds"].sum() == 12.0
    assert found.entries["b" * 64].status == "error"
    assert found.rows_of("b" * 64)[0].is_empty()
    assert found.entries["c" * 64].problems == [("warning", "cadence unit guessed")]
    c_rows, c_cadence = found.rows_of("c" * 64)
    assert c_rows.height == 1 and c_cadence.height == 2
    assert found.summaries.height == 2  # only the hashes asked for and found
    leftovers = [p.name for p in cache.dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_rows_of_hashes_not_stored_are_dropped(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    entry, rows, cadence = _entry("a" * 64, 1.0)
    _e, stray_rows, stray_cadence = _entry("z" * 64, 9.0)
    cache.store([entry], pl.concat([rows, stray_rows]), pl.concat([cadence, stray_cadence]))
    found = cache.lookup({"a" * 64, "z" * 64})
    assert set(found.entries) == {"a" * 64}
    assert found.summaries["sha256"].to_list() == ["a" * 64]


def test_keys_are_separate(tmp_path: Path) -> None:
    _store(ParseCache(tmp_path, cache_key(decoder="auto")), _entry("a" * 64, 1.0))
    other = ParseCache(tmp_path, cache_key(decoder="fitparse"))
    assert other.lookup({"a" * 64}).entries == {}


def test_corrupt_table_is_a_miss_and_is_rebuilt(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    _store(cache, _entry("a" * 64, 1.0))
    _table(cache, "summaries").write_bytes(b"PAR1 this is not parquet")
    assert cache.lookup({"a" * 64}).entries == {}
    _table(cache, "files").write_bytes(b"")
    assert cache.lookup({"a" * 64}).entries == {}
    _store(cache, _entry("a" * 64, 2.0))
    assert cache.lookup({"a" * 64}).rows_of("a" * 64)[0]["distance_km"].to_list() == [2.0]


def test_wrong_schema_is_ignored(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    _store(cache, _entry("a" * 64, 1.0))
    pl.DataFrame({"sha256": ["a" * 64], "status": [1]}).write_parquet(_table(cache, "files"))
    assert cache.lookup({"a" * 64}).entries == {}


@pytest.mark.parametrize("table", ["summaries", "cadence"])
@pytest.mark.parametrize("damage", ["drop-column", "retype-column", "older-layout"])
def test_a_valid_parquet_of_another_layout_is_ignored_and_rebuilt(
    tmp_path: Path, table: str, damage: str
) -> None:
    """Issue 10: a ``summaries``/``cadence`` table of another layout made every run fail
    with a polars error until ``cache clear``."""
    cache = ParseCache(tmp_path, "k")
    _store(cache, _entry("a" * 64, 1.0))
    path = _table(cache, table)
    frame = pl.read_parquet(path)
    if damage == "drop-column":
        frame = frame.drop(frame.columns[1])
    elif damage == "retype-column":
        frame = frame.with_columns(pl.col("activity_id").cast(pl.Categorical))
    else:
        frame = frame.select("sha256", "activity_id")
    frame.write_parquet(path)
    assert cache.lookup({"a" * 64}).entries == {}  # a miss: the file is parsed again
    _store(cache, _entry("a" * 64, 3.0))
    found = cache.lookup({"a" * 64})
    assert found.rows_of("a" * 64)[0]["distance_km"].to_list() == [3.0]


def test_an_ok_entry_without_rows_is_a_miss(tmp_path: Path) -> None:
    """Marked ok with no summary row: never an empty activity, always parsed again."""
    cache = ParseCache(tmp_path, "k")
    entry, _rows, _cadence = _entry("a" * 64, 1.0)
    cache.store([entry], None, None)
    assert cache.lookup({"a" * 64}).entries == {}
    error, _, _ = _entry("b" * 64, 0.0, status="error")
    cache.store([error])
    assert set(cache.lookup({"b" * 64}).entries) == {"b" * 64}  # errors need no rows


def test_tables_without_a_manifest_are_not_trusted(tmp_path: Path) -> None:
    """A crash before the manifest is replaced: the new tables are orphans, never read."""
    cache = ParseCache(tmp_path, "k")
    _store(cache, _entry("a" * 64, 1.0))
    (cache.dir / MANIFEST).unlink()
    assert cache.lookup({"a" * 64}).entries == {}


def test_old_generations_are_removed(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    for km in (1.0, 2.0, 3.0):
        _store(cache, _entry("a" * 64, km))
    assert len([p for p in cache.dir.iterdir() if p.suffix == ".parquet"]) == 3


def test_info_and_clear(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    _store(cache, _entry("a" * 64, 1.0), _entry("b" * 64, 2.0))
    info = cache_info(tmp_path)
    assert info["keys"][0]["files"] == 2  # type: ignore[index]
    assert info["bytes"] > 0  # type: ignore[operator]
    assert clear_cache(tmp_path) > 0
    assert cache.lookup({"a" * 64}).entries == {}
    assert cache_info(tmp_path)["keys"] == []


def test_clear_on_a_read_only_cache_raises_instead_of_claiming_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10: ``cache clear`` on a read-only cache said "cache cleared" and exited 0.

    Read-only is simulated (EROFS from every unlink): root ignores file modes.
    """
    cache = ParseCache(tmp_path, "k")
    _store(cache, _entry("a" * 64, 1.0))

    def read_only(*_a: object, **_k: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "unlink", read_only)
    monkeypatch.setattr(os, "rmdir", read_only)
    with pytest.raises(CacheClearError, match="Read-only file system"):
        clear_cache(tmp_path)
    monkeypatch.undo()
    assert set(cache.lookup({"a" * 64}).entries) == {"a" * 64}
