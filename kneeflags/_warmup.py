"""Start the worker processes while the command line is still importing its libraries.

A spawned worker needs ~0.4 s (mostly importing polars and numpy) before it can
parse its first file; so does the CLI process itself. Started one after the
other, that is the largest fixed cost of a cold ``kneeflags analyze`` on a small
machine. :func:`start` is called by the console entry point before anything
heavy is imported, so both import at the same time; :func:`take` hands the
started pool to :mod:`kneeflags.pipeline`, which otherwise starts its own.

This module must stay import-light: it is imported before polars.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor

_pool: ProcessPoolExecutor | None = None
_size = 0


def _ready() -> bool:
    """Runs in the worker: import what parsing needs now, not at the first file."""
    import kneeflags.pipeline  # noqa: F401

    return True


def start(workers: int | None = None) -> None:
    """Start ``workers - 1`` worker processes (the parent is the other worker)."""
    global _pool, _size
    size = (workers or os.cpu_count() or 1) - 1
    if _pool is not None or size < 1:
        return
    try:
        context = multiprocessing.get_context("spawn")
        _pool = ProcessPoolExecutor(max_workers=size, mp_context=context)
        for _ in range(size):
            _pool.submit(_ready)
        _size = size
    except (OSError, RuntimeError, ValueError):  # no process creation here: parse in-process
        _pool, _size = None, 0


def take(size: int) -> Executor | None:
    """The started pool if it has ``size`` workers (the caller then owns it), else None."""
    global _pool, _size
    pool, started = _pool, _size
    _pool, _size = None, 0
    if pool is None:
        return None
    if started != size:
        pool.shutdown(wait=False, cancel_futures=True)
        return None
    return pool


def shutdown() -> None:
    """Stop a pool nobody took (a warm run that never parsed a file)."""
    global _pool, _size
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool, _size = None, 0
