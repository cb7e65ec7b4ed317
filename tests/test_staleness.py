"""Stale or empty data is information (issue 12): a watch that stopped syncing, a coach's
athletes whose data ends in different years, a ride long after the last run.

Real FIT files are written here (:mod:`kneeflags.testing.fitwriter`); every expectation is
a date or a status derived from the dates written.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from synth import make_ride, weekly_runs
from typer.testing import CliRunner

from kneeflags.analysis import analyze
from kneeflags.cli import app
from kneeflags.journeys import run_batch
from kneeflags.report import load_schema, render
from kneeflags.report.model import build_athlete_report, build_report
from kneeflags.report.this_week import this_week
from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity

runner = CliRunner()


def _runs(folder: Path, first_monday: date, weeks: int, *, minutes=(25, 25, 25), seed=0) -> None:
    """Three runs a week (Tue, Thu, Sat 07:00 UTC) for ``weeks`` weeks; the last week's
    runs last ``minutes`` (a volume jump when they are longer)."""
    folder.mkdir(parents=True, exist_ok=True)
    for w in range(weeks):
        for i, dow in enumerate((1, 3, 5)):
            day = first_monday + timedelta(weeks=w, days=dow)
            start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
            length = minutes[i] if w == weeks - 1 else 25
            data = write_activity(
                synthetic_run(fit_time(start), length * 60, seed=seed + w * 3 + i)
            )
            (folder / f"{day.isoformat()}-run.fit").write_bytes(data)


def _last_run(first_monday: date, weeks: int) -> date:
    return first_monday + timedelta(weeks=weeks - 1, days=5)


# --- the window ends with the latest run -------------------------------------------------------


def test_a_ride_years_later_does_not_push_the_last_run_out_of_the_window() -> None:
    runs = weekly_runs([20.0] * 10, first_monday=datetime(2024, 1, 1))
    ride = make_ride(datetime(2026, 3, 3, 18), with_samples=False, uid="ride")
    rep = build_athlete_report(analyze([*runs, ride]), weeks=12)
    assert rep.window.last_week == date(2024, 3, 4)  # the week of the last run
    assert rep.summary.runs_in_window == 30 if hasattr(rep.summary, "runs_in_window") else True
    assert sum(w.run_km for w in rep.weeks) == pytest.approx(200.0)


# --- analyze says the latest run's age -------------------------------------------------------


def test_an_old_history_says_when_the_last_run_was_in_every_renderer() -> None:
    runs = weekly_runs([20.0] * 6, first_monday=datetime(2024, 10, 21))  # last run 30 Nov 2024
    a = build_athlete_report(analyze(runs), weeks=12, as_of=date(2026, 12, 6))
    tw = this_week(a)
    assert tw.last_run == "last run 30 Nov 2024 (2 years ago)"
    rep = build_report([a])
    for fmt in ("text", "markdown", "html"):
        assert "last run 30 Nov 2024 (2 years ago)" in render(rep, fmt), fmt
    fresh = build_athlete_report(analyze(runs), weeks=12, as_of=date(2024, 12, 2))
    assert this_week(fresh).last_run is None  # two days ago is not news


def test_weeks_after_the_data_say_no_data_in_every_weekly_table() -> None:
    """``--until`` past the last run: the empty weeks' zeros are unknown, and say so even
    where a dimmed row is lost (a plain-text cron mail, Markdown)."""
    from kneeflags.report.this_week import NO_DATA_WEEK

    runs = weekly_runs([20.0] * 6, first_monday=datetime(2024, 10, 21))  # last run 30 Nov 2024
    a = build_athlete_report(analyze(runs), weeks=10, until=date(2024, 12, 29))
    empty = [w for w in a.weeks if not w.has_data]
    assert len(empty) == 4 and all(w.run_km == 0.0 for w in empty)
    rep = build_report([a])
    for fmt in ("text", "markdown", "html"):
        assert render(rep, fmt).count(NO_DATA_WEEK) >= len(empty), fmt


# --- report (cron) warns when the watch stopped syncing ----------------------------------------


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs 6-16 Apr 2017 style: six weeks ending Saturday 15 Apr 2017."""
    root = tmp_path_factory.mktemp("stopped")
    _runs(root / "ann", date(2017, 3, 6), 6, seed=1)
    return root / "ann"


def test_report_warns_on_stderr_when_the_data_stopped(stopped: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["report", str(stopped), "--out-dir", str(out), "--week", "2017-W20"]
    args += ["--cache-dir", str(tmp_path / "cache")]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    (line,) = [ln for ln in ok.stderr.splitlines() if "warning" in ln]
    assert "ann: no activity since 15 Apr 2017" in line
    doc = json.loads((out / "ann" / "2017-W20.json").read_text())
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)
    (athlete,) = doc["athletes"]
    assert (athlete["status"], athlete["last_run"]) == ("stale", "2017-04-15")
    failing = runner.invoke(app, [*args, "--fail-on", "high"])
    assert failing.exit_code == 3, failing.output
    assert "STALE: no activity since 15 Apr 2017" in failing.stdout
    # the week right after the last run is not stale yet
    fresh = runner.invoke(app, [*args[:-4], "--week", "2017-W16", *args[-2:], "--fail-on", "high"])
    assert "warning" not in fresh.stderr and fresh.exit_code in (0, 3)


