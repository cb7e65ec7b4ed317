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


def test_pain_entry_links_to_the_runs_of_its_local_date(tmp_path: Path) -> None:
    """Issue 14: ``log pain`` links itself to the run(s) of that local date. The journal
    never sees the files, so the report joins them: JSON ``journal[].runs`` holds the
    activity ids, the text names the runs; a day without a run links nothing, and a
    criteria check links nothing (it is about the knee, not a run)."""
    from datetime import UTC, datetime

    import numpy as np

    from kneeflags.parsers.fit_decoded import FIT_EPOCH_UNIX
    from kneeflags.testing.fitwriter import write_activity

    runs = tmp_path / "lee"
    runs.mkdir()

    def fit(when: datetime, seconds: int) -> bytes:
        t0 = int(when.timestamp()) - FIT_EPOCH_UNIX
        return write_activity(
            {
                "timestamp": (t0 + np.arange(seconds)).astype(np.int64),
                "distance": np.arange(seconds) * 2.8,
                "enhanced_speed": np.full(seconds, 2.8),
            }
        )

    (runs / "a.fit").write_bytes(fit(datetime(2026, 3, 3, 7, 0, tzinfo=UTC), 2400))
    (runs / "b.fit").write_bytes(fit(datetime(2026, 3, 3, 18, 30, tzinfo=UTC), 1200))
    (runs / "c.fit").write_bytes(fit(datetime(2026, 2, 24, 7, 0, tzinfo=UTC), 2400))
    env = {"KNEEFLAGS_JOURNAL": str(tmp_path / "j.sqlite")}
    log = ("log", "pain", "--athlete", "lee", "--site", "front", "--during", "3")
    assert run(*log, "--date", "2026-03-03", env=env)[0] == 0
    assert run("log", "ok", "--athlete", "lee", "--date", "2026-03-05", env=env)[0] == 0
    args = ("analyze", str(runs), "--no-cache", "-q", "--tz", "UTC", "--until", "2026-03-08")
    code, out, err = run(*args, "-f", "json", env=env)
    assert code in (0, 3), err
    doc = json.loads(out)
    assert doc["schema_version"] == "1.6"
    athlete = doc["athletes"][0]
    ids = {a["local_start"][11:16]: a["id"] for a in athlete["activities"]}
    linked = {(e["kind"], e["date"]): e["runs"] for e in athlete["journal"]}
    assert linked == {
        ("pain", "2026-03-03"): [ids["07:00"], ids["18:30"]],
        ("ok", "2026-03-05"): [],
    }
    code, text, _ = run(*args, env=env)
    assert (
        "Tue 3 Mar 2026: pain, front of the knee, during 3/10 (runs: 6.7 km at "
        "07:00; 3.4 km at 18:30)"
    ) in " ".join(text.split())
    # the export is what is stored: no links to files it never saw
    _, exported, _ = run("log", "export", "--format", "json", env=env)
    assert all("runs" not in e for e in json.loads(exported))


def test_newer_locked_or_unknown_id_journal_is_one_line_and_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14's bad input at the command line: an unknown id, a journal whose symptom log
    a newer kneeflags wrote, and a journal locked by another process are each one line on
    stderr with exit 2, and the store keeps exactly what it held."""
    import hashlib
    import sqlite3

    journal = tmp_path / "j.sqlite"
    env = {"KNEEFLAGS_JOURNAL": str(journal)}
    pain = ("log", "pain", "--athlete", "alex", "--site", "outer", "--date", "2026-03-02")
    assert run(*pain, env=env)[0] == 0
    csv_file = tmp_path / "e.csv"
    csv_file.write_text(run("log", "export", env=env)[1], encoding="utf-8")

    code, _, err = run("log", "remove", "42", env=env)
    assert code == 2 and err.count("\n") == 1 and "no journal entry with id 42" in err
    assert "outer" in run("log", "list", env=env)[1]  # the entry is still there

    # locked: another process holds the write lock
    monkeypatch.setattr("kneeflags.journal.store.LOCK_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(str(journal), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = run("log", "ok", "--athlete", "alex", "--date", "2026-03-03", env=env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 2 and err.count("\n") == 1 and "locked" in err
    listed = run("log", "list", env=env)[1]
    assert "pain-free" not in listed and "outer" in listed

    # written by a newer kneeflags: refused by every command, never rewritten
    con = sqlite3.connect(str(journal))
    con.execute("update meta set value = '99' where key = 'schema.symptoms'")
    con.commit()
    con.close()

    def digest() -> str:
        return hashlib.sha256(journal.read_bytes()).hexdigest()

    before = digest()
    for args in (
        ("log", "ok", "--athlete", "alex", "--date", "2026-03-03"),
        ("log", "list"),
        ("log", "export", "--format", "json"),
        ("log", "remove", "1"),
        ("log", "import", str(csv_file)),
        ("log", "check", "--athlete", "alex", "--date", "2026-03-03"),
    ):
        code, _, err = run(*args, env=env)
        assert code == 2 and err.count("\n") == 1 and "newer kneeflags" in err, (args, err)
    assert digest() == before
