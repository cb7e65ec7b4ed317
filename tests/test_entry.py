"""The console entry point: workers warmed up only where they help, same results either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kneeflags._entry import wants_warm_workers

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("kneeflags")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["analyze", "runs/"], True),
        (["report", "runs/", "--out-dir", "r"], True),
        (["analyze", "runs/", "-j", "1"], False),
        (["analyze", "runs/", "--workers=1"], False),
        (["analyze", "runs/", "-j2"], True),
        (["analyze", "--help"], False),
        (["rules"], False),
        (["batch", "coach/"], False),  # batch runs its own per-athlete processes
        (["--version"], False),
        ([], False),
    ],
)
def test_only_file_reading_commands_warm_up_workers(args: list[str], expected: bool) -> None:
    assert wants_warm_workers(args) is expected


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed in this venv")
def test_warm_workers_give_the_same_report_as_one_process(tmp_path: Path) -> None:
    athlete = ROOT / "sample_data" / "alex"
    if not athlete.is_dir():
        pytest.skip("sample_data/alex is missing")
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    common = [str(SCRIPT), "analyze", str(athlete), "--format", "json", "--no-cache", "-q"]
    one = subprocess.run([*common, "-j", "1"], capture_output=True, env=env, timeout=300)
    two = subprocess.run([*common, "-j", "2"], capture_output=True, env=env, timeout=300)
    assert one.returncode == two.returncode == 0, two.stderr.decode()
    assert two.stderr == b""
    assert one.stdout == two.stdout
