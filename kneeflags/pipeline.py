"""One call from paths to an :class:`~kneeflags.findings.Analysis`: the fast path.

``run_pipeline`` is what the CLI journeys call. It differs from
``analyze(load(paths))`` only in cost, never in result:

* every input item is hashed and looked up in the parse cache
  (:mod:`kneeflags.cache`); a hit costs one Parquet read for the whole set;
* misses are parsed in worker processes and reduced to per-activity
  summaries right there, so the parent never holds every file's samples
  (memory stays bounded by the workers, not by the number of files);
* results are put back in input order, so the output is deterministic
  whatever the scheduling.

Duplicate runs (watch FIT + phone GPX) are dropped on the summaries with the
same rule :func:`kneeflags.dedupe.dedupe` applies to activities.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from kneeflags import __version__, prestart, statindex
from kneeflags.analysis import analyze_frames
from kneeflags.cache import (
    CacheHits,
    FileEntry,
    ParseCache,
    cache_key,
    default_cache_dir,
    entry_key,
)
from kneeflags.config import Config
from kneeflags.corrections import Corrections, apply_to_summaries
from kneeflags.corrections import note as corrections_note
from kneeflags.dedupe import RunKey, resolve
from kneeflags.findings import Analysis
from kneeflags.listing import build_listing, empty_listing
from kneeflags.metrics.cadence import CADENCE_HIST_SCHEMA, empty_hist
from kneeflags.metrics.summary import (
    ACTIVITY_SUMMARY_SCHEMA,
    METRICS_VERSION,
    ActivitySummary,
    tagged_frames,
)
from kneeflags.model import Problem, safe_text
from kneeflags.parsers import DECODERS
from kneeflags.parsers.common import one_line
from kneeflags.records import record
from kneeflags.sanity import check_summaries
from kneeflags.sources import SourceItem, iter_sources, release_archives
from kneeflags.statindex import StatIndex, item_key, signature
from kneeflags.timezones import validate_tz
from kneeflags.worker import FileOutcome, FileTimeLimit, process_chunk, process_item, time_limit

if TYPE_CHECKING:  # imported where a pool is made: a run served from the cache needs none
    import multiprocessing.context
    from concurrent.futures import Future, ProcessPoolExecutor

ProgressCallback = Callable[[int, int], None]
ChunkFn = Callable[
    [Sequence[tuple[int, SourceItem]], str, "str | None", Config], list[tuple[int, FileOutcome]]
]

log = logging.getLogger("kneeflags.pipeline")

PARALLEL_MIN_ITEMS = 4
"""Below this many files to parse, worker start-up costs more than it saves."""

PARSE_SWITCH_INTERVAL_S = 0.0005
"""GIL switch interval while this process parses beside its pool (see :func:`_parse_all`):
the pool's feeder thread gets the GIL within half a millisecond instead of CPython's 5 ms."""

MAX_HASH_SECONDS = 120.0
"""Wall-clock cap on the parent's hashing pass (cache look-up keys for every input) [eng].

20,000 members of an export hash in well under a second once each archive is opened
once; the cap is the backstop (a slow disk, a huge input set), past which the rest is
parsed without the cache rather than hashed for ever."""


@record
class PipelineResult:
    """The analysis plus what happened to each input file."""

    analysis: Analysis
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped: int = 0
    files_read: int = 0
    cache_hits: int = 0
    listing: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Every activity read, kept or not (:func:`kneeflags.listing.build_listing`); only
    built when asked for (``run_pipeline(listing=True)``)."""
    corrections_applied: int = 0
    input_digest: str | None = None
    """A hash of every input's content (and of each unreadable input's error), in input
    order; ``None`` without the cache (nothing hashed). ``kneeflags batch`` keys its
    "unchanged since the last run" test on it."""


