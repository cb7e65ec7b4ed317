"""Journey helpers behind the CLI: names, weeks, athlete discovery, ranking, atomic writes."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from report_helpers import make_analysis

from kneeflags.journeys import (
    UsageProblem,
    default_athlete_name,
    find_athletes,
    last_complete_week,
    parse_week,
    pinned_stamp,
    rank,
    slugify,
    write_athlete_files,
)
from kneeflags.report.atomic import (
    LockTimeout,
    atomic_write_bytes,
    atomic_write_text,
    folder_lock,
)
from kneeflags.report.fmt import iso_week_label
from kneeflags.report.model import build_athlete_report, build_report


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("anna", "anna"),
        ("Anna Smith", "Anna-Smith"),
        ("../../etc", "etc"),
        ("..", "athlete"),
        ("a/b\\c", "a_b_c"),
        ("<script>alert(1)</script>", "script_alert_1_script"),
        ("Zoë Ørsted", "Zoë-Ørsted"),
        ("", "athlete"),
    ],
)
def test_slugify_makes_safe_folder_names(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert "/" not in slug and not slug.startswith(".")


def test_default_athlete_name(tmp_path: Path) -> None:
    (tmp_path / "kim").mkdir()
    assert default_athlete_name([str(tmp_path / "kim")]) == "kim"
    assert default_athlete_name([str(tmp_path / "export_123.zip")]) == "export_123"
    assert default_athlete_name([str(tmp_path / "a.fit"), str(tmp_path / "b.fit")]) == "athlete"


def test_parse_week_and_labels() -> None:
    assert parse_week("2026-W05") == date(2026, 1, 26)
    assert parse_week("2026w5") == date(2026, 1, 26)
    assert parse_week("2020-W53") == date(2020, 12, 28)
    for bad in ("2026-W54", "2025-W53", "W05", "2026-05"):
        with pytest.raises(UsageProblem):
            parse_week(bad)
    assert iso_week_label(date(2026, 1, 26)) == "2026-W05"
    assert iso_week_label(date(2026, 1, 25)) == "2026-W05"  # a Sunday-first week
    assert iso_week_label(date(2020, 12, 28)) == "2020-W53"


def test_last_complete_week() -> None:
    wed = date(2026, 2, 4)
    assert last_complete_week(None, 0, today=wed) == date(2026, 1, 26)
    assert last_complete_week(None, 0, today=date(2026, 2, 2)) == date(2026, 1, 26)  # Monday
    assert last_complete_week(None, 6, today=wed) == date(2026, 1, 25)  # Sunday weeks
    assert pinned_stamp(date(2026, 1, 26)) == datetime(2026, 2, 2, tzinfo=UTC)


def test_find_athletes(tmp_path: Path) -> None:
    a = tmp_path / "one"
    b = tmp_path / "two"
    for d in (a, b):
        d.mkdir()
    (a / "kim").mkdir()
    (a / "lee.ZIP").write_bytes(b"")
    (a / ".hidden").mkdir()
    (a / "notes.txt").write_text("x")  # not an activity file: ignored silently
    (a / "stray.gpx").write_text("x")
    (b / "kim").mkdir()
    found, notes = find_athletes([a, b])
    assert [(s.name, Path(s.path).name) for s in found] == [
        ("kim", "kim"),
        ("lee", "lee.ZIP"),
        ("kim (2)", "kim"),
    ]
    assert [n.path for n in notes] == [str(a / "stray.gpx")] and notes[0].kind == "warning"
    with pytest.raises(UsageProblem, match="not a folder"):
        find_athletes([a / "notes.txt"])
    (b / "README.md").write_text("x")
    assert find_athletes([b])[1] == []


def test_rank_puts_this_weeks_highest_severity_first() -> None:
    calm = make_analysis("calm")
    calm.flags.clear()
    watch = make_analysis("watchful")
    watch.flags[:] = [f for f in watch.flags if f.severity == "watch"]
    high = make_analysis("zed")
    reports = [build_athlete_report(x) for x in (calm, watch, high)]
    rep = build_report(reports)
    assert [rep.athletes[i].athlete for i in rank(rep)] == ["zed", "watchful", "calm"]


def test_write_athlete_files_one_folder_per_athlete(tmp_path: Path) -> None:
    reports = [build_athlete_report(make_analysis(n)) for n in ("index.html", "ann", "Ann")]
    rep = build_report(reports, generated_at=datetime(2026, 2, 9, tzinfo=UTC))
    every, changed = write_athlete_files(rep, tmp_path, formats=("json",))
    import hashlib

    def tag(name: str) -> str:  # the same folder for that name in every run
        return hashlib.sha256(name.encode()).hexdigest()[:8]

    assert [p.relative_to(tmp_path).as_posix() for p in every] == [
        f"index.html-{tag('index.html')}/2026-W06.json",  # never collides with the index
        "ann/2026-W06.json",
        f"Ann-{tag('Ann')}/2026-W06.json",  # case-insensitive file systems
    ]
    assert changed == every
    _, changed_again = write_athlete_files(rep, tmp_path, formats=("json",))
    assert changed_again == []


def test_atomic_write_never_leaves_a_half_written_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r" / "report.md"
    atomic_write_text(target, "old\n")

    def crash(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        atomic_write_text(target, "new\n" * 1000)
    assert target.read_text() == "old\n"
    assert [p.name for p in target.parent.iterdir()] == ["report.md"]  # temp file removed


def test_atomic_write_skips_identical_content_and_respects_umask(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    assert atomic_write_bytes(target, b"{}\n") is True
    mtime = target.stat().st_mtime_ns
    time.sleep(0.01)
    assert atomic_write_bytes(target, b"{}\n") is False
    assert target.stat().st_mtime_ns == mtime
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_folder_lock_serialises_and_times_out(tmp_path: Path) -> None:
    order: list[str] = []
    with folder_lock(tmp_path):
        t = threading.Thread(target=lambda: _locked(tmp_path, order))
        t.start()
        time.sleep(0.2)
        order.append("first")
    t.join(timeout=10)
    assert order == ["first", "second"]
    with folder_lock(tmp_path), pytest.raises(LockTimeout), folder_lock(tmp_path, timeout=0.2):
        pass


def _locked(folder: Path, order: list[str]) -> None:
    with folder_lock(folder):
        order.append("second")


def test_batch_ranks_a_return_breach_like_a_high_flag() -> None:
    """Issue 14: a runner already in pain who breaks the protocol is ranked with the high
    flags, even when the breach itself is only a ``watch`` (here a run past the onset)."""
    import dataclasses

    watch = make_analysis("watchful")
    watch.flags[:] = [f for f in watch.flags if f.severity == "watch"]
    back = make_analysis("back")
    back.flags[:] = [
        dataclasses.replace(f, rule="rtr-onset", severity="watch")
        for f in back.flags
        if f.severity == "watch"
    ][:1]
    calm = make_analysis("calm")
    calm.flags.clear()
    reports = [build_athlete_report(x) for x in (calm, watch, back)]
    assert [r.status for r in reports] == ["ok", "watch", "high"]
    rep = build_report(reports)
    assert [rep.athletes[i].athlete for i in rank(rep)] == ["back", "watchful", "calm"]
