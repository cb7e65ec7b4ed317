"""Signal over noise: flags that mean something (issue 12).

Returns from a break are their own situation, no percentage is ever computed against a
baseline under 1 km, and the same history gives the same flags whatever day the week
starts on.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synth import weekly_runs

from kneeflags.analysis import analyze
from kneeflags.config import WEEKDAYS, Config
from kneeflags.rules.engine import MIN_BASELINE_KM

MONDAY = datetime(2026, 1, 5)  # a Monday


def _config(week_start: str) -> Config:
    return Config.from_dict({"week_start": week_start})


def _return_history(pre: float, back: float, gap: int) -> list[float]:
    return [pre] * 8 + [0.0] * gap + [back]


@pytest.mark.parametrize("week_start", WEEKDAYS)
def test_a_return_after_ten_empty_weeks_is_said_in_words_at_every_week_start(
    week_start: str,
) -> None:
    cfg = _config(week_start)
    first = MONDAY + timedelta(days=cfg.week_start_index)
    acts = weekly_runs(_return_history(60.0, 56.6, 10), first_monday=first)
    flags = [f for f in analyze(acts, cfg).flags if f.rule == "volume-jump"]
    assert len(flags) == 1, [f.evidence for f in flags]
    (flag,) = flags
    assert "first week back after a 10-week break: 56.6 km" in flag.evidence
    assert "60.0 km a week you ran before it" in flag.evidence
    assert "%" in flag.evidence and "on the 0.0 km baseline" not in flag.evidence
    # 94 % of the pre-break level straight after 10 weeks off: above the 75 % watch line
    assert flag.severity == "watch"
    assert flag.value == pytest.approx(56.6 / 60.0 * 100.0, abs=0.01)
    assert flag.week_start is not None and flag.week_start.weekday() == cfg.week_start_index


@pytest.mark.parametrize("week_start", ["monday", "sunday", "saturday"])
@pytest.mark.parametrize(
    ("back", "expected"),
    [(30.0, []), (46.0, ["watch"]), (66.5, ["high"])],
    ids=["half", "77%", "111%"],
)
def test_a_return_is_judged_against_the_pre_break_level(
    week_start: str, back: float, expected: list[str]
) -> None:
    cfg = _config(week_start)
    first = MONDAY + timedelta(days=cfg.week_start_index)
    acts = weekly_runs(_return_history(60.0, back, 10), first_monday=first)
    sev = [f.severity for f in analyze(acts, cfg).flags if f.rule == "volume-jump"]
    assert sev == expected


def test_one_empty_week_is_not_a_break_but_a_normal_baseline() -> None:
    # 40, 40, 40, 40, 0, 48: one week off; baseline = mean of the four weeks = 30 km -> +60 %
    flags = [f for f in analyze(weekly_runs([40, 40, 40, 40, 0, 48])).flags]
    (vj,) = [f for f in flags if f.rule == "volume-jump"]
    assert "first week back" not in vj.evidence
    assert "up 60 %" in vj.evidence


def test_float_rounding_baseline_gives_no_absurd_percentage() -> None:
    # Weeks of 0.1 + 0.2 - 0.3 km (1e-17 of rounding) before a return: no percentage.
    acts = weekly_runs([0.1 + 0.2 - 0.3 + 1e-15, 0.0, 0.0, 30.0], runs_per_week=1)
    an = analyze(acts)
    assert all(
        f.value is None or abs(f.value) < 10_000 for f in an.flags if f.rule == "volume-jump"
    )
    change = an.weekly["change_pct"].to_list()
    assert all(c is None or abs(c) < 10_000 for c in change)


weeks_strategy = st.lists(
    st.one_of(
        st.just(0.0),
        st.floats(min_value=0.001, max_value=1.2),
        st.floats(min_value=1.2, max_value=80.0),
    ),
    min_size=2,
    max_size=14,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kms=weeks_strategy, wsi=st.integers(min_value=0, max_value=6))
def test_no_percentage_is_ever_computed_against_under_one_km(kms: list[float], wsi: int) -> None:
    cfg = _config(WEEKDAYS[wsi])
    acts = weekly_runs(kms, first_monday=MONDAY + timedelta(days=wsi), runs_per_week=1)
    an = analyze(acts, cfg)
    w = an.weekly.sort("week_start")
    if w.height == 0:
        return
    prev = [None, *w["run_km"].to_list()[:-1]]
    for p, c in zip(prev, w["change_pct"].to_list(), strict=True):
        if c is not None:
            assert p is not None and p >= MIN_BASELINE_KM
    by_week = {r["week_start"]: r for r in w.iter_rows(named=True)}
    for f in an.flags:
        if f.value is not None:
            assert math.isfinite(f.value)
        if f.rule == "volume-jump":
            row = by_week[f.week_start]
            if "first week back" in f.evidence:
                assert f.value is not None and f.value < 10_000
            else:
                assert row["baseline_km"] >= MIN_BASELINE_KM
        if f.rule == "session-spike":
            # value = % over the longest run of the previous 30 days, which is >= 1 km
            assert f.value is not None and f.value <= 100.0 * (80.0 / MIN_BASELINE_KM)


# --- strength-gap: one athlete-level watch, out of --fail-on unless asked ---------------------


def _report(acts, until=None, config: Config | None = None):
    from kneeflags.report.model import build_athlete_report, build_report

    cfg = config or Config()
    a = build_athlete_report(analyze(acts, cfg), until=until, config=cfg, weeks=12)
    return build_report([a])


def test_one_old_gym_session_gives_one_strength_line_not_a_high_per_week() -> None:
    from synth import make_strength

    acts = weekly_runs([20.0] * 30)
    acts.append(make_strength(MONDAY + timedelta(days=2, hours=18), uid="gym"))
    rep = _report(acts)
    (athlete,) = rep.athletes
    strength = [f for f in athlete.flags if f.rule == "strength-gap"]
    assert [(f.severity, f.week_start) for f in strength] == [("watch", None)]
    assert not rep.reached("high")
    assert not rep.reached("watch")  # strength-gap alone never decides --fail-on ...
    assert rep.reached("high", ["strength-gap"])  # ... unless asked for
    assert rep.reached(None, ["strength-gap"])


def test_fail_on_rule_on_the_command_line(tmp_path) -> None:
    from test_cli import _athlete, cli

    folder = tmp_path / "bob"
    _athlete(folder, 5, jump=False, seed=100)
    base = ["analyze", str(folder), "-f", "json", "-o", str(tmp_path / "r.json")]
    assert cli(tmp_path, *base, "--fail-on", "high").exit_code == 0
    hit = cli(tmp_path, *base, "--fail-on", "high", "--fail-on-rule", "strength-gap")
    assert hit.exit_code == 3, hit.output
    bad = cli(tmp_path, *base, "--fail-on-rule", "strength-gapp")
    assert bad.exit_code == 2 and "unknown rule 'strength-gapp'" in bad.output


# --- no look-ahead -----------------------------------------------------------------------------


def _later_year(first: datetime) -> list:
    """A year after the first history: bigger weeks, gym work, runs without cadence."""
    from synth import make_ride, make_run, make_strength

    later = weekly_runs([35.0, 70.0, 20.0] * 17, first_monday=first, runs_per_week=3)
    for w in range(0, 52, 2):
        day = first + timedelta(weeks=w, days=2, hours=18)
        later.append(make_strength(day, uid=f"gym{w}"))
        later.append(make_ride(day + timedelta(days=2), with_samples=False, uid=f"ride{w}"))
    later.append(
        make_run(first + timedelta(days=4), km=9.0, cadence_spm=None, with_samples=False, uid="x")
    )
    return later


def test_appending_a_later_year_leaves_an_old_report_unchanged() -> None:
    old = weekly_runs([30, 30, 33, 30, 45, 30, 0, 0, 0, 40, 30, 30, 30, 60], with_samples=True)
    until = (MONDAY + timedelta(weeks=13, days=6)).date()
    later = _later_year(MONDAY + timedelta(weeks=14))
    for a, b in ((old, old + later), (old, later + old)):
        ra, rb = _report(a, until=until), _report(b, until=until)
        (xa,), (xb,) = ra.athletes, rb.athletes
        assert xa.flags == xb.flags
        assert xa.notes == xb.notes
        assert xa.weeks == xb.weeks
        assert xa.plan == xb.plan
        assert xa.summary == xb.summary
    rules = {f.rule for f in xa.flags}
    assert {"volume-jump", "strength-gap"} <= rules


def test_notes_count_the_window_not_the_whole_history() -> None:
    from synth import make_run

    acts = weekly_runs([20.0] * 20, with_samples=True)
    # five runs without cadence long before the 12-week window
    acts += [
        make_run(MONDAY + timedelta(days=d, hours=18), km=5, cadence_spm=None, uid=f"n{d}")
        for d in range(5)
    ]
    (a,) = _report(acts).athletes
    assert not any("no cadence" in n for n in a.notes), a.notes
    full = analyze(acts).notes
    (cad,) = [n for n in full if "no cadence data" in n]
    assert cad.startswith("5 of 65 runs have no cadence data (") and " and 2 more)" in cad, cad


# --- one card per rule ------------------------------------------------------------------------


def test_one_card_per_rule_at_its_highest_severity_with_bullets_in_date_order() -> None:
    from kneeflags.report import render
    from kneeflags.report.text import to_text

    # watch (+13 %), high (+40 %), watch (+13 %) volume jumps in one window
    acts = weekly_runs([30, 30, 30, 30, 34, 34, 34, 34, 50, 50, 50, 50, 57])
    rep = _report(acts)
    (a,) = rep.athletes
    cards = [rf for g in a.groups for rf in g.rules if rf.rule == "volume-jump"]
    assert len(cards) == 1
    (card,) = cards
    assert card.severity == "high" and card.mixed
    weeks = [f.week_start for f in card.flags]
    assert weeks == sorted(weeks) and len(weeks) == 3
    assert [f.severity for f in card.flags] == ["watch", "high", "watch"]
    text = to_text(rep, width=100)
    text = text[text.index("FLAGS IN THE WINDOW") :]  # this week names it once above
    assert text.count("Weekly volume jump") == 1
    positions = [text.index(f"{f.severity}: {f.evidence[:30]}") for f in card.flags]
    assert positions == sorted(positions)
    md = render(rep, "markdown")
    assert md[md.index("## Flags in the window") :].count("Weekly volume jump") == 1
    page = render(rep, "html")
    assert page[page.index('id="flags"') :].count("Weekly volume jump") == 1


def test_time_zone_note_names_where_the_zone_came_from() -> None:
    from kneeflags.analysis import athlete_notes

    acts = analyze(weekly_runs([10.0, 10.0], runs_per_week=1)).activities
    for source, words in (
        ("option", "the time zone given with --tz"),
        ("config", "the config file's time zone"),
        ("system", "this machine's time zone"),
    ):
        import polars as pl

        notes = athlete_notes(acts.with_columns(pl.lit(source).alias("utc_offset_source")))
        (tz,) = [n for n in notes if "UTC offset" in n]
        assert tz == (
            f"2 activities carry no UTC offset in the file; their local week comes from {words}."
        )
    one = athlete_notes(acts.head(1).with_columns(pl.lit("option").alias("utc_offset_source")))
    assert "1 activity carries no UTC offset in the file; its local week" in " ".join(one)
