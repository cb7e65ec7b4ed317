"""analyze(): the notebook API, the two-stage split and athlete-level notes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from synth import descend, flat, local, make_run, make_strength, weekly_runs

import kneeflags
from kneeflags.config import Config
from kneeflags.findings import Analysis
from kneeflags.metrics.summary import (
    ACTIVITY_SUMMARY_SCHEMA,
    summaries_from_frames,
    summaries_to_frames,
    summarize,
)
from kneeflags.model import Sport


def _history() -> list:
    acts = weekly_runs(
        [30, 30, 30, 30, 45],
        with_samples=True,
        cadence_spm=166,
        altitude=descend(0.06, 0.7),
        interval_s="smart",
    )
    acts.append(make_strength(local(2026, 1, 7)))
    acts.append(make_run(local(2026, 1, 9), km=5, sport=Sport.TREADMILL_RUNNING, uid="tm"))
    acts.append(make_run(local(2026, 1, 10), km=5, cadence_spm=None, altitude=None, uid="bare"))
    return acts


def test_analyze_is_exported_and_complete() -> None:
    analysis = kneeflags.analyze(_history(), athlete="ann", timezone="Europe/London")
    assert isinstance(analysis, kneeflags.Analysis) and isinstance(analysis, Analysis)
    assert analysis.athlete == "ann" and analysis.timezone == "Europe/London"
    assert analysis.activities.height == 18
    assert analysis.activities.schema == pl.Schema(ACTIVITY_SUMMARY_SCHEMA)
    assert analysis.weekly.height == 5
    assert analysis.cadence_hist.height > 0
    assert all(isinstance(f, kneeflags.Flag) for f in analysis.flags)
    assert {"volume-jump", "low-cadence", "downhill-share"} <= {f.rule for f in analysis.flags}


def test_notes_collect_athlete_level_caveats() -> None:
    notes = kneeflags.analyze(_history()).notes
    (cad,) = [n for n in notes if "no cadence data" in n]
    # the run is named (date, distance, file), and the verb agrees with "1"
    assert re.fullmatch(
        r"1 of 17 runs has no cadence data \(\w{3} \d+ \w{3} \d{4}, \d+\.\d km \([^)]+\)\); "
        r"cadence figures use the other runs\.",
        cad,
    ), cad
    assert any(
        n == "1 treadmill/indoor run counts as volume but is excluded from downhill figures."
        for n in notes
    )
    (ele,) = [n for n in notes if "without usable elevation" in n]
    assert ele.startswith("1 outdoor run without usable elevation data (")
    assert ele.endswith("): downhill share is unknown for it, not zero.")


def test_cached_summaries_give_the_same_analysis(tmp_path: Path) -> None:
    acts = _history()
    direct = kneeflags.analyze(acts)
    frames = summaries_to_frames([summarize(a) for a in acts])
    frames[0].write_parquet(tmp_path / "a.parquet")
    frames[1].write_parquet(tmp_path / "h.parquet")
    back = summaries_from_frames(
        pl.read_parquet(tmp_path / "a.parquet"), pl.read_parquet(tmp_path / "h.parquet")
    )
    cached = kneeflags.analyze(summaries=back)
    assert cached.weekly.equals(direct.weekly)
    assert cached.activities.equals(direct.activities)
    assert cached.cadence_hist.equals(direct.cadence_hist)
    assert cached.flags == direct.flags
    # Mixed: half from the cache, half fresh; an id in both counts once.
    cached_ids = {s.activity_id for s in back[5:]}
    fresh = [a for a in acts if a.activity_id not in cached_ids]
    for activities in (fresh, acts):  # the second overlaps the cache completely
        mixed = kneeflags.analyze(activities, summaries=back[5:])
        assert mixed.weekly.equals(direct.weekly)
        assert mixed.flags == direct.flags


def test_empty_input() -> None:
    analysis = kneeflags.analyze([])
    assert analysis.weekly.height == 0 and analysis.flags == []
    assert analysis.notes == ["No activities were found, so there is nothing to analyse."]


def test_week_start_config_changes_buckets() -> None:
    run = make_run(local(2026, 1, 11, 9), km=10, with_samples=False)  # a Sunday
    assert kneeflags.analyze([run]).weekly["week_start"].to_list() == [date(2026, 1, 5)]
    sunday = kneeflags.analyze([run], Config(week_start="sunday"))
    assert sunday.weekly["week_start"].to_list() == [date(2026, 1, 11)]


def test_missing_offset_falls_back_to_configured_zone() -> None:
    run = make_run(local(2026, 1, 11, 23, 30), km=10, with_samples=False)  # UTC Sunday
    run = run.replace(utc_offset_s=None, utc_offset_source=None)
    tokyo = kneeflags.analyze([run], Config(timezone="Asia/Tokyo"))
    assert tokyo.activities["utc_offset_s"][0] == 9 * 3600
    assert tokyo.activities["local_date"][0] == date(2026, 1, 12)
    assert tokyo.weekly["week_start"].to_list() == [date(2026, 1, 12)]
    assert any("no UTC offset" in n for n in tokyo.notes)


def test_summary_row_has_documented_columns_only() -> None:
    s = summarize(make_run(local(2026, 1, 6), km=5, altitude=flat()))
    assert list(s.row) == list(ACTIVITY_SUMMARY_SCHEMA)
    assert s.row["local_date"] == date(2026, 1, 6)
    assert s.row["downhill_km"] == pytest.approx(0.0)


def test_flags_round_trip_to_json_dicts() -> None:
    acts = weekly_runs([30, 30, 30, 30, 45])
    acts.append(make_run(local(2026, 1, 5) + timedelta(days=33), km=20, uid="x"))
    for flag in kneeflags.analyze(acts).flags:
        d = flag.to_dict()
        assert d["rule"] and d["severity"] in ("watch", "high")
        assert d["advice"] and d["reference"] and d["evidence"].endswith(".")