def run_pipeline(
    paths: Iterable[str | os.PathLike[str]],
    *,
    tz: str | None = None,
    config: Config | None = None,
    athlete: str = "athlete",
    decoder: str = "auto",
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    corrections: Corrections | None = None,
    listing: bool = False,
    exclude: Iterable[str | os.PathLike[str]] = (),
    cache_shard: str | None = None,
    rehash: bool = False,
) -> PipelineResult:
    """Read ``paths``, analyse them as one athlete, and report per-file problems.

    ``cache_shard``: keep this run's cache entries in their own folder of the cache
    (``kneeflags batch`` gives each athlete one). The cache commits one consolidated
    generation per folder, so a store costs the size of the folder: one folder for a
    whole team made every athlete's store rewrite the team's cache under one lock, and
    a batch quadratic in its athletes.

    ``corrections``: the athlete's journal corrections (:mod:`kneeflags.corrections`),
    applied to the summaries after parsing and caching; ``None`` when no journal was read.
    ``listing``: also build :attr:`PipelineResult.listing` (``kneeflags activities``).
    ``exclude``: folders never read, even inside ``paths`` (the report's own output).
    ``rehash``: read and hash every input for the cache look-up, even one whose ``stat``
    is unchanged since it was last hashed (:mod:`kneeflags.statindex`).

    ``tz`` (IANA name) places activities whose files carry no UTC offset; it
    overrides ``config.timezone``. ``workers``: processes for parsing
    (``None``: one per core; ``1``: in this process). Raises ``ValueError``
    for a bad ``tz`` or ``decoder`` (a usage error), never for a bad file.
    """
    prepared = prepare_pipeline(
        paths,
        tz=tz,
        config=config,
        athlete=athlete,
        decoder=decoder,
        cache_dir=cache_dir,
        use_cache=use_cache,
        corrections=corrections,
        listing=listing,
        exclude=exclude,
        cache_shard=cache_shard,
        rehash=rehash,
    )
    return finish_pipeline(prepared, parse_prepared(prepared, workers), progress=progress)


@record
class Prepared:
    """One athlete's run up to parsing: inputs found, hashed, looked up in the cache.

    The stages of :func:`run_pipeline` are public so that ``kneeflags batch`` can prepare
    every athlete, parse the files left (:attr:`to_parse`) of *all* athletes in one
    shared pool, then finish each athlete (:func:`finish_pipeline`): an athlete with
    2,000 files then keeps every core busy instead of one. Picklable (it travels between
    the batch's processes); what :func:`finish_pipeline` does with it does not depend on
    where, or in which order, its files were parsed.
    """

    items: list[SourceItem]
    outcomes: list[FileOutcome | None]
    to_parse: list[int]
    """Indices into :attr:`items` still to parse (not unreadable, skipped or cached)."""
    shas: dict[int, str]
    hits: CacheHits
    cache: ParseCache | None
    config: Config
    tz: str | None
    decoder: str
    athlete: str
    corrections: Corrections | None
    listing: bool
    cache_dir: str | Path | None
    use_cache: bool
    cache_shard: str | None = None
    looked_up: bool = True
    """False after :func:`hash_inputs` alone: :func:`look_up_prepared` is still to run."""


def prepare_pipeline(paths: Iterable[str | os.PathLike[str]], **options: Any) -> Prepared:
    """Discovery, hashing and the cache look-up of :func:`run_pipeline`.

    ``options``: the keyword arguments of :func:`hash_inputs` (those of :func:`run_pipeline`
    but ``workers`` and ``progress``).
    """
    return look_up_prepared(hash_inputs(paths, **options))


