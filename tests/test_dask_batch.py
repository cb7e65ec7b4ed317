"""``kneeflags batch`` on a Dask cluster (issue 13): same answers, nothing lost, resumable.

A real ``dask scheduler`` and two ``dask worker`` processes are started on 127.0.0.1 as
subprocesses (free ports, bounded waits, killed in teardown) and the command line is run
against them; its reports and Parquet tables are compared byte for byte with the local
process pool's and a ``LocalCluster``'s. Teams are generated (``kneeflags.testing.team``):
a few small athletes, so the module stays quick on a shared two-core machine.

Tests that need ``distributed`` skip with the reason when the extra is not installed
(``make`` installs it: ``.[dev,dask]``). What does not need it (the executor interface,
manifests, the missing-extra error, reruns, the shared cache) always runs.
"""

from __future__ import annotations

import contextlib
import filecmp
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kneeflags import batchtasks, journeys
from kneeflags.executors import (
    AthleteExecutor,
    ExecutorUsageError,
    InlineExecutor,
    PoolExecutor,
    TaskFailed,
    parse_scheduler,
)
from kneeflags.journeys import run_batch
from kneeflags.tables import TABLE_FILES
from kneeflags.testing.team import LAST_DAY, write_athlete, write_team

try:
    import distributed
except ImportError:  # pragma: no cover - the extra is installed by make
    distributed = None

needs_dask = pytest.mark.skipif(
    distributed is None,
    reason="distributed is not installed (pip install 'kneeflags[dask]'; make installs it)",
)

EPOCH = "1790000000"
UNTIL = LAST_DAY.isoformat()
BOUND_S = 90.0
"""Upper bound of every wait on a cluster process (a busy shared machine is slow)."""


# ---------------------------------------------------------------------------------------
# helpers


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["SOURCE_DATE_EPOCH"] = EPOCH
    env.pop("COLUMNS", None)
    return env


