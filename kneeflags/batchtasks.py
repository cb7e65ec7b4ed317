"""What a batch runs per athlete, wherever it runs: the task side of ``kneeflags batch``.

:func:`kneeflags.journeys.run_batch` turns each athlete into an :class:`AthleteJob` and
hands them, a few per task, to an executor (:mod:`kneeflags.executors`): a local process
pool or a Dask worker imports this module and calls :func:`run_jobs`. Everything here is
picklable and pure (files in, an :class:`~kneeflags.report.model.AthleteReport` out), so
where a task runs never changes its answer.

On the local pool a task may stop half-way: an athlete with many files left to parse
comes back :class:`Planned`, its files are parsed in the batch's shared pool of files
(:mod:`kneeflags.batchpool`), and :func:`finish_job` ends it with the same stage.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from kneeflags.config import Config
from kneeflags.findings import Analysis
from kneeflags.journeys import _athlete_report
from kneeflags.manifest import is_url
from kneeflags.model import Problem, safe_text
from kneeflags.parsers.common import exception_line
from kneeflags.records import record

if TYPE_CHECKING:
    from kneeflags.executors import AthleteExecutor
    from kneeflags.journeys import AthleteSource, ProgressCallback
    from kneeflags.report.model import AthleteReport


@record
class AthleteJob:
    """One athlete's task: what to read, and how to report it (all picklable)."""

    source: AthleteSource
    tz: str | None
    config: Config
    decoder: str
    cache_dir: str | None
    use_cache: bool
    workers: int | None
    corrections: Any = None
    cache_shard: str | None = None
    weeks: int = 12
    until: date | None = None
    as_of: date | None = None
    journal: tuple[Any, ...] = ()
    rehash: bool = False
    """Hash every input for the cache look-up even if its stat is unchanged (--rehash)."""
    split_min: int | None = None
    """From this many files left to parse (after the cache), the task stops after
    preparing the athlete and returns a :class:`Planned`: its files are then parsed in the
    batch's shared pool of files (:mod:`kneeflags.batchpool`). ``None``: never."""
    out_dir: str | None = None
    """``batch --out-dir``: the task writes the athlete's part file there
    (:mod:`kneeflags.tables`), and skips an athlete whose last completed run there had
    the same fingerprint. The folder must be visible to the workers for either; when it
    is not, the client writes the part and nothing is skipped."""
    slug: str | None = None
    """The athlete's folder name under ``out_dir`` (chosen by the client)."""
    stamp: Any = None
    """The batch's ``generated_at``: every report carries it, so it is in the fingerprint."""
    skip_unchanged: bool = True
    """False when the client could not rebuild an athlete it was told is unchanged."""


@record
class Planned:
    """An athlete prepared (found, hashed, looked up) whose files the batch parses."""

    source: AthleteSource
    prepared: Any  # kneeflags.pipeline.Prepared


@record
class Outcome:
    """The athlete's report (built where the task ran), or why there is none."""

    source: AthleteSource
    report: AthleteReport | None
    failure: str | None
    input_digest: str | None = None
    fingerprint: str = ""
    """What the athlete's outputs depend on (:func:`job_fingerprint`); ``""``: not known."""
    unchanged: bool = False
    """Same fingerprint as the last completed run in ``out_dir``: nothing was parsed or
    analysed, ``report`` is ``None`` and the client rebuilds the athlete from its part."""
    parsed: int = 0
    """Files this task parsed (not found in the parse cache)."""
    part: bool | None = None
    """The task wrote the athlete's part: True (new bytes), False (the same bytes were
    there already); ``None``: not written (no ``out_dir``, or the write failed)."""


