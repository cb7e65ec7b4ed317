"""Format-independent helpers shared by the FIT, GPX and TCX builders.

Everything that turns "whatever columns a file had" into the canonical
sample table lives here, so the three formats cannot drift apart on
distance-from-positions, derived speed, elapsed time or the cadence unit
decision (evidence.md §3). All array work is vectorised (numpy / polars).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import polars as pl

from kneeflags.model import CadenceUnit, Sport, conform_samples
from kneeflags.records import record

if TYPE_CHECKING:  # numpy is imported where samples are read: a warm run reads none
    import numpy as np

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG) used for haversine distances."""

RUNNING_SPEED_MPS = 2.0
"""Samples at or above this speed count as running for the cadence unit test (evidence.md §3)."""

SPEED_WINDOW = 2
"""Half-width (samples) of the centred difference used when speed is derived from distance."""

MAX_PLAUSIBLE_SPEED_MPS = 60.0
"""Derived speeds above this (GPS jumps) are nulled rather than trusted."""

ON_FOOT_SPORTS = frozenset(
    {
        Sport.RUNNING,
        Sport.TRAIL_RUNNING,
        Sport.TREADMILL_RUNNING,
        Sport.TRACK_RUNNING,
        Sport.WALKING,
        Sport.HIKING,
    }
)
"""Sports whose cadence counts steps (FIT per-foot values get doubled)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def haversine_steps(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Metres between consecutive points (first element 0, NaN where a point is missing)."""
    import numpy as np

    lat_r = np.radians(lat)
    lon_r = np.radians(lon)
    out = np.zeros(lat.shape[0], dtype=np.float64)
    if lat.shape[0] < 2:
        return out
    dlat = np.diff(lat_r)
    dlon = np.diff(lon_r)
    a = np.sin(dlat / 2) ** 2 + np.cos(lat_r[:-1]) * np.cos(lat_r[1:]) * np.sin(dlon / 2) ** 2
    out[1:] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


