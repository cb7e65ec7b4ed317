"""Evaluate the catalogue over the weekly table and the per-activity summaries.

Each rule of :data:`~kneeflags.rules.catalogue.RULES` has one evaluator here, keyed by rule
id. Evaluators compute value, severity and threshold for every week (or run) with polars
expressions, then turn only the flagged rows into :class:`~kneeflags.findings.Flag` objects
with a one-sentence evidence string carrying the numbers. Thresholds come from
``config.rules.<rule>``; nothing numeric is hard-coded here.

Severity convention: the ``high`` test is applied first; ``threshold`` on a flag is the
cut-off of the severity it reached.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import polars as pl

from kneeflags.config import Config
from kneeflags.findings import SEVERITY_RANK, Flag
from kneeflags.metrics.cadence import float_sum, weighted_median, weighted_median_list
from kneeflags.metrics.weekly import week_start_expr
from kneeflags.records import record
from kneeflags.rules.advice import advice_lines
from kneeflags.rules.catalogue import RULES, Rule


@record(frozen=True)
class Inputs:
    """What evaluators read: stage-2 tables only, never samples."""

    weekly: pl.DataFrame
    activities: pl.DataFrame
    cadence_hist: pl.DataFrame
    config: Config


def day_label(day: date) -> str:
    """``26 Jan 2026`` (the evidence strings' date style)."""
    return f"{day.day} {day:%b %Y}"


def run_label(local_start: datetime, km: float) -> str:
    """``Tue 27 Jan 2026, 21.1 km``: how a per-run flag names its run."""
    return f"{local_start:%a} {day_label(local_start.date())}, {km:.1f} km"


def _signed(x: float) -> str:
    """``-5`` as ``−5`` (typographic minus, as the catalogue prints it)."""
    return f"{x:g}".replace("-", "−")


def _pace(speed_mps: float) -> str:
    if speed_mps <= 0:
        return "–"
    sec = round(1000.0 / speed_mps)
    return f"{sec // 60}:{sec % 60:02d} /km"


def _flag(
    rule: Rule,
    severity: str,
    week_start: date | None,
    value: float | None,
    threshold: float | None,
    evidence: str,
    *,
    activity: str | None = None,
    activity_label: str | None = None,
    day: date | None = None,
) -> Flag:
    return Flag(
        rule=rule.id,
        conditions=rule.conditions,
        severity=severity,  # type: ignore[arg-type]
        week_start=week_start,
        value=None if value is None else round(float(value), 4),
        threshold=threshold,
        evidence=evidence,
        advice=advice_lines(rule.advice_keys),
        reference=rule.reference,
        activity=activity,
        activity_label=activity_label,
        day=day,
    )


def _grade(high: pl.Expr, watch: pl.Expr) -> pl.Expr:
    return pl.when(high).then(pl.lit("high")).when(watch).then(pl.lit("watch")).alias("severity")


# --- volume-jump ---------------------------------------------------------------------------


MIN_BASELINE_KM = 1.0
"""No percentage is ever computed against a baseline under this (a float-rounding
1e-15 km after a break, or a 0.3 km jog, would give absurd percentages)."""


def with_break_columns(weekly: pl.DataFrame, baseline_weeks: int) -> pl.DataFrame:
    """Add ``break_weeks`` and ``pre_break_km`` to the weekly table (for ``volume-jump``).

    ``break_weeks``: weeks without running between this week's runs and the previous
    week with a run (0 for consecutive running weeks; null before the first run).
    ``pre_break_km``: the running level the athlete left off at, i.e. the volume-jump
    baseline of the week after the last running week before the break: max(that week's
    km, mean of the ``baseline_weeks`` weeks ending with it).
    """
    runs = pl.col("runs") > 0
    known = pl.when(pl.col("runs").cum_sum() > 0).then(pl.col("run_km"))
    level = pl.max_horizontal(
        pl.col("run_km"), known.rolling_mean(window_size=baseline_weeks, min_samples=1)
    )
    last_run_week = pl.when(runs).then(pl.col("week_start")).forward_fill().shift(1)
    return (
        weekly.sort("week_start")
        .with_columns(
            last_run_week.alias("_prev_run_week"),
            pl.when(runs).then(level).forward_fill().shift(1).alias("pre_break_km"),
        )
        .with_columns(
            ((pl.col("week_start") - pl.col("_prev_run_week")).dt.total_days() // 7 - 1)
            .cast(pl.Int64)
            .alias("break_weeks")
        )
        .drop("_prev_run_week")
    )


def _volume_jump(rule: Rule, inp: Inputs) -> list[Flag]:
    c = inp.config.rules.volume_jump
    w = with_break_columns(inp.weekly, c.baseline_weeks)
    returning = (pl.col("runs") > 0) & (pl.col("break_weeks") >= c.break_weeks)
    w = w.with_columns(
        (pl.col("run_km") - pl.col("baseline_km")).alias("rise"),
        returning.fill_null(False).alias("returning"),
    ).with_columns(
        pl.when(~pl.col("returning") & (pl.col("baseline_km") >= MIN_BASELINE_KM))
        .then(pl.col("rise") / pl.col("baseline_km") * 100.0)
        .alias("pct"),
        pl.when(pl.col("returning") & (pl.col("pre_break_km") >= MIN_BASELINE_KM))
        .then(pl.col("run_km") / pl.col("pre_break_km") * 100.0)
        .alias("return_pct"),
    )
    ok = pl.col("pct").is_not_null() & (pl.col("rise") >= c.min_rise_km)
    back = pl.col("return_pct").is_not_null() & (pl.col("run_km") >= c.min_rise_km)
    rp = pl.col("return_pct")
    w = w.with_columns(
        _grade(
            (ok & (pl.col("pct") > c.high_pct)) | (back & (rp > c.return_high_pct)),
            (ok & (pl.col("pct") > c.watch_pct)) | (back & (rp > c.return_watch_pct)),
        )
    ).filter(pl.col("severity").is_not_null())
    out = []
    for r in w.iter_rows(named=True):
        high = r["severity"] == "high"
        if r["returning"]:
            n = r["break_weeks"]
            thr = c.return_high_pct if high else c.return_watch_pct
            ev = (
                f"Week of {day_label(r['week_start'])}: first week back after "
                f"{'an' if str(n).startswith('8') or n in (11, 18) else 'a'} {n}-week "
                f"break: {r['run_km']:.1f} km, {r['return_pct']:.0f} % of the "
                f"{r['pre_break_km']:.1f} km a week you ran before it. After a break, start "
                "well below your earlier level and build by no more than 10 % a week."
            )
            out.append(_flag(rule, r["severity"], r["week_start"], r["return_pct"], thr, ev))
            continue
        thr = c.high_pct if high else c.watch_pct
        ev = (
            f"Week of {day_label(r['week_start'])}: {r['run_km']:.1f} km, up {r['pct']:.0f} % "
            f"on the {r['baseline_km']:.1f} km baseline."
        )
        out.append(_flag(rule, r["severity"], r["week_start"], r["pct"], thr, ev))
    return out


# --- session-spike ---------------------------------------------------------------------------


def _session_spike(rule: Rule, inp: Inputs) -> list[Flag]:
    c = inp.config.rules.session_spike
    acts = inp.activities
    if acts.height == 0:
        return []
    data_start = acts["start_utc"].min()
    window = timedelta(days=c.window_days)
    runs = (
        acts.filter(pl.col("is_running"))
        .sort("start_utc", "activity_id")
        .with_columns(
            pl.col("distance_km")
            .rolling_max_by("start_utc", window_size=f"{c.window_days}d", closed="left")
            .alias("prev_longest")
        )
    )
    if runs.height == 0:
        return []
    runs = runs.with_columns(
        pl.when(
            (pl.col("start_utc") - window >= data_start)
            & (pl.col("prev_longest") >= MIN_BASELINE_KM)
        )
        .then((pl.col("distance_km") / pl.col("prev_longest") - 1.0) * 100.0)
        .alias("pct"),
        week_start_expr("local_date", inp.config.week_start_index).alias("week_start"),
    )
    p = pl.col("pct")
    runs = runs.with_columns(_grade(p > c.high_pct, p > c.watch_pct)).filter(
        pl.col("severity").is_not_null()
    )
    out = []
    for r in runs.iter_rows(named=True):
        thr = c.high_pct if r["severity"] == "high" else c.watch_pct
        label = run_label(r["local_start"], r["distance_km"])
        ev = (
            f"Run on {r['local_start']:%a} {day_label(r['local_date'])}: "
            f"{r['distance_km']:.1f} km, {r['pct']:.0f} % longer than the longest run of the "
            f"previous {c.window_days} days ({r['prev_longest']:.1f} km)."
        )
        out.append(
            _flag(
                rule,
                r["severity"],
                r["week_start"],
                r["pct"],
                thr,
                ev,
                activity=r["activity_id"],
                activity_label=label,
                day=r["local_date"],
            )
        )
    return out


# --- downhill-share ----------------------------------------------------------------------------


def _downhill_share(rule: Rule, inp: Inputs) -> list[Flag]:
    c = inp.config.rules.downhill_share
    down = inp.config.metrics.downhill_grade_pct
    w = inp.weekly.with_columns((pl.col("downhill_share") * 100.0).alias("pct"))
    p = pl.col("pct")
    w = w.with_columns(_grade(p >= c.high_pct, p >= c.watch_pct)).filter(
        pl.col("severity").is_not_null()
    )
    out = []
    for r in w.iter_rows(named=True):
        thr = c.high_pct if r["severity"] == "high" else c.watch_pct
        ev = (
            f"Week of {day_label(r['week_start'])}: {r['pct']:.0f} % of the "
            f"{r['graded_km']:.1f} km with elevation data was downhill "
            f"({r['downhill_km']:.1f} km at ≤ {_signed(down)} %)."
        )
        out.append(_flag(rule, r["severity"], r["week_start"], r["pct"], thr, ev))
    return out


# --- downhill-jump -----------------------------------------------------------------------------


def _downhill_jump(rule: Rule, inp: Inputs) -> list[Flag]:
    c = inp.config.rules.downhill_jump
    prev = pl.col("downhill_km").shift(1)
    w = inp.weekly.sort("week_start").with_columns(
        prev.rolling_max(window_size=c.baseline_weeks, min_samples=1).alias("prev_max")
    )
    w = w.with_columns(
        (pl.col("downhill_km") - pl.col("prev_max")).alias("rise"),
        pl.when(pl.col("prev_max") >= MIN_BASELINE_KM)
        .then(pl.col("downhill_km") / pl.col("prev_max"))
        .when(pl.col("prev_max") >= 0)
        .then(float("inf"))
        .alias("ratio"),
    )
    known = pl.col("downhill_km").is_not_null() & pl.col("prev_max").is_not_null()
    high = known & (pl.col("ratio") > c.high_ratio) & (pl.col("rise") >= c.high_min_rise_km)
    watch = known & (pl.col("ratio") > c.watch_ratio) & (pl.col("rise") >= c.watch_min_rise_km)
    w = w.with_columns(_grade(high, watch)).filter(pl.col("severity").is_not_null())
    out = []
    for r in w.iter_rows(named=True):
        thr = c.high_ratio if r["severity"] == "high" else c.watch_ratio
        finite = r["ratio"] != float("inf")
        how = f"{r['ratio']:.1f}×" if finite else "up from none"
        ev = (
            f"Week of {day_label(r['week_start'])}: {r['downhill_km']:.1f} km downhill, {how} "
            f"the largest week of the previous {c.baseline_weeks} weeks "
            f"({r['prev_max']:.1f} km)."
            if finite
            else f"Week of {day_label(r['week_start'])}: {r['downhill_km']:.1f} km downhill, "
            f"up from 0.0 km in each of the previous {c.baseline_weeks} weeks with "
            "elevation data."
            if r["prev_max"] == 0
            else f"Week of {day_label(r['week_start'])}: {r['downhill_km']:.1f} km downhill, "
            f"up from {r['prev_max']:.1f} km in the largest of the previous "
            f"{c.baseline_weeks} weeks (under {MIN_BASELINE_KM:g} km: no ratio is given)."
        )
        out.append(
            _flag(rule, r["severity"], r["week_start"], r["ratio"] if finite else None, thr, ev)
        )
    return out


# --- low-cadence ---------------------------------------------------------------------------------


def _low_cadence(rule: Rule, inp: Inputs) -> list[Flag]:
    """Weekly ``high`` flags below ``high_below_spm``, plus one athlete-level habit line.

    A cadence under 170 spm is most recreational runners' normal (165 ± 8 spm preferred,
    evidence.md §3): flagging it every week made it the most frequent flag of the corpus
    histories (34 of 53 weeks of one runner) and drowned the weeks that changed. The watch
    level is therefore said once per report, about the last ``habit_weeks`` weeks; a week
    below the high level (or a drop at the same speed, ``cadence-drop``) is still a flag.
    """
    c = inp.config.rules.low_cadence
    m = pl.col("cadence_spm_median")
    ok = m.is_not_null() & (pl.col("cadence_minutes") >= c.min_minutes)
    w = inp.weekly.with_columns(_grade(ok & (m < c.high_below_spm), pl.lit(False))).filter(
        pl.col("severity").is_not_null()
    )
    out = _usual_cadence(rule, inp, ok)
    for r in w.iter_rows(named=True):
        thr = c.high_below_spm  # weekly flags are high only; watch is the habit line
        lo, hi = c.band_low_spm, c.band_high_spm
        ev = (
            f"Week of {day_label(r['week_start'])}: median running cadence "
            f"{r['cadence_spm_median']:.0f} spm ({r['cadence_below_share'] * 100:.0f} % of "
            f"running time below {lo:g}, {r['cadence_in_share'] * 100:.0f} % within "
            f"{lo:g}–{hi:g}, {r['cadence_above_share'] * 100:.0f} % above) at a median "
            f"{r['cadence_speed_mps']:.1f} m/s ({_pace(r['cadence_speed_mps'])})."
        )
        out.append(_flag(rule, r["severity"], r["week_start"], r["cadence_spm_median"], thr, ev))
    return out


def _usual_cadence(rule: Rule, inp: Inputs, ok: pl.Expr) -> list[Flag]:
    """The athlete-level line: the time-weighted usual cadence of the last weeks < watch."""
    c = inp.config.rules.low_cadence
    if inp.weekly.height == 0:
        return []
    w = inp.weekly.sort("week_start").tail(c.habit_weeks)
    judged = w.filter(ok)
    if judged.height == 0:
        return []
    # plain lists, not numpy: a warm run imports no numpy (the sums are numpy's to the bit)
    minutes: list[float] = judged["cadence_minutes"].to_list()
    usual = weighted_median_list(judged["cadence_spm_median"].to_list(), minutes)
    if usual is None or usual >= c.watch_below_spm or usual < c.high_below_spm:
        return []  # in the band, or below the high level: the weekly flags say it
    below = int((judged["cadence_spm_median"] < c.watch_below_spm).sum())
    first, last = w["week_start"][0], w["week_start"][-1]
    lo, hi = c.band_low_spm, c.band_high_spm
    total = float_sum(minutes)

    def share(col: str) -> float:
        values = judged[col].fill_null(0.0).to_list()
        return float_sum([v * m for v, m in zip(values, minutes, strict=True)]) / total * 100.0

    speed = weighted_median_list(judged["cadence_speed_mps"].to_list(), minutes) or 0.0
    ev = (
        f"Your usual running cadence is {usual:.0f} spm ({share('cadence_below_share'):.0f} % "
        f"of running time below {lo:g}, {share('cadence_in_share'):.0f} % within "
        f"{lo:g}–{hi:g}, {share('cadence_above_share'):.0f} % above, at a median "
        f"{speed:.1f} m/s, {_pace(speed)}): below {lo:g} in {below} of the "
        f"{judged.height} week{'s' if judged.height != 1 else ''} with cadence data from "
        f"{day_label(first)} to {day_label(last + timedelta(days=6))}; the guide's band is "
        f"{lo:g}–{hi:g} spm, reached gradually by 5–10 % at the same speed."
    )
    return [_flag(rule, "watch", None, usual, float(c.watch_below_spm), ev)]


# --- cadence-drop --------------------------------------------------------------------------------


def cadence_by_week_band(inp: Inputs) -> pl.DataFrame:
    """Per (week, speed band): this week's median spm and seconds vs the pooled baseline.

    The baseline pools the raw histogram rows of the previous ``baseline_weeks`` weeks
    (each row is copied forward to the weeks it serves), so it is a true time-weighted
    median of those weeks, not a median of weekly medians.
    """
    c = inp.config.rules.cadence_drop
    if inp.cadence_hist.height == 0:
        return pl.DataFrame()
    wsi = inp.config.week_start_index
    # One lazy query, not eight eager ones: polars plans it once and shares ``hist``
    # between both branches (~30 % less time than eager on the 300-file bench set).
    hist = (
        inp.cadence_hist.lazy()
        .join(
            inp.activities.lazy().select(
                "activity_id", week_start_expr("local_date", wsi).alias("week_start")
            ),
            on="activity_id",
        )
        .group_by("week_start", "speed_bin", "spm")
        .agg(pl.col("seconds").sum())
    )
    current = hist.group_by("week_start", "speed_bin").agg(
        pl.col("seconds").sum().alias("cur_s"),
        weighted_median(pl.col("spm"), pl.col("seconds")).cast(pl.Float64).alias("cur_spm"),
    )
    forward = (
        hist.with_columns(pl.int_ranges(1, c.baseline_weeks + 1).alias("k"))
        .explode("k")
        .with_columns(
            (pl.col("week_start") + pl.duration(weeks=pl.col("k")))
            .cast(pl.Date)
            .alias("week_start")
        )
        .group_by("week_start", "speed_bin", "spm")
        .agg(pl.col("seconds").sum())
    )
    base = forward.group_by("week_start", "speed_bin").agg(
        pl.col("seconds").sum().alias("base_s"),
        weighted_median(pl.col("spm"), pl.col("seconds")).cast(pl.Float64).alias("base_spm"),
    )
    return (
        current.join(base, on=["week_start", "speed_bin"], how="inner")
        .filter(
            (pl.col("cur_s") >= c.min_bin_minutes * 60.0)
            & (pl.col("base_s") >= c.min_baseline_minutes * 60.0)
        )
        .with_columns(((pl.col("cur_spm") / pl.col("base_spm") - 1.0) * 100.0).alias("change"))
        .sort("week_start", "speed_bin")
        .collect(engine="in-memory")
    )


def _cadence_drop(rule: Rule, inp: Inputs) -> list[Flag]:
    c = inp.config.rules.cadence_drop
    bands = cadence_by_week_band(inp)
    if bands.height == 0:
        return []
    step = inp.config.metrics.speed_bin_mps
    weeks = bands.group_by("week_start").agg(
        ((pl.col("change") * pl.col("cur_s")).sum() / pl.col("cur_s").sum()).alias("change"),
        pl.col("speed_bin").sort_by("cur_s").last().alias("top_bin"),
        pl.col("cur_spm").sort_by("cur_s").last().alias("top_cur"),
        pl.col("base_spm").sort_by("cur_s").last().alias("top_base"),
    )
    ch = pl.col("change")
    weeks = (
        weeks.with_columns(_grade(ch <= -c.high_drop_pct, ch <= -c.watch_drop_pct))
        .filter(pl.col("severity").is_not_null())
        .sort("week_start")
    )
    out = []
    for r in weeks.iter_rows(named=True):
        thr = -c.high_drop_pct if r["severity"] == "high" else -c.watch_drop_pct
        lo = r["top_bin"]
        ev = (
            f"Week of {day_label(r['week_start'])}: at matched speeds cadence was "
            f"{-r['change']:.1f} % below your previous {c.baseline_weeks} weeks "
            f"({lo:.2f}–{lo + step:.2f} m/s: {r['top_cur']:.0f} vs {r['top_base']:.0f} spm)."
        )
        out.append(_flag(rule, r["severity"], r["week_start"], r["change"], thr, ev))
    return out


# --- strength-gap -------------------------------------------------------------------------------


def _strength_gap(rule: Rule, inp: Inputs) -> list[Flag]:
    """One athlete-level ``watch`` about the last ``window_weeks`` weeks of the table.

    The weekly table ends with the reported week (reports cut the data there, so a gym
    session logged later never changes an old report); sessions are counted over the
    weeks with running, and the line says that unrecorded strength work does not show.
    """
    c = inp.config.rules.strength_gap
    w = inp.weekly.sort("week_start") if inp.weekly.height else inp.weekly
    if w.height == 0:
        return []
    w = w.tail(c.window_weeks)
    running = w.filter(pl.col("runs") > 0)
    if running.height == 0:
        return []  # the advice is for runners; no running, nothing to weigh it against
    sessions = int(w["strength_sessions"].sum())
    per_week = sessions / running.height
    if per_week >= c.watch_below_per_week:
        return []
    n = w.height
    first, last = w["week_start"][0], w["week_start"][-1]
    span = (
        f"in the last {n} week{'s' if n != 1 else ''} "
        f"({day_label(first)} to {day_label(last + timedelta(days=6))})"
    )
    ignore = "; if you train without recording it, ignore this."
    if sessions == 0:
        ev = f"No strength session recorded {span}; the guide advises two a week{ignore}"
    else:
        ev = (
            f"{sessions} strength session{'s' if sessions != 1 else ''} recorded {span}, "
            f"{per_week:.1f} per running week; the guide advises {c.target_sessions} a "
            f"week{ignore}"
        )
    return [_flag(rule, "watch", None, per_week, float(c.watch_below_per_week), ev)]


EVALUATORS: dict[str, Callable[[Rule, Inputs], list[Flag]]] = {
    "volume-jump": _volume_jump,
    "session-spike": _session_spike,
    "downhill-share": _downhill_share,
    "downhill-jump": _downhill_jump,
    "low-cadence": _low_cadence,
    "cadence-drop": _cadence_drop,
    "strength-gap": _strength_gap,
}
"""Rule id -> evaluator; every rule of the catalogue has one (checked by the tests)."""


def sort_flags(flags: list[Flag]) -> list[Flag]:
    """High first, then week (athlete-level flags first), then rule id, then run."""
    return sorted(
        flags,
        key=lambda f: (
            -SEVERITY_RANK[f.severity],
            f.week_start or date.min,
            f.rule,
            f.activity or "",
        ),
    )


def evaluate(
    weekly: pl.DataFrame,
    activities: pl.DataFrame,
    cadence_hist: pl.DataFrame,
    config: Config | None = None,
    rules: tuple[Rule, ...] = RULES,
) -> list[Flag]:
    """All flags of ``rules`` over one athlete's tables, sorted (see :func:`sort_flags`)."""
    inp = Inputs(weekly, activities, cadence_hist, config or Config())
    flags: list[Flag] = []
    for rule in rules:
        flags.extend(EVALUATORS[rule.id](rule, inp))
    return sort_flags(flags)
