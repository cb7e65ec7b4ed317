"""The journal store: location, versions refused when newer, read-only absence, locking."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kneeflags.journal import JournalError, open_journal
from kneeflags.journal.store import default_journal_path

TABLES = {"things": ({"id": int, "athlete": str, "note": str}, "id")}


def test_readonly_absent_journal_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "journal.sqlite"
    with open_journal(target, readonly=True) as j:
        j.ensure_component("things", 1, TABLES)
        assert j.component_version("things") == 0
        assert j.path is None
    assert not target.exists()
    assert not target.parent.exists()


def test_component_created_once_and_rows_survive(tmp_path: Path) -> None:
    target = tmp_path / "journal.sqlite"
    with open_journal(target) as j:
        j.ensure_component("things", 1, TABLES)
        with j.transaction() as db:
            db["things"].insert({"id": 1, "athlete": "alex", "note": "hello"})
    with open_journal(target, readonly=True) as j:
        j.ensure_component("things", 1, TABLES)
        assert j.component_version("things") == 1
        assert [r["note"] for r in j.db["things"].rows] == ["hello"]


def test_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "journal.sqlite"
    with open_journal(target) as j:
        j.ensure_component("things", 1, TABLES)
        with pytest.raises(RuntimeError), j.transaction() as db:
            db["things"].insert({"id": 1, "athlete": "alex", "note": "x"})
            raise RuntimeError("boom")
        assert j.db["things"].count == 0


def test_newer_component_refused_and_untouched(tmp_path: Path) -> None:
    target = tmp_path / "journal.sqlite"
    with open_journal(target) as j:
        j.ensure_component("things", 3, TABLES)
    before = target.read_bytes()
    with open_journal(target) as j, pytest.raises(JournalError, match="newer kneeflags"):
        j.ensure_component("things", 1, TABLES)
    assert target.read_bytes() == before


def test_not_a_database_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "journal.sqlite"
    target.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError) as err:
        open_journal(target)
    assert str(target) in str(err.value) and "\n" not in str(err.value)


def test_locked_journal_gives_one_line_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("kneeflags.journal.store.LOCK_TIMEOUT_S", 0.2)
    target = tmp_path / "journal.sqlite"
    with open_journal(target) as j:
        j.ensure_component("things", 1, TABLES)
    holder = sqlite3.connect(str(target), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with (
            open_journal(target) as j,
            pytest.raises(JournalError, match="locked"),
            j.transaction() as db,
        ):
            db["things"].insert({"id": 2, "athlete": "a", "note": "b"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_default_path_honours_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KNEEFLAGS_JOURNAL", str(tmp_path / "j.sqlite"))
    assert default_journal_path() == tmp_path / "j.sqlite"