def hash_inputs(
    paths: Iterable[str | os.PathLike[str]],
    *,
    tz: str | None = None,
    config: Config | None = None,
    athlete: str = "athlete",
    decoder: str = "auto",
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    corrections: Corrections | None = None,
    listing: bool = False,
    exclude: Iterable[str | os.PathLike[str]] = (),
    cache_shard: str | None = None,
    rehash: bool = False,
) -> Prepared:
    """Discovery and hashing: :func:`prepare_pipeline` up to the cache look-up.

    What ``kneeflags batch`` needs to tell whether an athlete changed since its last run
    (:func:`prepared_digest`) without opening the parse cache; :func:`look_up_prepared`
    then does the rest of :func:`prepare_pipeline`.
    """
    config = config or Config()
    tz = tz or config.timezone
    validate_tz(tz)
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r} (choose from {', '.join(DECODERS)})")
    if tz and tz != config.timezone:
        config = _with_timezone(config, tz)

    _keep_matplotlib_inside(cache_dir, use_cache)
    items = list(iter_sources(paths, exclude=exclude))
    outcomes: list[FileOutcome | None] = [None] * len(items)
    to_parse: list[int] = []
    for i, item in enumerate(items):
        if item.error:
            outcomes[i] = FileOutcome(None, "error", [("error", item.error)])
        elif item.skip:
            outcomes[i] = FileOutcome(None, "skipped", skip_reason=item.skip)
        else:
            to_parse.append(i)

    shas: dict[int, str] = {}
    if use_cache and to_parse:
        index = StatIndex(cache_dir or default_cache_dir(), cache_shard)
        shas = _hash_items(items, to_parse, index, rehash)
        try:
            index.save()
        except OSError as exc:  # a read-only cache: the cache's store says so once
            log.debug("stat index not written (%s)", one_line(exc))
    return Prepared(
        items=items,
        outcomes=outcomes,
        to_parse=to_parse,
        shas=shas,
        hits=CacheHits(),
        cache=None,
        config=config,
        tz=tz,
        decoder=decoder,
        athlete=athlete,
        corrections=corrections,
        listing=listing,
        cache_dir=cache_dir,
        use_cache=use_cache,
        cache_shard=cache_shard,
        looked_up=False,
    )


def look_up_prepared(prepared: Prepared) -> Prepared:
    """The cache look-up of :func:`prepare_pipeline`, after :func:`hash_inputs`.

    Cached files leave :attr:`Prepared.to_parse`; returns ``prepared`` (updated).
    """
    if prepared.looked_up:
        return prepared
    prepared.looked_up = True
    if not (prepared.use_cache and prepared.to_parse):
        return prepared
    key = cache_key(
        version=__version__,
        metrics=METRICS_VERSION,
        decoder=prepared.decoder,
        tz=prepared.tz,
        config=prepared.config.metrics_fingerprint(),
    )
    shard = prepared.cache_shard
    folder = key if shard is None else f"{key}-{shard}"
    cache = ParseCache(prepared.cache_dir or default_cache_dir(), folder)
    prepared.cache = cache
    try:
        prepared.hits = cache.lookup(set(prepared.shas.values()))
    except Exception as exc:  # the cache only saves time: never fail a run over it
        log.warning("parse cache not read (%s)", one_line(exc))
    for i, sha in prepared.shas.items():
        entry = prepared.hits.entries.get(sha)
        if entry is not None:
            prepared.outcomes[i] = FileOutcome(
                sha, entry.status, entry.problems, entry.skip_reason, from_cache=True
            )
    prepared.to_parse = [i for i in prepared.to_parse if prepared.outcomes[i] is None]
    return prepared


def prepared_digest(prepared: Prepared) -> str | None:
    """:attr:`PipelineResult.input_digest` of the athlete, known before any parsing."""
    return _input_digest(prepared.items, prepared.shas)


def parse_prepared(prepared: Prepared, workers: int | None) -> Iterator[tuple[int, FileOutcome]]:
    """The parse stage for one athlete: its :attr:`Prepared.to_parse` on ``workers``."""
    return _parse_all(
        prepared.items,
        prepared.to_parse,
        prepared.decoder,
        prepared.tz,
        prepared.config,
        workers,
    )


