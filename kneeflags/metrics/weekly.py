"""Stage 2: the athlete's weekly table, built from per-activity summaries only.

Weeks are local calendar weeks (rules.md "Week"): each activity's ``local_date`` (the start
in the athlete's wall-clock time, never the UTC date) is mapped to the first day of its
week, Monday unless ``Config.week_start`` says otherwise. Every week between the first and
the last activity's week appears, zero-filled: a week off is data (it lowers the next
baseline), not a gap to skip.

Columns (one row per week, sorted by ``week_start``):

========================== ========= ===================================================
column                     dtype     meaning
========================== ========= ===================================================
week_start                 Date      first local day of the week
run_km                     Float64   running distance (treadmill/virtual runs included)
runs                       Int64     number of runs
run_minutes                Float64   running time (timer, else elapsed), minutes
longest_run_km             Float64   longest run of the week (0 when no run)
change_pct                 Float64   run_km vs the previous week, %; null when the
                                     previous week had under 1 km of running or is not
                                     in the data
baseline_km                Float64   ``volume-jump`` baseline: max(previous week, mean of
                                     the previous 4 weeks present in the data); null up
                                     to the first week with a run (earlier weeks are
                                     unknown running history, not 0 km)
graded_km                  Float64   km of runs with a usable altitude profile and a
                                     valid grade: the downhill share's denominator
downhill_km                Float64   km at grade ≤ −5 %; null when no run of the week has
                                     terrain data (treadmill / no elevation), never 0
steep_km                   Float64   km at grade ≤ −10 % (information); null as above
downhill_share             Float64   downhill_km ÷ graded_km (0–1); null when unknown
elevation_loss_m           Float64   descent of the week's runs (3 m hysteresis); null
                                     when no run had elevation
cadence_minutes            Float64   time-weighted running samples with cadence, minutes
cadence_spm_median         Float64   time-weighted median cadence of those samples (1 spm
                                     resolution); null without cadence data
cadence_speed_mps          Float64   time-weighted median speed (bin centre) of them
cadence_below_share        Float64   share of that time below 170 spm (band from config)
cadence_in_share           Float64   share within 170–180 spm inclusive
cadence_above_share        Float64   share above 180 spm
cross_training_minutes     Float64   cycling + swimming + rowing + other, minutes
xt_cycling_minutes         Float64   per-sport breakdown of cross_training_minutes
xt_swimming_minutes        Float64   (separate columns rather than a struct so the
xt_rowing_minutes          Float64   table stays flat for CSV and Parquet)
xt_other_minutes           Float64
walk_minutes               Float64   walking / hiking time: information only, neither
hike_minutes               Float64   running volume nor cross-training, never flagged
descent_on_foot_m          Float64   descent of the week's walks and hikes (3 m
                                     hysteresis; information only, never flagged: going
                                     downhill on foot loads the knee too); 0 when there
                                     was no walk or hike, null when none had elevation
strength_sessions          Int64     strength_training sessions
acwr                       Float64   EWMA 7/28 acute:chronic ratio of daily running km
                                     (Williams 2017) on the week's last day with data;
                                     information only, null during the first 28 days or
                                     when the chronic load is 0
========================== ========= ===================================================
"""

from __future__ import annotations

from datetime import date

import polars as pl

from kneeflags.config import Config
from kneeflags.metrics.cadence import weighted_median
from kneeflags.metrics.summary import ACTIVITY_SUMMARY_SCHEMA

XT_SPORTS: tuple[str, ...] = ("cycling", "swimming", "rowing", "other")
"""Sports counted as cross-training (:attr:`Sport.is_cross_training`), one column each."""

WEEKLY_SCHEMA: dict[str, pl.DataType] = {
    "week_start": pl.Date(),
    "run_km": pl.Float64(),
    "runs": pl.Int64(),
    "run_minutes": pl.Float64(),
    "longest_run_km": pl.Float64(),
    "change_pct": pl.Float64(),
    "baseline_km": pl.Float64(),
    "graded_km": pl.Float64(),
    "downhill_km": pl.Float64(),
    "steep_km": pl.Float64(),
    "downhill_share": pl.Float64(),
    "elevation_loss_m": pl.Float64(),
    "cadence_minutes": pl.Float64(),
    "cadence_spm_median": pl.Float64(),
    "cadence_speed_mps": pl.Float64(),
    "cadence_below_share": pl.Float64(),
    "cadence_in_share": pl.Float64(),
    "cadence_above_share": pl.Float64(),
    "cross_training_minutes": pl.Float64(),
    **{f"xt_{s}_minutes": pl.Float64() for s in XT_SPORTS},
    "walk_minutes": pl.Float64(),
    "hike_minutes": pl.Float64(),
    "descent_on_foot_m": pl.Float64(),
    "strength_sessions": pl.Int64(),
    "acwr": pl.Float64(),
}
"""Column -> dtype of the weekly table (see the module docstring)."""


