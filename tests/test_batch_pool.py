"""``kneeflags batch`` on the local pool: one pool of files across athletes (issue 15).

A coach folder with one large athlete (200 files) and nine small ones (10 each): the
large athlete's files must be parsed in more than one process, and every report, table
and summary must equal, byte for byte, what the previous per-athlete path gives (each
athlete parsed whole in one task: ``SPLIT_MIN_FILES`` set out of reach).

Which process parsed which file is recorded by :func:`recording_chunk`, put in place of
:data:`kneeflags.batchpool.PARSE_CHUNK`; it lives in this module so the spawned workers
import it by name, and writes to a folder named by an environment variable they inherit.
Nothing here measures time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from kneeflags import batchpool, batchtasks
from kneeflags.config import Config
from kneeflags.executors import AthleteExecutor, TaskFailed
from kneeflags.journeys import AthleteSource, WrittenReport, run_batch
from kneeflags.sources import SourceItem
from kneeflags.testing.team import LAST_DAY, write_athlete
from kneeflags.worker import FileOutcome, process_chunk

EPOCH = "1790000000"
PID_LOG = "KNEEFLAGS_TEST_PID_LOG"
DIE_ON = "KNEEFLAGS_TEST_DIE_ON"
PARENT = "KNEEFLAGS_TEST_PARENT_PID"
BIG, SMALL, SMALL_FILES = 200, 9, 10


def recording_chunk(
    chunk: Sequence[tuple[int, SourceItem]], decoder: str, tz: str | None, config: Config
) -> list[tuple[int, FileOutcome]]:
    """``PARSE_CHUNK`` for the tests: logs ``pid<TAB>file`` per file; in a worker process
    (never the test's own), a chunk holding ``$KNEEFLAGS_TEST_DIE_ON`` kills the process
    as the OOM killer would."""
    victim = os.environ.get(DIE_ON)
    in_worker = str(os.getpid()) != os.environ.get(PARENT)
    if victim and in_worker and any(victim in str(item.ref) for _, item in chunk):
        os._exit(137)
    out = process_chunk(chunk, decoder, tz, config)
    folder = os.environ.get(PID_LOG)
    if folder:
        with open(Path(folder) / f"{os.getpid()}.tsv", "a", encoding="utf-8") as fh:
            fh.writelines(f"{os.getpid()}\t{item.ref}\n" for _, item in chunk)
    return out


@pytest.fixture(scope="module")
def coach(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``a-big`` (200 runs, first in athlete order) and nine small athletes of 10 runs."""
    root = tmp_path_factory.mktemp("coach") / "team"
    write_athlete(root / "a-big", 0, BIG)
    for k in range(1, SMALL + 1):
        write_athlete(root / f"small-{k}", k, SMALL_FILES)
    return root


def _batch(
    coach: Path,
    base: Path,
    cache: Path | None = None,
    progress: list[tuple[int, int]] | None = None,
) -> WrittenReport:
    return run_batch(
        [coach],
        out_dir=base / "out",
        until=LAST_DAY,
        workers=2,
        journal=False,
        cache_dir=cache or base / "cache",
        progress=None if progress is None else lambda done, total: progress.append((done, total)),
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _same(a: WrittenReport, b: WrittenReport, base_a: Path, base_b: Path) -> None:
    left, right = _tree(base_a / "out"), _tree(base_b / "out")
    assert sorted(left) == sorted(right)
    assert [n for n in left if left[n] != right[n]] == []
    assert a.report == b.report and a.ranked == b.ranked and a.failed == b.failed == []


@pytest.fixture(scope="module")
def per_athlete(
    coach: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, WrittenReport]:
    """The previous path: every athlete parsed whole in its own task of the pool."""
    base = tmp_path_factory.mktemp("per-athlete")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        mp.setattr(batchpool, "SPLIT_MIN_FILES", 10**9)
        mp.setenv(PID_LOG, str(base))
        mp.setattr(batchpool, "PARSE_CHUNK", recording_chunk)
        result = _batch(coach, base)
    assert not list(base.glob("*.tsv"))  # nothing went through the shared pool
    return base, result


def test_a_large_athlete_is_parsed_in_several_processes_with_the_same_bytes(
    coach: Path,
    per_athlete: tuple[Path, WrittenReport],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    logs = tmp_path / "pids"
    logs.mkdir()
    monkeypatch.setenv(PID_LOG, str(logs))
    monkeypatch.setattr(batchpool, "PARSE_CHUNK", recording_chunk)
    # 50 chunks rather than 13: one process taking all would need the other stalled for
    # the whole stage, not for a few chunks (a busy shared machine must not fail this).
    monkeypatch.setattr(batchpool, "CHUNK_FILES", 4)
    steps: list[tuple[int, int]] = []
    shared = _batch(coach, tmp_path, progress=steps)
    # Progress counts athletes, never goes back, and is complete only at the end (the
    # large athlete's task ends long before its files are parsed).
    done = [d for d, _ in steps]
    assert done == sorted(done) and steps[-1] == (1 + SMALL, 1 + SMALL)
    assert steps.count((1 + SMALL, 1 + SMALL)) == 1

    rows = [line.split("\t") for f in logs.glob("*.tsv") for line in f.read_text().splitlines()]
    big = [(pid, ref) for pid, ref in rows if f"{os.sep}a-big{os.sep}" in ref]
    assert len(big) == BIG and len({ref for _, ref in big}) == BIG  # each file once
    assert len({pid for pid, _ in big}) >= 2, "the large athlete ran on one process"
    # In the batch pool's own processes: this one only hands out chunks.
    assert str(os.getpid()) not in {pid for pid, _ in big}
    # The small athletes stay whole tasks: their files never go through the shared pool.
    assert len(rows) == BIG

    base, reference = per_athlete
    _same(shared, reference, tmp_path, base)
    # The cache the shared pool filled serves the per-athlete path the same answers.
    monkeypatch.setattr(batchpool, "SPLIT_MIN_FILES", 10**9)
    warm = tmp_path / "warm"
    again = _batch(coach, warm, cache=tmp_path / "cache")
    _same(again, reference, warm, base)
    # And a warm shared run: every file is a cache hit, so nothing is handed out.
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv(PID_LOG, str(logs))
    monkeypatch.setattr(batchpool, "PARSE_CHUNK", recording_chunk)
    before = sorted((f.name, f.stat().st_size) for f in logs.glob("*.tsv"))
    hot = tmp_path / "hot"
    third = _batch(coach, hot, cache=tmp_path / "cache")
    assert sorted((f.name, f.stat().st_size) for f in logs.glob("*.tsv")) == before
    _same(third, reference, hot, base)


def test_a_file_that_kills_its_worker_in_the_shared_pool_is_named_and_the_rest_go_on(
    coach: Path,
    per_athlete: tuple[Path, WrittenReport],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``a-big/run_000.fit`` is in the first chunk, which goes to a worker: it dies, the
    files it held are retried one by one in fresh workers, and only the killer is lost."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv(DIE_ON, f"a-big{os.sep}run_000.fit")
    monkeypatch.setenv(PARENT, str(os.getpid()))
    monkeypatch.setattr(batchpool, "PARSE_CHUNK", recording_chunk)
    result = _batch(coach, tmp_path)
    assert result.failed == []
    athletes = {a.athlete: a for a in result.report.athletes}
    (error,) = athletes["a-big"].errors
    assert error.path.endswith(f"a-big{os.sep}run_000.fit")
    assert "worker process" in error.message
    _, reference = per_athlete
    for a in reference.report.athletes:
        if a.athlete != "a-big":
            assert athletes[a.athlete] == a
    # The killer is never cached as an error: a rerun without the fault reads it.
    monkeypatch.delenv(DIE_ON)
    again = _batch(coach, tmp_path / "again", cache=tmp_path / "cache")
    assert again.report.athletes == reference.report.athletes


def test_rounds_bound_the_files_waiting_for_their_athletes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batchpool, "ROUND_FILES", 100)
    assert batchpool._rounds([60, 30, 20, 250, 5]) == [(0, 2), (2, 3), (3, 4), (4, 5)]
    assert batchpool._rounds([]) == []


def _die() -> None:
    os._exit(137)  # as the OOM killer would end the process


def _double(n: int) -> int:
    return 2 * n


def test_a_pool_a_dead_worker_broke_is_replaced_before_it_is_used_again() -> None:
    """The shared stage borrows the executor's pool: when a file kills one of its workers,
    the athletes' finishing tasks and the reports must not be sent to the broken pool
    (with ``retries=0`` that would fail every athlete)."""
    from concurrent.futures.process import BrokenProcessPool

    from kneeflags.executors import PoolExecutor

    with PoolExecutor(workers=2, retries=0) as ex:
        pool = ex.shared_pool()
        assert ex.shared_pool() is pool  # the running pool is lent, not a new one
        with pytest.raises(BrokenProcessPool):
            pool.submit(_die).result(timeout=120)
        assert ex.shared_pool() is not pool
        assert ex.run(_double, [1, 2, 3]) == [2, 4, 6]
        with pytest.raises(BrokenProcessPool):
            ex.shared_pool().submit(_die).result(timeout=120)
        assert ex.run(_double, [4]) == [8]
        assert ex.render_pool is ex.shared_pool()


class _FailsFinishing(AthleteExecutor):
    """Runs tasks here, except that every athlete's finishing task fails (a dead worker)."""

    def run(self, fn, tasks, done=None):  # type: ignore[no-untyped-def]
        if fn is batchtasks.finish_job:
            return [TaskFailed(t, "worker killed") for t in tasks]
        return super().run(fn, tasks, done)


def test_an_athlete_whose_finishing_fails_is_named_and_the_others_complete(
    coach: Path, tmp_path: Path
) -> None:
    jobs = [
        batchtasks.AthleteJob(
            source=AthleteSource(name, str(coach / name)),
            tz=None,
            config=Config(),
            decoder="auto",
            cache_dir=str(tmp_path / "cache"),
            use_cache=True,
            workers=1,
            split_min=64,
            until=LAST_DAY,
        )
        for name in ("a-big", "small-1")
    ]
    outcomes = batchtasks.analyse_all(jobs, _FailsFinishing(), None)
    assert [o.source.name for o in outcomes] == ["a-big", "small-1"]
    assert outcomes[0].report is None and outcomes[0].failure == "worker killed"
    assert outcomes[1].failure is None and outcomes[1].report is not None
