"""The prevention plan: next week's numbers that keep a healthy runner inside the rules.

For the week after the reported one, each cap is the point at which the rule that
guards it would start to flag, computed from the athlete's own history up to the end
of the reported week (never later: a plan about week W+1 is made on Sunday of week W):

* ``next_week_km_max``: ``volume-jump``'s baseline for next week (the larger of this
  week and the mean of the last ``baseline_weeks`` weeks) plus at most 10 % (the guide's
  "no more than 10 % per week"; a lower ``watch_pct`` in the config lowers it).
* ``long_run_km_max``: ``session-spike``'s baseline (the longest run of the last
  ``window_days`` days) plus at most 10 % (Frandsen 2025: beyond +10 % the injury rate
  rises).
* ``downhill_km_max``: ``downhill-jump``'s watch line over the largest downhill week of
  the last ``baseline_weeks`` weeks (the guide: introduce downhill running gradually).
* ``cadence_target_spm``: at the athlete's usual easy pace (the speed band holding most
  running time over the ``cadence-drop`` baseline weeks), +5–10 % at the same speed,
  capped at the top of the guide's band, when the cadence there is below the band's
  bottom (guide: ITBS gait correction; cadence monitoring).
* ``strength_sessions_target``: the guide's two a week (``strength-gap``).

A cap whose baseline is unknown or too small to scale (under 1 km: no history, or a
break) is ``None`` and its reason says why in words, never a 0 or a made-up number.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl

from kneeflags.config import Config
from kneeflags.metrics.cadence import weighted_median
from kneeflags.plan.model import Plan, PlanReason

MIN_BASELINE_KM = 1.0
"""Below this a baseline is not scaled by a percentage (a 10 % rise on 0.2 km says nothing)."""
MAX_RISE_PCT = 10.0
"""The guide's weekly ceiling; a config may only lower it."""
CADENCE_RAISE = (0.05, 0.10)
"""The guide's 5–10 % cadence increase at the same speed."""

GUIDE_MILEAGE = "Prevention: Keeping Both Conditions at Bay — Progressive mileage increases"
GUIDE_DOWNHILL = (
    "Prevention: Keeping Both Conditions at Bay — Progressive mileage increases "
    "(introduce downhill running gradually)"
)
GUIDE_CADENCE = "IT Band Syndrome — Gait correction; Prevention — Cadence monitoring"
GUIDE_STRENGTH = "Prevention: Keeping Both Conditions at Bay — Two strength sessions per week"


