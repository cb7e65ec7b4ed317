"""``kneeflags.load``: every input path -> one trustworthy, de-duplicated activity list.

``load = iter_sources + parse_source per item + dedupe + sort``. The three
steps are separate public functions so a parallel runner can reuse them:
produce items with :func:`kneeflags.sources.iter_sources`, map
:func:`kneeflags.parsers.parse_source` over them anywhere (it is pure and
module-level), then call :func:`finalize` on the partial results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from kneeflags.classify import classify_all
from kneeflags.dedupe import dedupe
from kneeflags.model import LoadResult, OffsetSource, Problem, Skipped
from kneeflags.parsers import DECODERS, parse_source
from kneeflags.parsers.common import one_line
from kneeflags.sources import SourceItem, iter_sources
from kneeflags.timezones import validate_tz


def load_item(
    item: SourceItem,
    *,
    decoder: str = "auto",
    tz: str | None = None,
    tz_source: OffsetSource = "option",
) -> LoadResult:
    """Read and parse one item; never raises for a bad file."""
    if item.error:
        return LoadResult(errors=[Problem(str(item.ref), item.error)])
    if item.skip:
        return LoadResult(skipped=[Skipped(str(item.ref), item.skip)])
    try:
        data = item.read()
    except Exception as exc:  # unreadable file/member: report, continue with the rest
        return LoadResult(errors=[Problem(str(item.ref), f"could not read: {one_line(exc)}")])
    res = parse_source(
        data, item.ref, decoder=decoder, tz=tz, hints=item.hints, tz_source=tz_source
    )
    # Classification stage: unlabelled and tiny sessions classed by what was done.
    res.activities = classify_all(res.activities)
    return res


def finalize(results: Iterable[LoadResult]) -> LoadResult:
    """Merge per-item results (in item order), drop duplicate runs, sort activities."""
    out = LoadResult()
    for res in results:
        out.extend(res)
    kept, dup_warnings = dedupe(out.activities)
    out.activities = sorted(kept, key=lambda a: (a.start_utc, str(a.source), a.part))
    out.warnings.extend(dup_warnings)
    return out


def load(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    tz: str | None = None,
    *,
    decoder: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    tz_source: OffsetSource = "option",
) -> LoadResult:
    """Load activity files, folders, globs and exports (FIT/GPX/TCX, .gz, .zip).

    ``tz`` (IANA name) is used for the local date of activities whose file
    does not carry its own UTC offset; without it the machine's zone is used.
    ``decoder`` picks the FIT decoder (``auto``, ``fast``, ``fitparse``).
    ``progress(done, total)`` is called after each input item. ``tz_source``
    says where ``tz`` came from (``"option"``: command line/argument,
    ``"config"``: the config file) and is recorded on the activities.

    Problems with single files end up in ``errors``/``warnings`` and never
    stop the others; a bad ``tz`` or ``decoder`` raises ``ValueError``.
    """
    validate_tz(tz)
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r} (choose from {', '.join(DECODERS)})")
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    items = list(iter_sources(paths))
    total = len(items)
    results: list[LoadResult] = []
    for i, item in enumerate(items, start=1):
        results.append(load_item(item, decoder=decoder, tz=tz, tz_source=tz_source))
        if progress is not None:
            progress(i, total)
    return finalize(results)


__all__ = ["finalize", "load", "load_item"]