def finish_pipeline(
    prepared: Prepared,
    parsed: Iterable[tuple[int, FileOutcome]],
    progress: ProgressCallback | None = None,
) -> PipelineResult:
    """Store what was parsed in the cache, then sanity, copies, deduplication, analysis.

    ``parsed``: ``(index, outcome)`` for every index of :attr:`Prepared.to_parse`, in any
    order (a generator is consumed as it yields, for ``progress``). The result depends
    only on the outcomes, never on their order or on which process parsed them.
    """
    items, outcomes, to_parse, shas = (
        prepared.items,
        prepared.outcomes,
        prepared.to_parse,
        prepared.shas,
    )
    _keep_matplotlib_inside(prepared.cache_dir, prepared.use_cache)
    done = len(items) - len(to_parse)
    if progress is not None:
        progress(done, len(items))
    for i, outcome in parsed:
        if i in shas:  # files that yield no activity (errors) are cached by content too
            outcome.sha256 = shas[i]
        elif outcome.sha256 is not None:
            # Not hashed (unreadable then, or the hashing pass ran out of time): its
            # content-only key would ignore the hints it was read with, so it is not cached.
            outcome.cacheable = False
        outcomes[i] = outcome
        done += 1
        if progress is not None:
            progress(done, len(items))
    release_archives()  # every member is read: close the archives kept open for this run

    fresh_acts, fresh_hist = _fresh_frames(outcomes, to_parse)
    cache = prepared.cache
    if cache is not None:
        entries = [
            FileEntry(o.sha256, o.status, o.problems, o.skip_reason)
            for o in (outcomes[i] for i in to_parse)
            if o is not None and o.sha256 and o.cacheable
        ]
        try:
            cache.store(entries, fresh_acts.drop("_item", strict=False), fresh_hist)
        except Exception as exc:  # read-only or full cache folder: the report still counts
            log.warning("parse cache not written (%s); results are complete", one_line(exc))

    result = _assemble(
        items,
        outcomes,
        (fresh_acts, fresh_hist),
        prepared.hits,
        prepared.config,
        prepared.athlete,
        prepared.tz,
        prepared.corrections,
        prepared.listing,
    )
    result.input_digest = _input_digest(items, shas)
    return result


def _input_digest(items: Sequence[SourceItem], shas: dict[int, str]) -> str | None:
    """One hash over what every input held (see :attr:`PipelineResult.input_digest`)."""
    h = hashlib.sha256()
    for i, item in enumerate(items):
        sha = shas.get(i)
        if sha is None and not (item.error or item.skip):
            return None  # a readable input that was not hashed: no claim about it
        h.update(
            # file names need not be UTF-8 (a Latin-1 name from an old zip): surrogateescape
            f"{item.ref.path}!{item.ref.member or ''}|{sha or item.error or item.skip}\n".encode(
                "utf-8", "surrogateescape"
            )
        )
    return h.hexdigest()


def _keep_matplotlib_inside(cache_dir: str | Path | None, use_cache: bool) -> None:
    """matplotlib's config and font cache go to ``<cache>/matplotlib`` (a temporary
    folder with ``--no-cache``), never ``~/.config`` or ``~/.cache`` (see
    :mod:`kneeflags.report.mpl`)."""
    from kneeflags.report import mpl

    mpl.keep_inside(Path(cache_dir or default_cache_dir()) / "matplotlib" if use_cache else None)


# -- hashing -----------------------------------------------------------------
def _hash_items(
    items: Sequence[SourceItem],
    indices: Sequence[int],
    index: StatIndex | None = None,
    rehash: bool = False,
) -> dict[int, str]:
    """Cache keys (content + hints) of the items, within :data:`MAX_HASH_SECONDS` in all.

    ``index``: the stat pre-check (:mod:`kneeflags.statindex`): a file whose ``stat`` is
    what it was when last hashed is not read again; ``rehash`` reads every file anyway
    (and records what it finds). The caller saves the index.

    The cache only saves time, so it must never cost more than it saves: past the cap
    the remaining items are parsed as if the cache missed (each under its own time cap)
    and a warning goes to the log. Archive members are read through archives kept open
    (:func:`kneeflags.sources.read_item`), so this pass is linear in the members.
    """
    shas: dict[int, str] = {}
    try:
        with time_limit(MAX_HASH_SECONDS):
            for i in indices:
                item = items[i]
                try:
                    key, sig, when = "", None, 0.0
                    content = None
                    if index is not None:
                        # stat before reading: a write after it changes the file's ctime
                        key, when = item_key(item.ref.path, item.chain), statindex.now()
                        sig = signature(item.ref.path)
                        content = None if rehash else index.known(key, sig)
                    if content is None:
                        content = hashlib.sha256(item.read()).hexdigest()
                        if index is not None:
                            index.remember(key, sig, content, when)
                    shas[i] = entry_key(content, item.hints)  # the hints change the outcome
                except Exception:  # unreadable: the parse step reports it properly
                    continue
    except FileTimeLimit:
        log.warning(
            "parse cache: hashing stopped after %g s; %d files are parsed without it",
            MAX_HASH_SECONDS,
            len(indices) - len(shas),
        )
    return shas


