"""``kneeflags batch --out-dir`` reruns (issue 13): a true skip, and part files per task.

"A rerun skips athletes whose inputs (content hashes) and kneeflags version are
unchanged": the athlete's task hashes its inputs and, when nothing its outputs depend on
changed, returns without parsing or analysing; the client rebuilds the athlete from its
part file. Each test checks that the skip is real where it could be faked: the rerun
gets an *empty* parse cache, so a task that parsed anything would count it
(:attr:`WrittenReport.parsed`) and fill that cache. And it checks that what is rebuilt
is byte-identical to a fresh full run: reports, index, Parquet and every summary format.

The Dask side (a real scheduler and workers) is in ``tests/test_dask_batch.py``.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from kneeflags import journeys, tables
from kneeflags.cache import cache_info
from kneeflags.executors import InlineExecutor, PoolExecutor
from kneeflags.journeys import run_batch
from kneeflags.report.stored import StoredReportError, decode_report, encode_report
from kneeflags.testing.team import LAST_DAY, write_athlete, write_team

EPOCH = "1790000000"
PARTS = tables.PARTS_DIR


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _cached_files(cache: Path) -> int:
    return sum(k["files"] for k in cache_info(cache)["keys"])  # type: ignore[index,misc]


def _summaries(result: journeys.WrittenReport) -> dict[str, str]:
    """Every format of the batch summary (JSON holds each athlete's whole report)."""
    from kneeflags.report.csvout import render_summary_csv
    from kneeflags.report.jsonout import render_json
    from kneeflags.report.markdown import render_summary_markdown
    from kneeflags.report.text import summary_to_text

    rep, ranked = result.report, result.ranked
    return {
        "json": render_json(rep, ranked),
        "markdown": render_summary_markdown(rep, ranked),
        "csv": render_summary_csv(rep, ranked),
        "text": summary_to_text(rep, ranked, verbose=True),
    }


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    root = tmp_path / "team"
    write_team(root, athletes=5, files=3)  # athlete 4 is stale: the ranking has variety
    return root


def _run(team: Path, out: Path, cache: Path, **kw: object) -> journeys.WrittenReport:
    kw.setdefault("until", LAST_DAY)
    kw.setdefault("workers", 2)
    return run_batch([team], out_dir=out, cache_dir=cache, journal=False, **kw)  # type: ignore[arg-type]


def _fresh(team: Path, tmp_path: Path, name: str, **kw: object) -> journeys.WrittenReport:
    """A full run from nothing (own out-dir, empty cache): the reference bytes."""
    return _run(team, tmp_path / name, tmp_path / f"{name}-cache", **kw)


def test_a_rerun_parses_nothing_and_gives_a_full_runs_bytes(team: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _run(team, out, tmp_path / "cache1")
    assert first.analysed == 5 and first.parsed == 15 and first.unchanged == 0
    before = _tree(out)
    assert sum(name.endswith(".done") for name in before) == 5

    empty = tmp_path / "cache2"
    second = _run(team, out, empty)
    assert second.analysed == 0 and second.parsed == 0 and second.unchanged == 5
    assert _cached_files(empty) == 0  # a task that parsed would have stored its files
    assert second.written == [] and _tree(out) == before
    assert _summaries(second) == _summaries(first)  # rebuilt from the parts, every format


def test_one_changed_file_reruns_only_its_athlete(team: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(team, out, tmp_path / "cache1")
    write_athlete(tmp_path / "other", 7, 1)
    shutil.copyfile(tmp_path / "other" / "run_000.fit", team / "athlete-0002" / "run_000.fit")

    empty = tmp_path / "cache2"
    again = _run(team, out, empty)
    assert again.analysed == 1 and again.unchanged == 4
    assert again.parsed == 3 and _cached_files(empty) == 3  # athlete-0002's files only
    changed = {p.relative_to(out).parts[0] for p in again.written}
    assert not changed & {f"athlete-000{i}" for i in (0, 1, 3, 4)}
    fresh = _fresh(team, tmp_path, "fresh")
    assert _tree(out) == _tree(tmp_path / "fresh")
    assert _summaries(again) == _summaries(fresh)


@pytest.mark.parametrize(
    "change",
    ["version", "weeks", "until", "epoch", "config"],
)
def test_a_new_version_or_other_options_rerun_everyone(
    change: str, team: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    _run(team, out, tmp_path / "cache1", executor=InlineExecutor())
    kw: dict[str, object] = {"executor": InlineExecutor()}
    if change == "version":
        monkeypatch.setattr(tables, "__version__", "99.0.0")
    elif change == "weeks":
        kw["weeks"] = 8
    elif change == "until":
        kw["until"] = LAST_DAY + timedelta(days=7)
    elif change == "epoch":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(EPOCH) + 1))
    else:
        config = tmp_path / "kneeflags.toml"
        config.write_text("[rules.volume-jump]\nwatch_pct = 12.5\n")
        kw["config"] = config
    again = _run(team, out, tmp_path / "cache2", **kw)
    assert again.analysed == 5 and again.unchanged == 0 and again.parsed == 15


def test_today_decides_the_week_when_until_is_not_given(team: Path, tmp_path: Path) -> None:
    """Without ``--until`` the last complete week depends on the day: a new week, new run."""
    out = tmp_path / "out"
    monday = LAST_DAY + timedelta(days=1)
    while monday.weekday():
        monday += timedelta(days=1)
    days = ((monday, 5), (monday + timedelta(days=3), 0), (monday + timedelta(days=7), 5))
    for today, analysed in days:
        done = _run(team, out, tmp_path / "cache", until=None, today=today)
        assert done.analysed == analysed, today


def test_damaged_or_missing_stored_data_is_analysed_again(team: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(team, out, tmp_path / "cache1")
    reference = _tree(out)
    parts = out / PARTS
    # a part that is not Parquet (a crash mid-write on a file system without rename)
    (parts / "athlete-0000.parquet").write_bytes(b"PAR1 half a file")
    # the done mark of another athlete lost: its reports may be of an earlier run
    (parts / "athlete-0001.done").unlink()
    # a third one's stored report damaged, its fingerprint intact: the task says
    # "unchanged", the client cannot rebuild it, and analyses it again
    frames = tables.read_part(out, "athlete-0003")
    assert frames is not None
    tables.write_part(out, "athlete-0003", frames, b'{"format": 1, "report": {"$obj": "os:system"')
    # a temporary part a killed task left behind, and one of a run still going
    old = parts / ".athlete-0002.parquet.abc123.tmp"
    old.write_bytes(b"partial")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    new = parts / ".athlete-0002.parquet.def456.tmp"
    new.write_bytes(b"partial")
    os.utime(new, (time.time() + 3600, time.time() + 3600))

    again = _run(team, out, tmp_path / "cache2")
    assert again.analysed == 3 and again.unchanged == 2 and again.parsed == 9
    assert not old.exists() and new.exists()
    new.unlink()
    assert _tree(out) == reference


def test_a_run_killed_between_part_and_reports_trusts_neither(
    team: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task writes the part before the client writes the reports: the done mark decides.

    Run 1 writes week W. An athlete's inputs change; run 2 writes its new part, then dies
    before its reports. Run 3 must not take run 1's reports for run 2's inputs.
    """
    out = tmp_path / "out"
    _run(team, out, tmp_path / "cache", executor=InlineExecutor())
    write_athlete(tmp_path / "other", 7, 1)
    shutil.copyfile(tmp_path / "other" / "run_000.fit", team / "athlete-0001" / "run_000.fit")

    def killed(report, formats):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(journeys, "_render_one", killed)
    with pytest.raises(KeyboardInterrupt):
        _run(team, out, tmp_path / "cache", executor=InlineExecutor())
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    third = _run(team, out, tmp_path / "cache", executor=InlineExecutor())
    assert third.analysed == 1 and third.unchanged == 4
    _fresh(team, tmp_path, "fresh")
    assert _tree(out) == _tree(tmp_path / "fresh")


def test_tasks_write_the_parts_and_the_tables_come_from_them(team: Path, tmp_path: Path) -> None:
    """Parts are written by the tasks (in the pool's processes), not by the client."""
    out = tmp_path / "out"
    client_writes: list[str] = []
    real = tables.write_part

    def spy(out_dir, slug, frames, report=None):  # type: ignore[no-untyped-def]
        client_writes.append(slug)
        return real(out_dir, slug, frames, report)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tables, "write_part", spy)  # patched here only: the pool is another process
        with PoolExecutor(2) as pool:
            done = _run(team, out, tmp_path / "cache", executor=pool)
    assert client_writes == []
    assert sorted(p.name for p in (out / PARTS).glob("*.parquet")) == [
        f"athlete-000{i}.parquet" for i in range(5)
    ]
    athletes = pl.read_parquet(out / "athletes.parquet")
    assert athletes["athlete"].to_list() == [done.report.athletes[i].athlete for i in done.ranked]
    assert athletes["fingerprint"].str.len_chars().to_list() == [64] * 5


def test_the_part_is_written_by_the_client_when_the_task_could_not(
    team: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An --out-dir the workers do not see: the client writes the parts, same bytes."""
    from kneeflags import batchtasks

    _fresh(team, tmp_path, "fresh")
    real = batchtasks.write_athlete_part
    calls: list[str] = []

    def not_visible_to_the_tasks(out_dir, slug, report, fp):  # type: ignore[no-untyped-def]
        calls.append(slug)  # inline: the five tasks all run before the client writes
        return None if len(calls) <= 5 else real(out_dir, slug, report, fp)

    monkeypatch.setattr(batchtasks, "write_athlete_part", not_visible_to_the_tasks)
    out = tmp_path / "out"
    _run(team, out, tmp_path / "cache", executor=InlineExecutor())
    assert len(calls) == 10  # five tasks failed to, then the client wrote each part
    assert _tree(out) == _tree(tmp_path / "fresh")


# ---------------------------------------------------------------------------------------
# the stored report


def test_journal_entries_rerun_their_athlete_and_stored_plans_are_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample team: alex's ITBS episode (journal, return plan) stored and rebuilt.

    Logging entries changes only alex's outputs: only alex is analysed again. A rerun
    with nothing new rebuilds both from their parts, plans and journal included, with
    every summary format byte for byte.
    """
    from typer.testing import CliRunner

    from kneeflags.cli import app

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    journal, out = tmp_path / "j.sqlite", tmp_path / "out"

    def batch() -> journeys.WrittenReport:
        return run_batch(
            ["sample_data"],
            out_dir=out,
            cache_dir=tmp_path / "cache",
            until=date(2026, 11, 22),
            journal=journal,
            executor=InlineExecutor(),
        )

    assert batch().analysed == 2  # no journal yet: both athletes
    args = ["log", "import", "sample_data/journal.csv", "--journal", str(journal)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.stderr
    logged = batch()
    assert logged.analysed == 1 and logged.report.athletes[0].athlete == "alex"
    assert logged.report.athletes[0].plan.state == "return"  # type: ignore[union-attr]
    before = _tree(out)
    again = batch()
    assert again.analysed == 0 and again.parsed == 0
    assert again.report.athletes == logged.report.athletes  # rebuilt field for field
    assert _summaries(again) == _summaries(logged) and _tree(out) == before
    blob = encode_report(logged.report.athletes[0])
    assert decode_report(blob) == logged.report.athletes[0]


@pytest.mark.parametrize(
    "blob",
    [
        b"not json",
        b'{"format": 0, "report": null}',
        b'{"format": 1, "report": {"$obj": "os:system", "f": {}}}',
        b'{"format": 1, "report": {"$obj": "builtins:eval", "f": {}}}',
        b'{"format": 1, "report": {"$obj": "kneeflags.journeys:run_batch", "f": {}}}',
        b'{"format": 1, "report": {"$enum": "kneeflags.model:Problem", "v": 1}}',
        b'{"format": 1, "report": {"$obj": "kneeflags.model:Problem", "f": {"path": "x"}}}',
        b'{"format": 1, "report": {"$date": "2026-02-30"}}',
        b'{"format": 1, "report": [1, 2]}',
    ],
)
def test_a_stored_report_names_only_kneeflags_classes(blob: bytes) -> None:
    with pytest.raises(StoredReportError):
        decode_report(blob)