def cumulative_distance_from_positions(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Cumulative haversine distance; rows without a fix carry the last known total.

    Gaps in the fix (tunnels, indoor segments) are bridged by measuring from
    the previous valid position, so the total is not lost, only the shape.
    Rows before the first fix get NaN (distance unknown there).
    """
    import numpy as np

    n = lat.shape[0]
    out = np.full(n, np.nan)
    valid = ~(np.isnan(lat) | np.isnan(lon))
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return out
    steps = haversine_steps(lat[idx], lon[idx])
    cum = np.cumsum(steps)
    out[idx] = cum
    return forward_fill_nan(out)


def forward_fill_nan(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last non-NaN value before it (leading NaN stay NaN).

    The same values as ``pl.Series(values).fill_nan(None).forward_fill().to_numpy()``, in
    three numpy steps instead of a polars round trip (~0.3 ms of every GPX file).
    """
    import numpy as np

    keep = ~np.isnan(values)
    if keep.all():
        return values.astype(np.float64, copy=True)
    last = np.maximum.accumulate(np.where(keep, np.arange(values.shape[0]), 0))
    return values[last].astype(np.float64, copy=False)


@record
class CadenceDecision:
    """Outcome of the per-file cadence unit test (GPX/TCX, evidence.md §3)."""

    unit: CadenceUnit
    factor: float | None
    """Multiply raw values by this to get steps/min; ``None`` = drop (unit unknown)."""
    reason: str
    guessed: bool
    """True when the evidence was thin or the 120-130 band test decided: warn the user."""


MIN_CADENCE_EVIDENCE = 30
"""Fewer running samples than this make the unit decision a guess."""


def decide_cadence_unit(speed: np.ndarray, cadence: np.ndarray) -> CadenceDecision:
    """Strides or steps per minute, from the median over running samples (speed >= 2 m/s).

    Below 120 -> strides (double); 130 and above -> steps; 120-130 -> accept the
    unit whose step length (speed / steps per second) is 0.6-1.6 m, and only if
    exactly one does. Zero cadence (standing) is ignored.
    """
    import numpy as np

    has = ~np.isnan(cadence) & (cadence > 0)
    if not has.any():
        return CadenceDecision("none", None, "no cadence in file", False)
    running = has & ~np.isnan(speed) & (speed >= RUNNING_SPEED_MPS)
    thin = int(running.sum()) < MIN_CADENCE_EVIDENCE
    sel = running if running.any() else has
    basis = (
        f"{int(sel.sum())} samples at >= {RUNNING_SPEED_MPS:g} m/s"
        if running.any()
        else f"{int(sel.sum())} samples (none at running speed)"
    )
    med = float(np.median(cadence[sel]))
    if med < 120:
        return CadenceDecision(
            "strides", 2.0, f"median raw cadence {med:.0f} < 120 over {basis}: strides/min", thin
        )
    if med >= 130:
        return CadenceDecision(
            "steps", 1.0, f"median raw cadence {med:.0f} >= 130 over {basis}: steps/min", thin
        )
    v = float(np.nanmedian(speed[sel])) if running.any() else float("nan")
    if np.isnan(v):
        return CadenceDecision(
            "unknown",
            None,
            f"median raw cadence {med:.0f} in 120-130 and no speed to test step length",
            True,
        )
    len_strides = v / (2 * med / 60)
    len_steps = v / (med / 60)
    ok_strides = 0.6 <= len_strides <= 1.6
    ok_steps = 0.6 <= len_steps <= 1.6
    detail = (
        f"median raw cadence {med:.0f} in 120-130 at {v:.2f} m/s: step length "
        f"{len_strides:.2f} m as strides, {len_steps:.2f} m as steps"
    )
    if ok_strides and not ok_steps:
        return CadenceDecision("strides", 2.0, detail + " -> strides/min", True)
    if ok_steps and not ok_strides:
        return CadenceDecision("steps", 1.0, detail + " -> steps/min", True)
    return CadenceDecision("unknown", None, detail + " -> undecidable, cadence dropped", True)


REPEATED_TIMESTAMP_SHARE = 0.01
"""Samples repeating the previous timestamp are reported above this share (one or two are
normal in phone exports; many mean a broken clock or a merged file)."""


MAX_SAMPLE_SPREAD = timedelta(days=7)
"""A sample further than this from the activity's median time is a clock error, dropped
(the longest mountain ultras last under 150 h, so every real point is nearer)."""


def screen_samples(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Check a parser's raw frame (file order) before :func:`finish_samples`.

    Positions off the globe (|lat| > 90, |lon| > 180, NaN, infinity) are nulled so they can
    never become distance; timestamps that run backwards, repeat a lot, or a lone sample
    are reported. Returns the frame and one-line warnings for the user.
    """
    notes: list[str] = []
    if frame.height == 0:
        return frame, notes
    if "lat" in frame.columns and "lon" in frame.columns:
        lat, lon = pl.col("lat"), pl.col("lon")
        has = lat.is_not_null() | lon.is_not_null()
        ok = (
            lat.is_not_null()
            & lon.is_not_null()
            & lat.is_finite()
            & lon.is_finite()
            & (lat.abs() <= 90.0)
            & (lon.abs() <= 180.0)
        )
        bad = _bad_positions(frame)
        if bad is None:
            bad = frame.select((has & ~ok).sum()).item()
        if bad:
            frame = frame.with_columns(
                pl.when(ok).then(lat).otherwise(None).alias("lat"),
                pl.when(ok).then(lon).otherwise(None).alias("lon"),
            )
            notes.append(f"{bad:,} GPS position(s) outside latitude ±90° / longitude ±180° ignored")
    if "timestamp" in frame.columns and not _screen_times_numpy(frame, notes):
        ts = frame["timestamp"].drop_nulls()
        if ts.len() == 1:
            notes.append("a single timed sample: no distance, pace or cadence to analyse")
        elif ts.len() > 1:
            step = ts.diff().drop_nulls().dt.total_microseconds()
            back = int((step < 0).sum())
            same = int((step == 0).sum())
            if back:
                notes.append(f"timestamps go backwards {back:,} time(s): samples put in time order")
            if same > max(1, REPEATED_TIMESTAMP_SHARE * ts.len()):
                notes.append(f"{same:,} of {ts.len():,} samples repeat the previous timestamp")
        if ts.len() > 2:
            # One point dated 9999-12-31 (or 1995) made a 4e9-minute run, or moved a 2025
            # run to 1995: points that far from the median time are not part of the run.
            off = (pl.col("timestamp") - pl.col("timestamp").median()).abs()
            far = pl.col("timestamp").is_not_null() & (off > MAX_SAMPLE_SPREAD)
            n_far = frame.select(far.sum()).item()
            if n_far:
                frame = frame.filter(~far)
                days = MAX_SAMPLE_SPREAD.days
                notes.append(f"{n_far:,} point(s) dated over {days} days from the others ignored")
    return frame, notes


def _bad_positions(frame: pl.DataFrame) -> int | None:
    """Positions :func:`screen_samples` rejects, counted in numpy when neither column has a
    null (every scanned GPX): then "off the globe" is just not finite or out of range, the
    same test as the polars expression (NaN fails both). ``None``: count them in polars."""
    import numpy as np

    lat_s, lon_s = frame.get_column("lat"), frame.get_column("lon")
    if lat_s.dtype != pl.Float64 or lon_s.dtype != pl.Float64:
        return None
    if lat_s.null_count() or lon_s.null_count():
        return None
    lat, lon = lat_s.to_numpy(), lon_s.to_numpy()
    ok = np.isfinite(lat) & np.isfinite(lon)
    ok[ok] &= (np.abs(lat[ok]) <= 90.0) & (np.abs(lon[ok]) <= 180.0)
    return int(ok.size - np.count_nonzero(ok))


def _screen_times_numpy(frame: pl.DataFrame, notes: list[str]) -> bool:
    """The timestamp part of :func:`screen_samples` in numpy, for a microsecond column
    without nulls (every parser's usual frame); False: not taken, use the polars steps.

    Why: those steps were four polars queries per file. The counts are the same integer
    arithmetic on the same microseconds; the far-point filter needs the median only when
    the samples span more than :data:`MAX_SAMPLE_SPREAD` (otherwise every sample is within
    the spread of any time between the first and the last, the median included), and then
    the polars expression decides as before.
    """
    import numpy as np

    ts = frame.get_column("timestamp")
    if not isinstance(ts.dtype, pl.Datetime) or ts.dtype.time_unit != "us" or ts.null_count():
        return False
    us = ts.to_numpy().view(np.int64)
    n = us.size
    spread_us = MAX_SAMPLE_SPREAD // timedelta(microseconds=1)
    if n > 2 and int(us.max()) - int(us.min()) > spread_us:
        return False  # some sample may be far from the median: the polars steps decide
    if n == 1:
        notes.append("a single timed sample: no distance, pace or cadence to analyse")
    elif n > 1:
        step = np.diff(us)
        back = int(np.count_nonzero(step < 0))
        same = int(np.count_nonzero(step == 0))
        if back:
            notes.append(f"timestamps go backwards {back:,} time(s): samples put in time order")
        if same > max(1, REPEATED_TIMESTAMP_SHARE * n):
            notes.append(f"{same:,} of {n:,} samples repeat the previous timestamp")
    return True


def implausible_distance(distance_m: float | None, span_s: float | None) -> str | None:
    """A one-line reason when a distance cannot have been covered in that time (corrupt data).

    Above :data:`MAX_PLAUSIBLE_SPEED_MPS` on average no human-powered activity is possible;
    such a total would swamp every weekly figure, so the activity is not used.
    """
    import numpy as np

    if distance_m is None or not np.isfinite(distance_m) or distance_m <= 0:
        return None
    if not span_s or not np.isfinite(span_s) or span_s <= 0:
        return None  # no duration known (a summary-only file): nothing to compare with
    span = max(float(span_s), 1.0)
    if distance_m / span <= MAX_PLAUSIBLE_SPEED_MPS:
        return None
    return (
        f"implausible distance {distance_m / 1000:,.1f} km in {span / 60:,.1f} min "
        f"(over {MAX_PLAUSIBLE_SPEED_MPS:g} m/s): positions or distance are corrupt, not used"
    )


def elapsed_from_start(stamps_us: np.ndarray, start_utc_us: int) -> np.ndarray:
    """``elapsed_s`` of int64 epoch microseconds: the values of :func:`finish_samples`' polars
    expression ``(epoch_us - start) / 1e6``. Lets a parser that has the stamps in numpy skip
    that query.

    polars (2.1) divides a column of two or more values by multiplying with the reciprocal,
    one value by a true division; the two differ by an ulp on ~30 % of values (tests hold
    this function to the expression for every length, so a polars that changes fails them).
    """
    delta = stamps_us - start_utc_us
    return delta / 1e6 if delta.size == 1 else delta * (1.0 / 1e6)


def elapsed_into(stamps_us: np.ndarray, start_utc_us: int, out: np.ndarray) -> np.ndarray:
    """:func:`elapsed_from_start` written into ``out`` (float64, C-contiguous, the size of
    ``stamps_us``, e.g. a decoded column no longer needed), the difference taken in ``out``'s
    own memory viewed as int64: no array is allocated (element by element, each read before
    it is written)."""
    import numpy as np

    delta = np.subtract(stamps_us, start_utc_us, out=out.view(np.int64))
    if delta.size == 1:
        return np.true_divide(delta, 1e6, out=out)
    return np.multiply(delta, 1.0 / 1e6, out=out)


def finish_samples(
    frame: pl.DataFrame, start_utc_us: int | None = None, *, elapsed_set: bool = False
) -> tuple[pl.DataFrame, str]:
    """Complete a parser's frame into :data:`~kneeflags.model.SAMPLE_SCHEMA`.

    Adds distance from positions when the file has none, speed from distance
    over time when absent, and ``elapsed_s`` from the activity start (unless
    ``elapsed_set``: the frame holds :func:`elapsed_from_start` already). Returns
    the frame and the distance source (``file``, ``positions`` or ``none``).
    """
    out = conform_samples(frame)
    if out.height == 0:
        return out, "none"
    # The new columns go in with one ``with_columns`` (each polars query costs ~0.1 ms, a
    # tenth of a file's build): distance and speed as numpy-made Series, the same values
    # the expressions gave (tests/test_sample_build.py), elapsed time as before.
    new: list[pl.Series | pl.Expr] = []
    dist = out["distance_m"]
    if dist.null_count() < out.height:
        source = "file"
    elif out["lat"].null_count() < out.height:
        lat = out["lat"].to_numpy()  # Float64: nulls come out as NaN
        lon = out["lon"].to_numpy()
        dist = pl.Series(
            "distance_m", cumulative_distance_from_positions(lat, lon), nan_to_null=True
        )
        new.append(dist)
        source = "positions"
    else:
        source = "none"

    if out["speed_mps"].null_count() == out.height and source != "none":
        speed = _derived_speed(out.get_column("timestamp"), dist)
        if speed is None:  # (not after conform_samples) the expression, on the new distance
            out = out.with_columns(new)
            new = [derived_speed()]
        else:
            new.append(speed)

    if elapsed_set:
        return (out.with_columns(new) if new else out), source
    ts = pl.col("timestamp")
    if start_utc_us is None:
        elapsed = (ts - ts.min()).dt.total_microseconds() / 1e6
    else:
        elapsed = (ts.dt.epoch("us") - start_utc_us) / 1e6
    out = out.with_columns(*new, elapsed.cast(pl.Float64).alias("elapsed_s"))
    return out, source


def drop_all_zero_altitude(frame: pl.DataFrame) -> tuple[pl.DataFrame, str | None]:
    """Altitude that is exactly 0 on every sample is a placeholder, not sea level.

    GPX/TCX exporters write ``<ele>0</ele>`` when they have no elevation; left
    in, it would read as a perfectly flat course.
    """
    import numpy as np

    alt = frame["altitude_m"]
    if alt.null_count() == 0 and alt.dtype == pl.Float64:  # numpy: no polars query
        values = alt.to_numpy()
        all_zero = bool(values.size) and not np.count_nonzero(values != 0)
    else:
        alt = alt.drop_nulls()
        all_zero = bool(alt.len()) and bool((alt == 0).all())
    if all_zero:
        return (
            frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("altitude_m")),
            "elevation is 0 on every point: treated as missing",
        )
    return frame, None


def derived_speed() -> pl.Expr:
    """Centred-difference speed (m/s) over ±SPEED_WINDOW samples, from distance and time.

    A centred window damps the 1-second GPS jitter that a plain diff would turn
    into running-speed noise; implausible values (GPS jumps) become null.
    """
    k = SPEED_WINDOW
    d = pl.col("distance_m").forward_fill().backward_fill()
    t = pl.col("timestamp").dt.epoch("us") / 1e6
    dd = d.shift(-k).fill_null(d.last()) - d.shift(k).fill_null(d.first())
    dt = t.shift(-k).fill_null(t.last()) - t.shift(k).fill_null(t.first())
    speed = pl.when(dt > 0).then(dd / dt).otherwise(None)
    return (
        pl.when((speed >= 0) & (speed <= MAX_PLAUSIBLE_SPEED_MPS))
        .then(speed)
        .otherwise(None)
        .alias("speed_mps")
    )


def derived_speed_series(frame: pl.DataFrame) -> pl.Series | pl.Expr:
    """:func:`derived_speed` of a canonical frame, computed in numpy (same values, same nulls).

    Why: the polars expression (shifts, fills, two ``when``) was a third of the shared
    sample build of a GPX file. The arithmetic is the same IEEE steps on the same float64
    values: ``t`` is computed by the same polars operation, the window
    ends are clamped to the first and last row exactly as ``shift(..).fill_null(first or
    last)`` does, and a value is kept under the same three tests (NaN fails them all here,
    as it fails ``speed <= 60`` in polars). A frame with a null timestamp or no distance at
    all (not produced by :func:`finish_samples`, which sorts them out) gets the expression.
    """
    speed = _derived_speed(frame.get_column("timestamp"), frame.get_column("distance_m"))
    return derived_speed() if speed is None else speed


def _derived_speed(ts: pl.Series, distance: pl.Series) -> pl.Series | None:
    """:func:`derived_speed_series` of these columns; ``None`` when the expression must
    decide (no rows, a null timestamp, no distance at all)."""
    import numpy as np

    n = ts.len()
    dist = distance.forward_fill().backward_fill()
    if n == 0 or ts.null_count() or dist.null_count():
        return None
    k = SPEED_WINDOW
    d = dist.to_numpy().astype(np.float64, copy=False)
    # by polars itself: it divides by a literal as a multiplication by its reciprocal,
    # which differs from numpy's true division by an ulp on some values
    t = (ts.dt.epoch("us") / 1e6).to_numpy()
    # The same operations as ``d[ahead] - d[behind]`` etc., each array worked on in place
    # and let go as soon as it is used: eleven arrays a row at once were two and a half
    # times a FIT file without speed at its peak (the table complete but for this column).
    ahead = np.arange(k, n + k)
    np.minimum(ahead, n - 1, out=ahead)
    behind = np.arange(-k, n - k)
    np.maximum(behind, 0, out=behind)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, as in polars
        dd = d[ahead]
        dd -= d[behind]
        dt = t[ahead]
        dt -= t[behind]
        del ahead, behind
        speed = np.full(n, np.nan)
        moving = dt > 0
        np.divide(dd, dt, out=speed, where=moving)
        del dd, dt
        keep = moving & (speed >= 0) & (speed <= MAX_PLAUSIBLE_SPEED_MPS)
        del moving
    speed[~keep] = np.nan  # np.where(keep, speed, nan)
    return pl.Series("speed_mps", speed, nan_to_null=True)


def _float_values(series: pl.Series) -> np.ndarray:
    """``series.fill_null(np.nan).to_numpy()`` without a polars query for a Float64 column
    (whose nulls ``to_numpy`` already gives as NaN)."""
    import numpy as np

    if series.dtype == pl.Float64:
        return series.to_numpy()
    return series.fill_null(np.nan).to_numpy()


def apply_cadence(frame: pl.DataFrame, sport: Sport) -> tuple[pl.DataFrame, CadenceDecision]:
    """Decide the raw cadence unit (GPX/TCX) for on-foot sports and convert to steps/min.

    For other sports the raw value is kept (crank rpm, stroke rate) and the
    decision says so; metrics never read cadence outside running.
    """
    cad = frame["cadence_spm"]
    if cad.null_count() == frame.height:
        return frame, CadenceDecision("none", None, "no cadence in file", False)
    if sport not in ON_FOOT_SPORTS:
        return frame, CadenceDecision(
            "none", 1.0, f"{sport.value}: raw cadence kept (not steps)", False
        )
    dec = decide_cadence_unit(
        _float_values(frame["speed_mps"]),
        _float_values(cad),
    )
    if dec.factor is None:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("cadence_spm"))
    elif dec.factor != 1.0:
        frame = frame.with_columns(pl.col("cadence_spm") * dec.factor)
    return frame, dec


_SPORT_WORDS: dict[str, Sport] = {
    "run": Sport.RUNNING,
    "running": Sport.RUNNING,
    "streetrunning": Sport.RUNNING,
    "roadrunning": Sport.RUNNING,
    "9": Sport.RUNNING,  # Strava GPX numeric type for Run
    "trailrun": Sport.TRAIL_RUNNING,
    "trailrunning": Sport.TRAIL_RUNNING,
    "treadmill": Sport.TREADMILL_RUNNING,
    "treadmillrunning": Sport.TREADMILL_RUNNING,
    "indoorrunning": Sport.TREADMILL_RUNNING,
    "virtualrun": Sport.TREADMILL_RUNNING,
    "trackrun": Sport.TRACK_RUNNING,
    "trackrunning": Sport.TRACK_RUNNING,
    "walk": Sport.WALKING,
    "walking": Sport.WALKING,
    "10": Sport.WALKING,  # Strava numeric type for Walk
    "hike": Sport.HIKING,
    "hiking": Sport.HIKING,
    "ride": Sport.CYCLING,
    "1": Sport.CYCLING,  # Strava numeric type for Ride
    "biking": Sport.CYCLING,
    "cycling": Sport.CYCLING,
    "virtualride": Sport.CYCLING,
    "ebikeride": Sport.CYCLING,
    "mountainbikeride": Sport.CYCLING,
    "gravelride": Sport.CYCLING,
    "roadbiking": Sport.CYCLING,
    "mountainbiking": Sport.CYCLING,
    "indoorcycling": Sport.CYCLING,
    "swim": Sport.SWIMMING,
    "swimming": Sport.SWIMMING,
    "lapswimming": Sport.SWIMMING,
    "openwaterswimming": Sport.SWIMMING,
    "rowing": Sport.ROWING,
    "row": Sport.ROWING,
    "indoorrowing": Sport.ROWING,
    "weighttraining": Sport.STRENGTH_TRAINING,
    "strengthtraining": Sport.STRENGTH_TRAINING,
    "strength": Sport.STRENGTH_TRAINING,
}


def sport_from_text(text: str | None) -> Sport | None:
    """Map a free-text sport (GPX ``<type>``, TCX ``Sport``, Strava CSV type) to :class:`Sport`.

    Returns ``None`` when the text is absent or unrecognised, so callers can
    fall back to a hint or a default and say so.
    """
    if not text:
        return None
    key = re.sub(r"[\s_\-]+", "", text.strip().lower())
    return _SPORT_WORDS.get(key)


def one_line(text: object, limit: int = 300) -> str:
    """Collapse an exception message to one short line for a Problem."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def exception_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line, its type's name when it has no message.

    The one form every "this failed" line takes (a file's problem, an athlete's task, a
    staged URL, a manifest): tracebacks are for ``--debug`` only.
    """
    return one_line(exc, limit) or type(exc).__name__
