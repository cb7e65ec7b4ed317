"""``kneeflags log`` end to end, and a logged ITBS episode turning the plan into the return plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kneeflags.cli import app

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "alex"


def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), env=env)
    return r.exit_code, r.stdout, r.stderr


def test_bad_input_is_one_line_exit_2_and_creates_nothing(tmp_path: Path) -> None:
    env = {"KNEEFLAGS_JOURNAL": str(tmp_path / "j.sqlite")}
    for bad in (["--during", "11"], ["--site", "inner"], ["--date", "2999-01-01"]):
        code, _, err = run("log", "pain", "--athlete", "alex", *bad, env=env)
        assert code == 2 and err.count("\n") == 1, (bad, err)
    code, _, err = run("log", "remove", "7", env=env)
    assert code == 2 and err.count("\n") == 1
    assert not (tmp_path / "j.sqlite").exists()


def test_logged_itbs_episode_gives_return_plan_and_breaches(tmp_path: Path) -> None:
    if not SAMPLE.is_dir():
        pytest.skip("sample_data/alex not generated")
    env = {"KNEEFLAGS_JOURNAL": str(tmp_path / "j.sqlite")}
    assert (
        run(
            "log",
            "pain",
            "--athlete",
            "alex",
            "--site",
            "outer",
            "--side",
            "right",
            "--during",
            "5",
            "--onset-km",
            "7",
            "--date",
            "2026-11-10",
            env=env,
        )[0]
        == 0
    )
    assert run("log", "check", "--athlete", "alex", "--date", "2026-11-13", env=env)[0] == 0
    assert run("log", "ok", "--athlete", "alex", "--date", "2026-11-22", env=env)[0] == 0
    _code, out, _ = run("analyze", str(SAMPLE), "-f", "json", "--no-cache", "-q", env=env)
    doc = json.loads(out)
    plan = doc["athletes"][0]["plan"]
    assert plan["state"] == "return" and plan["condition"] == "ITBS"
    assert plan["phase"] == "itbs-build" and plan["episode_start"] == "2026-11-10"
    assert plan["downhill_allowed"] is False and plan["speed_work_allowed"] is False
    rules = {f["rule"] for f in doc["athletes"][0]["flags"]}
    assert "rtr-session-cap" in rules
