"""Hand-built analyses for the report tests: renderers are tested without parsing files.

The frames follow the column names of :mod:`kneeflags.metrics.weekly` and
:mod:`kneeflags.metrics.summary`, but carry only the columns the reports read, so
the tests also prove the model tolerates missing optional columns.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from kneeflags.findings import Analysis, Flag

FIRST_MONDAY = date(2025, 11, 3)
HOSTILE = "<script>alert(1)</script>"


def make_analysis(
    athlete: str = "anna",
    *,
    weeks: int = 14,
    activity_name: str = HOSTILE,
    seed: int = 7,
) -> Analysis:
    """``weeks`` weeks of three runs each, a volume jump in the last-but-one week."""
    rng = np.random.default_rng(seed)
    week_rows = []
    act_rows = []
    hist_rows = []
    prev_km = None
    for w in range(weeks):
        monday = FIRST_MONDAY + timedelta(weeks=w)
        base = 30.0 + w if w != weeks - 2 else 52.0
        dists = [round(base * f, 2) for f in (0.25, 0.30, 0.45)]
        treadmill = w == 3
        for i, d in enumerate(dists):
            start = datetime.combine(monday + timedelta(days=2 * i + 1), datetime.min.time())
            start = start + timedelta(hours=7, minutes=30)
            aid = f"{w:04d}{i:012d}:0"
            down = None if treadmill else round(d * (0.30 if w == weeks - 1 else 0.08), 3)
            act_rows.append(
                {
                    "activity_id": aid,
                    "source": f"/data/{athlete}/run_{w}_{i}.fit",
                    "format": "fit",
                    "name": activity_name if (w, i) == (weeks - 1, 0) else f"Run {w}.{i}",
                    "sport": "treadmill_running" if treadmill else "running",
                    "local_start": start,
                    "local_date": start.date(),
                    "distance_km": d,
                    "duration_s": d * 330.0,
                    "is_running": True,
                    "graded_km": None if treadmill else d,
                    "downhill_km": down,
                    "elevation_loss_m": None if treadmill else d * 9.0,
                    "cadence_spm_median": 164.0 + i,
                    "partial": False,
                }
            )
            spms = np.arange(150, 186)
            secs = np.round(rng.random(spms.size) * 60 + 5, 1)
            hist_rows.extend(
                {"activity_id": aid, "speed_bin": 2.75, "spm": int(s), "seconds": float(t)}
                for s, t in zip(spms, secs, strict=True)
            )
        run_km = sum(dists)
        change = None if prev_km is None else (run_km / prev_km - 1) * 100
        week_rows.append(
            {
                "week_start": monday,
                "run_km": run_km,
                "runs": 3,
                "run_minutes": run_km * 5.5,
                "longest_run_km": max(dists),
                "change_pct": change,
                "baseline_km": prev_km,
                "downhill_km": None if treadmill else run_km * 0.08,
                "steep_km": None if treadmill else run_km * 0.01,
                "downhill_share": None if treadmill else (0.30 if w == weeks - 1 else 0.08),
                "elevation_loss_m": None if treadmill else run_km * 9,
                "cadence_spm_median": 165.0,
                "cadence_below_share": 0.6,
                "cadence_in_share": 0.3,
                "cadence_above_share": 0.1,
                "cross_training_minutes": 45.0 if w % 2 else 0.0,
                "xt_cycling_minutes": 45.0 if w % 2 else 0.0,
                "xt_swimming_minutes": 0.0,
                "strength_sessions": w % 3 == 0,
                "acwr": None if w < 4 else 1.0 + w / 100,
            }
        )
        prev_km = run_km
    weekly = pl.DataFrame(week_rows).with_columns(pl.col("strength_sessions").cast(pl.Int64))
    activities = pl.DataFrame(act_rows)
    hist = pl.DataFrame(hist_rows)
    jump_week = FIRST_MONDAY + timedelta(weeks=weeks - 2)
    last_week = FIRST_MONDAY + timedelta(weeks=weeks - 1)
    flags = [
        Flag(
            rule="volume-jump",
            conditions=("ITBS", "PFPS"),
            severity="high",
            week_start=jump_week,
            value=52.0,
            threshold=30.0,
            evidence=f"Week of {jump_week:%d %b}: 52.0 km, up 53 % on the 42.0 km baseline.",
            advice=("Raise weekly running volume by no more than about 10 %.",),
            reference="Nielsen et al. 2014, JOSPT 44:739-747",
        ),
        Flag(
            rule="downhill-share",
            conditions=("ITBS", "PFPS"),
            severity="high",
            week_start=last_week,
            value=30.0,
            threshold=25.0,
            evidence="Week of last: 30 % of running distance was downhill.",
            advice=("Introduce downhill running gradually.",),
            reference="[eng] engineering default",
        ),
        Flag(
            rule="session-spike",
            conditions=("ITBS", "PFPS"),
            severity="watch",
            week_start=last_week,
            value=25.0,
            threshold=10.0,
            evidence=f"Run {HOSTILE}: 25 % longer than the longest run of the previous 30 days.",
            advice=("If pain starts at a given distance, train below that distance.",),
            reference="Frandsen et al. 2025, BJSM 59:1203-1210",
            activity=f"{weeks - 1:04d}{2:012d}:0",
            activity_label=f"{HOSTILE} 20 km",
        ),
    ]
    flags += [
        Flag(
            rule="low-cadence",
            conditions=("PFPS", "ITBS"),
            severity="watch",
            week_start=FIRST_MONDAY + timedelta(weeks=w),
            value=165.0,
            threshold=170.0,
            evidence=f"Week {w}: median cadence 165 spm, below the 170-180 spm target.",
            advice=(
                "About 170-180 spm lowers patellofemoral load.",
                "Raise cadence by 5-10 % with shorter, quicker steps.",
            ),
            reference="Guide; Heiderscheit et al. 2011",
        )
        for w in range(weeks - 4, weeks)
    ]
    flags.append(
        Flag(
            rule="strength-gap",
            conditions=("ITBS", "PFPS"),
            severity="watch",
            week_start=None,
            value=0.0,
            threshold=1.0,
            evidence="No strength session recorded in the whole period.",
            advice=("Two strength sessions a week: hip abductors, glutes, quadriceps.",),
            reference="Guide",
        )
    )
    return Analysis(
        athlete=athlete,
        timezone="Europe/London",
        weekly=weekly,
        activities=activities,
        flags=flags,
        cadence_hist=hist,
        notes=["Cadence unit guessed as strides in 2 GPX files."],
    )


def empty_analysis(athlete: str = "nobody") -> Analysis:
    """What analysis gives when no file could be read."""
    return Analysis(
        athlete=athlete,
        timezone="UTC",
        weekly=pl.DataFrame(schema={"week_start": pl.Date(), "run_km": pl.Float64()}),
        activities=pl.DataFrame(),
    )