# -- parsing -----------------------------------------------------------------
def _parse_all(
    items: Sequence[SourceItem],
    indices: Sequence[int],
    decoder: str,
    tz: str | None,
    config: Config,
    workers: int | None,
    chunk_fn: ChunkFn = process_chunk,
    pool: ProcessPoolExecutor | None = None,
    chunk_files: int = 4,
) -> Iterator[tuple[int, FileOutcome]]:
    """Yield (index, outcome) for every index (in completion order), in parallel when it pays.

    ``chunk_fn`` parses a chunk (:func:`kneeflags.worker.process_chunk`, or a wrapper of
    it that must be importable by a spawned worker); the batch's tests count processes
    with it. ``pool``: a running pool of ``workers`` processes to parse in (the batch's
    own, already started): it is used, never shut down, and this process only hands out
    chunks (a share of its own would compete with those processes for the same cores).
    ``chunk_files``: at most this many files per chunk (each chunk is a round trip).

    The parent process is one of the ``workers``: it starts on the last chunks at once
    while the worker processes are still starting (a spawned interpreter needs about
    0.3 s of imports before its first file), and the workers take chunks from the front.
    The command line starts those processes before its own imports
    (:mod:`kneeflags.prestart`); their pool is taken here when it is big enough.
    Processes are spawned, not forked, because polars' thread pool does not survive
    fork(). If the pool cannot be used at all (a script without a ``__main__`` guard,
    a sandbox without process creation), what is left is parsed in this process. If a
    worker dies (out of memory), the file that killed it is named and never parsed here
    (see :func:`_isolate`).
    """
    borrowed = pool is not None
    n_workers = min(workers or os.cpu_count() or 1, len(indices))
    if (n_workers <= 1 and not borrowed) or len(indices) < PARALLEL_MIN_ITEMS:
        for i in indices:
            yield i, process_item(items[i], decoder, tz, config)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # Small chunks: the run ends when the slowest process ends, at most a chunk after the
    # other; 4 one-hour FIT files are ~12 ms, a few hundred microseconds of it hand-over.
    size = max(1, min(chunk_files, len(indices) // (n_workers * 4)))
    chunks = deque(
        [(i, items[i]) for i in indices[start : start + size]]
        for start in range(0, len(indices), size)
    )
    done: set[int] = set()
    processes = n_workers if borrowed else n_workers - 1
    context = multiprocessing.get_context("spawn")
    in_flight: dict[Future[list[tuple[int, FileOutcome]]], list[int]] = {}
    # The pool's manager and queue-feeder threads hand a worker its next chunk and take its
    # results, and need the GIL for it. While this thread parses its own share they waited
    # up to CPython's 5 ms switch interval each, the worker idle meanwhile: with 8 ms chunks
    # (4 one-hour FIT files) on both sides, a worker got 75 of 125 possible chunks a second,
    # 122 at 0.5 ms (benchmarks/gil_handoff.py).
    switch = sys.getswitchinterval()
    if not borrowed:
        sys.setswitchinterval(min(switch, PARSE_SWITCH_INTERVAL_S))
    try:
        if pool is None:  # the command line's prestarted pool, else a new one
            pool = prestart.take(processes) or ProcessPoolExecutor(
                max_workers=processes, mp_context=context
            )
        while chunks or in_flight:
            while chunks and len(in_flight) < 2 * processes:
                chunk = chunks.popleft()
                future = pool.submit(chunk_fn, chunk, decoder, tz, config)
                in_flight[future] = [i for i, _ in chunk]
            if chunks and not borrowed:  # the parent's share, from the back
                for i, outcome in chunk_fn(chunks.pop(), decoder, tz, config):
                    done.add(i)
                    yield i, outcome
            finished = {f for f in in_flight if f.done()}
            if not finished and (borrowed or not chunks):
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                del in_flight[future]
                for i, outcome in result:
                    done.add(i)
                    yield i, outcome
    except BrokenProcessPool as exc:
        # A worker died (the OOM killer, a signal) or none could start. The files it held
        # are suspects: each is retried alone in a fresh worker, and the one that kills
        # that worker too is named. Never re-parsed here, where it would kill the run.
        log.debug("a worker process died (%s)", exc)
        suspects = [i for ids in in_flight.values() for i in ids if i not in done]
        suspect_set = set(suspects)
        rest = [i for i in indices if i not in done and i not in suspect_set]
        usable = bool(suspects)  # nothing in flight: the pool never took a file
        for i, outcome in _isolate(items, suspects, decoder, tz, config, context, chunk_fn):
            if outcome is None:  # no worker process can run here: parse what is left
                usable = False
                for j in suspects:
                    if j not in done:
                        done.add(j)
                        yield j, process_item(items[j], decoder, tz, config)
                break
            done.add(i)
            yield i, outcome
        if usable:
            yield from _parse_all(items, rest, decoder, tz, config, workers, chunk_fn)
        else:
            for i in rest:
                yield i, process_item(items[i], decoder, tz, config)
    finally:
        sys.setswitchinterval(switch)
        if pool is not None and not borrowed:
            # Every result is in (or the caller stopped early): let the workers wind down
            # while the report is built instead of waiting ~0.1 s for them to exit here.
            pool.shutdown(wait=False, cancel_futures=True)


WORKER_DIED = "the worker process reading it died (out of memory or killed): not used"


def _isolate(
    items: Sequence[SourceItem],
    suspects: Sequence[int],
    decoder: str,
    tz: str | None,
    config: Config,
    context: multiprocessing.context.BaseContext,
    chunk_fn: ChunkFn = process_chunk,
) -> Iterator[tuple[int, FileOutcome | None]]:
    """Parse each suspect alone in a worker; the one whose worker dies is an error.

    Yields ``(index, None)`` once if worker processes cannot run at all (a probe with no
    file fails too): the caller then parses the rest itself, as before any pool existed.
    """
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool: ProcessPoolExecutor | None = None
    try:
        for i in suspects:
            if pool is None:
                pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            try:
                yield (
                    i,
                    pool.submit(chunk_fn, [(i, items[i])], decoder, tz, config).result()[0][1],
                )
                continue
            except BrokenProcessPool:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
            if not _workers_run(context):
                yield i, None
                return
            yield i, FileOutcome(None, "error", [("error", WORKER_DIED)], cacheable=False)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _workers_run(context: multiprocessing.context.BaseContext) -> bool:
    """Whether a worker process can run anything at all here (a probe without a file)."""
    from concurrent.futures import ProcessPoolExecutor

    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as probe:
            return probe.submit(os.getpid).result(timeout=60) > 0
    except Exception:
        return False


# -- assembly --------------------------------------------------------------------
def _fresh_frames(
    outcomes: Sequence[FileOutcome | None], indices: Sequence[int]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All freshly parsed summaries as two frames, tagged with input index and content hash.

    One frame construction for the whole run, whatever the number of files.
    """
    summaries: list[ActivitySummary] = []
    item: list[int] = []
    sha: list[str | None] = []
    for i in indices:
        outcome = outcomes[i]
        if outcome is None:  # pragma: no cover - every index is filled by then
            continue
        summaries += outcome.summaries
        item += [i] * len(outcome.summaries)
        sha += [outcome.sha256] * len(outcome.summaries)
    if not summaries:  # a warm run: nothing to build
        return pl.DataFrame(), pl.DataFrame()
    return tagged_frames(
        summaries,
        {"_item": pl.Series(item, dtype=pl.Int64), "sha256": pl.Series(sha, dtype=pl.String)},
    )


def _cached_frames(
    outcomes: Sequence[FileOutcome | None], hits: CacheHits
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The cached rows of every input that hit, tagged with its input index (a join)."""
    keys = [(i, o.sha256) for i, o in enumerate(outcomes) if o is not None and o.from_cache]
    if not keys or not hits.summaries.height:
        return pl.DataFrame(), pl.DataFrame()
    wanted = pl.DataFrame(
        {"_item": [i for i, _ in keys], "sha256": [s for _, s in keys]},
        schema={"_item": pl.Int64, "sha256": pl.String},
    )
    acts = wanted.join(hits.summaries, on="sha256", how="inner")
    return acts, hits.cadence


def _assemble(
    items: Sequence[SourceItem],
    outcomes: Sequence[FileOutcome | None],
    fresh: tuple[pl.DataFrame, pl.DataFrame],
    hits: CacheHits,
    config: Config,
    athlete: str,
    tz: str | None,
    corrections: Corrections | None = None,
    want_listing: bool = False,
) -> PipelineResult:
    errors: list[Problem] = []
    warnings: list[Problem] = []
    wheres = [safe_text(str(item.ref)) for item in items]
    for where, outcome in zip(wheres, outcomes, strict=True):
        if outcome is None:  # pragma: no cover - every index is filled above
            continue
        for kind, message in outcome.problems:
            if kind == "note":
                log.debug("%s: %s", where, safe_text(message))
            elif kind == "error":
                errors.append(Problem(where, safe_text(message), "error"))
            else:
                warnings.append(Problem(where, safe_text(message), "warning"))

    cached_acts, cached_hist = _cached_frames(outcomes, hits)
    columns = [*ACTIVITY_SUMMARY_SCHEMA, "_item"]
    act_frames = [f.select(columns) for f in (cached_acts, fresh[0]) if f.height]
    hist_frames = [f.select(list(CADENCE_HIST_SCHEMA)) for f in (cached_hist, fresh[1]) if f.height]
    if act_frames:
        acts = (
            pl.concat(act_frames, how="vertical_relaxed")
            # Input order, then each file's own order: the first copy of a run wins below.
            .sort("_item", "start_utc", "activity_id", maintain_order=True)
        )
        # A cache hit may come from another path: the current one is the truth.
        source = pl.Series("source", wheres, dtype=pl.String).gather(acts.get_column("_item"))
        acts = acts.with_columns(source).drop("_item")
    else:
        acts = pl.DataFrame(schema=ACTIVITY_SUMMARY_SCHEMA)
    hist = pl.concat(hist_frames, how="vertical_relaxed") if hist_frames else empty_hist()

    # Sanity stage: impossible activities left out, impossible values cleared (named).
    checked = check_summaries(acts, hist)
    acts, hist = checked.acts, checked.hist
    errors += checked.errors
    warnings += checked.warnings

    # The same content under two paths has the same activity ids: keep the first.
    # The original is taken over all rows, before filtering: taken over the copies alone,
    # a third copy was "a copy of" the second, and the second of itself.
    tagged = acts.with_columns(pl.col("source").first().over("activity_id").alias("_first"))
    copies = tagged.filter(pl.col("source") != pl.col("_first"))
    copy_rows = copies.select("source", "_first", "activity_id").rows()
    for row in copy_rows:
        warnings.append(Problem(row[0], f"identical copy of {row[1]}: counted once", "warning"))
    if acts.get_column("activity_id").n_unique() < acts.height:
        # Only a repeated id can repeat histogram rows (one file's histogram has each
        # (speed bin, spm) once): the 2 ms hash of every row is spent only then.
        acts = acts.unique("activity_id", keep="first", maintain_order=True)
        hist = hist.unique(["activity_id", "speed_bin", "spm"], keep="first", maintain_order=True)

    # Corrections stage: after parsing and caching, before deduplication.
    read_as = acts
    corrected = apply_to_summaries(acts, corrections)
    acts = corrected.summaries
    same_as = corrections.same if corrections else ()
    not_same_as = corrections.different if corrections else ()
    confirmed = frozenset(corrections.sport) if corrections else frozenset()
    resolution = resolve(_run_keys(acts, confirmed), same_as, not_same_as)
    warnings.extend(resolution.warnings)
    kept_ids = [acts["activity_id"][k.token] for k in resolution.kept]
    listing = (
        build_listing(read_as, acts, resolution, corrected, [(r[0], r[1], r[2]) for r in copy_rows])
        if want_listing
        else empty_listing()
    )
    acts = acts.filter(pl.col("activity_id").is_in(kept_ids))
    hist = hist.filter(pl.col("activity_id").is_in(kept_ids))

    label = _describe_timezone(tz, set(acts["utc_offset_source"].unique().to_list()))
    analysis = analyze_frames(acts, hist, config, athlete=athlete, timezone=label)
    if corrections is not None:
        said = corrections_note(corrected.applied, corrections.effective, len(corrected.resported))
        analysis.notes.append(said)
        analysis.run_notes.append(said)
    return PipelineResult(
        analysis=analysis,
        errors=errors,
        warnings=warnings,
        skipped=sum(1 for o in outcomes if o is not None and o.status == "skipped"),
        files_read=sum(1 for o in outcomes if o is not None and o.status == "ok"),
        cache_hits=sum(1 for o in outcomes if o is not None and o.from_cache),
        listing=listing,
        corrections_applied=corrected.applied,
    )


def _run_keys(acts: pl.DataFrame, confirmed: frozenset[str] = frozenset()) -> list[RunKey]:
    """Dedupe keys for every summary row; ``token`` is the row index."""
    cols = acts.select(
        "source",
        "format",
        pl.col("start_utc").dt.epoch("us").cast(pl.Float64) / 1e6,
        pl.col("duration_s").fill_null(0.0),
        pl.col("distance_km") * 1000.0,
        pl.col("n_samples").fill_null(0),
        pl.col("partial").fill_null(False),
        pl.col("activity_id")
        .str.split(":")
        .list.last()
        .cast(pl.Int64, strict=False)
        .fill_null(0)
        .alias("part"),
        "activity_id",
        pl.col("is_running").fill_null(False),
        "sport",
        "moving_s",
        pl.col("has_cadence").fill_null(False),
    )
    return [
        RunKey(
            token=i,
            source=source,
            format=fmt,
            start=start,
            end=start + duration,
            distance_m=distance,
            n_samples=n_samples,
            partial=partial,
            part=part,
            activity_id=aid,
            is_running=running,
            sport=sport,
            moving_s=moving,
            has_cadence=cadence,
            confirmed=aid in confirmed,
        )
        for i, (
            source,
            fmt,
            start,
            duration,
            distance,
            n_samples,
            partial,
            part,
            aid,
            running,
            sport,
            moving,
            cadence,
        ) in enumerate(cols.iter_rows())
    ]


def _with_timezone(config: Config, tz: str) -> Config:
    import dataclasses

    return dataclasses.replace(config, timezone=tz)


def _describe_timezone(tz: str | None, offset_sources: set[str] | None = None) -> str:
    """What the report says about local time (read after "local time ...").

    Files that carry their own UTC offset (FIT ``local_timestamp``) win over
    the option and the system zone, so say which of them actually placed the runs.
    """
    from_files = "fit_local_timestamp" in (offset_sources or set())
    others = (offset_sources or set()) - {"fit_local_timestamp"}
    if from_files and not others:
        return "from the watch's own UTC offsets"
    if tz:
        return f"{tz}" + (" (where the file has no UTC offset of its own)" if from_files else "")
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            link = os.readlink("/etc/localtime")
            name = link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else ""
        except OSError:
            name = ""
    zone = f"{name or 'this machine'} (system zone)"
    return f"{zone} where the file has no UTC offset of its own" if from_files else zone