def week_start_expr(date_col: str | pl.Expr, week_start_index: int) -> pl.Expr:
    """First day of the local week containing ``date_col`` (0 = weeks start on Monday)."""
    col = pl.col(date_col) if isinstance(date_col, str) else date_col
    back = (col.dt.weekday() - 1 - week_start_index) % 7  # polars: Monday = 1
    return (col - pl.duration(days=back)).cast(pl.Date)


def week_of(day: date, week_start_index: int = 0) -> date:
    """Python twin of :func:`week_start_expr` for single dates (labels, tests)."""
    from datetime import timedelta

    return day - timedelta(days=(day.weekday() - week_start_index) % 7)


def _known_sum(col: str) -> pl.Expr:
    """Sum that stays null when every value is null (unknown is not zero)."""
    return pl.when(pl.col(col).is_not_null().any()).then(pl.col(col).sum()).otherwise(None)


def weekly_table(
    activities: pl.DataFrame,
    cadence_hist: pl.DataFrame,
    config: Config | None = None,
) -> pl.DataFrame:
    """Build the weekly table from summary rows and the cadence histogram."""
    config = config or Config()
    if activities.height == 0:
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    wsi = config.week_start_index
    acts = activities.cast(ACTIVITY_SUMMARY_SCHEMA).with_columns(
        week_start_expr("local_date", wsi).alias("week_start")
    )
    first, last = acts["week_start"].min(), acts["week_start"].max()
    weeks = pl.DataFrame({"week_start": pl.date_range(first, last, interval="1w", eager=True)})

    # One lazy query for the whole table (planned once, collected once) instead of ~17
    # eager ones: the per-query set-up, not the arithmetic, dominated on a few hundred weeks.
    runs = (
        acts.lazy()
        .filter(pl.col("is_running"))
        .group_by("week_start")
        .agg(
            pl.col("distance_km").sum().alias("run_km"),
            pl.len().cast(pl.Int64).alias("runs"),
            (pl.col("duration_s").sum() / 60.0).alias("run_minutes"),
            pl.col("distance_km").max().alias("longest_run_km"),
            _known_sum("graded_km").alias("graded_km"),
            _known_sum("downhill_km").alias("downhill_km"),
            _known_sum("steep_km").alias("steep_km"),
            _known_sum("elevation_loss_m").alias("elevation_loss_m"),
        )
    )

    band = config.rules.low_cadence
    if cadence_hist.height:
        hist = cadence_hist.lazy().join(
            acts.lazy().select("activity_id", "week_start"), on="activity_id", how="inner"
        )
        total = pl.col("seconds").sum()
        cad = hist.group_by("week_start").agg(
            (total / 60.0).alias("cadence_minutes"),
            weighted_median(pl.col("spm"), pl.col("seconds"))
            .cast(pl.Float64)
            .alias("cadence_spm_median"),
            (
                weighted_median(pl.col("speed_bin"), pl.col("seconds"))
                + config.metrics.speed_bin_mps / 2.0
            ).alias("cadence_speed_mps"),
            (pl.col("seconds").filter(pl.col("spm") < band.band_low_spm).sum() / total).alias(
                "cadence_below_share"
            ),
            (
                pl.col("seconds")
                .filter(pl.col("spm").is_between(band.band_low_spm, band.band_high_spm))
                .sum()
                / total
            ).alias("cadence_in_share"),
            (pl.col("seconds").filter(pl.col("spm") > band.band_high_spm).sum() / total).alias(
                "cadence_above_share"
            ),
        )
    else:
        cad = pl.DataFrame(
            schema={
                "week_start": pl.Date(),
                **{
                    k: WEEKLY_SCHEMA[k]
                    for k in WEEKLY_SCHEMA
                    if k.startswith("cadence_") and k != "cadence_minutes"
                },
                "cadence_minutes": pl.Float64(),
            }
        ).lazy()

    minutes = pl.col("duration_s") / 60.0
    on_foot = pl.col("sport").is_in(["walking", "hiking"])
    other = (
        acts.lazy()
        .group_by("week_start")
        .agg(
            minutes.filter(pl.col("is_cross_training")).sum().alias("cross_training_minutes"),
            *[
                minutes.filter(pl.col("sport") == s).sum().alias(f"xt_{s}_minutes")
                for s in XT_SPORTS
            ],
            minutes.filter(pl.col("sport") == "walking").sum().alias("walk_minutes"),
            minutes.filter(pl.col("sport") == "hiking").sum().alias("hike_minutes"),
            pl.when(on_foot.any())
            .then(
                pl.when(pl.col("elevation_loss_m").filter(on_foot).is_not_null().any())
                .then(pl.col("elevation_loss_m").filter(on_foot).sum())
                .otherwise(None)
            )
            .otherwise(0.0)
            .alias("descent_on_foot_m"),
            pl.col("is_strength").sum().cast(pl.Int64).alias("strength_sessions"),
        )
    )

    vj = config.rules.volume_jump
    prev = pl.col("run_km").shift(1)
    # Weeks before the first recorded run (present only because a ride or a walk was) are
    # unknown running history, not weeks of 0 km: they must not lower the baseline, or
    # logging a bike ride would turn a runner's normal week into a "jump".
    running_history = pl.when(pl.col("runs").cum_sum() > 0).then(pl.col("run_km"))
    prev_known = running_history.shift(1)
    table = (
        weeks.lazy()
        .join(runs, on="week_start", how="left")
        .join(cad, on="week_start", how="left")
        .join(other, on="week_start", how="left")
        .sort("week_start")
        .with_columns(
            pl.col("run_km", "run_minutes", "longest_run_km").fill_null(0.0),
            pl.col("runs", "strength_sessions").fill_null(0),
            pl.col("cross_training_minutes", "walk_minutes", "hike_minutes").fill_null(0.0),
            # A week without any activity row had no walk either: 0 m, not unknown.
            pl.when(pl.col("walk_minutes").is_null())
            .then(0.0)
            .otherwise(pl.col("descent_on_foot_m"))
            .alias("descent_on_foot_m"),
            *[pl.col(f"xt_{s}_minutes").fill_null(0.0) for s in XT_SPORTS],
            pl.col("cadence_minutes").fill_null(0.0),
        )
        .with_columns(
            # never a percentage of under 1 km (a 0.3 km jog, or 1e-15 of float rounding)
            pl.when(prev >= 1.0).then((pl.col("run_km") / prev - 1.0) * 100.0).alias("change_pct"),
            pl.max_horizontal(
                prev_known,
                prev_known.rolling_mean(window_size=vj.baseline_weeks, min_samples=1),
            ).alias("baseline_km"),
            pl.when(pl.col("graded_km") > 0)
            .then(pl.col("downhill_km") / pl.col("graded_km"))
            .alias("downhill_share"),
        )
    )
    table = table.join(_weekly_acwr(acts, config).lazy(), on="week_start", how="left")
    return table.select([pl.col(k).cast(v) for k, v in WEEKLY_SCHEMA.items()]).collect(
        engine="in-memory"
    )


