"""Generated teams of athletes for the batch tests and ``make bench-batch``.

A coach folder of ``athletes`` subfolders with ``files`` FIT runs each, fully
deterministic (one seed per athlete and run), ending in the ISO week of :data:`LAST_DAY`.
Athletes differ on purpose: every third one doubles its volume in the last week (a
volume flag), every fifth one stopped syncing weeks ago (stale), so the ranking, the
statuses and ``flags.parquet`` have something to order. Runs are short (10-25 min at
1 Hz) because the point is many athletes, not long files.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

LAST_DAY = date(2026, 11, 22)
"""A Sunday: the team's data ends in ISO week 2026-W47 (pass ``--until`` this day)."""


def write_athlete(folder: Path, index: int, files: int) -> list[Path]:
    """One athlete's ``files`` runs in ``folder`` (existing identical files are kept)."""
    from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity

    folder.mkdir(parents=True, exist_ok=True)
    stale = index % 5 == 4
    end = LAST_DAY - timedelta(weeks=5 if stale else 0)
    jump = index % 3 == 0
    out = []
    for k in range(files):
        weeks_back = (files - 1 - k) // 3  # three runs a week
        day = end - timedelta(weeks=weeks_back, days=1 + 2 * (k % 3))
        minutes = 10 + (index * 7 + k * 3) % 16
        if jump and weeks_back == 0:
            minutes *= 2
        start = datetime(day.year, day.month, day.day, 6, (index * 13) % 60, tzinfo=UTC)
        path = folder / f"run_{k:03d}.fit"
        records = synthetic_run(fit_time(start), minutes * 60, seed=index * 1000 + k)
        data = write_activity(records, utc_offset_s=3600)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        out.append(path)
    return out


def write_team(root: Path, athletes: int, files: int) -> list[Path]:
    """``root/athlete-NNNN/run_KKK.fit`` for every athlete; returns the athlete folders."""
    root.mkdir(parents=True, exist_ok=True)
    folders = []
    for i in range(athletes):
        folder = root / f"athlete-{i:04d}"
        write_athlete(folder, i, files)
        folders.append(folder)
    return folders
