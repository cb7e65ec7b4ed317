"""How fast a one-process pool is fed while the parent parses its own share.

Why: :func:`kneeflags.pipeline._parse_all` parses chunks in the parent while one worker
process parses others. The executor's manager and queue-feeder threads, which hand the
worker its next chunk and collect its result, need the GIL; with CPython's default 5 ms
switch interval they wait for the parent's main thread, and the worker sits idle. This
models it without the parsing (the worker sleeps, so no core is shared): the parent runs
Python code in 8 ms stretches (its own chunk), submitting between them, at most two chunks
in flight, as ``_parse_all`` does. Prints the worker's chunks per second for each switch
interval, alternately; 125 a second is the most 8 ms chunks can give.

Usage: ``python benchmarks/gil_handoff.py [--seconds 1] [--reps 2]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor

CHUNK_S = 0.008
"""One chunk of 4 one-hour FIT files, on either side."""


def worker_chunk(x: int) -> int:
    time.sleep(CHUNK_S)
    return x


def parent_chunk(seconds: float) -> int:
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        for i in range(1000):
            x += i
    return x


def chunks_per_second(pool: ProcessPoolExecutor, seconds: float) -> float:
    done = 0
    in_flight: set[Future[int]] = set()
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        while len(in_flight) < 2:
            in_flight.add(pool.submit(worker_chunk, 1))
        parent_chunk(CHUNK_S)
        finished = {f for f in in_flight if f.done()}
        done += len(finished)
        in_flight -= finished
    return done / (time.monotonic() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args(argv)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        pool.submit(worker_chunk, 0).result()
        for rep in range(args.reps):
            for switch in (0.005, 0.0005):
                sys.setswitchinterval(switch)
                rate = chunks_per_second(pool, args.seconds)
                print(f"rep {rep + 1}, switch interval {switch * 1e3:.1f} ms: {rate:.0f} chunks/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