def _kneeflags(
    *args: str | Path, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kneeflags", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env or _env(), timeout=timeout)


def _batch(team: Path, out: Path, cache: Path, *extra: str | Path) -> subprocess.CompletedProcess:
    return _kneeflags(
        "batch", team, "--until", UNTIL, "--out-dir", out, "--cache-dir", cache,
        "-f", "json", "-o", out.parent / f"{out.name}.json", *extra,
    )  # fmt: skip


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _same_tree(a: Path, b: Path) -> None:
    left, right = _tree(a), _tree(b)
    assert sorted(left) == sorted(right)
    different = [name for name in left if left[name] != right[name]]
    assert not different, f"files differ: {different}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_cmd(kind: str) -> list[str]:
    script = Path(sys.executable).with_name("dask")
    if script.exists():
        return [str(script), kind]
    return [sys.executable, "-m", f"distributed.cli.dask_{kind}"]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class Cluster:
    """A scheduler and named workers, each its own process group (killed at the end)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.procs: dict[str, subprocess.Popen] = {}
        port = self.address.rsplit(":", 1)[1]
        self._start("scheduler", [*_dask_cmd("scheduler"), "--host", "127.0.0.1",
                                  "--port", port, "--no-dashboard"])  # fmt: skip

    def _start(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
        env = dict(os.environ)  # no SOURCE_DATE_EPOCH: only the client's clock may count
        env.pop("SOURCE_DATE_EPOCH", None)
        self.procs[name] = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )

    def add_worker(self, name: str) -> None:
        cmd = [*_dask_cmd("worker"), self.address, "--name", name, "--nthreads", "1",
               "--nworkers", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
               "--death-timeout", "60", "--local-directory", str(self.root / name)]  # fmt: skip
        self._start(name, cmd)

    def wait_for(self, n_workers: int) -> None:
        from distributed import Client

        deadline = time.monotonic() + BOUND_S
        while True:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            assert not dead, f"cluster process(es) died: {dead}; see {self.root}/*.log"
            try:
                with Client(self.address, timeout="5s") as client:
                    client.wait_for_workers(n_workers, timeout=BOUND_S)
                    return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def close(self) -> None:
        for proc in reversed(list(self.procs.values())):
            _stop(proc)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("team") / "coach"
    write_team(root, athletes=6, files=4)
    return root


@pytest.fixture(scope="module")
def pool_run(team: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the default local process pool (two processes)."""
    base = tmp_path_factory.mktemp("pool")
    done = _batch(team, base / "out", base / "cache", "--workers", "2")
    assert done.returncode == 0, done.stderr
    return base


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if distributed is None:
        pytest.skip("distributed is not installed (pip install 'kneeflags[dask]')")
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.add_worker("w1")
        c.add_worker("w2")
        c.wait_for(2)
        yield c
    finally:
        c.close()


# ---------------------------------------------------------------------------------------
# a real scheduler, a LocalCluster and the local pool give the same bytes


@needs_dask
def test_scheduler_gives_the_local_pools_bytes(
    team: Path, pool_run: Path, cluster: Cluster, tmp_path: Path
) -> None:
    done = _batch(team, tmp_path / "out", tmp_path / "cache", "--scheduler", cluster.address)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no cluster chatter on a successful run
    _same_tree(pool_run / "out", tmp_path / "out")
    assert (pool_run / "out.json").read_bytes() == (tmp_path / "out.json").read_bytes()
    athletes = pl.read_parquet(tmp_path / "out" / "athletes.parquet")
    assert athletes.height == 6 and athletes["rank"].to_list() == list(range(1, 7))
    assert set(athletes["status"]) >= {"high", "stale"}  # the team has something to rank
    assert athletes["error"].null_count() == 6
    # Both workers stored into the one --cache-dir, each athlete in its own folder of it
    # (one folder for the team made every store rewrite the team's cache under one lock).
    from kneeflags.cache import cache_info

    keys = cache_info(tmp_path / "cache")["keys"]
    assert len(keys) == 6 and sum(k["files"] for k in keys) == 24  # type: ignore


@needs_dask
def test_local_cluster_gives_the_local_pools_bytes(
    team: Path, pool_run: Path, tmp_path: Path
) -> None:
    done = _batch(team, tmp_path / "out", tmp_path / "cache", "--scheduler", "local:2")
    assert done.returncode == 0, done.stderr
    _same_tree(pool_run / "out", tmp_path / "out")
    assert (pool_run / "out.json").read_bytes() == (tmp_path / "out.json").read_bytes()


@needs_dask
def test_scheduler_rerun_parses_nothing_and_a_change_reruns_one_athlete(
    team: Path, cluster: Cluster, tmp_path: Path
) -> None:
    """The true skip on a real cluster: the workers hash, find the athlete unchanged and
    parse nothing (an empty cache stays empty); the client rebuilds the athletes from
    their parts, byte for byte; one changed file reruns its athlete alone."""
    from kneeflags.cache import cache_info

    def files_cached(cache: Path) -> int:
        return sum(k["files"] for k in cache_info(cache)["keys"])  # type: ignore

    mine = tmp_path / "coach"
    shutil.copytree(team, mine)
    out, summary = tmp_path / "out", tmp_path / "out.json"
    first = _batch(mine, out, tmp_path / "c1", "--scheduler", cluster.address)
    assert first.returncode == 0, first.stderr
    before, first_summary = _tree(out), summary.read_bytes()

    again = _batch(mine, out, tmp_path / "c2", "--scheduler", cluster.address)
    assert again.returncode == 0, again.stderr
    assert "6 athlete(s) unchanged since the last run" in again.stderr
    assert files_cached(tmp_path / "c2") == 0  # no worker parsed (or stored) a file
    assert _tree(out) == before and summary.read_bytes() == first_summary

    write_athlete(tmp_path / "other", 7, 1)
    shutil.copyfile(tmp_path / "other" / "run_000.fit", mine / "athlete-0001" / "run_000.fit")
    third = _batch(mine, out, tmp_path / "c3", "--scheduler", cluster.address)
    assert third.returncode == 0, third.stderr
    assert "5 athlete(s) unchanged since the last run" in third.stderr
    assert files_cached(tmp_path / "c3") == 4  # athlete-0001's four files, no other
    fresh = _batch(mine, tmp_path / "fresh", tmp_path / "c4", "--workers", "2")
    assert fresh.returncode == 0, fresh.stderr
    _same_tree(tmp_path / "fresh", out)
    assert (tmp_path / "fresh.json").read_bytes() == summary.read_bytes()


@needs_dask
def test_killing_a_worker_mid_batch_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    """SIGKILL a worker while it runs an athlete: Dask reruns its task on the others."""
    from distributed import Client

    team = tmp_path / "team"
    write_team(team, athletes=12, files=6)
    reference = _batch(team, tmp_path / "ref", tmp_path / "ref-cache", "--workers", "2")
    assert reference.returncode == 0, reference.stderr

    cluster.add_worker("victim")
    cluster.wait_for(3)
    victim = cluster.procs["victim"]
    out, cache, summary = (str(tmp_path / n) for n in ("out", "cache", "out.json"))
    cmd = [sys.executable, "-m", "kneeflags", "batch", str(team), "--until", UNTIL,
           "--out-dir", out, "--cache-dir", cache, "-f", "json", "-o", summary,
           "--scheduler", cluster.address]  # fmt: skip
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    killed_while_busy = False
    try:
        with Client(cluster.address, timeout="10s") as client:
            victim_addr = next(
                a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "victim"
            )
            deadline = time.monotonic() + BOUND_S
            while run.poll() is None and time.monotonic() < deadline:
                busy = client.processing(workers=[victim_addr]).get(victim_addr) or []
                if any("run_jobs" in str(key) for key in busy):
                    os.killpg(victim.pid, signal.SIGKILL)
                    killed_while_busy = run.poll() is None
                    break
                time.sleep(0.01)
        _, stderr = run.communicate(timeout=240)
    finally:
        if run.poll() is None:
            run.kill()
    assert killed_while_busy, "the batch ended before the victim worker got a task"
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert run.returncode == 0, stderr
    _same_tree(tmp_path / "ref", tmp_path / "out")
    assert (tmp_path / "ref.json").read_bytes() == (tmp_path / "out.json").read_bytes()
    athletes = pl.read_parquet(tmp_path / "out" / "athletes.parquet")
    assert athletes.height == 12 and athletes["error"].null_count() == 12


# ---------------------------------------------------------------------------------------
# the --scheduler option without the extra, and bad values


def test_scheduler_without_the_extra_is_one_line_exit_2(
    team: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from kneeflags.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(team), "--out-dir", str(out), "--scheduler", "local:2", "-q"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kneeflags[dask]" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("local", (None, 2)),
        ("local:3", (None, 3)),
        ("tcp://10.0.0.5:8786", ("tcp://10.0.0.5:8786", 0)),
    ],
)
def test_parse_scheduler(value: str, expected: tuple[str | None, int]) -> None:
    assert parse_scheduler(value) == expected


