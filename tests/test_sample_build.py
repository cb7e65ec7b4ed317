"""The shared sample build's numpy steps equal the polars expressions they replaced.

Why a test of its own: the GPX/TCX/FIT equivalence tests run both sides of a comparison
through the same build, so a drift there would not show in them. Here the numpy versions
(:func:`~kneeflags.parsers.common.derived_speed_series`,
:func:`~kneeflags.parsers.common.forward_fill_nan`) are held against the polars expressions
on generated frames: nulls, NaN, infinities, repeated and jumping timestamps, tiny frames.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeflags.parsers.common import derived_speed, derived_speed_series, forward_fill_nan

_DIST = st.one_of(
    st.none(),
    st.floats(-10.0, 1e5, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5_000_000), _DIST), min_size=0, max_size=14),
    st.integers(1_500_000_000_000_000, 1_900_000_000_000_000),
)
def test_derived_speed_series_equals_the_expression(
    rows: list[tuple[int, float | None]], start_us: int
) -> None:
    steps = [r[0] for r in rows]
    times = np.cumsum(np.array(steps, dtype=np.int64)) + start_us
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series(times, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "distance_m": pl.Series([r[1] for r in rows], dtype=pl.Float64),
        }
    )
    want = frame.select(derived_speed())["speed_mps"]
    got = frame.select(derived_speed_series(frame))["speed_mps"]
    assert got.dtype == pl.Float64
    assert got.is_null().to_list() == want.is_null().to_list()
    assert got.to_list() == want.to_list()


def test_derived_speed_series_with_a_null_timestamp_uses_the_expression() -> None:
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series([None, None], dtype=pl.Datetime("us", "UTC")),
            "distance_m": [1.0, 2.0],
        }
    )
    assert frame.select(derived_speed_series(frame))["speed_mps"].to_list() == [None, None]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=False), st.just(math.nan)), max_size=20))
def test_forward_fill_nan_equals_polars(values: list[float]) -> None:
    arr = np.array(values, dtype=np.float64)
    want = pl.Series(arr).fill_nan(None).forward_fill().to_numpy()
    got = forward_fill_nan(arr)
    assert np.array_equal(got, np.asarray(want, dtype=np.float64), equal_nan=True)
    assert (np.signbit(got) == np.signbit(np.asarray(want, dtype=np.float64))).all()


def _screen_reference(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """screen_samples as it was, all in polars (the numpy steps must agree with it)."""
    from kneeflags.parsers.common import MAX_SAMPLE_SPREAD, REPEATED_TIMESTAMP_SHARE

    notes: list[str] = []
    if frame.height == 0:
        return frame, notes
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
    bad = frame.select((has & ~ok).sum()).item()
    if bad:
        frame = frame.with_columns(
            pl.when(ok).then(lat).otherwise(None).alias("lat"),
            pl.when(ok).then(lon).otherwise(None).alias("lon"),
        )
        notes.append(f"{bad:,} GPS position(s) outside latitude ±90° / longitude ±180° ignored")
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
        off = (pl.col("timestamp") - pl.col("timestamp").median()).abs()
        far = pl.col("timestamp").is_not_null() & (off > MAX_SAMPLE_SPREAD)
        n_far = frame.select(far.sum()).item()
        if n_far:
            frame = frame.filter(~far)
            days = MAX_SAMPLE_SPREAD.days
            notes.append(f"{n_far:,} point(s) dated over {days} days from the others ignored")
    return frame, notes


_COORD = st.one_of(
    st.floats(-200.0, 200.0, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 90.0, -180.0, 180.0000001]),
)
_STEP_US = st.one_of(
    st.integers(-3_000_000, 3_000_000),
    st.just(0),
    st.sampled_from([8 * 86_400_000_000, -8 * 86_400_000_000, 7 * 86_400_000_000]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_STEP_US, _COORD, _COORD), min_size=0, max_size=12),
    st.booleans(),
    st.booleans(),
)
def test_screen_samples_equals_the_polars_steps(
    rows: list[tuple[int, float, float]], null_time: bool, null_position: bool
) -> None:
    from kneeflags.parsers.common import screen_samples

    times: list[int | None] = list(
        np.cumsum([s for s, _, _ in rows], dtype=np.int64) + 1_750_000_000_000_000
    )
    lats: list[float | None] = [r[1] for r in rows]
    if rows and null_time:
        times[len(rows) // 2] = None
    if rows and null_position:
        lats[0] = None
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series(times, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "lat": pl.Series(lats, dtype=pl.Float64),
            "lon": pl.Series([r[2] for r in rows], dtype=pl.Float64),
        }
    )
    got, got_notes = screen_samples(frame)
    want, want_notes = _screen_reference(frame)
    assert got_notes == want_notes
    assert got.equals(want)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.integers(-(2**62), 2**62)),
        max_size=10,
    ),
    st.sampled_from(["us", "ns", "ms"]),
)
def test_epoch_seconds_equals_the_polars_expression(values: list[int | None], unit: str) -> None:
    from kneeflags.model import epoch_seconds

    ts = pl.Series(values, dtype=pl.Int64).cast(pl.Datetime(unit, "UTC"))  # type: ignore[arg-type]
    want = ts.dt.epoch("us").cast(pl.Float64).to_numpy() / 1e6
    assert np.array_equal(epoch_seconds(ts), want, equal_nan=True)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-(10**12), 10**13), min_size=1, max_size=30),
    st.integers(0, 1_900_000_000_000_000),
)
def test_elapsed_from_start_equals_the_expression(offsets: list[int], start_us: int) -> None:
    """The FIT build fills ``elapsed_s`` in numpy: bit for bit what finish_samples' polars
    expression gives GPX and TCX (polars multiplies by the reciprocal of 1e6; a true
    division differs by an ulp on many values, which this catches)."""
    from kneeflags.parsers.common import elapsed_from_start, elapsed_into

    stamps = np.array(offsets, dtype=np.int64) + start_us
    frame = pl.DataFrame(
        {"timestamp": pl.Series(stamps, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))}
    )
    theirs = frame.select(
        ((pl.col("timestamp").dt.epoch("us") - start_us) / 1e6).cast(pl.Float64)
    ).to_series()
    ours = elapsed_from_start(stamps, start_us)
    assert np.array_equal(ours.view(np.int64), theirs.to_numpy().view(np.int64))
    buffer = np.zeros(stamps.size)  # in place, as the FIT build does in a decoded column
    assert elapsed_into(stamps, start_us, buffer) is buffer
    assert np.array_equal(buffer.view(np.int64), theirs.to_numpy().view(np.int64))
