"""Small things a new user hit (issue 12), each through the real command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kneeflags.cli import app
from kneeflags.cli.common import check_tz
from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity

runner = CliRunner()
FIRST_MONDAY = date(2025, 11, 3)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small") / "ann"
    folder.mkdir()
    for w in range(3):
        for i, dow in enumerate((1, 3, 5)):
            day = FIRST_MONDAY + timedelta(weeks=w, days=dow)
            start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
            data = write_activity(synthetic_run(fit_time(start), 1500, seed=w * 3 + i))
            (folder / f"{day.isoformat()}.fit").write_bytes(data)
    return folder


def run(tmp_path: Path, *args: str):
    return runner.invoke(app, [*args, "--cache-dir", str(tmp_path / "cache")])


@pytest.mark.parametrize("command", ["analyze", "report", "plan", "activities"])
def test_a_path_that_does_not_exist_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    out = tmp_path / "out"
    extra = ["--out-dir", str(out)] if command == "report" else []
    if command == "activities":
        extra = ["--journal", str(tmp_path / "j.sqlite")]
    res = run(tmp_path, command, str(tmp_path / "nope"), *extra)
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [
        f"kneeflags: error: {tmp_path / 'nope'}: no such file or directory"
    ]
    assert res.stdout == ""
    assert not out.exists() and not (tmp_path / "j.sqlite").exists()


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_an_empty_folder_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a run")
    out = tmp_path / "out"
    extra = ["--out-dir", str(out)] if command == "report" else ["-o", str(tmp_path / "r.html")]
    res = run(tmp_path, command, str(empty), *extra)
    assert res.exit_code == 2, res.output
    (line,) = res.stderr.splitlines()
    assert (
        line.startswith(f"kneeflags: error: {empty}: no activity files") and "1 other file" in line
    )
    assert not out.exists() and not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("name", "starts"),
    [
        ("r.html", "<!DOCTYPE html>"),
        ("r.md", "# kneeflags report"),
        ("r.json", "{"),
        ("r.csv", "athlete,week_start"),
        ("r.txt", "kneeflags report: ann"),
    ],
)
def test_the_output_format_follows_the_file_extension(
    runs: Path, tmp_path: Path, name: str, starts: str
) -> None:
    res = run(tmp_path, "analyze", str(runs), "-o", str(tmp_path / name))
    assert res.exit_code == 0, res.output
    assert (tmp_path / name).read_text().startswith(starts)


def test_format_and_zone_are_case_insensitive(runs: Path, tmp_path: Path) -> None:
    res = run(tmp_path, "analyze", str(runs), "-f", "JSON", "--tz", "america/recife")
    assert res.exit_code == 0, res.output
    json.loads(res.stdout)
    assert check_tz("america/recife") == "America/Recife"  # the IANA spelling is used
    typo = run(tmp_path, "analyze", str(runs), "--tz", "Europe/Londn")
    assert typo.exit_code == 2 and "did you mean Europe/London" in " ".join(typo.output.split())


def test_batch_summary_extension_it_cannot_write_is_a_usage_error(
    runs: Path, tmp_path: Path
) -> None:
    res = run(tmp_path, "batch", str(runs.parent), "-o", str(tmp_path / "team.html"))
    assert res.exit_code == 2 and "give --format" in " ".join(res.output.split())
    assert not (tmp_path / "team.html").exists()


def test_sunday_weeks_are_named_by_their_first_day(runs: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text('week_start = "sunday"\n')
    out = tmp_path / "out"
    res = run(
        tmp_path,
        "report",
        str(runs),
        "--out-dir",
        str(out),
        "--config",
        str(cfg),
        "--week",
        "2025-11-16",
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "ann").iterdir() if not p.name.startswith(".")) == [
        "2025-11-16.html",
        "2025-11-16.json",
        "2025-11-16.md",
    ]
    doc = json.loads((out / "ann" / "2025-11-16.json").read_text())
    assert doc["athletes"][0]["window"]["last_week"] == "2025-11-16"
    md = (out / "ann" / "2025-11-16.md").read_text()
    assert "week of Sun 16 Nov 2025" in md and "2025-W47" not in md


def test_one_run_and_one_file_are_singular(runs: Path, tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    first = sorted(runs.iterdir())[0]
    (one / first.name).write_bytes(first.read_bytes())
    (one / "photo.jpg").write_bytes(b"\xff\xd8")
    text = run(tmp_path, "analyze", str(one)).stdout
    assert "1 run," in text and "1 runs" not in text
    assert "1 file skipped" in text and "file(s)" not in text
