"""Next week's plan: the prevention producer's numbers, and the plan in every renderer.

Expectations are computed by hand from the synthetic histories (``weekly_runs`` splits
each week's km evenly over three runs), never read back from the code under test.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import jsonschema
import polars as pl
import pytest
from report_helpers import make_analysis
from synth import make_run, weekly_runs
from typer.testing import CliRunner

from kneeflags.analysis import analyze
from kneeflags.cli import app
from kneeflags.plan.model import Plan, PlanReason
from kneeflags.plan.prevention import prevention_plan
from kneeflags.report import load_schema, render
from kneeflags.report.model import build_athlete_report, build_report
from kneeflags.report.planout import render_plan

MONDAY = date(2026, 1, 5)


def _plan(acts, reported: date, config=None) -> Plan:
    a = analyze(acts, config)
    return prevention_plan(a.weekly, a.activities, a.cadence_hist, reported, config)


def _week(n: int) -> date:
    return MONDAY + timedelta(weeks=n)


def _reason(plan: Plan, item: str) -> PlanReason:
    (r,) = [r for r in plan.reasons if r.item == item]
    return r


def test_weekly_cap_is_ten_percent_over_the_larger_of_this_week_and_the_mean() -> None:
    plan = _plan(weekly_runs([30, 30, 30, 40]), _week(3))
    assert plan.state == "prevention"
    assert plan.week_start == _week(4)
    assert plan.next_week_km_max == pytest.approx(44.0)  # max(40, 32.5) × 1.1
    r = _reason(plan, "next_week_km_max")
    assert r.rule == "volume-jump" and "Progressive mileage" in r.guide and "40.0 km" in r.text
    plan = _plan(weekly_runs([40, 40, 40, 20]), _week(3))
    assert plan.next_week_km_max == pytest.approx(38.5)  # mean 35 × 1.1


def test_weekly_cap_counts_empty_weeks_after_the_last_run() -> None:
    # reported week two weeks after the data ends: 40, 0, 0 -> mean over 4 weeks 17.5
    plan = _plan(weekly_runs([30, 30, 30, 40]), _week(5))
    assert plan.next_week_km_max == pytest.approx(round(((30 + 40) / 4) * 1.1 - 0.05, 1))


def test_no_weekly_cap_after_a_break_and_it_says_why() -> None:
    plan = _plan(weekly_runs([30, 30, 30, 0, 0, 0, 0, 0]), _week(7))
    assert plan.next_week_km_max is None
    assert plan.long_run_km_max is None  # no run in the last 30 days either
    assert "No weekly cap" in _reason(plan, "next_week_km_max").text


def test_long_run_cap_is_ten_percent_over_the_longest_run_of_30_days() -> None:
    acts = weekly_runs([30, 30, 30, 30])
    acts.append(make_run(datetime(2026, 1, 31, 8), km=18.0, with_samples=False, uid="long"))
    plan = _plan(acts, _week(3))
    assert plan.long_run_km_max == pytest.approx(19.8)
    assert _reason(plan, "long_run_km_max").rule == "session-spike"
    # 40 days later the 18 km run is out of the 30 days: the 10 km runs are the baseline
    acts.append(make_run(datetime(2026, 3, 10, 8), km=10.0, with_samples=False, uid="later"))
    plan = _plan(acts, date(2026, 3, 9))
    assert plan.long_run_km_max == pytest.approx(11.0)


@pytest.mark.parametrize(
    ("spm", "expected"),
    [(160.0, (168.0, 176.0)), (165.0, (173.0, 180.0)), (150.0, (158.0, 165.0))],
)
def test_cadence_target_is_five_to_ten_percent_more_capped_at_180(spm, expected) -> None:
    acts = weekly_runs([30, 30, 30], with_samples=True, cadence_spm=spm)
    plan = _plan(acts, _week(2))
    assert plan.cadence_target_spm == expected
    r = _reason(plan, "cadence_target_spm")
    assert r.rule == "low-cadence" and "5:08–5:33 /km" in r.text and "Gait correction" in r.guide


def test_no_cadence_target_at_or_above_170() -> None:
    plan = _plan(weekly_runs([30, 30, 30], with_samples=True, cadence_spm=172.0), _week(2))
    assert plan.cadence_target_spm is None
    assert _reason(plan, "cadence_target_spm").text.startswith("No change needed")


def _weeks_frame(downhill: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "week_start": [_week(i) for i in range(len(downhill))],
            "run_km": [30.0] * len(downhill),
            "downhill_km": downhill,
        },
        schema_overrides={"downhill_km": pl.Float64},
    )


@pytest.mark.parametrize(
    ("downhill", "expected"),
    [
        ([2.0, 10.0, None, 4.0], 13.0),  # 10 × 1.3
        ([9.0, 2.0, 3.0, 1.0], 11.7),  # the oldest of the 4 weeks still counts
        ([50.0, 1.0, 2.0, 3.0, 1.0], 3.9),  # 5 weeks back is outside the baseline
        ([0.0, 0.0, 0.0, 0.0], 0.9),  # from nothing: under the +1 km rise
        ([1.0, 2.0, 1.0, 2.0], 2.9),  # the +1 km rise binds before 1.3×
    ],
)
def test_downhill_cap_is_the_downhill_jump_watch_line(downhill, expected) -> None:
    weeks = _weeks_frame(downhill)
    plan = prevention_plan(weeks, pl.DataFrame(), pl.DataFrame(), weeks["week_start"].max())
    assert plan.downhill_km_max == pytest.approx(expected)
    assert _reason(plan, "downhill_km_max").rule == "downhill-jump"


def test_no_downhill_cap_without_elevation_data() -> None:
    weeks = _weeks_frame([None, None, None])
    plan = prevention_plan(weeks, pl.DataFrame(), pl.DataFrame(), _week(2))
    assert plan.downhill_km_max is None
    assert "no run with elevation data" in _reason(plan, "downhill_km_max").text


def test_strength_target_is_two() -> None:
    plan = _plan(weekly_runs([30, 30]), _week(1))
    assert plan.strength_sessions_target == 2
    assert _reason(plan, "strength_sessions_target").rule == "strength-gap"
    assert {r.item for r in plan.reasons} == {
        "next_week_km_max",
        "long_run_km_max",
        "downhill_km_max",
        "cadence_target_spm",
        "strength_sessions_target",
    }


def test_plan_uses_nothing_after_the_reported_week() -> None:
    acts = weekly_runs([30, 30, 30, 30], with_samples=True, cadence_spm=160.0)
    before = _plan(acts, _week(3))
    later = weekly_runs(
        [0, 0, 0, 0, 60, 80],
        with_samples=True,
        cadence_spm=150.0,
        first_monday=datetime(2026, 1, 5),
    )
    after = _plan(acts + later, _week(3))
    assert after == before


# ---------------------------------------------------------------------------------------
# rendering


def _report(plan: Plan | None = None):
    a = build_athlete_report(make_analysis("anna"), plan=plan)
    return build_report([a])


RETURN_PLAN = Plan(
    state="return",
    week_start=date(2026, 2, 9),
    condition="ITBS",
    side="left",
    phase="flat running at reduced distance",
    episode_start=date(2026, 1, 20),
    next_session_km_max=3.5,
    next_week_km_max=12.0,
    downhill_allowed=False,
    speed_work_allowed=False,
    strength_sessions_target=2,
    reasons=(
        PlanReason("next_session_km_max", "rtr-session-cap", "Start at 30–50 % of 8 km.", "ITBS"),
        PlanReason("downhill_allowed", "rtr-hills-last", "Hills come back last.", "ITBS"),
        PlanReason("phase", "rtr-phase", "Two pain-free weeks before the next step.", "PFPS"),
    ),
)


def test_the_report_carries_the_prevention_plan_in_every_format() -> None:
    rep = _report()
    plan = rep.athletes[0].plan
    assert plan is not None and plan.state == "prevention"
    assert plan.week_start == rep.athletes[0].window.last_week + timedelta(weeks=1)
    for fmt in ("text", "markdown", "html"):
        out = " ".join(render(rep, fmt).split())  # the terminal wraps at 80 columns
        assert "Plan for the week of" in out, fmt
        assert f"at most {plan.next_week_km_max:.1f} km" in out, fmt
        assert "volume-jump" in out and "Two strength sessions per week" in out, fmt
    doc = json.loads(render(rep, "json"))
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)
    assert doc["schema_version"] >= "1.2"  # minor bumps add keys; the plan is since 1.1
    jp = doc["athletes"][0]["plan"]
    assert jp["state"] == "prevention"
    assert jp["next_week_km_max"] == pytest.approx(plan.next_week_km_max)
    assert jp["strength_sessions_target"] == 2
    assert {r["item"] for r in jp["reasons"]} >= {"next_week_km_max", "long_run_km_max"}


def test_a_return_plan_renders_from_its_fields() -> None:
    rep = _report(RETURN_PLAN)
    for fmt in ("text", "markdown", "html"):
        out = " ".join(render(rep, fmt).split())
        assert "return to running: ITBS, left" in out, fmt
        assert "flat running at reduced distance" in out, fmt
        assert "Next run" in out and "at most 3.5 km" in out, fmt
        assert "not yet" in out and "rtr-hills-last" in out, fmt
        assert "Two pain-free weeks" in out, fmt  # a reason about a field with no line
    doc = json.loads(render(rep, "json"))
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)
    assert doc["athletes"][0]["plan"]["state"] == "return"
    assert doc["athletes"][0]["plan"]["next_session_km_max"] == 3.5
    assert "Next run: at most 3.5 km" in render_plan(rep, "text")


def test_plan_command_prints_just_the_plan(tmp_path) -> None:
    from pathlib import Path

    sam = Path(__file__).resolve().parent.parent / "sample_data" / "sam"
    runner = CliRunner()
    args = ["plan", str(sam), "--cache-dir", str(tmp_path / "c"), "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Plan for the week of" in res.output
    assert "Weekly running: at most" in res.output
    assert "WEEKLY TABLE" not in res.output and "FLAGS" not in res.output
    res = runner.invoke(app, [*args, "--format", "JSON"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["athletes"][0]["plan"]["state"] == "prevention"


def test_plan_output_file_extension_chooses_the_format(tmp_path) -> None:
    """``-o next.json`` writes JSON (it wrote text under that name); ``-o next.html``, a
    format plan has not, is a usage error before anything is read or written."""
    from pathlib import Path

    sam = Path(__file__).resolve().parent.parent / "sample_data" / "sam"
    base = ["plan", str(sam), "--cache-dir", str(tmp_path / "c"), "-q"]
    out = tmp_path / "next.json"
    res = CliRunner().invoke(app, [*base, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["athletes"][0]["plan"]["state"] == "prevention"
    bad = tmp_path / "next.html"
    res = CliRunner().invoke(app, [*base, "-o", str(bad)])
    assert res.exit_code == 2 and not bad.exists()
