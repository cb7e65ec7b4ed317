"""kneeflags: training habits linked to runner's knee (PFPS) and IT band syndrome (ITBS).

Pipeline: sources -> parsers -> canonical activities (:mod:`kneeflags.model`)
-> metrics -> rules (:mod:`kneeflags.findings`) -> report renderers.

Public API for notebooks::

    import kneeflags
    loaded = kneeflags.load(["~/runs/"], tz="Europe/London")
    analysis = kneeflags.analyze(loaded.activities)

The names below are imported on first use (PEP 562), so ``import kneeflags`` and
the command line's entry point do not pay for polars before they need it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Activity": "kneeflags.model",
    "Analysis": "kneeflags.findings",
    "Flag": "kneeflags.findings",
    "LoadResult": "kneeflags.model",
    "Problem": "kneeflags.model",
    "Sport": "kneeflags.model",
    "analyze": "kneeflags.analysis",
    "load": "kneeflags.ingest",
}

if TYPE_CHECKING:
    from kneeflags.analysis import analyze
    from kneeflags.findings import Analysis, Flag
    from kneeflags.ingest import load
    from kneeflags.model import Activity, LoadResult, Problem, Sport


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kneeflags' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "Activity",
    "Analysis",
    "Flag",
    "LoadResult",
    "Problem",
    "Sport",
    "__version__",
    "analyze",
    "load",
]