def run_job(job: AthleteJob) -> Outcome | Planned:
    """Worker entry point: one athlete's pipeline and report; any failure becomes a message.

    The report is built here, on the worker, so the client receives a report rather than
    the athlete's frames: less to send and to hold, and no serial step per athlete left
    on the client but ranking and writing. URLs among the inputs are read through fsspec
    (:mod:`kneeflags.remote`), so a Dask worker reads a shared or object store the client
    may not even see.
    """
    try:
        from kneeflags.pipeline import (
            finish_pipeline,
            look_up_prepared,
            parse_prepared,
            prepared_digest,
        )

        if not any(is_url(p) for p in job.source.inputs):
            from kneeflags.sources import release_archives

            prepared = _job_prepare(job, list(job.source.inputs))
            if job.out_dir is not None and job.slug is not None and job.skip_unchanged:
                from kneeflags.tables import committed

                digest = prepared_digest(prepared)
                fp = job_fingerprint(job, digest)
                if committed(job.out_dir, job.slug, fp):
                    release_archives()  # hashed, never parsed
                    return Outcome(job.source, None, None, digest, fp, unchanged=True)
            look_up_prepared(prepared)
            if job.split_min is not None and len(prepared.to_parse) >= job.split_min:
                release_archives()  # the shared pool reads them, in other processes
                return Planned(job.source, prepared)
            parsed = len(prepared.to_parse)
            result = finish_pipeline(prepared, parse_prepared(prepared, job.workers))
            return _job_outcome(job, result, parsed)
        from kneeflags.remote import staged_inputs

        with staged_inputs(job.source.inputs) as staged:
            prepared = look_up_prepared(_job_prepare(job, staged.paths))
            result = finish_pipeline(prepared, parse_prepared(prepared, job.workers))
            _rename_sources(result, staged)
        return _job_outcome(job, result, max(0, result.files_read - result.cache_hits))
    except Exception as exc:  # one athlete's failure must not stop the others
        return Outcome(job.source, None, exception_line(exc))


def finish_job(task: tuple[AthleteJob, Any, list[tuple[int, Any]]]) -> Outcome:
    """Executor task: a :class:`Planned` athlete's files are parsed; analyse and report it.

    ``task``: the job, its ``Prepared`` and the ``(index, FileOutcome)`` of every file it
    had left to parse. The same stage :func:`run_job` ends with, so the report is the
    one a whole-athlete task gives, byte for byte.
    """
    job, prepared, parsed = task
    try:
        from kneeflags.pipeline import finish_pipeline

        return _job_outcome(job, finish_pipeline(prepared, parsed), len(parsed))
    except Exception as exc:  # one athlete's failure must not stop the others
        return Outcome(job.source, None, exception_line(exc))


def _job_outcome(job: AthleteJob, result: Any, parsed: int) -> Outcome:
    """The athlete's report; with ``out_dir``, its part file too, written here.

    Writing the part on the worker ("part files per task") spares the client one
    serialisation per athlete; the client only reads the parts back to consolidate. A
    part that cannot be written (the folder is not visible here) is left to the client.
    """
    report = _athlete_report(
        result,
        weeks=job.weeks,
        until=job.until,
        config=job.config,
        journal=job.journal,
        as_of=job.as_of,
    )
    fp = job_fingerprint(job, result.input_digest)
    outcome = Outcome(job.source, report, None, result.input_digest, fp, parsed=parsed)
    if job.out_dir is not None and job.slug is not None:
        outcome.part = write_athlete_part(job.out_dir, job.slug, report, fp)
    return outcome


def job_fingerprint(job: AthleteJob, input_digest: str | None) -> str:
    """Everything the athlete's outputs depend on, hashed (:func:`kneeflags.tables.fingerprint`).

    The content of its inputs (``input_digest``; ``None`` without the cache, or for
    inputs fetched by URL: never skipped), where they are, the options, the report
    window's end (``until``, which "today" decides when ``--until`` is not given) and the
    day it is judged at, the athlete's journal entries and corrections, and the stamp
    every report carries (``SOURCE_DATE_EPOCH``). kneeflags' version is added by
    :func:`~kneeflags.tables.fingerprint`. Computed on the worker, before any parsing.
    """
    from kneeflags.tables import fingerprint

    return fingerprint(
        input_digest,
        job.source.inputs,
        (job.weeks, job.until, job.tz, job.decoder, repr(job.config)),
        job.journal,
        () if job.corrections is None else job.corrections.rows,  # its sets' order varies
        job.as_of,
        job.stamp,
    )


def write_athlete_part(out_dir: str, slug: str, report: Any, fp: str) -> bool | None:
    """The athlete's part (rows + stored report); ``None`` when it could not be written."""
    from kneeflags import tables
    from kneeflags.report.stored import StoredReportError, encode_report

    try:
        blob: bytes | None = encode_report(report)
    except StoredReportError:  # a report the codec cannot hold: stored without it
        blob = None
    frames = tables.athlete_frames(report, folder=slug, fingerprint=fp, failure=None)
    try:
        return tables.write_part(out_dir, slug, frames, blob)
    except OSError:
        return None


def run_jobs(jobs: list[AthleteJob]) -> list[Outcome | Planned]:
    """Executor task: a few small athletes in one task keep a cluster's task graph small."""
    return [run_job(job) for job in jobs]


