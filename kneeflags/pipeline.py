"""One call from paths to an :class:`~kneeflags.findings.Analysis`.

``run_pipeline`` is what the CLI journeys call. It is the place where reading
gets fast: files are hashed, looked up in the parse cache, parsed in worker
processes on a miss, and reduced to per-activity summaries right away so the
parent never holds every file's samples.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kneeflags.findings import Analysis
from kneeflags.model import Problem

ProgressCallback = Callable[[int, int], None]


@dataclass(slots=True)
class PipelineResult:
    """The analysis plus what happened to each input file."""

    analysis: Analysis
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped: int = 0
    files_read: int = 0
    cache_hits: int = 0


def run_pipeline(
    paths: Iterable[str | os.PathLike[str]],
    *,
    tz: str | None = None,
    config: object | None = None,
    athlete: str = "athlete",
    decoder: str = "auto",
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> PipelineResult:
    """Read ``paths``, analyse them as one athlete, and report per-file problems.

    ``config`` is a :class:`kneeflags.config.Config` (``None``: defaults).
    ``workers``: processes for cold parsing (``None``: one per core; 1: in-process).
    """
    from kneeflags.analysis import analyze
    from kneeflags.ingest import load

    del cache_dir, use_cache, workers  # wired in with the parse cache
    paths = list(paths)
    loaded = load(paths, tz=tz, decoder=decoder, progress=progress)
    analysis = analyze(
        loaded.activities,
        config,  # type: ignore[arg-type]
        athlete=athlete,
        timezone=_describe_timezone(tz),
    )
    return PipelineResult(
        analysis=analysis,
        errors=list(loaded.errors),
        warnings=list(loaded.warnings),
        skipped=len(loaded.skipped),
        files_read=len(loaded.activities),
    )


def _describe_timezone(tz: str | None) -> str:
    """What the report says about local time: the option, else the system zone."""
    if tz:
        return tz
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            link = os.readlink("/etc/localtime")
            name = link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else ""
        except OSError:
            name = ""
    return f"{name or 'local time'} (system)"
