"""Local offsets: file first, then the tz option, then the system zone; DST by instant."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from kneeflags.timezones import (
    offset_from_local_timestamp,
    resolve_offset,
    round_offset,
    validate_tz,
    zone_offset,
)


@pytest.mark.parametrize(
    ("instant", "tz", "offset"),
    [
        (datetime(2024, 7, 1, 12, tzinfo=UTC), "Europe/London", 3600),
        (datetime(2024, 1, 1, 12, tzinfo=UTC), "Europe/London", 0),
        (datetime(2024, 3, 31, 0, 59, tzinfo=UTC), "Europe/Berlin", 3600),
        (datetime(2024, 3, 31, 1, 0, tzinfo=UTC), "Europe/Berlin", 7200),
        (datetime(2024, 6, 1, tzinfo=UTC), "Asia/Kathmandu", 5 * 3600 + 45 * 60),
        (datetime(2024, 6, 1, tzinfo=UTC), "America/St_Johns", -(2 * 3600 + 30 * 60)),
    ],
)
def test_zone_offset_at_the_instant(instant: datetime, tz: str, offset: int) -> None:
    assert zone_offset(instant, tz) == offset


def test_rounding_to_quarter_hours() -> None:
    assert round_offset(7 * 3600 + 59) == 7 * 3600
    assert round_offset(-(5 * 3600 + 44 * 60 + 50)) == -(5 * 3600 + 45 * 60)
    assert offset_from_local_timestamp(1_000_000 + 3601, 1_000_000) == 3600
    assert offset_from_local_timestamp(1_000_000 + 20 * 3600, 1_000_000) is None


def test_resolution_order(monkeypatch) -> None:
    t = datetime(2024, 7, 1, 12, tzinfo=UTC)
    assert resolve_offset(t, file_offset_s=-3600, tz="Asia/Tokyo") == (-3600, "fit_local_timestamp")
    assert resolve_offset(t, tz="Asia/Tokyo") == (9 * 3600, "option")
    assert resolve_offset(t, tz="Asia/Tokyo", tz_source="config") == (9 * 3600, "config")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert resolve_offset(t) == (-4 * 3600, "system")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_unknown_zone_is_a_valueerror() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Nowhere/Land'"):
        validate_tz("Nowhere/Land")
    assert validate_tz(None) is None
