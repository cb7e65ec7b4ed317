"""The parse cache: round trips, merging, and never trusting a damaged entry."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from kneeflags.cache import FileEntry, ParseCache, cache_info, cache_key, clear_cache


def _entry(sha: str, km: float, status: str = "ok") -> FileEntry:
    summaries = pl.DataFrame({"sha256": [sha], "activity_id": [f"{sha}:0"], "distance_km": [km]})
    cadence = pl.DataFrame(
        {
            "sha256": [sha, sha],
            "activity_id": [f"{sha}:0"] * 2,
            "spm": [170, 171],
            "seconds": [5.0, 7.0],
        }
    )
    return FileEntry(
        sha256=sha,
        status=status,
        problems=[("warning", "cadence unit guessed")],
        summaries=summaries if status == "ok" else pl.DataFrame(),
        cadence=cadence if status == "ok" else pl.DataFrame(),
    )


def test_round_trip_and_merge(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, cache_key(decoder="auto"))
    cache.store([_entry("a" * 64, 10.0), _entry("b" * 64, 5.0, status="error")])
    cache.store([_entry("c" * 64, 7.5)])
    cache.store([_entry("a" * 64, 11.0)])  # replaced, not duplicated
    cache.store([_entry("c" * 64, 7.5), _entry("c" * 64, 7.5)])  # two copies of one file

    found = cache.lookup({"a" * 64, "b" * 64, "c" * 64, "d" * 64})
    assert set(found) == {"a" * 64, "b" * 64, "c" * 64}
    assert found["a" * 64].summaries["distance_km"].to_list() == [11.0]
    assert found["a" * 64].cadence["seconds"].sum() == 12.0
    assert found["b" * 64].status == "error"
    assert found["b" * 64].summaries.is_empty()
    assert found["c" * 64].problems == [("warning", "cadence unit guessed")]
    assert found["c" * 64].summaries.height == 1
    leftovers = [p.name for p in cache.dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_keys_are_separate(tmp_path: Path) -> None:
    ParseCache(tmp_path, cache_key(decoder="auto")).store([_entry("a" * 64, 1.0)])
    other = ParseCache(tmp_path, cache_key(decoder="fitparse"))
    assert other.lookup({"a" * 64}) == {}


def test_corrupt_table_is_a_miss_and_is_rebuilt(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    cache.store([_entry("a" * 64, 1.0)])
    (cache.dir / "summaries.parquet").write_bytes(b"PAR1 this is not parquet")
    assert cache.lookup({"a" * 64}) == {}
    (cache.dir / "files.parquet").write_bytes(b"")
    assert cache.lookup({"a" * 64}) == {}
    cache.store([_entry("a" * 64, 2.0)])
    assert cache.lookup({"a" * 64})["a" * 64].summaries["distance_km"].to_list() == [2.0]


def test_wrong_schema_is_ignored(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    cache.dir.mkdir(parents=True)
    pl.DataFrame({"sha256": ["a" * 64], "status": [1]}).write_parquet(cache.dir / "files.parquet")
    assert cache.lookup({"a" * 64}) == {}


def test_info_and_clear(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    cache.store([_entry("a" * 64, 1.0), _entry("b" * 64, 2.0)])
    info = cache_info(tmp_path)
    assert info["keys"][0]["files"] == 2  # type: ignore[index]
    assert info["bytes"] > 0  # type: ignore[operator]
    assert clear_cache(tmp_path) > 0
    assert cache.lookup({"a" * 64}) == {}
    assert cache_info(tmp_path)["keys"] == []
