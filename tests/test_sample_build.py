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