@pytest.mark.parametrize("value", ["", "local:0", "localhost:8786", "http://x:1", "local:x"])
def test_bad_scheduler_values_are_refused(value: str) -> None:
    with pytest.raises(ExecutorUsageError):
        parse_scheduler(value)


def test_bad_scheduler_is_exit_2_before_anything_is_written(team: Path, tmp_path: Path) -> None:
    done = _kneeflags("batch", team, "--out-dir", tmp_path / "out", "--scheduler", "nowhere")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--scheduler" in done.stderr
    assert not (tmp_path / "out").exists()


@needs_dask
def test_unreachable_scheduler_is_one_line_exit_1(team: Path, tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    env = {**_env(), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    done = _kneeflags("batch", team, "--out-dir", tmp_path / "out",
                      "--scheduler", f"tcp://127.0.0.1:{port}", env=env)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and f"cannot reach tcp://127.0.0.1:{port}" in done.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------
# the executor interface


def _square_or_die(n: int) -> int:
    """Pool task: ``-1`` kills its worker process (a segfault, an OOM kill)."""
    if n == -1:
        os._exit(9)
    return n * n


def _raise_on_odd(n: int) -> int:
    if n % 2:
        raise ValueError(f"odd {n}\nsecond line")
    return n


def test_pool_executor_reruns_a_dead_workers_tasks_and_names_the_culprit() -> None:
    """The last try runs tasks one at a time: only the task that kills its worker fails."""
    tasks = [1, -1, 2, 3, -1, 4, 5, 6]
    with PoolExecutor(workers=2, retries=1) as ex:
        got = ex.run(_square_or_die, tasks)
    for task, result in zip(tasks, got, strict=True):
        if task == -1:
            assert isinstance(result, TaskFailed) and "worker process died" in result.reason
        else:
            assert result == task * task
    with PoolExecutor(workers=2, retries=2) as ex:
        assert ex.run(_square_or_die, [2, 3]) == [4, 9]


def test_inline_executor_retries_and_reports_one_line() -> None:
    calls: list[int] = []

    def flaky(n: int) -> int:
        calls.append(n)
        if calls.count(n) < 2:
            raise RuntimeError("first try fails")
        return n

    assert InlineExecutor(retries=1).run(flaky, [5, 6]) == [5, 6]
    failed = InlineExecutor(retries=2).run(_raise_on_odd, [2, 3])
    assert failed[0] == 2 and isinstance(failed[1], TaskFailed)
    assert failed[1].reason == "odd 3 second line"


class _Crashing(AthleteExecutor):
    """An executor whose workers die on every task holding athlete ``victim``."""

    def __init__(self, victim: str) -> None:
        self.victim = victim
        self.tasks: list[list[str]] = []

    def run(self, fn, tasks, done=None):  # type: ignore[no-untyped-def]
        out = []
        for i, task in enumerate(tasks):
            names = [job.source.name for job in task]
            self.tasks.append(names)
            out.append(TaskFailed(task, "worker killed") if self.victim in names else fn(task))
            if done:
                done(i)
        return out


def test_a_failed_task_names_its_athlete_and_the_others_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = tmp_path / "team"
    write_team(team, athletes=5, files=2)
    monkeypatch.setattr(batchtasks, "task_size", lambda athletes, workers: 3)
    ex = _Crashing("athlete-0001")
    res = run_batch([team], out_dir=tmp_path / "out", until=LAST_DAY, executor=ex, journal=False)
    # Batches of 3; the failed batch was run again one athlete per task.
    assert ex.tasks[:2] == [["athlete-0000", "athlete-0001", "athlete-0002"],
                            ["athlete-0003", "athlete-0004"]]  # fmt: skip
    assert ex.tasks[2:] == [["athlete-0000"], ["athlete-0001"], ["athlete-0002"]]
    assert res.failed == [("athlete-0001", "worker killed")]
    assert any("athlete athlete-0001 could not be analysed" in p.message for p in res.report.errors)
    athletes = pl.read_parquet(tmp_path / "out" / "athletes.parquet")
    row = athletes.filter(pl.col("athlete") == "athlete-0001").row(0, named=True)
    assert row["status"] == "unreadable" and row["error"] == "worker killed"
    assert athletes.filter(pl.col("error").is_null()).height == 4
    weeks = pl.read_parquet(tmp_path / "out" / "weeks.parquet")
    assert set(weeks["athlete"]) == {"athlete-0000", "athlete-0002", "athlete-0003", "athlete-0004"}


def test_an_unreadable_export_is_exit_1_and_the_others_complete(tmp_path: Path) -> None:
    """Bad data is the athlete's error (exit 1, as before), never the batch's failure."""
    team = tmp_path / "team"
    write_team(team, athletes=2, files=2)
    (team / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    done = _kneeflags("batch", team, "--until", UNTIL, "--workers", "1", "-f", "json")
    assert done.returncode == 1
    assert "broken.zip" in done.stdout and "could not be read" in done.stderr
    assert '"athlete": "athlete-0000"' in done.stdout and '"athlete": "athlete-0001"' in done.stdout


# ---------------------------------------------------------------------------------------
# manifests


def _manifest_team(tmp_path: Path) -> Path:
    team = tmp_path / "team"
    write_team(team, athletes=3, files=4)
    return team


def test_manifest_rows_files_folders_globs_and_file_urls(tmp_path: Path) -> None:
    team = _manifest_team(tmp_path)
    a2 = sorted((team / "athlete-0002").glob("*.fit"))
    rows = [
        ("athlete-0000", "team/athlete-0000"),  # a folder, relative to the manifest
        ("athlete-0001", str(team / "athlete-0001" / "run_00[01].fit")),  # two globs
        ("athlete-0001", str(team / "athlete-0001" / "run_00[23].fit")),
        *(("athlete-0002", p.as_uri()) for p in a2),  # file:// URLs, one row per file
    ]
    manifest = tmp_path / "athletes.csv"
    pl.DataFrame(rows, schema=["athlete", "path"], orient="row").write_csv(manifest)
    by_folder = run_batch([team], out_dir=tmp_path / "a", until=LAST_DAY, workers=1, journal=False)
    by_manifest = run_batch(
        [], manifest=manifest, out_dir=tmp_path / "b", until=LAST_DAY, workers=1, journal=False
    )
    assert [a.athlete for a in by_manifest.report.athletes] == [
        a.athlete for a in by_folder.report.athletes
    ]
    for table in ("weeks.parquet", "flags.parquet"):
        assert filecmp.cmp(tmp_path / "a" / table, tmp_path / "b" / table, shallow=False)
    # Parquet manifests read the same.
    pq = tmp_path / "athletes.parquet"
    pl.read_csv(manifest).write_parquet(pq)
    again = run_batch([], manifest=pq, until=LAST_DAY, workers=1, journal=False)
    assert again.report.athletes == by_manifest.report.athletes


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("m.csv", "athlete,file\na,x.fit\n", "missing column(s) path"),
        ("m.csv", "athlete,path\n", "no rows"),
        ("m.csv", "athlete,path\na,\n", "row 2 has an empty 'path'"),
        ("m.txt", "athlete,path\na,x\n", "expected a .csv or .parquet"),
        ("m.parquet", "not parquet", "cannot be read"),
        ("missing.csv", None, "not a regular file"),
    ],
)
def test_bad_manifest_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    manifest = tmp_path / name
    if content is not None:
        manifest.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    done = _kneeflags("batch", "--manifest", manifest, "--out-dir", out, "-o", tmp_path / "s.txt")
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and message in line and name in line and "Traceback" not in line
    assert not out.exists() and not (tmp_path / "s.txt").exists()


def test_remote_urls_are_read_through_fsspec_and_named_by_url(tmp_path: Path) -> None:
    """``memory://`` stands for an object store: staged, read, and reported by its URL.

    kim: a folder URL (with a broken file) and a missing file; lee: one file URL and a
    glob URL. Each must read exactly like the same files on a local disk.
    """
    fsspec = pytest.importorskip("fsspec", reason="fsspec is part of kneeflags[dask]")
    fs = fsspec.filesystem("memory")
    local = {name: write_athlete(tmp_path / name, i, 4) for i, name in enumerate(["kim", "lee"])}
    for name, files in local.items():
        for p in files:
            fs.pipe(f"memory://store/{name}/{p.name}", p.read_bytes())
    fs.pipe("memory://store/kim/broken.fit", b"\x0e\x10 not a fit file")
    rows = [
        ("kim", "memory://store/kim/"),
        ("kim", "memory://store/gone.fit"),
        ("lee", "memory://store/lee/run_000.fit"),
        ("lee", "memory://store/lee/run_00[123].fit"),
    ]
    manifest = tmp_path / "m.csv"
    pl.DataFrame(rows, schema=["athlete", "path"], orient="row").write_csv(manifest)
    remote = run_batch(
        [], manifest=manifest, until=LAST_DAY, executor=InlineExecutor(), journal=False
    )
    kim, lee = remote.report.athletes
    assert sorted(p.path for p in kim.errors) == [
        "memory://store/gone.fit",
        "memory://store/kim/broken.fit",
    ]
    assert lee.errors == ()
    for athlete in (kim, lee):
        name = athlete.athlete
        urls = {f"memory://store/{name}/{p.name}" for p in local[name]}
        assert {a.source for a in athlete.activities} == urls
        on_disk = pl.DataFrame({"athlete": [name], "path": [str(tmp_path / name)]})
        on_disk.write_csv(tmp_path / f"{name}.csv")
        (mine,) = run_batch([], manifest=tmp_path / f"{name}.csv", until=LAST_DAY,
                            workers=1, journal=False).report.athletes  # fmt: skip
        assert athlete.weeks == mine.weeks and athlete.flags == mine.flags


# ---------------------------------------------------------------------------------------
# reruns: idempotent, resumable


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_rerun_skips_unchanged_athletes_and_resumes_after_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    team = tmp_path / "team"
    write_team(team, athletes=4, files=3)
    out, cache = tmp_path / "out", tmp_path / "cache"

    def batch() -> journeys.WrittenReport:
        return run_batch(
            [team], out_dir=out, cache_dir=cache, until=LAST_DAY, workers=1, journal=False
        )

    first = batch()
    assert first.unchanged == 0 and first.written
    before, stamps = _tree(out), _mtimes(out)
    second = batch()
    assert second.unchanged == 4 and second.written == []
    assert _tree(out) == before and _mtimes(out) == stamps  # not a byte rewritten

    # athlete-0002's part lost (a crash, a clean-up): it is analysed again, alone.
    (out / ".kneeflags-parts" / "athlete-0002.parquet").unlink()
    # A report file lost: that athlete is rendered again.
    next((out / "athlete-0003").glob("*.html")).unlink()
    third = batch()
    assert third.unchanged == 2
    assert _tree(out) == before

    # New content for one athlete (same file names): only it changes.
    victim = team / "athlete-0001" / "run_000.fit"
    write_athlete(tmp_path / "other", 7, 1)
    shutil.copyfile(tmp_path / "other" / "run_000.fit", victim)
    fourth = batch()
    assert fourth.unchanged == 3
    tops = {p.relative_to(out).parts[0] for p in fourth.written}
    assert {"athlete-0001", ".kneeflags-parts"} <= tops
    assert not tops & {"athlete-0000", "athlete-0002", "athlete-0003"}
    parts = {p.name for p in fourth.written if p.parent.name == ".kneeflags-parts"}
    assert parts == {"athlete-0001.parquet", "athlete-0001.done"}


def test_a_run_killed_while_writing_reports_keeps_what_it_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each athlete's done mark is written right after its reports: a rerun redoes the rest.

    The tasks wrote every athlete's part before the client drew the first chart; only the
    two athletes whose reports were written are marked done, and only they are skipped.
    """
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    team = tmp_path / "team"
    write_team(team, athletes=4, files=2)
    real = journeys._render_one
    calls: list[int] = []

    def dies_on_the_third(report, formats):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the run is killed while drawing athlete 3's charts
        return real(report, formats)

    def batch() -> journeys.WrittenReport:
        return run_batch([team], out_dir=tmp_path / "out", until=LAST_DAY, workers=1,
                         journal=False, cache_dir=tmp_path / "cache")  # fmt: skip

    monkeypatch.setattr(journeys, "_render_one", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        batch()
    parts = sorted(p.name for p in (tmp_path / "out" / ".kneeflags-parts").iterdir())
    assert sum(p.endswith(".parquet") for p in parts) == 4  # written by the tasks
    assert sum(p.endswith(".done") for p in parts) == 2  # the two whose reports were written
    monkeypatch.setattr(journeys, "_render_one", real)
    assert batch().unchanged == 2
    assert batch().unchanged == 4


# ---------------------------------------------------------------------------------------
# the parse cache shared by several workers


def _store_many(root: str, worker: int, count: int) -> None:
    """A worker storing ``count`` entries one store at a time (read-merge-write each)."""
    from kneeflags.cache import FileEntry, ParseCache

    cache = ParseCache(root, "shared")
    for k in range(count):
        cache.store([FileEntry(f"w{worker}-{k:03d}", "error", [("error", "bad")])])


def test_two_workers_sharing_one_cache_dir_lose_no_entry(tmp_path: Path) -> None:
    """Every store merges under the cache's flock: no writer's entries are overwritten."""
    from kneeflags.cache import ParseCache

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_store_many, args=(str(tmp_path), w, 25)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    wanted = {f"w{w}-{k:03d}" for w in (1, 2) for k in range(25)}
    hits = ParseCache(tmp_path, "shared").lookup(wanted)
    assert set(hits.entries) == wanted
    leftovers = [p.name for p in (tmp_path / "v2" / "shared").iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


def test_tables_have_fixed_layouts_even_when_empty(tmp_path: Path) -> None:
    from kneeflags.tables import ATHLETES_SCHEMA, FLAGS_SCHEMA, WEEKS_SCHEMA, consolidate

    consolidate(tmp_path, [], [])
    for file, schema in zip(
        TABLE_FILES, (WEEKS_SCHEMA, FLAGS_SCHEMA, ATHLETES_SCHEMA), strict=True
    ):
        frame = pl.read_parquet(tmp_path / file)
        assert frame.height == 0 and dict(frame.schema) == schema


def test_the_command_names_failed_athletes_and_skipped_ones(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    from kneeflags.cli.cluster import report_batch_state

    result = journeys.WrittenReport(report=None, failed=[("kim", "worker killed")], unchanged=3)  # type: ignore[arg-type]
    report_batch_state(result, tmp_path, quiet=True)  # a failure is said even with -q
    err = capsys.readouterr().err
    assert err == "kneeflags: 1 athlete(s) could not be analysed: kim (worker killed)\n"
    report_batch_state(result, tmp_path, quiet=False)
    assert "3 athlete(s) unchanged since the last run" in capsys.readouterr().err


def test_small_athletes_share_tasks_only_when_there_are_many() -> None:
    assert batchtasks.task_size(50, 2) == 1
    assert batchtasks.task_size(1000, 2) == 15
    assert batchtasks.task_size(100_000, 8) == batchtasks.MAX_ATHLETES_PER_TASK


# ---------------------------------------------------------------------------------------
# the time cap per file in a Dask worker's threads (no SIGALRM there)


def _in_a_thread(fn):  # type: ignore[no-untyped-def]
    """``fn()``'s result, or the exception it raised, from a thread other than the main."""
    import threading

    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            out.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout=BOUND_S)
    assert not t.is_alive(), "the cap did not stop the thread"
    return out[0]


