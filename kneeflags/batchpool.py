"""One pool of files across a batch's athletes: a large athlete keeps every core busy.

``kneeflags batch`` on the local process pool runs one task per athlete (a few small
athletes per task when there are many). An athlete with 2,000 files beside nine with 50
was then parsed on one core while the other idled once the small ones were done. A task
whose athlete has :data:`SPLIT_MIN_FILES` or more files left to parse (after the parse
cache) stops after preparing it (:func:`kneeflags.pipeline.prepare_pipeline`: found,
hashed, looked up) and hands it back as a :class:`~kneeflags.batchtasks.Planned`. Here
the files of all such athletes are parsed in one shared pool, in chunks of files from
any athlete (:func:`kneeflags.pipeline._parse_all`, the parse stage ``run_pipeline``
itself uses, with its per-file time cap and its handling of a worker that dies), then
each athlete is finished on the executor (:func:`kneeflags.batchtasks.finish_job`: cache
store, sanity, deduplication, analysis, report), the stage every athlete task ends with.

Nothing here changes a result: outcomes are put back by file index, and
:func:`~kneeflags.pipeline.finish_pipeline` depends only on them, not on which process
parsed a file or in which order. The Dask executor keeps athlete-level tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kneeflags.worker import FileOutcome, process_chunk

if TYPE_CHECKING:
    from kneeflags.batchtasks import AthleteJob, Outcome, Planned
    from kneeflags.executors import AthleteExecutor
    from kneeflags.pipeline import Prepared

log = logging.getLogger("kneeflags.batchpool")

SPLIT_MIN_FILES = 64
"""Files left to parse from which an athlete's files go to the shared pool [eng].

Below it, an athlete's whole task (a fraction of a second of parsing) is already a unit
small enough to balance two cores; splitting it would only send its summaries back and
forth once more. A 1,000-athlete team of 20 files each never splits."""

ROUND_FILES = 20_000
"""At most this many files are parsed per round before their athletes are finished [eng]:
the parsed summaries of a round wait in this process, so a coach folder of many large
athletes stays bounded in memory (a summary is a few KB)."""

CHUNK_FILES = 16
"""Files per chunk of the shared pool, at most [eng]. Each chunk is a round trip to a
worker (its items out, its summaries back): on 2,000 short FIT files, chunks of 4 cost the
handing-out process 0.30 CPU s, chunks of 16 0.15 s. A chunk of 16 one-hour files is
~50 ms, so the processes still end within that of each other."""

PARSE_CHUNK = process_chunk
"""What parses a chunk of files in the shared pool (looked up at each call: the tests
replace it with a wrapper that records the process it ran in)."""


def finish_planned(
    jobs: Sequence[AthleteJob], planned: Sequence[Planned], executor: AthleteExecutor
) -> list[Outcome]:
    """Parse the planned athletes' files in one pool, then finish each on ``executor``.

    Outcomes in the order of ``jobs``. A file whose worker dies is named as an error of
    its athlete (the parse stage isolates it); an athlete whose finishing task fails after
    the executor's retries is reported as failed by name, the others complete.
    """
    from kneeflags.batchtasks import Outcome, finish_job
    from kneeflags.executors import TaskFailed

    out: list[Outcome] = []
    for lo, hi in _rounds([len(p.prepared.to_parse) for p in planned]):
        preps = [p.prepared for p in planned[lo:hi]]
        parsed = parse_shared(preps, executor)
        tasks = list(zip(jobs[lo:hi], preps, parsed, strict=True))
        del parsed
        for job, result in zip(jobs[lo:hi], executor.run(finish_job, tasks), strict=True):
            failed = isinstance(result, TaskFailed)
            out.append(Outcome(job.source, None, result.reason) if failed else result)
    return out


def _rounds(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive athletes grouped up to :data:`ROUND_FILES` files (one at least)."""
    rounds: list[tuple[int, int]] = []
    lo, files = 0, 0
    for k, n in enumerate(sizes):
        if k > lo and files + n > ROUND_FILES:
            rounds.append((lo, k))
            lo, files = k, 0
        files += n
    if lo < len(sizes):
        rounds.append((lo, len(sizes)))
    return rounds


def parse_shared(
    preps: Sequence[Prepared], executor: AthleteExecutor
) -> list[list[tuple[int, FileOutcome]]]:
    """Every prepared athlete's :attr:`~kneeflags.pipeline.Prepared.to_parse`, parsed in
    one pool, files from any athlete side by side. Returns, per athlete,
    ``(index, outcome)`` for each of its files.

    The pool is the executor's own (:meth:`~kneeflags.executors.PoolExecutor.shared_pool`:
    its processes have imported the parsers while running the athlete tasks, so no core
    waits for a new interpreter); another executor's athletes are parsed in a pool of
    its size started here, this process included.

    Athletes are grouped by how their files are read (decoder, zone, metrics settings;
    one group in a batch, where every athlete shares them).
    """
    from kneeflags.executors import PoolExecutor
    from kneeflags.pipeline import _parse_all
    from kneeflags.sources import release_archives

    out: list[list[tuple[int, FileOutcome]]] = [[] for _ in preps]
    groups: list[tuple[tuple[str, str | None, Any], list[int]]] = []
    for k, prep in enumerate(preps):
        key = (prep.decoder, prep.tz, prep.config)
        for have, members in groups:
            if have == key:
                members.append(k)
                break
        else:
            groups.append((key, [k]))
    for (decoder, tz, config), members in groups:
        items = [preps[k].items[i] for k in members for i in preps[k].to_parse]
        owner = [(k, i) for k in members for i in preps[k].to_parse]
        log.debug("shared pool: %d files of %d athletes", len(items), len(members))
        pool = executor.shared_pool() if isinstance(executor, PoolExecutor) else None
        for g, outcome in _parse_all(
            items,
            range(len(items)),
            decoder,
            tz,
            config,
            executor.workers,
            chunk_fn=PARSE_CHUNK,
            pool=pool,
            chunk_files=CHUNK_FILES,
        ):
            k, i = owner[g]
            out[k].append((i, outcome))
    release_archives()  # this process parsed its share: close what it opened
    return out


__all__ = [
    "CHUNK_FILES",
    "PARSE_CHUNK",
    "ROUND_FILES",
    "SPLIT_MIN_FILES",
    "finish_planned",
    "parse_shared",
]