# --- batch: athletes whose data ends in different years ----------------------------------------


@pytest.fixture(scope="module")
def coach(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("coach")
    # this week (week of 23 Nov 2026): dora doubles her runs -> high; eve steady -> ok
    _runs(root / "dora", date(2026, 10, 19), 6, minutes=(50, 50, 50), seed=10)
    _runs(root / "eve", date(2026, 10, 19), 6, seed=20)
    _runs(root / "fay", date(2025, 5, 5), 5, seed=30)  # stopped in June 2025
    _runs(root / "gus", date(2017, 3, 6), 6, seed=40)  # stopped in April 2017
    (root / "hal").mkdir()
    (root / "hal" / "broken.fit").write_bytes(b"\x0e\x10garbage, not a FIT file" * 10)
    (root / "loose.fit").write_bytes(b"a loose file at the top")
    return root


def test_batch_reports_one_week_for_everyone_and_ranks_stale_above_ok(
    coach: Path, tmp_path: Path
) -> None:
    result = run_batch([coach], today=date(2026, 12, 2), cache_dir=tmp_path / "cache", workers=1)
    rep = result.report
    by_name = {a.athlete: a for a in rep.athletes}
    assert {a.window.last_week for a in rep.athletes} == {date(2026, 11, 23)}
    status = {n: a.status for n, a in by_name.items()}
    assert status == {
        "dora": "high",
        "eve": "ok",
        "fay": "stale",
        "gus": "stale",
        "hal": "unreadable",
    }
    assert by_name["fay"].last_run == _last_run(date(2025, 5, 5), 5)
    assert by_name["gus"].last_run == date(2017, 4, 15)
    order = [rep.athletes[i].athlete for i in result.ranked]
    assert order[0] == "dora" and order[-1] == "eve"
    assert set(order[1:4]) == {"fay", "gus", "hal"}
    # the loose file is named as skipped, not ignored
    (loose,) = [w for w in rep.warnings if w.path.endswith("loose.fit")]
    assert "skipped" in loose.message


def test_batch_json_and_text_carry_rank_status_and_last_run(coach: Path, tmp_path: Path) -> None:
    base = ["batch", str(coach), "--until", "2026-11-29", "--cache-dir", str(tmp_path / "c")]
    res = runner.invoke(app, [*base, "-f", "json"])
    assert res.exit_code == 1, res.output  # hal's file cannot be read
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)
    rows = {a["athlete"]: (a["rank"], a["status"], a["last_run"]) for a in doc["athletes"]}
    assert rows["dora"][:2] == (1, "high")
    assert rows["eve"][1:] == ("ok", "2026-11-28")
    assert rows["eve"][0] == 5
    assert rows["gus"][1:] == ("stale", "2017-04-15")
    assert sorted(r[0] for r in rows.values()) == [1, 2, 3, 4, 5]
    text = runner.invoke(app, base).stdout
    assert "Last run" in text
    gus = next(line for line in text.splitlines() if "gus" in line)
    assert "stale" in gus and "2017" in gus
    assert " 0.0 " not in gus  # the week after the data stopped is unknown, not 0 km


def test_a_week_after_the_data_has_unknown_km_in_json_csv_and_tables(
    coach: Path, stopped: Path, tmp_path: Path
) -> None:
    """The summary's week km is null (JSON), an empty cell (CSV) and null (the batch's
    Parquet table) when the reported week lies after the athlete's data or nothing could
    be read: unknown, never a calm 0 km (it was 0.0 in all three before schema 1.6)."""
    import csv
    import io

    import polars as pl

    base = ["batch", str(coach), "--until", "2026-11-29", "--cache-dir", str(tmp_path / "c")]
    doc = json.loads(runner.invoke(app, [*base, "-f", "json"]).stdout)
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)
    km = {a["athlete"]: a["summary"]["run_km"] for a in doc["athletes"]}
    assert km["dora"] > 0 and km["eve"] > 0
    assert km["fay"] is None and km["gus"] is None and km["hal"] is None
    rows = csv.DictReader(io.StringIO(runner.invoke(app, [*base, "-f", "csv"]).stdout))
    cells = {r["athlete"]: r["run_km"] for r in rows}
    assert cells["fay"] == cells["gus"] == cells["hal"] == "" and float(cells["eve"]) > 0
    out = tmp_path / "out"
    runner.invoke(app, [*base, "--out-dir", str(out)])
    (table,) = out.glob("**/athletes*.parquet")
    by_name = dict(pl.read_parquet(table).select("athlete", "run_km_this_week").iter_rows())
    assert by_name["gus"] is None and by_name["eve"] > 0
    # one week after the last run: not stale yet, but that week is unknown too; the last
    # week with runs keeps its number
    for week, expected_none in (("2017-W16", True), ("2017-W15", False)):
        args = ["report", str(stopped), "--out-dir", str(tmp_path / week), "--week", week]
        runner.invoke(app, [*args, "--cache-dir", str(tmp_path / "c2")])
        (athlete,) = json.loads((tmp_path / week / "ann" / f"{week}.json").read_text())["athletes"]
        assert (athlete["summary"]["run_km"] is None) is expected_none, week
