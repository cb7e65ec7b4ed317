"""kneeflags: training habits linked to runner's knee (PFPS) and IT band syndrome (ITBS).

Pipeline: sources -> parsers -> canonical activities (:mod:`kneeflags.model`)
-> metrics -> rules (:mod:`kneeflags.findings`) -> report renderers.

Public API for notebooks::

    import kneeflags
    loaded = kneeflags.load(["~/runs/"], tz="Europe/London")
    analysis = kneeflags.analyze(loaded.activities)
"""

from kneeflags.analysis import analyze
from kneeflags.findings import Analysis, Flag
from kneeflags.ingest import load
from kneeflags.model import Activity, LoadResult, Problem, Sport

__version__ = "0.1.0"

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
