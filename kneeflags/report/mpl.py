"""Where matplotlib may write: inside kneeflags' cache, never under ``$HOME``.

matplotlib creates ``~/.config/matplotlib`` and a font cache under ``~/.cache`` the
first time it is imported: writes outside the output and the cache. Its folders come
from ``MPLCONFIGDIR``, read once, when :mod:`matplotlib` and its font manager are first
imported. :func:`load` sets the variable only for that import and puts it back, so the
process environment (and every subprocess started later) is left as it was.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

_home: Path | None = None


def keep_inside(folder: Path | None) -> None:
    """Use ``folder`` for matplotlib's files (``None``: a temporary folder, removed at
    exit). Only the first import of matplotlib in a process counts."""
    global _home
    _home = None if folder is None else Path(os.path.abspath(folder))


def load() -> None:
    """Import matplotlib (and its font manager) with its folders inside kneeflags' own.

    A ``MPLCONFIGDIR`` the user set is respected; an already imported matplotlib is left
    as it is.
    """
    if "matplotlib" in sys.modules or os.environ.get("MPLCONFIGDIR"):
        return
    home = _home
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="kneeflags-matplotlib-"))
        atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["MPLCONFIGDIR"] = str(home)
    try:
        import matplotlib
        import matplotlib.font_manager

        _ = matplotlib
    finally:
        os.environ.pop("MPLCONFIGDIR", None)
