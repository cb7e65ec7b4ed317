"""A warm run (every file served from the parse cache) never imports numpy.

Why: numpy is ~0.07 s of a ~0.3 s warm ``kneeflags analyze`` (issue 15), and parsing is the
only stage that needs it. The subprocess test fails as soon as a module on the warm path
imports numpy at its top again (or a rule calls ``to_numpy``); the list helpers that
replaced numpy in the rules must give numpy's results to the bit, or reports would change.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import write_fit

from kneeflags.metrics.cadence import (
    NUMPY_PAIRWISE_BLOCK,
    float_sum,
    weighted_median_list,
    weighted_median_np,
)

PROBE = """\
import sys
from kneeflags.__main__ import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(code, "numpy" in sys.modules, "sqlite3" in sys.modules)
"""
"""Runs the command's own entry point, then says whether numpy (and sqlite3, which only an
existing journal needs) were ever imported."""


def _probe(args: list[str], env: dict[str, str]) -> tuple[str, str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    code, numpy_loaded, sqlite_loaded = proc.stdout.split()
    return code, numpy_loaded, sqlite_loaded


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Two weeks of 15-minute FIT runs at 161-165 spm: the low-cadence habit line (the
    rule that used numpy on summaries) has weeks to weigh and fires."""
    folder = tmp_path / "runs"
    folder.mkdir()
    start = datetime(2026, 3, 2, 7, tzinfo=UTC)
    for k, (cadence, fractional) in enumerate([(80, 0.5), (81, 0.5), (82, 0.0), (81, 0.0)]):
        day = start + timedelta(days=3 * k)
        data = write_fit(day, n=900, cadence=cadence, fractional=fractional, altitude=100.0 + k)
        (folder / f"run{k}.fit").write_bytes(data)
    return folder


def test_warm_analyze_never_imports_numpy(runs: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1775000000"}
    env["KNEEFLAGS_JOURNAL"] = str(tmp_path / "no-journal.sqlite")  # absent: reads as empty
    outputs = [tmp_path / "cold.json", tmp_path / "warm.json"]
    common = [
        "analyze",
        str(runs),
        "--format",
        "json",
        "--tz",
        "UTC",
        "--workers",
        "1",
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    cold = _probe([*common, "--output", str(outputs[0])], env)
    warm = _probe([*common, "--output", str(outputs[1])], env)
    # The probe sees numpy when it is there: the cold run parses, and parsing needs it.
    assert cold[:2] == ("0", "True")
    assert warm == ("0", "False", "False")
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    report = json.loads(outputs[1].read_text(encoding="utf-8"))
    flags = report["athletes"][0]["flags"]
    habit = [f for f in flags if f["rule"] == "low-cadence" and f["severity"] == "watch"]
    assert habit, flags  # the usual-cadence line (sums and medians of weeks) was computed


@pytest.mark.parametrize("n", [*range(0, 20), 63, 64, 65, 127, NUMPY_PAIRWISE_BLOCK, 129, 300])
def test_float_sum_is_numpys_sum_to_the_bit(n: int) -> None:
    rng = random.Random(n)
    for _ in range(300):
        values = [rng.uniform(0.0, 500.0) * 10.0 ** rng.randint(-4, 4) for _ in range(n)]
        expected = float(np.array(values, dtype=np.float64).sum())
        assert float_sum(values).hex() == expected.hex(), values


def test_weighted_median_list_is_weighted_median_np() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        n = rng.randint(0, 12)
        # ties, nulls (NaN to numpy) and equal weights: where sorting and the half-way
        # test could differ
        values: list[float | None] = [
            None if rng.random() < 0.1 else float(rng.choice([150, 160, 163, 163.5, 170, 181]))
            for _ in range(n)
        ]
        weights = [float(rng.choice([10, 12.5, 30, 61.25])) for _ in range(n)]
        arr = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        expected = weighted_median_np(arr, np.array(weights, dtype=np.float64))
        got = weighted_median_list(values, weights)
        if expected is None or got is None:
            assert expected is got
        elif math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got.hex() == expected.hex(), (values, weights)
