"""The parse cache's stat pre-check (kneeflags/statindex.py) and the prestarted workers.

What it may trust (SECURITY.md): a file whose device, inode, size, mtime and ctime are
what they were when it was hashed. Rewriting it, even with its size and mtime restored,
changes its ctime, so it is read again; ``--rehash`` reads everything.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import write_fit

from kneeflags import prestart, statindex
from kneeflags.pipeline import run_pipeline
from kneeflags.sources import SourceItem
from kneeflags.statindex import StatIndex, index_path, item_key, signature


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Two FIT runs of different lengths, same size on disk is not needed."""
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "a.fit").write_bytes(write_fit(datetime(2026, 3, 2, 7, tzinfo=UTC), n=600))
    (folder / "b.fit").write_bytes(write_fit(datetime(2026, 3, 4, 7, tzinfo=UTC), n=1200))
    return folder


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash "a minute later": files written by the test are past the racy window."""
    monkeypatch.setattr(statindex, "now", lambda: time.time() + 60)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every input the pipeline reads (hashing and parsing alike), by file name."""
    seen: list[str] = []
    real = SourceItem.read

    def counting(self: SourceItem) -> bytes:
        seen.append(Path(self.ref.path).name)
        return real(self)

    monkeypatch.setattr(SourceItem, "read", counting)
    return seen


def _km(result: object) -> list[float]:
    acts = result.analysis.activities  # type: ignore[attr-defined]
    return sorted(round(v, 3) for v in acts["distance_km"].to_list())


def _run(runs: Path, cache: Path, **kw: object) -> object:
    return run_pipeline([runs], tz="UTC", cache_dir=cache, workers=1, **kw)  # type: ignore[arg-type]


def test_unchanged_files_are_not_read_again(
    runs: Path, tmp_path: Path, later: None, reads: list[str]
) -> None:
    cache = tmp_path / "cache"
    cold = _run(runs, cache)
    assert sorted(reads) == ["a.fit", "a.fit", "b.fit", "b.fit"]  # hashed, then parsed
    assert index_path(cache, None).is_file()
    reads.clear()
    warm = _run(runs, cache)
    assert reads == []  # a hit on stat alone: not even hashed
    assert warm.cache_hits == 2  # type: ignore[attr-defined]
    assert _km(warm) == _km(cold)
    assert warm.input_digest == cold.input_digest  # type: ignore[attr-defined]


def test_a_rewrite_with_size_and_mtime_restored_is_read_again(
    runs: Path, tmp_path: Path, later: None, reads: list[str]
) -> None:
    cache = tmp_path / "cache"
    first = _run(runs, cache)
    target = runs / "a.fit"
    before = target.stat()
    # Same size, another run (other start and distance): only the bytes differ.
    other = write_fit(datetime(2026, 3, 3, 7, tzinfo=UTC), n=600, speed=3.5, move_speed=3.5)
    assert len(other) == before.st_size
    time.sleep(0.05)  # past the file system's timestamp tick
    target.write_bytes(other)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns  # what the signature relies on
    reads.clear()
    second = _run(runs, cache)
    assert sorted(reads) == ["a.fit", "a.fit"]  # hashed (changed), then parsed (a miss)
    assert _km(second) != _km(first)
    fresh = run_pipeline([runs], tz="UTC", use_cache=False, workers=1)
    assert _km(second) == _km(fresh)


def test_the_index_is_trusted_and_rehash_reads_everything(
    runs: Path, tmp_path: Path, later: None
) -> None:
    """What the pre-check trusts, shown by lying to it: an index entry that maps a.fit's
    signature to b.fit's content is believed (b's run counted twice, as a copy), until
    ``rehash`` reads the files."""
    cache = tmp_path / "cache"
    honest = _run(runs, cache)
    path = index_path(cache, None)
    entries = json.loads(path.read_bytes())["entries"]
    key_a, key_b = (item_key(str(runs / n), ()) for n in ("a.fit", "b.fit"))
    entries[key_a][5] = entries[key_b][5]
    path.write_text(json.dumps({"format": statindex.INDEX_FORMAT, "entries": entries}))
    fooled = _run(runs, cache)
    assert len(_km(fooled)) == 1
    assert any("identical copy" in w.message for w in fooled.warnings)  # type: ignore[attr-defined]
    rehashed = _run(runs, cache, rehash=True)
    assert _km(rehashed) == _km(honest)
    again = _run(runs, cache)  # rehash also put the true signature back
    assert _km(again) == _km(honest)


def test_a_damaged_index_is_an_empty_one(runs: Path, tmp_path: Path, later: None) -> None:
    cache = tmp_path / "cache"
    honest = _run(runs, cache)
    path = index_path(cache, None)
    for junk in (b"", b"{not json", b"[]", json.dumps({"format": 99, "entries": {}}).encode()):
        path.write_bytes(junk)
        assert _km(_run(runs, cache)) == _km(honest)
    entries = json.loads(path.read_bytes())["entries"]
    assert len(entries) == 2  # rebuilt
    for bad in ([1, 2], ["x"] * 6, [0, 0, 0, 0, 0, "short"]):
        entries[item_key(str(runs / "a.fit"), ())] = bad
        path.write_text(json.dumps({"format": statindex.INDEX_FORMAT, "entries": entries}))
        assert _km(_run(runs, cache)) == _km(honest)


