"""Corrections of the record: ``kneeflags activities`` lists, ``kneeflags correct`` fixes,
every report applies them after parsing (the parse cache stays valid) and says how many."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from kneeflags import corrections
from kneeflags.cli import app
from kneeflags.corrections import Correction, Corrections
from kneeflags.journal import open_journal
from kneeflags.pipeline import run_pipeline
from kneeflags.report import load_schema

START = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def history(tmp_path: Path, make_fit, make_gpx) -> Path:
    """alex/: a watch run, the phone's GPX of the same run, and another run two days later."""
    folder = tmp_path / "alex"
    folder.mkdir()
    (folder / "watch.fit").write_bytes(make_fit(START, n=1200))
    (folder / "phone.gpx").write_text(make_gpx(START + timedelta(seconds=30), n=1180, speed=3.0))
    (folder / "later.gpx").write_text(make_gpx(START + timedelta(days=2), n=900, speed=3.0))
    return folder


def run(*args: str, journal: Path) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), env={"KNEEFLAGS_JOURNAL": str(journal)})
    return r.exit_code, r.stdout, r.stderr


def listing(history: Path, journal: Path) -> dict[str, dict]:
    code, out, err = run(
        "activities", str(history), "-f", "json", "--no-cache", "-q", journal=journal
    )
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)
    return {Path(x["source"]).name: x for x in doc["athletes"][0]["activity_list"]}