def daily_running_km(activities: pl.DataFrame) -> pl.DataFrame:
    """Running km per local day, zero-filled from the first to the last activity day."""
    first, last = activities["local_date"].min(), activities["local_date"].max()
    days = pl.DataFrame({"local_date": pl.date_range(first, last, interval="1d", eager=True)})
    km = (
        activities.filter(pl.col("is_running"))
        .group_by("local_date")
        .agg(pl.col("distance_km").sum().alias("km"))
    )
    return days.join(km, on="local_date", how="left").with_columns(pl.col("km").fill_null(0.0))


def _weekly_acwr(acts: pl.DataFrame, config: Config) -> pl.DataFrame:
    """EWMA acute:chronic ratio (λ = 2/(N+1)) read on each week's last day with data.

    Williams 2017's recursion needs a starting value; seeding it with the first day's load
    (a single run) biases the chronic average for weeks. The bias-corrected form
    (``adjust=True``: the same exponential weights, normalised over the days seen) avoids
    that and converges to the recursion as the start decays. Still information only.
    """
    ac = config.rules.acwr
    daily = daily_running_km(acts).sort("local_date")
    daily = daily.with_columns(
        pl.col("km").ewm_mean(alpha=2.0 / (ac.acute_days + 1), adjust=True).alias("acute"),
        pl.col("km").ewm_mean(alpha=2.0 / (ac.chronic_days + 1), adjust=True).alias("chronic"),
        pl.int_range(pl.len()).alias("day_index"),
        week_start_expr("local_date", config.week_start_index).alias("week_start"),
    ).with_columns(
        pl.when((pl.col("day_index") >= ac.chronic_days - 1) & (pl.col("chronic") > 0))
        .then(pl.col("acute") / pl.col("chronic"))
        .alias("acwr")
    )
    return daily.group_by("week_start").agg(pl.col("acwr").sort_by("local_date").last())