def test_files_changed_within_the_racy_window_are_not_remembered(
    runs: Path, tmp_path: Path
) -> None:
    """A file changed just before it was hashed could change again in the same clock
    tick without its signature moving: it is hashed again next time."""
    index = StatIndex(tmp_path / "cache")
    path = str(runs / "a.fit")
    sig = signature(path)
    assert sig is not None
    index.remember("fresh", sig, "0" * 64, hashed_at=max(sig[3], sig[4]) / 1e9 + 0.5)
    index.remember("settled", sig, "1" * 64, hashed_at=max(sig[3], sig[4]) / 1e9 + 5.0)
    index.save()
    reloaded = StatIndex(tmp_path / "cache")
    assert reloaded.known("settled", sig) == "1" * 64
    assert reloaded.known("fresh", sig) is None
    changed = (*sig[:4], sig[4] + 1)
    assert reloaded.known("settled", changed) is None  # any field of the signature
    assert signature(str(runs)) is None  # a folder is no regular file
    assert signature(str(runs / "missing.fit")) is None


def test_no_cache_neither_reads_nor_writes_the_index(runs: Path, tmp_path: Path) -> None:
    run_pipeline([runs], tz="UTC", use_cache=False, cache_dir=tmp_path / "cache", workers=1)
    assert not (tmp_path / "cache").exists()


def test_prestart_is_only_for_runs_that_will_parse(tmp_path: Path, runs: Path) -> None:
    cache = tmp_path / "cache"
    assert prestart.worth_prestarting(False, cache)  # --no-cache parses everything
    assert prestart.worth_prestarting(True, cache)  # a cache that never saw these inputs
    _run(runs, cache)
    assert not prestart.worth_prestarting(True, cache)  # probably warm: no worker imports


def test_a_prestarted_pool_is_taken_once_and_an_unused_one_ended() -> None:
    assert prestart.take(1) is None
    if not prestart.prestart(2):  # pragma: no cover - no process creation here
        pytest.skip("cannot start worker processes here")
    try:
        assert not prestart.prestart(2)  # one at a time
        assert prestart.take(3) is None  # another size: the pipeline makes its own
        processes = list(prestart._pool._processes.values())  # type: ignore[union-attr]
    finally:
        prestart.discard()
    assert prestart.take(1) is None
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()


def test_enough_files_looks_only_as_far_as_it_must(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    (folder / "deep" / "er").mkdir(parents=True)
    for name in ("a.fit", "b.GPX", "notes.txt", "deep/c.tcx.gz"):
        (folder / name).write_bytes(b"x")
    assert not prestart.enough_files([str(folder)])  # three activity files, one note
    (folder / "deep" / "er" / "d.fit").write_bytes(b"x")
    assert prestart.enough_files([str(folder)])
    assert not prestart.enough_files([str(folder / "a.fit"), str(tmp_path / "missing")])
    assert prestart.enough_files([str(tmp_path / "export.zip")])  # an archive may hold many
    assert prestart.enough_files([str(folder / "*.fit")])  # so may a quoted glob


def test_early_workers_end_a_pool_nobody_took(tmp_path: Path, runs: Path) -> None:
    with prestart.early_workers(2, use_cache=False, cache_dir=None, paths=[str(runs)]):
        assert prestart._pool is None  # two files: parsed in this process, no pool
    many = tmp_path / "many"
    many.mkdir()
    for i in range(4):
        (many / f"{i}.fit").write_bytes(b"x")
    with prestart.early_workers(2, use_cache=False, cache_dir=None, paths=[str(many)]):
        pool = prestart._pool
        if pool is None:  # pragma: no cover - no process creation here
            pytest.skip("cannot start worker processes here")
        processes = list(pool._processes.values())  # type: ignore[union-attr]
    assert prestart._pool is None
    assert processes
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()


def test_the_index_keeps_only_this_runs_files_past_its_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statindex, "MAX_ENTRIES", 3)
    files = []
    for i in range(4):
        path = tmp_path / f"{i}.fit"
        path.write_bytes(b"x" * i)
        files.append(str(path))
    later = time.time() + 60

    def run(names: list[str]) -> dict[str, object]:
        index = StatIndex(tmp_path / "cache")
        for name in names:
            index.remember(item_key(name, ()), signature(name), f"{len(name):064d}", later)
        index.save()
        return json.loads(index.path.read_bytes())["entries"]

    assert len(run(files[:2])) == 2
    assert len(run(files[2:3])) == 3  # merged: under the cap
    assert set(run(files[3:])) == {item_key(files[3], ())}  # over it: this run's only


@pytest.mark.parametrize("command", ["analyze", "report", "batch"])
def test_rehash_on_the_command_line_reads_every_input(
    command: str, tmp_path: Path, later: None, reads: list[str]
) -> None:
    """``--rehash`` reaches the pipeline from each command that reads through the cache
    (the files are read in this process: one worker, and batch with one athlete)."""
    from typer.testing import CliRunner

    from kneeflags.cli import app

    team = tmp_path / "team"
    runs = team / "ann"
    runs.mkdir(parents=True)
    for day, n in ((2, 600), (4, 900)):
        data = write_fit(datetime(2026, 3, day, 7, tzinfo=UTC), n=n)
        (runs / f"{day}.fit").write_bytes(data)
    where = [str(team)] if command == "batch" else [str(runs)]
    out = ["--out-dir", str(tmp_path / "out")] if command != "analyze" else []
    week = ["--until", "2026-03-08"] if command == "batch" else []
    if command == "report":
        week = ["--week", "2026-W10"]
    args = [command, *where, *out, *week, "--workers", "1", "--tz", "UTC"]
    args += ["--cache-dir", str(tmp_path / "cache")]
    runner = CliRunner()
    for _ in range(2):  # fill the cache and the index
        assert runner.invoke(app, args).exit_code == 0
    reads.clear()
    assert runner.invoke(app, args).exit_code == 0
    assert reads == []  # unchanged: neither hashed nor parsed
    assert runner.invoke(app, [*args, "--rehash"]).exit_code == 0
    assert sorted(reads) == ["2.fit", "4.fit"]  # hashed again (then hits: not parsed)
