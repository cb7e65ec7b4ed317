"""The parse cache: round trips, merging, and never trusting a damaged entry."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from kneeflags.cache import FileEntry, ParseCache, cache_info, cache_key, clear_cache


def _entry(sha: str, km: float, status: str = "ok") -> tuple[FileEntry, pl.DataFrame, pl.DataFrame]:
    summaries = pl.DataFrame({"sha256": [sha], "activity_id": [f"{sha}:0"], "distance_km": [km]})
    cadence = pl.DataFrame(
        {
            "sha256": [sha, sha],
            "activity_id": [f"{sha}:0"] * 2,
            "spm": [170, 171],
            "seconds": [5.0, 7.0],
        }
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
    (cache.dir / "summaries.parquet").write_bytes(b"PAR1 this is not parquet")
    assert cache.lookup({"a" * 64}).entries == {}
    (cache.dir / "files.parquet").write_bytes(b"")
    assert cache.lookup({"a" * 64}).entries == {}
    _store(cache, _entry("a" * 64, 2.0))
    assert cache.lookup({"a" * 64}).rows_of("a" * 64)[0]["distance_km"].to_list() == [2.0]


def test_wrong_schema_is_ignored(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    cache.dir.mkdir(parents=True)
    pl.DataFrame({"sha256": ["a" * 64], "status": [1]}).write_parquet(cache.dir / "files.parquet")
    assert cache.lookup({"a" * 64}).entries == {}


def test_info_and_clear(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path, "k")
    _store(cache, _entry("a" * 64, 1.0), _entry("b" * 64, 2.0))
    info = cache_info(tmp_path)
    assert info["keys"][0]["files"] == 2  # type: ignore[index]
    assert info["bytes"] > 0  # type: ignore[operator]
    assert clear_cache(tmp_path) > 0
    assert cache.lookup({"a" * 64}).entries == {}
    assert cache_info(tmp_path)["keys"] == []