def run_km(history: Path, journal: Path) -> tuple[float, list[str]]:
    code, out, err = run("analyze", str(history), "-f", "json", "--no-cache", "-q", journal=journal)
    assert code == 0, err
    a = json.loads(out)["athletes"][0]
    return round(sum(w["run_km"] or 0.0 for w in a["weeks"]), 2), a["notes"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_activities_lists_every_activity_kept_or_dropped(history: Path, tmp_path: Path) -> None:
    rows = listing(history, tmp_path / "j.sqlite")
    assert set(rows) == {"watch.fit", "phone.gpx", "later.gpx"}
    watch, phone = rows["watch.fit"], rows["phone.gpx"]
    assert watch["status"] == "kept" and rows["later.gpx"]["status"] == "kept"
    assert phone["status"] == "duplicate"
    assert phone["duplicate_of"] == watch["id"]
    assert phone["duplicate_source"].endswith("watch.fit")
    assert "starts 30 s apart" in phone["reason"]
    assert watch["sport"] == "running" and not watch["reclassified"] and not watch["corrected"]
    assert watch["local_start"].startswith("2026-03-03T")
    # every format names the ids and the status
    for fmt in ("text", "markdown", "html", "csv"):
        code, out, _ = run(
            "activities", str(history), "-f", fmt, "-q", "--no-record", journal=tmp_path / "k"
        )
        assert code == 0 and watch["id"] in out and phone["id"] in out, fmt
        assert "duplicate" in out
    assert not (tmp_path / "k").exists()  # --no-record wrote no journal


def test_corrections_change_every_report_and_are_counted(history: Path, tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    rows = listing(history, journal)
    watch, phone, later = (rows[n]["id"] for n in ("watch.fit", "phone.gpx", "later.gpx"))
    km, notes = run_km(history, journal)
    assert km == pytest.approx(6.29, abs=0.02)  # 3.6 km run counted once + 2.7 km
    assert "No corrections in the journal (`kneeflags correct` records them)." in notes

    code, out, _ = run("correct", watch, "--not-same-as", phone, journal=journal)
    assert code == 0 and "not-same-as" in out
    km2, notes = run_km(history, journal)
    assert km2 == pytest.approx(km + 3.54, abs=0.02)  # both recordings count now
    assert "1 correction from the journal applied." in notes

    assert run("correct", watch, "--undo", journal=journal)[0] == 0
    assert run_km(history, journal)[0] == km

    assert run("correct", later, "--sport", "walking", journal=journal)[0] == 0
    assert run("correct", phone, "--exclude", journal=journal)[0] == 0
    km3, notes = run_km(history, journal)
    assert km3 == pytest.approx(km - 2.70, abs=0.02)
    assert "2 corrections from the journal applied, 1 sport(s) set by hand." in notes
    rows = listing(history, journal)
    assert rows["later.gpx"]["sport"] == "walking" and rows["later.gpx"]["corrected"]
    assert rows["phone.gpx"]["status"] == "excluded"


def test_same_as_merges_two_runs_no_rule_would(history: Path, tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    rows = listing(history, journal)
    watch, later = rows["watch.fit"]["id"], rows["later.gpx"]["id"]
    assert run("correct", later, "--same-as", watch, journal=journal)[0] == 0
    rows = listing(history, journal)
    assert rows["later.gpx"]["status"] == "duplicate"
    assert rows["later.gpx"]["reason"] == "marked as the same outing in the journal"


def test_corrections_never_invalidate_the_parse_cache(history: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run_pipeline([history], cache_dir=cache, workers=1, listing=True)
    ids = {Path(r["source"]).name: r["activity_id"] for r in first.listing.iter_rows(named=True)}
    fixes = Corrections.of(
        [Correction(1, "alex", ids["later.gpx"], "exclude", "", "2026-03-04T00:00:00+00:00")]
    )
    second = run_pipeline([history], cache_dir=cache, workers=1, corrections=fixes)
    assert second.cache_hits == 3 and second.files_read == 3
    assert second.corrections_applied == 1
    kept = set(second.analysis.activities["activity_id"].to_list())
    assert ids["later.gpx"] not in kept and ids["watch.fit"] in kept


def test_unknown_id_and_bad_values_are_one_line_and_write_nothing(
    history: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "j.sqlite"
    rows = listing(history, journal)
    watch = rows["watch.fit"]["id"]
    before = digest(journal)
    for bad in (
        ["0123456789abcdef:0", "--exclude"],
        ["not-an-id", "--exclude"],
        [watch, "--sport", "cycling"],
        [watch, "--same-as", watch],
        [watch, "--same-as", "0123456789abcdef:0"],
        [watch],
        [watch, "--exclude", "--undo"],
        [watch, "--undo"],  # nothing to undo
    ):
        code, _, err = run("correct", *bad, journal=journal)
        assert code == 2 and err.count("\n") == 1 and err.startswith("kneeflags: error: "), bad
    assert digest(journal) == before
    # a journal that does not exist: unknown id, and no file created for it
    code, _, err = run("correct", watch, "--exclude", journal=tmp_path / "none" / "j.sqlite")
    assert code == 2 and "unknown activity id" in err
    assert not (tmp_path / "none").exists()


def test_locked_journal_is_one_line_and_nothing_lost(
    history: Path, tmp_path: Path, monkeypatch
) -> None:
    journal = tmp_path / "j.sqlite"
    rows = listing(history, journal)
    monkeypatch.setattr("kneeflags.journal.store.LOCK_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(str(journal), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = run("correct", rows["watch.fit"]["id"], "--exclude", journal=journal)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 2 and err.count("\n") == 1 and "locked" in err
    with open_journal(journal, readonly=True) as j:
        assert corrections.read(j) == {}
        assert len(corrections.known(j, rows["watch.fit"]["id"])) == 1


def test_newer_or_damaged_journal_is_refused_untouched(history: Path, tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    rows = listing(history, journal)
    con = sqlite3.connect(str(journal))
    con.execute("update meta set value = '99' where key = 'schema.corrections'")
    con.commit()
    con.close()
    before = digest(journal)
    for args in (
        ("correct", rows["watch.fit"]["id"], "--exclude"),
        ("analyze", str(history), "--no-cache", "-q"),
        ("activities", str(history), "--no-cache", "-q"),
    ):
        code, _, err = run(*args, journal=journal)
        assert code == 2 and err.count("\n") == 1 and "newer kneeflags" in err, args
    assert digest(journal) == before
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"not a database" * 64)
    code, _, err = run("correct", rows["watch.fit"]["id"], "--exclude", journal=damaged)
    assert code == 2 and "not a kneeflags journal" in err
    assert damaged.read_bytes() == b"not a database" * 64


def test_latest_correction_wins_and_pairs_are_unordered() -> None:
    rows = [
        Correction(1, "a", "x:0", "same-as", "y:0", ""),
        Correction(2, "a", "y:0", "not-same-as", "x:0", ""),
        Correction(3, "a", "x:0", "sport", "walking", ""),
        Correction(4, "a", "x:0", "sport", "hiking", ""),
    ]
    c = Corrections.of(reversed(rows))
    assert c.same == set() and c.different == {("x:0", "y:0")}
    assert c.sport == {"x:0": "hiking"} and c.effective == 2


def test_reclassified_session_is_listed_as_such(tmp_path: Path, make_fit) -> None:
    folder = tmp_path / "kim"
    folder.mkdir()
    generic = [{"sport": "GENERIC", "sub_sport": "GENERIC", "start": 0, "n": 1500}]
    (folder / "evening.fit").write_bytes(make_fit(START, n=1500, sessions=generic))
    rows = listing(folder, tmp_path / "j.sqlite")
    (row,) = rows.values()
    assert row["sport"] == "running" and row["file_sport"] == "generic"
    assert row["reclassified"] and not row["corrected"]
    assert "classed as running" in row["reason"]
    code, out, _ = run(
        "activities", str(folder), "-q", "--no-record", journal=tmp_path / "j.sqlite"
    )
    assert code == 0 and "running (reclassified from generic)" in out
    assert "1 activity: 1 counted; 1 reclassified" in out