def _num(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def _pace(speed_mps: float) -> str:
    sec = round(1000.0 / speed_mps)
    return f"{sec // 60}:{sec % 60:02d} /km"


def _signed(x: float) -> str:
    return f"{x:g}".replace("-", "−")


def _round_down(x: float, step: float = 0.1) -> float:
    """Caps are rounded down (to 0.1 km): rounding must never lift a cap over its rule."""
    return math.floor(x / step + 1e-9) * step


def prevention_plan(
    weekly: pl.DataFrame,
    activities: pl.DataFrame,
    cadence_hist: pl.DataFrame,
    reported_week: date,
    config: Config | None = None,
) -> Plan:
    """The plan for the week after ``reported_week`` (its first day), from data up to its end."""
    cfg = config or Config()
    end = reported_week + timedelta(days=6)
    weeks = _weeks_upto(weekly, reported_week)
    acts = _activities_upto(activities, end)
    reasons: list[PlanReason] = []
    km_max = _weekly_cap(weeks, reported_week, cfg, reasons)
    long_max = _long_run_cap(acts, end, cfg, reasons)
    down_max = _downhill_cap(weeks, reported_week, cfg, reasons)
    cadence = _cadence_target(acts, cadence_hist, reported_week, cfg, reasons)
    target = int(cfg.rules.strength_gap.target_sessions)
    reasons.append(
        PlanReason(
            item="strength_sessions_target",
            rule="strength-gap",
            text=(
                f"{target} strength sessions: hip abductors, glutes, quadriceps and hip "
                "external rotators (the guide's prevention programme for both conditions)."
            ),
            guide=GUIDE_STRENGTH,
        )
    )
    return Plan(
        state="prevention",
        week_start=reported_week + timedelta(weeks=1),
        next_week_km_max=km_max,
        long_run_km_max=long_max,
        downhill_km_max=down_max,
        cadence_target_spm=cadence,
        strength_sessions_target=target,
        reasons=tuple(reasons),
    )


# ---------------------------------------------------------------------------------------
# inputs cut at the end of the reported week


def _weeks_upto(weekly: pl.DataFrame, last: date) -> pl.DataFrame:
    if weekly.height == 0 or "week_start" not in weekly.columns:
        return pl.DataFrame()
    return weekly.filter(pl.col("week_start") <= last).sort("week_start")


def _activities_upto(acts: pl.DataFrame, end: date) -> pl.DataFrame:
    if acts.height == 0 or "local_date" not in acts.columns or "is_running" not in acts.columns:
        return pl.DataFrame()
    return acts.filter(pl.col("local_date") <= end)


def _recent_weeks(weeks: pl.DataFrame, last: date, n: int, column: str) -> list[float | None]:
    """``column`` for the ``n`` weeks ending with ``last``, most recent first.

    A week missing from the table after the data's first week (the reported week lies
    past the last activity) had no activity: 0 for running km, unknown for downhill.
    Weeks before the data's first week are not history at all and are left out.
    """
    if weeks.height == 0 or column not in weeks.columns:
        return []
    first = weeks.get_column("week_start").min()
    by_week = dict(
        zip(
            weeks.get_column("week_start").to_list(),
            weeks.get_column(column).to_list(),
            strict=True,
        )
    )
    empty = 0.0 if column == "run_km" else None
    out: list[float | None] = []
    for k in range(n):
        wk = last - timedelta(weeks=k)
        if not isinstance(first, date) or wk < first:
            break
        out.append(_num(by_week[wk]) if wk in by_week else empty)
    return out


# ---------------------------------------------------------------------------------------
# the caps


def _weekly_cap(
    weeks: pl.DataFrame, reported: date, cfg: Config, reasons: list[PlanReason]
) -> float | None:
    vj = cfg.rules.volume_jump
    rise = min(float(vj.watch_pct), MAX_RISE_PCT)
    kms = _recent_weeks(weeks, reported, vj.baseline_weeks, "run_km")
    this_week = kms[0] if kms else 0.0
    known = [k for k in kms if k is not None]
    mean = sum(known) / len(known) if known else 0.0
    baseline = max(this_week or 0.0, mean)
    item, rule = "next_week_km_max", "volume-jump"
    if baseline < MIN_BASELINE_KM:
        reasons.append(
            PlanReason(
                item,
                rule,
                f"No weekly cap can be computed: under {MIN_BASELINE_KM:g} km of running in "
                f"the last {vj.baseline_weeks} weeks. Start well below your earlier level and "
                "build by no more than 10 % a week.",
                GUIDE_MILEAGE,
            )
        )
        return None
    cap = _round_down(baseline * (1.0 + rise / 100.0))
    which = "this week" if baseline == (this_week or 0.0) else f"your {vj.baseline_weeks}-week mean"
    reasons.append(
        PlanReason(
            item,
            rule,
            f"At most {cap:.1f} km: {rise:g} % over {baseline:.1f} km ({which}), the baseline "
            "the volume-jump rule measures next week against.",
            GUIDE_MILEAGE,
        )
    )
    return cap


def _long_run_cap(
    acts: pl.DataFrame, end: date, cfg: Config, reasons: list[PlanReason]
) -> float | None:
    ss = cfg.rules.session_spike
    rise = min(float(ss.watch_pct), MAX_RISE_PCT)
    item, rule = "long_run_km_max", "session-spike"
    since = end - timedelta(days=ss.window_days - 1)
    longest = None
    if acts.height and "distance_km" in acts.columns:
        runs = acts.filter(
            pl.col("is_running").fill_null(False)
            & (pl.col("local_date") >= since)
            & pl.col("distance_km").is_not_null()
        )
        if runs.height:
            longest = _num(runs.get_column("distance_km").max())
    if longest is None or longest < MIN_BASELINE_KM:
        reasons.append(
            PlanReason(
                item,
                rule,
                f"No long-run cap can be computed: no run of {MIN_BASELINE_KM:g} km or more in "
                f"the {ss.window_days} days to {_day(end)}. Keep the first runs short.",
                GUIDE_MILEAGE,
            )
        )
        return None
    cap = _round_down(longest * (1.0 + rise / 100.0))
    reasons.append(
        PlanReason(
            item,
            rule,
            f"Longest run at most {cap:.1f} km: {rise:g} % over {longest:.1f} km, your longest "
            f"run of the {ss.window_days} days to {_day(end)}; single runs beyond that raised "
            "the injury rate in 5,205 Garmin runners.",
            GUIDE_MILEAGE,
        )
    )
    return cap


def _downhill_cap(
    weeks: pl.DataFrame, reported: date, cfg: Config, reasons: list[PlanReason]
) -> float | None:
    dj = cfg.rules.downhill_jump
    item, rule = "downhill_km_max", "downhill-jump"
    recent = _recent_weeks(weeks, reported, dj.baseline_weeks, "downhill_km")
    known = [x for x in recent if x is not None]
    if not known:
        reasons.append(
            PlanReason(
                item,
                rule,
                f"No downhill cap can be computed: no run with elevation data in the last "
                f"{dj.baseline_weeks} weeks. Bring downhill running in gradually.",
                GUIDE_DOWNHILL,
            )
        )
        return None
    prev = max(known)
    cap = _round_down(max(prev * dj.watch_ratio, prev + dj.watch_min_rise_km * 0.999))
    reasons.append(
        PlanReason(
            item,
            rule,
            f"Downhill (grade ≤ {_signed(cfg.metrics.downhill_grade_pct)} %) at most {cap:.1f} km: "
            f"your largest downhill week of the last {dj.baseline_weeks} weeks was "
            f"{prev:.1f} km, and the downhill-jump rule watches beyond {dj.watch_ratio:g}× "
            f"with a rise of {dj.watch_min_rise_km:g} km.",
            GUIDE_DOWNHILL,
        )
    )
    return cap


def _cadence_target(
    acts: pl.DataFrame,
    hist: pl.DataFrame,
    reported: date,
    cfg: Config,
    reasons: list[PlanReason],
) -> tuple[float, float] | None:
    lc = cfg.rules.low_cadence
    cd = cfg.rules.cadence_drop
    item, rule = "cadence_target_spm", "low-cadence"
    band = f"{lc.band_low_spm:g}–{lc.band_high_spm:g} spm"
    usual = _usual_easy_cadence(acts, hist, reported, cfg)
    if usual is None:
        reasons.append(
            PlanReason(
                item,
                rule,
                f"No cadence target: too little running with cadence data in the last "
                f"{cd.baseline_weeks} weeks. The guide's band is {band}.",
                GUIDE_CADENCE,
            )
        )
        return None
    spm, speed = usual
    pace = f"{_pace(speed + cfg.metrics.speed_bin_mps)[:-4]}–{_pace(speed)}"
    if spm >= lc.band_low_spm:
        reasons.append(
            PlanReason(
                item,
                rule,
                f"No change needed: {spm:.0f} spm at your usual easy pace ({pace}) is within "
                f"or above the guide's {band}.",
                GUIDE_CADENCE,
            )
        )
        return None
    low = float(min(round(spm * (1 + CADENCE_RAISE[0])), lc.band_high_spm))
    high = float(min(round(spm * (1 + CADENCE_RAISE[1])), lc.band_high_spm))
    reasons.append(
        PlanReason(
            item,
            rule,
            f"Cadence {low:.0f}–{high:.0f} spm at your usual easy pace ({pace}), where it is "
            f"{spm:.0f} spm now: 5–10 % more, shorter and quicker steps at the same speed, "
            f"capped at {lc.band_high_spm:g}.",
            GUIDE_CADENCE,
        )
    )
    return (low, high)


def _usual_easy_cadence(
    acts: pl.DataFrame, hist: pl.DataFrame, reported: date, cfg: Config
) -> tuple[float, float] | None:
    """(median spm, lower edge m/s) of the speed band with most running time lately.

    The band a runner spends most time in is their usual (easy) pace; the cadence target
    is set there, at the same speed, as the guide's correction asks.
    """
    cd = cfg.rules.cadence_drop
    lc = cfg.rules.low_cadence
    need = {"activity_id", "speed_bin", "spm", "seconds"}
    if acts.height == 0 or hist.height == 0 or not need <= set(hist.columns):
        return None
    since = reported - timedelta(weeks=cd.baseline_weeks - 1)
    ids = acts.filter(
        (pl.col("local_date") >= since) & pl.col("is_running").fill_null(False)
    ).get_column("activity_id")
    part = hist.filter(pl.col("activity_id").is_in(ids.implode()))
    if part.height == 0:
        return None
    bands = (
        part.group_by("speed_bin")
        .agg(
            pl.col("seconds").sum().alias("s"),
            weighted_median(pl.col("spm"), pl.col("seconds")).cast(pl.Float64).alias("spm"),
        )
        .sort(["s", "speed_bin"], descending=[True, False])
    )
    top = bands.row(0, named=True)
    if top["s"] < lc.min_minutes * 60.0 or top["spm"] is None:
        return None
    return float(top["spm"]), float(top["speed_bin"])
