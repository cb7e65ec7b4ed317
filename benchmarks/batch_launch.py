"""``kneeflags`` for ``bench_batch.py --skewed``: a split threshold, and CPU per process.

Usage: ``python benchmarks/batch_launch.py SPLIT ARGS...``. ``SPLIT`` is ``-`` (the build
as it is) or a number for :data:`kneeflags.batchpool.SPLIT_MIN_FILES` (``1000000000``:
every athlete parsed whole in one task, the scheduling before issue 15). ``ARGS`` are the
command's.

On exit one line goes to stderr, ``KNEEFLAGS-BENCH-CPU {json}``: the CPU seconds of this
process and of each of its child processes (the pool's workers; read from ``/proc`` every
50 ms, so the last 50 ms of each may be missed). The busiest process's CPU seconds show
how the work was shared out whatever else runs on the machine, which wall-clock time on a
shared machine cannot. Linux only (``/proc``); elsewhere the children are not listed.
"""

from __future__ import annotations

import json
import os
import sys
import threading

MARK = "KNEEFLAGS-BENCH-CPU "


def children_cpu(parent: int) -> dict[int, float]:
    """CPU seconds (user + system) of every live child process of ``parent``."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[1].split()  # from the state (field 3) on
        if int(fields[1]) == parent:
            out[int(name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def main() -> None:
    split, args = sys.argv[1], sys.argv[2:]
    from kneeflags import batchpool

    if split != "-":
        batchpool.SPLIT_MIN_FILES = int(split)
    seen: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        me = os.getpid()
        while not stop.wait(0.05):
            seen.update(children_cpu(me))

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    from kneeflags.__main__ import main as kneeflags

    code: int | str | None = 0
    try:
        kneeflags(args)
    except SystemExit as exc:
        code = exc.code
    finally:
        stop.set()
        watcher.join()
        me = os.times()
        report = {"self": me.user + me.system, "children": sorted(seen.values(), reverse=True)}
        print(MARK + json.dumps(report), file=sys.stderr, flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