def test_a_file_over_the_cap_in_a_worker_thread_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kneeflags import worker

    def spins(*args: object) -> object:
        while True:  # Python code that never ends: what the cap is for
            pass

    monkeypatch.setattr(worker, "MAX_SECONDS_PER_FILE", 0.3)
    monkeypatch.setattr(worker, "_process_item", spins)
    started = time.monotonic()
    outcome = _in_a_thread(lambda: worker.process_item(None, "auto", None, None))  # type: ignore[arg-type]
    assert isinstance(outcome, worker.FileOutcome), outcome
    assert outcome.status == "error" and not outcome.cacheable
    assert "gave up after 0.3 s" in outcome.problems[0][1]
    assert time.monotonic() - started < BOUND_S


def test_the_thread_cap_never_fires_outside_its_block() -> None:
    """Blocks ending just as the timer fires: the exception is raised inside or withdrawn."""
    from kneeflags.worker import FileTimeLimit, time_limit

    def many() -> tuple[int, int]:
        inside = 0
        for k in range(120):
            # blocks from half the cap to three times it: the timer (10 ms, then up to
            # the interpreter's 5 ms switch interval to run) fires around many ends
            work = 0.005 + (k % 25) * 0.001
            try:
                with time_limit(0.01):
                    end = time.monotonic() + work
                    while time.monotonic() < end:
                        pass
            except FileTimeLimit:
                inside += 1
            for _ in range(20_000):  # a leaked exception would surface here
                pass
        with time_limit(60):  # and a later cap in the same thread still works
            pass
        return inside, 120

    got = _in_a_thread(many)
    assert isinstance(got, tuple), got  # not an exception escaping the blocks
    assert got[0] > 0  # the cap does fire in a thread


def test_one_file_of_a_remote_folder_that_cannot_be_copied_costs_only_that_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A folder URL is read as a local folder is: a bad file is named, the others read."""
    fsspec = pytest.importorskip("fsspec", reason="fsspec comes with the dask extra")
    from kneeflags import sources
    from kneeflags.remote import staged_inputs

    fs = fsspec.filesystem("memory")
    fs.pipe("memory://partial/a/small.gpx", b"<gpx/>")
    fs.pipe("memory://partial/a/big.fit", b"\0" * 4096)
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 1024)
    try:
        with staged_inputs(["memory://partial/a/"]) as staged:
            (folder,) = staged.paths
            kept = sorted(p.name for p in Path(folder).rglob("*") if p.is_file())
            errors = list(staged.errors)
    finally:
        fs.rm("memory://partial", recursive=True)
    assert kept == ["small.gpx"]
    ((url, reason),) = errors
    assert url.endswith("partial/a/big.fit") and "larger than" in reason