def _job_prepare(job: AthleteJob, paths: list[str]) -> Any:
    """Found and hashed, not yet looked up in the cache (see :func:`run_job`)."""
    from kneeflags.pipeline import hash_inputs

    return hash_inputs(
        paths,
        tz=job.tz,
        config=job.config,
        athlete=job.source.name,
        decoder=job.decoder,
        cache_dir=job.cache_dir,
        use_cache=job.use_cache,
        corrections=job.corrections,
        cache_shard=job.cache_shard,
        rehash=job.rehash,
    )


def _rename_sources(result: Any, staged: Any) -> None:
    """Name staged remote files by their URLs (and report URLs that could not be fetched)."""
    import polars as pl

    def public(p: Problem) -> Problem:  # a message may name another staged file
        return Problem(staged.public(p.path), staged.public_text(p.message), p.kind)

    result.errors[:] = [public(p) for p in result.errors] + [
        Problem(safe_text(url), reason) for url, reason in staged.errors
    ]
    result.warnings[:] = [public(p) for p in result.warnings]
    acts = result.analysis.activities
    if staged.renames and "source" in acts.columns:
        result.analysis.activities = acts.with_columns(
            pl.col("source").map_elements(staged.public, return_dtype=pl.String)
        )
    if staged.errors or staged.renames:
        result.input_digest = None  # staged in a temporary folder: never "unchanged"


def failed_result(source: AthleteSource, message: str, tz: str | None) -> Any:
    """A stand-in pipeline result for an athlete whose analysis failed."""
    import polars as pl

    from kneeflags.pipeline import PipelineResult

    analysis = Analysis(
        athlete=source.name,
        timezone=tz or "",
        weekly=pl.DataFrame(),
        activities=pl.DataFrame(),
    )
    problem = Problem(
        path=safe_text(source.path),
        message=f"athlete {source.name} could not be analysed: {message}",
    )
    return PipelineResult(analysis=analysis, errors=[problem])


def cache_shard(athlete: str) -> str:
    """The athlete's own folder of the parse cache in a batch (see ``run_pipeline``)."""
    import hashlib

    return hashlib.sha256(athlete.casefold().encode("utf-8", "surrogateescape")).hexdigest()[:12]


MAX_ATHLETES_PER_TASK = 16
"""A task carries at most this many athletes: with thousands of athletes one task each
would make a large task graph (each task costs the scheduler about a millisecond); a
few dozen tasks per worker keep every worker busy to the end."""


def task_size(athletes: int, workers: int) -> int:
    """Athletes per task: one each up to ~32 tasks per worker, then small batches."""
    return max(1, min(MAX_ATHLETES_PER_TASK, athletes // (32 * max(1, workers))))


def analyse_all(
    jobs: list[AthleteJob], executor: AthleteExecutor, progress: ProgressCallback | None
) -> list[Outcome]:
    """Run the jobs on ``executor``; outcomes in job order whatever finishes first.

    A task of several athletes that fails as a whole (its worker died each time) is run
    again one athlete per task, so only the athlete that kills its worker is lost, and it
    is reported by name with the reason.
    """
    from kneeflags.executors import TaskFailed

    total = len(jobs)
    size = task_size(total, executor.workers)
    batches = [jobs[i : i + size] for i in range(0, total, size)]
    finished = 0
    # Athletes handed to the shared pool of files are not done when their task ends: the
    # count stops one short until they are (it never goes back).
    ceiling = total - 1 if any(j.split_min is not None for j in jobs) else total

    def done(i: int) -> None:
        nonlocal finished
        finished += len(batches[i])
        if progress:
            progress(max(0, min(finished, ceiling)), total)

    if progress:
        progress(0, total)
    outcomes: list[Outcome | Planned] = []
    for batch, got in zip(batches, executor.run(run_jobs, batches, done), strict=True):
        if not isinstance(got, TaskFailed):
            outcomes.extend(got)
            continue
        if len(batch) == 1:
            outcomes.append(Outcome(batch[0].source, None, got.reason))
            continue
        for job, one in zip(batch, executor.run(run_jobs, [[j] for j in batch]), strict=True):
            failed = isinstance(one, TaskFailed)
            outcomes.append(Outcome(job.source, None, one.reason) if failed else one[0])
    planned = [k for k, o in enumerate(outcomes) if isinstance(o, Planned)]
    if planned:
        from kneeflags.batchpool import finish_planned

        finals = finish_planned(
            [jobs[k] for k in planned],
            [o for o in outcomes if isinstance(o, Planned)],
            executor,
        )
        for k, final in zip(planned, finals, strict=True):
            outcomes[k] = final
    if progress and ceiling < total:
        progress(total, total)
    return [
        o if isinstance(o, Outcome) else Outcome(o.source, None, "not parsed") for o in outcomes
    ]
