"""Where a batch's athlete tasks run: in this process, a local process pool, or Dask.

``kneeflags batch`` is one pipeline whatever runs it: :func:`kneeflags.journeys.run_batch`
hands its athlete tasks to an :class:`AthleteExecutor` and gets one result per task back,
in task order. Only *where* the tasks run differs, so a local pool, a ``LocalCluster``
and a remote scheduler give byte-identical reports for the same inputs.

The interface is deliberately narrow (``run`` a picklable function over a list of
picklable tasks, with retries; an optional ``concurrent.futures`` executor to render
documents in): Dask's futures mirror ``concurrent.futures``, so the Dask executor is a
few lines over :class:`distributed.Client`, and nothing Dask-specific leaks into the
journeys. ``distributed`` is an optional extra (``kneeflags[dask]``); it is imported only
when ``--scheduler`` asks for it.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Generic, TypeVar

from kneeflags.parsers.common import exception_line
from kneeflags.records import record

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("kneeflags.executors")

DASK_EXTRA_MISSING = (
    "--scheduler needs the Dask extra: pip install 'kneeflags[dask]' "
    "(installs distributed and fsspec)"
)

_LOCAL = re.compile(r"^local(?::(\d+))?$")


class ExecutorUsageError(ValueError):
    """A bad ``--scheduler`` value, or the Dask extra is not installed (exit code 2)."""


@record(frozen=True)
class TaskFailed(Generic[T]):
    """A task that raised or whose worker died, after every retry: one line, no traceback."""

    task: T
    reason: str


one_line = exception_line
"""An exception as one short line (the worker's traceback is for ``--debug`` only)."""


class AthleteExecutor:
    """Runs athlete tasks; subclasses decide where. Use as a context manager.

    ``retries``: how many more times a task whose worker died (or that raised) is run
    before it is reported as :class:`TaskFailed`. The task functions of a batch catch an
    athlete's bad data themselves, so what reaches the executor as a failure is a crash
    (a killed worker, an out-of-memory kill, a lost connection).
    """

    name = "in-process"
    retries = 0

    def __enter__(self) -> AthleteExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release workers (idempotent)."""

    @property
    def workers(self) -> int:
        """How many tasks run at once (sizes the batches of small athletes)."""
        return 1

    @property
    def render_pool(self) -> Executor | None:
        """A ``concurrent.futures`` executor for rendering documents, or ``None`` (here)."""
        return None

    def run(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        done: Callable[[int], None] | None = None,
    ) -> list[R | TaskFailed[T]]:
        """``fn(task)`` for every task; results in task order; ``done(i)`` as each ends."""
        out: list[R | TaskFailed[T]] = []
        for i, task in enumerate(tasks):
            out.append(self._in_process(fn, task))
            if done:
                done(i)
        return out

    def _in_process(self, fn: Callable[[T], R], task: T) -> R | TaskFailed[T]:
        last = ""
        for _ in range(self.retries + 1):
            try:
                return fn(task)
            except Exception as exc:
                last = one_line(exc)
        return TaskFailed(task, last)


class InlineExecutor(AthleteExecutor):
    """Everything in this process (``--workers 1``, a single athlete, tests)."""

    def __init__(self, retries: int = 0) -> None:
        self.retries = retries


class PoolExecutor(AthleteExecutor):
    """The default: a local pool of spawned processes, one task per athlete.

    The same processes parse the files of the batch's large athletes, from any athlete
    side by side (:meth:`shared_pool`, :mod:`kneeflags.batchpool`).

    ``spawn``: a forked child of a process that already ran polars threads can deadlock.
    A worker that dies breaks a ``ProcessPoolExecutor`` for every task still queued, so
    the tasks it had not finished are run again in a fresh pool (``retries`` times),
    then reported as failed by name: the others always complete.
    """

    name = "process pool"

    def __init__(self, workers: int, retries: int = 1) -> None:
        self._workers = max(1, workers)
        self.retries = retries
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def _fresh_pool(self) -> ProcessPoolExecutor:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=context)
        return self._pool

    @property
    def render_pool(self) -> Executor | None:
        return self.shared_pool()

    def shared_pool(self) -> ProcessPoolExecutor:
        """The running pool, for the batch's shared pool of files (whose processes have
        imported the parsers already); a fresh one if a dead worker broke it."""
        if self._pool is None or _broken(self._pool):
            return self._fresh_pool()
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        done: Callable[[int], None] | None = None,
    ) -> list[R | TaskFailed[T]]:
        results: dict[int, R | TaskFailed[T]] = {}
        reasons: dict[int, str] = {}
        todo = list(range(len(tasks)))
        for attempt in range(self.retries + 1):
            if attempt and attempt == self.retries:
                todo = self._isolated(fn, tasks, todo, results, reasons, done)
                break
            reuse = self._pool is not None and attempt == 0 and not _broken(self._pool)
            pool = self._pool if reuse and self._pool is not None else self._fresh_pool()
            futures = {pool.submit(fn, tasks[i]): i for i in todo}
            again: list[int] = []
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:
                    reasons[i] = _pool_reason(exc)
                    again.append(i)
                    continue
                if done:
                    done(i)
            todo = sorted(again)
            if not todo:
                break
            log.info("%d task(s) failed; running them again (%s)", len(todo), reasons[todo[0]])
        for i in todo:
            results[i] = TaskFailed(tasks[i], reasons[i])
            if done:
                done(i)
        return [results[i] for i in range(len(tasks))]

    def _isolated(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        todo: list[int],
        results: dict[int, R | TaskFailed[T]],
        reasons: dict[int, str],
        done: Callable[[int], None] | None,
    ) -> list[int]:
        """The last try: one task at a time, so a task that kills its worker takes no
        other task down with it (a dead process breaks every future of its pool)."""
        failed = []
        pool = self._fresh_pool()
        for i in todo:
            try:
                results[i] = pool.submit(fn, tasks[i]).result()
            except Exception as exc:
                reasons[i] = _pool_reason(exc)
                failed.append(i)
                if isinstance(exc, BrokenProcessPool):
                    pool = self._fresh_pool()
                continue
            if done:
                done(i)
        return failed


def _broken(pool: ProcessPoolExecutor) -> bool:
    """Whether a worker of ``pool`` died (every later submit would fail at once)."""
    return bool(getattr(pool, "_broken", False))


def _pool_reason(exc: BaseException) -> str:
    if isinstance(exc, BrokenProcessPool):
        return "the worker process died (a crash or an out-of-memory kill)"
    return one_line(exc)


class DaskExecutor(AthleteExecutor):
    """Tasks on a Dask cluster through :class:`distributed.Client`.

    ``address``: ``tcp://HOST:PORT`` of a running scheduler, or ``None`` with
    ``local_workers`` to start a ``LocalCluster`` (one thread per worker process: the
    per-file work is pure Python and numpy, and polars brings its own threads).
    A worker that dies mid-task has its tasks rescheduled by Dask on the others (up to
    ``distributed.scheduler.allowed-failures`` deaths per task); ``retries`` re-runs a
    task that raised. Tasks are submitted with ``pure=False`` so a rerun is never served a
    stale result from the scheduler's memory.
    """

    name = "dask"

    def __init__(
        self, address: str | None, local_workers: int = 2, retries: int = 1, debug: bool = False
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorUsageError(DASK_EXTRA_MISSING) from None
        if not debug:  # a cluster's INFO chatter is not for a cron mail
            for name in ("distributed", "tornado", "bokeh"):
                logging.getLogger(name).setLevel(logging.ERROR)
        self.retries = retries
        self._cluster = None
        try:
            if address is None:
                self._cluster = LocalCluster(
                    n_workers=max(1, local_workers),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    host="127.0.0.1",
                )
                self._client = Client(self._cluster, set_as_default=False)
            else:
                # How long to try: Dask's own setting (distributed.comm.timeouts.connect,
                # or $DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT), 30 s by default.
                self._client = Client(address, set_as_default=False)
        except (OSError, TimeoutError) as exc:  # a scheduler that is down: the run failed
            self.close()
            target = address or "a local cluster"
            raise ConnectionError(f"--scheduler: cannot reach {target} ({one_line(exc)})") from None
        self._render: Executor | None = None

    @property
    def workers(self) -> int:
        threads = self._client.nthreads()
        return max(1, sum(threads.values()))

    @property
    def render_pool(self) -> Executor | None:
        if self._render is None:
            self._render = self._client.get_executor(pure=False, retries=self.retries)
        return self._render

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def run(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        done: Callable[[int], None] | None = None,
    ) -> list[R | TaskFailed[T]]:
        from distributed import as_completed as dask_completed

        if not tasks:
            return []
        futures = self._client.map(fn, list(tasks), pure=False, retries=self.retries)
        index = {f.key: i for i, f in enumerate(futures)}
        results: dict[int, R | TaskFailed[T]] = {}
        for fut in dask_completed(futures, loop=self._client.loop):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as exc:  # KilledWorker after too many deaths, or fn raised
                results[i] = TaskFailed(tasks[i], _dask_reason(exc))
            fut.release()
            if done:
                done(i)
        return [results[i] for i in range(len(tasks))]


def _dask_reason(exc: BaseException) -> str:
    if type(exc).__name__ == "KilledWorker":
        return "its Dask workers died while running it (a crash or an out-of-memory kill)"
    return one_line(exc)


def parse_scheduler(value: str) -> tuple[str | None, int]:
    """``tcp://HOST:PORT`` -> (address, 0); ``local`` / ``local:N`` -> (None, N)."""
    text = value.strip()
    m = _LOCAL.match(text)
    if m:
        n = int(m.group(1) or 2)
        if n < 1:
            raise ExecutorUsageError("--scheduler local:N needs N of at least 1")
        return None, n
    if re.match(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$", text):
        return text, 0
    raise ExecutorUsageError(
        f"--scheduler {value!r}: give tcp://HOST:PORT of a Dask scheduler, or local[:N]"
    )


def make_executor(
    scheduler: str | None,
    *,
    workers: int,
    retries: int = 1,
    debug: bool = False,
) -> AthleteExecutor:
    """The executor for ``--scheduler`` (``None``: the local process pool, the default)."""
    if scheduler is None:
        return PoolExecutor(workers, retries) if workers > 1 else InlineExecutor(retries)
    address, n = parse_scheduler(scheduler)
    return DaskExecutor(address, local_workers=n, retries=retries, debug=debug)


__all__ = [
    "DASK_EXTRA_MISSING",
    "AthleteExecutor",
    "DaskExecutor",
    "ExecutorUsageError",
    "InlineExecutor",
    "PoolExecutor",
    "TaskFailed",
    "make_executor",
    "parse_scheduler",
]
