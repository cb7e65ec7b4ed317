"""Worker processes started before the parent's own imports, so the two overlap.

Why: a spawned worker needs about 0.3 s of imports (numpy, polars, the parsers) before
its first file, and so does the command's own process (polars, the rules, the reports)
before it has found and looked up the files. Started where the pipeline needs it
(:func:`kneeflags.pipeline._parse_all`), the pool's start-up came *after* the parent's:
one core parsed alone for a third of a second. Started first, both imports run side by
side on two cores.

The interface is narrow: the command line wraps its run in :func:`early_workers` as early
as it can (a pool is started only when parsing will probably need one: see
:func:`worth_prestarting`), and :func:`take` hands the running pool to the first parse
stage that wants one of that size. A pool nobody took (fewer than four files to parse)
is ended when the block leaves, by :func:`discard` (its processes are terminated: the run
must not wait for a worker that is still importing).
Library calls (``run_pipeline`` from a notebook) never prestart anything.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

_pool: ProcessPoolExecutor | None = None
_processes = 0


@contextlib.contextmanager
def early_workers(
    workers: int | None,
    *,
    use_cache: bool,
    cache_dir: str | os.PathLike[str] | None,
    paths: Iterable[str] = (),
) -> Iterator[None]:
    """Prestart the pool for the block if this run will probably parse; whatever the
    block did not take is ended when it leaves (not at exit: ``concurrent.futures``
    waits for its workers before any ``atexit`` handler runs, and a worker still
    importing made a two-file run 0.3 s slower)."""
    if worth_prestarting(use_cache, cache_dir) and enough_files(paths):
        prestart(workers)
    try:
        yield
    finally:
        discard()


def worth_prestarting(use_cache: bool, cache_dir: str | os.PathLike[str] | None) -> bool:
    """Whether this run will probably parse files (so a pool started now pays off).

    Decided before anything is imported or read, so on a hint: ``--no-cache`` parses
    everything; with the cache, a cache folder without a stat index
    (:mod:`kneeflags.statindex`) has never seen these inputs. A cache that has seen them
    is probably warm, and a warm run must not spend a core on a worker's imports (it
    would also wait for them at exit): its few new files, if any, are parsed as before,
    the pool started when the misses are known.
    """
    if not use_cache:
        return True
    from kneeflags.statindex import index_path

    if cache_dir is None:  # kneeflags.cache.default_cache_dir, whose module imports polars
        from platformdirs import user_cache_path

        cache_dir = user_cache_path("kneeflags", appauthor=False)
    return not index_path(cache_dir, None).exists()


ACTIVITY_SUFFIXES = (".fit", ".gpx", ".tcx", ".gz", ".zip")


def enough_files(paths: Iterable[str], wanted: int = 4) -> bool:
    """Whether ``paths`` hold at least ``wanted`` files that may be activities.

    A cheap look (names only, stops as soon as it has seen enough) before anything is
    imported: the pipeline parses fewer than four files in its own process, and a worker
    started for nothing competes with this process's imports for a core (a two-file run
    was 0.3 s slower on a busy machine). An archive or a quoted glob counts as enough.
    """
    seen = 0
    for raw in paths:
        path = os.path.expanduser(raw)
        if any(c in path for c in "*?[") or path.lower().endswith(".zip"):
            return True
        if os.path.isfile(path):
            seen += 1
        elif os.path.isdir(path):
            for _root, _dirs, files in os.walk(path):
                seen += sum(1 for f in files if f.lower().endswith(ACTIVITY_SUFFIXES))
                if seen >= wanted:
                    return True
        if seen >= wanted:
            return True
    return False


def processes_for(workers: int | None) -> int:
    """Worker processes a parse with ``workers`` uses (the parent is one of them)."""
    return (workers or os.cpu_count() or 1) - 1


def prestart(workers: int | None) -> bool:
    """Start the parse pool's processes now (each imports the worker's modules at once).

    Returns whether a pool was started (not for ``--workers 1`` or one core, nor when a
    pool cannot be created here: the pipeline then makes its own, as before).
    """
    global _pool, _processes
    processes = processes_for(workers)
    if processes < 1 or _pool is not None:
        return False
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        pool = ProcessPoolExecutor(
            max_workers=processes, mp_context=multiprocessing.get_context("spawn")
        )
        # One task per process: a spawn pool starts a process per submit while none is
        # idle, and the task imports kneeflags.worker (and all it needs) at once.
        for _ in range(processes):
            pool.submit(_import_worker)
    except Exception:  # no process creation here (a sandbox): the pipeline copes
        return False
    _pool, _processes = pool, processes
    atexit.register(discard)
    return True


def _import_worker() -> None:
    """Run in each new worker process: the imports its first file would need."""
    import kneeflags.worker  # noqa: F401


def take(processes: int) -> ProcessPoolExecutor | None:
    """The prestarted pool if it has at least ``processes`` processes (the caller then
    owns it). A parse of fewer files than workers wants fewer processes than were started
    for ``--workers``: those are running already, a second pool would only add more."""
    global _pool
    pool = _pool
    if pool is None or processes > _processes:
        return None
    _pool = None
    return pool


def discard() -> None:
    """End a prestarted pool that no parse stage took (a run served from the cache)."""
    global _pool
    pool, _pool = _pool, None
    if pool is None:
        return
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()  # still importing: nothing of the run's is in it
    pool.shutdown(wait=True, cancel_futures=True)
