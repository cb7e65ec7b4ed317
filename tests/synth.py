"""Builders of synthetic canonical :class:`~kneeflags.model.Activity` objects for tests.

Metrics and rules are tested on activities whose truth is known by construction, without
any file format in the way. Other test modules may import these helpers::

    from synth import make_run, make_activity, flat, descend, local  # tests/ is on sys.path

    run = make_run(local(2026, 1, 26, 7, 30), km=10, pace_min_km=5.5, cadence_spm=172,
                   altitude=descend(0.06, from_fraction=0.5), tz="Europe/London")

Conventions
-----------
* ``start`` is the *local* wall-clock start (naive ``datetime``); ``tz`` is either an IANA
  zone name (the offset is then taken at that instant, so DST is honoured) or a fixed
  offset in seconds. The activity stores ``start_utc`` and ``utc_offset_s`` like ingest does.
* Samples follow :data:`~kneeflags.model.SAMPLE_SCHEMA`; ``interval_s`` is either a
  constant (1.0 = 1 Hz) or ``"smart"`` for Garmin-smart-recording-like irregular 1–8 s gaps.
* ``altitude`` is a function of the distance array (metres) returning metres, or ``None``
  for no elevation at all (treadmill, phone without altitude).
* ``cadence_spm`` is a number (constant), a function of the elapsed-seconds array, or
  ``None`` (no cadence sensor).
* ``with_samples=False`` gives an activity with session totals only (fast, for property
  tests about volumes).
* The activity id comes from a hash of the arguments plus ``uid``; pass distinct ``uid``
  values to create otherwise identical activities.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from kneeflags.model import (
    SAMPLE_SCHEMA,
    Activity,
    Provenance,
    SourceRef,
    Sport,
    conform_samples,
    empty_samples,
)

Profile = Callable[[np.ndarray], np.ndarray]


def local(year: int, month: int, day: int, hour: int = 7, minute: int = 0) -> datetime:
    """Naive local wall-clock time (readability helper)."""
    return datetime(year, month, day, hour, minute)


def to_utc(start_local: datetime, tz: str | int) -> tuple[datetime, int]:
    """(UTC start, offset seconds) of a local wall-clock time in ``tz``."""
    if isinstance(tz, int):
        offset = tz
    else:
        aware = start_local.replace(tzinfo=ZoneInfo(tz))
        offset = int(aware.utcoffset().total_seconds())  # type: ignore[union-attr]
    return (start_local - timedelta(seconds=offset)).replace(tzinfo=UTC), offset


# --- altitude profiles --------------------------------------------------------------------


def flat(base_m: float = 100.0, noise_m: float = 0.0, seed: int = 0) -> Profile:
    """Level ground, optionally with uniform ±``noise_m`` GPS-like jitter per sample."""

    def profile(d: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return base_m + rng.uniform(-noise_m, noise_m, d.size)

    return profile


def descend(grade: float, from_fraction: float = 0.5, base_m: float = 500.0) -> Profile:
    """Flat, then descending at ``grade`` (positive number, e.g. 0.06) from a fraction on.

    The fraction is of the run's final distance, so ``descend(0.06, 0.5)`` is downhill for
    the second half.
    """

    def profile(d: np.ndarray) -> np.ndarray:
        start = from_fraction * float(d.max()) if d.size else 0.0
        return base_m - grade * np.clip(d - start, 0.0, None)

    return profile


def hills(amplitude_m: float = 20.0, wavelength_m: float = 1000.0, base_m: float = 200.0):
    """Rolling hills (sinusoid): about as much downhill as uphill."""

    def profile(d: np.ndarray) -> np.ndarray:
        return base_m + amplitude_m * np.sin(2 * np.pi * d / wavelength_m)

    return profile


# --- activities -----------------------------------------------------------------------------


def _intervals(interval_s: float | str, n_hint: int, seed: int) -> np.ndarray:
    if interval_s == "smart":
        rng = np.random.default_rng(seed + 17)
        return rng.integers(1, 9, size=n_hint).astype(np.float64)
    return np.full(n_hint, float(interval_s))


def make_activity(
    start: datetime,
    *,
    sport: Sport = Sport.RUNNING,
    km: float = 10.0,
    minutes: float | None = None,
    pace_min_km: float = 5.5,
    cadence_spm: float | Callable[[np.ndarray], np.ndarray] | None = 170.0,
    altitude: Profile | None = None,
    tz: str | int = 0,
    interval_s: float | str = 1.0,
    with_samples: bool = True,
    elevation_source: str | None = None,
    name: str | None = None,
    uid: int | str = 0,
    seed: int = 0,
    sport_detail: str = "",
) -> Activity:
    """Any activity at a constant pace; see the module docstring for the conventions.

    ``minutes`` overrides the duration implied by ``km`` and ``pace_min_km`` (strength
    sessions: ``km=0, minutes=45``).
    """
    start_utc, offset = to_utc(start, tz)
    duration_s = minutes * 60.0 if minutes is not None else km * pace_min_km * 60.0
    digest = hashlib.sha256(
        repr((start, sport, km, minutes, pace_min_km, tz, name, uid, seed)).encode()
    ).hexdigest()
    cad_unit = "none" if cadence_spm is None else "strides"
    elev = elevation_source or ("none" if altitude is None else "gps")
    prov = Provenance(
        cadence_unit=cad_unit,  # type: ignore[arg-type]
        cadence_reason="synthetic" if cadence_spm is not None else "",
        elevation_source=elev,  # type: ignore[arg-type]
        distance_source="file" if km else "none",
        decoder="synth",
    )
    if with_samples and duration_s > 0:
        samples = _samples(start_utc, km, duration_s, cadence_spm, altitude, interval_s, seed)
    else:
        samples = empty_samples()
    return Activity(
        source=SourceRef(f"synthetic/{digest[:8]}.fit"),
        sha256=digest,
        format="fit",
        sport=sport,
        sport_detail=sport_detail or sport.value,
        start_utc=start_utc,
        samples=samples,
        name=name,
        utc_offset_s=offset,
        utc_offset_source="fit_local_timestamp",
        device="synthetic",
        distance_m=km * 1000.0 if km else None,
        timer_s=duration_s,
        elapsed_s=duration_s,
        provenance=prov,
    )


def _samples(
    start_utc: datetime,
    km: float,
    duration_s: float,
    cadence_spm: float | Callable[[np.ndarray], np.ndarray] | None,
    altitude: Profile | None,
    interval_s: float | str,
    seed: int,
) -> pl.DataFrame:
    n_hint = int(duration_s) + 2
    gaps = _intervals(interval_s, n_hint, seed)
    t = np.concatenate(([0.0], np.cumsum(gaps)))
    t = t[t <= duration_s]
    if t[-1] < duration_s:
        t = np.append(t, duration_s)
    speed = km * 1000.0 / duration_s if duration_s else 0.0
    dist = t * speed
    if cadence_spm is None:
        cad = np.full(t.size, np.nan)
    elif callable(cadence_spm):
        cad = np.asarray(cadence_spm(t), dtype=np.float64)
    else:
        cad = np.full(t.size, float(cadence_spm))
    alt = altitude(dist) if altitude is not None else np.full(t.size, np.nan)
    base_us = int(start_utc.timestamp() * 1_000_000)
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series((base_us + t * 1e6).astype(np.int64)).cast(
                pl.Datetime("us", "UTC")
            ),
            "elapsed_s": t,
            "distance_m": dist,
            "altitude_m": alt,
            "speed_mps": np.full(t.size, speed),
            "cadence_spm": cad,
        }
    ).with_columns(pl.col("altitude_m", "cadence_spm").fill_nan(None))
    return conform_samples(frame)


def make_run(
    start: datetime,
    km: float = 10.0,
    pace_min_km: float = 5.5,
    cadence_spm: float | Callable[[np.ndarray], np.ndarray] | None = 170.0,
    altitude: Profile | None = None,
    tz: str | int = 0,
    sport: Sport = Sport.RUNNING,
    **kwargs: object,
) -> Activity:
    """A run (``sport`` may be trail/track/treadmill); positional order mirrors the brief."""
    return make_activity(
        start,
        sport=sport,
        km=km,
        pace_min_km=pace_min_km,
        cadence_spm=cadence_spm,
        altitude=altitude,
        tz=tz,
        **kwargs,  # type: ignore[arg-type]
    )


def make_strength(start: datetime, minutes: float = 40.0, **kwargs: object) -> Activity:
    """A strength_training session (no distance, no samples)."""
    kwargs["with_samples"] = False
    return make_activity(
        start,
        sport=Sport.STRENGTH_TRAINING,
        km=0.0,
        minutes=minutes,
        cadence_spm=None,
        **kwargs,  # type: ignore[arg-type]
    )


def make_ride(start: datetime, km: float = 30.0, minutes: float = 60.0, **kwargs: object):
    """A bike ride; its crank cadence (~85 rpm) must never reach running metrics."""
    return make_activity(
        start,
        sport=Sport.CYCLING,
        km=km,
        minutes=minutes,
        cadence_spm=85.0,
        altitude=kwargs.pop("altitude", hills()),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def make_walk(start: datetime, km: float = 4.0, minutes: float = 50.0, **kwargs: object):
    """A walk (cadence ~115 spm, 1.3 m/s): not running volume."""
    return make_activity(
        start,
        sport=Sport.WALKING,
        km=km,
        minutes=minutes,
        cadence_spm=115.0,
        altitude=kwargs.pop("altitude", hills()),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def weekly_runs(
    week_kms: list[float],
    *,
    first_monday: datetime = datetime(2026, 1, 5),
    runs_per_week: int = 3,
    with_samples: bool = False,
    **kwargs: object,
) -> list[Activity]:
    """Runs giving exactly ``week_kms`` per Monday-first week (split evenly, Tue/Thu/Sat...).

    A 0 km week has no runs. Handy for the volume rules.
    """
    out: list[Activity] = []
    days = [1, 3, 5, 6, 0, 2, 4][:runs_per_week]
    for w, total in enumerate(week_kms):
        if total <= 0:
            continue
        for i, day in enumerate(days):
            start = first_monday + timedelta(weeks=w, days=day, hours=7)
            out.append(
                make_run(
                    start,
                    km=total / runs_per_week,
                    with_samples=with_samples,
                    uid=f"w{w}r{i}",
                    **kwargs,
                )
            )
    return out


__all__ = [
    "SAMPLE_SCHEMA",
    "descend",
    "flat",
    "hills",
    "local",
    "make_activity",
    "make_ride",
    "make_run",
    "make_strength",
    "make_walk",
    "to_utc",
    "weekly_runs",
]
