"""The knee journal in every renderer and in JSON, over sample_data/alex with a logged ITBS
episode: what the issue asks the report to show while an episode is open."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from kneeflags.cli import app
from kneeflags.report.journal_lines import RECENT_ENTRIES, entry_line, journal_block

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "alex"
SCHEMA = Path(__file__).resolve().parents[1] / "kneeflags" / "report" / "schema.json"


def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), env=env)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def episode_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if not SAMPLE.is_dir():
        pytest.skip("sample_data/alex not generated (make sample-data)")
    env = {"KNEEFLAGS_JOURNAL": str(tmp_path_factory.mktemp("j") / "j.sqlite"), "COLUMNS": "120"}
    pain = ["log", "pain", "--athlete", "alex", "--site", "outer", "--side", "right"]
    assert run(*pain, "--during", "6", "--onset-km", "7", "--date", "2026-11-10", env=env)[0] == 0
    assert run("log", "check", "--athlete", "alex", "--date", "2026-11-13", env=env)[0] == 0
    assert run("log", "ok", "--athlete", "alex", "--date", "2026-11-22", env=env)[0] == 0
    return env


def test_every_renderer_shows_the_open_episode(episode_env: dict[str, str]) -> None:
    for fmt_name in ("text", "markdown", "html"):
        code, out, err = run(
            "analyze", str(SAMPLE), "-f", fmt_name, "--no-cache", "-q", env=episode_env
        )
        assert code in (0, 3), err
        assert "knee journal" in out.lower(), fmt_name
        assert "ITBS" in out and "right" in out, fmt_name
        assert "day 13 of the episode" in out, fmt_name  # 10 Nov is day 1, 22 Nov day 13
        # the phase by its name (its id only appears as the reason's protocol step)
        assert "build by session" in out and "Phase: itbs-build" not in out, fmt_name
        assert "Pain-free streak" in out and "Next run" in out and "Next week" in out, fmt_name
        assert "not yet: flat only" in out, fmt_name  # hills are not back in the build phase
        assert "7.0 km" in out, fmt_name  # the logged onset distance
        # the guide's clinician reminder, and the extra one for pain above 5/10
        assert "physiotherapist" in out and "6/10" in out, fmt_name
        # recent entries, newest first
        ok = out.find("pain-free")
        first = out.find("pain, outer knee (right)")
        assert 0 <= ok < first, fmt_name


def test_json_lists_the_window_entries_and_the_episode(episode_env: dict[str, str]) -> None:
    _code, out, _ = run("analyze", str(SAMPLE), "-f", "json", "--no-cache", "-q", env=episode_env)
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()), cls=jsonschema.Draft202012Validator)
    athlete = doc["athletes"][0]
    assert [e["kind"] for e in athlete["journal"]] == ["pain", "check", "ok"]
    assert athlete["journal"][0]["onset_km"] == 7.0
    (episode,) = athlete["episodes"]
    assert episode["condition"].startswith("ITBS") and episode["side"] == "right"
    assert episode["episode_start"] == "2026-11-10" and episode["day"] == 13
    assert episode["phase"] == athlete["plan"]["phase"]
    assert episode["onset_km_median"] == 7.0
    assert len(episode["reminders"]) >= 2


def test_without_a_journal_nothing_is_shown(tmp_path: Path) -> None:
    if not SAMPLE.is_dir():
        pytest.skip("sample_data/alex not generated (make sample-data)")
    env = {"KNEEFLAGS_JOURNAL": str(tmp_path / "none.sqlite")}
    _code, out, _ = run("analyze", str(SAMPLE), "-f", "markdown", "--no-cache", "-q", env=env)
    assert "Knee journal" not in out
    _code, out, _ = run("analyze", str(SAMPLE), "-f", "json", "--no-cache", "-q", env=env)
    athlete = json.loads(out)["athletes"][0]
    assert athlete["journal"] == [] and athlete["episodes"] == []
    assert not (tmp_path / "none.sqlite").exists()


def test_recent_entries_are_capped_and_counted() -> None:
    from datetime import date, timedelta

    from kneeflags.journal.symptoms import SymptomEntry

    entries = [
        SymptomEntry(athlete="a", kind="ok", date=date(2026, 1, 1) + timedelta(days=i), id=i)
        for i in range(RECENT_ENTRIES + 3)
    ]
    block = journal_block((), entries)
    assert len(block.entries) == RECENT_ENTRIES and block.more_entries == 3
    assert block.entries[0].startswith(entry_line(entries[-1])[:10])
    check = SymptomEntry(athlete="a", kind="check", date=date(2026, 1, 5), failed=("squat",))
    assert entry_line(check).endswith("not passed (squat)")


def test_batch_marks_the_athlete_in_a_return_phase(
    episode_env: dict[str, str], tmp_path: Path
) -> None:
    sample = SAMPLE.parent
    week = ("--until", "2026-11-22")  # the sample data's last week (batch defaults to today's)
    code, out, err = run("batch", str(sample), *week, "--no-cache", "-q", env=episode_env)
    assert code in (0, 3), err
    alex = next(line for line in out.splitlines() if "alex" in line)
    sam = next(line for line in out.splitlines() if "sam" in line)
    assert "alex (ITBS" in alex and "ITBS" not in sam  # the rest of the label wraps
    code, out, err = run(
        "batch", str(sample), *week, "--no-cache", "-q", "-f", "csv", env=episode_env
    )
    import csv
    import io

    rows = {r["athlete"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["alex"]["return_phase"] == "itbs-build" and rows["sam"]["return_phase"] == ""
    out_dir = tmp_path / "out"
    code, _, err = run(
        "batch", str(sample), *week, "--no-cache", "-q", "--out-dir", str(out_dir), env=episode_env
    )
    assert code in (0, 3), err
    index = (out_dir / "index.html").read_text()
    assert "ITBS return, day 13" in index
    assert (
        "knee journal"
        in (out_dir / "alex")
        .joinpath(next(p.name for p in (out_dir / "alex").glob("*.md")))
        .read_text()
        .lower()
    )
