"""The athlete's local UTC offset at an activity's start (rules.md: never bucket by UTC date).

Order of trust: the FIT file's own ``activity.local_timestamp`` (what the
watch showed), then the time zone given by the user (``--tz`` or config),
then the machine's zone. Zones are resolved for the *instant* of the start,
so a run in July and one in January get their own DST offsets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:  # kneeflags.model imports polars: not worth it for a type name (--tz)
    from kneeflags.model import OffsetSource

OFFSET_ROUNDING_S = 15 * 60
"""Offsets are whole quarter hours (Nepal +5:45, Chatham +12:45 included)."""

MAX_ABS_OFFSET_S = 14 * 3600
"""Real zones span UTC-12..UTC+14; anything beyond is a broken clock, not a zone."""


def validate_tz(tz: str | None) -> ZoneInfo | None:
    """Return the zone for an IANA name, raising ValueError with a one-line message if unknown.

    The message suggests the zone the user probably meant: the same name in other case
    (``america/recife`` -> ``America/Recife``), else the closest names.
    """
    if tz is None or tz == "":
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = suggest_tz(tz)
        also = f"; did you mean {hint}?" if hint else ""
        raise ValueError(
            f"unknown time zone {tz!r} (use an IANA name such as Europe/London{also})"
        ) from exc


def canonical_tz(tz: str) -> str:
    """The IANA spelling of ``tz`` when it differs only in case (else ``tz`` unchanged).

    Zone names are case-sensitive files on disk; a user typing ``america/recife`` means
    ``America/Recife`` and there is never a second zone differing only in case.
    """
    try:
        ZoneInfo(tz)
        return tz
    except (ZoneInfoNotFoundError, ValueError):
        pass
    from zoneinfo import available_timezones

    folded = {z.casefold(): z for z in available_timezones()}
    return folded.get(tz.strip().casefold(), tz)


def suggest_tz(tz: str) -> str | None:
    """Up to three known zone names close to ``tz`` (``a or b``), or ``None``."""
    import difflib
    from zoneinfo import available_timezones

    zones = sorted(available_timezones())
    by_fold = {z.casefold(): z for z in zones}
    close = difflib.get_close_matches(tz.casefold(), list(by_fold), n=3, cutoff=0.6)
    return " or ".join(by_fold[c] for c in close) or None


def round_offset(seconds: float) -> int:
    """Round a measured local-minus-UTC difference to the nearest quarter hour."""
    return int(round(seconds / OFFSET_ROUNDING_S) * OFFSET_ROUNDING_S)


def offset_from_local_timestamp(local_fit_s: int, utc_fit_s: int) -> int | None:
    """Offset from a FIT ``activity.local_timestamp``/``timestamp`` pair, if plausible."""
    off = round_offset(local_fit_s - utc_fit_s)
    return off if abs(off) <= MAX_ABS_OFFSET_S else None


def zone_offset(start_utc: datetime, tz: str | None) -> int:
    """UTC offset (s) in zone ``tz`` at instant ``start_utc``; ``None`` zone = this machine's."""
    inst = start_utc if start_utc.tzinfo else start_utc.replace(tzinfo=UTC)
    zone = validate_tz(tz)
    local = inst.astimezone(zone) if zone is not None else inst.astimezone()
    off = local.utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def resolve_offset(
    start_utc: datetime,
    *,
    file_offset_s: int | None = None,
    tz: str | None = None,
    tz_source: OffsetSource = "option",
) -> tuple[int, OffsetSource]:
    """Pick the offset and say where it came from (see module docstring for the order)."""
    if file_offset_s is not None:
        return file_offset_s, "fit_local_timestamp"
    if tz:
        return zone_offset(start_utc, tz), tz_source
    return zone_offset(start_utc, None), "system"
