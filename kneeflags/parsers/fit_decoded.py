"""What a FIT *decoder* hands to the FIT *builder*.

Two decoders exist: the reference one on top of fitparse and the fast columnar
one. Both produce a :class:`FitDecoded` per FIT file (a chained file gives one
per chained part). Everything that turns those raw messages into canonical
:class:`~kneeflags.model.Activity` objects (unit conversion, sport mapping,
session splitting, time zone) lives in one shared builder, so the two
decoders can be compared field by field and can never disagree on units.

Conventions (identical for both decoders):

* Message dicts use the FIT profile field names as fitparse spells them
  (``sport``, ``sub_sport``, ``start_time``, ``total_distance``,
  ``total_timer_time``, ``local_timestamp``, ``manufacturer``, ``product``,
  ``garmin_product``, ``type``...). Values have scale and offset applied
  (metres, seconds). Enum values are the profile's names as strings where the
  profile knows them, else the raw int. Invalid values (0xFF...) are ``None``.
* Date-time fields (``timestamp``, ``start_time``, ``local_timestamp``,
  ``time_created``) are raw ints: seconds since the FIT epoch
  1989-12-31T00:00:00Z. Values below 0x10000000 are device-relative
  (no real date) and the builder treats them so.
* ``record_columns`` holds one numpy float64 array per column of the
  ``record`` messages, one element per message in file order, NaN for invalid
  values; a column no message carries is simply missing, and ``timestamp`` is
  always there when any is. Columns: ``timestamp`` (raw FIT seconds,
  compressed timestamps already resolved), ``position_lat``/``position_long``
  (semicircles), ``distance`` (m), ``speed``/``enhanced_speed`` (m/s),
  ``altitude``/``enhanced_altitude`` (m), ``cadence`` (rpm),
  ``fractional_cadence`` (rpm), ``heart_rate`` (bpm). Arrays, not a frame:
  the builder works on them with numpy and builds the one canonical sample
  frame per activity, so a file costs one frame construction, not two.
  A decoder may hand over a column other than ``timestamp`` as a
  :class:`DeferredColumn` (the fast one does: the field still in the file's
  bytes, converted when the builder takes it), so that the decoded float64
  columns (nine for a typical run, 2.6 times the file) are not all held
  next to the canonical ones; :func:`column_array` gives either kind as its
  float64 array.
  ``records`` is the same data as a polars frame (Int64 for the integer
  columns, Float64 otherwise, nulls for invalid values), for tests and
  debugging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

import polars as pl

from kneeflags.records import record

if TYPE_CHECKING:  # numpy is imported where samples are read: a warm run reads none
    import numpy as np

FIT_EPOCH_UNIX = 631065600
"""1989-12-31T00:00:00Z as a Unix timestamp."""

FIT_MIN_ABSOLUTE = 0x10000000
"""Date-time values below this are seconds since device power-on, not dates."""

Message = dict[str, Any]


class NotFitError(ValueError):
    """The bytes do not start with a FIT header (raised by both decoders)."""


MAX_FIT_MESSAGES = 1_000_000
"""Data messages read from one FIT file (all parts) [eng]: a 24-hour run at 1 Hz has about
90,000, a week-long recording at 1 Hz 600,000. Beyond it the file is refused by name: a
20 MB file of one-byte messages used to need 2.5 GB of memory; at the cap, one-byte
messages (the worst case) add about 120 MB."""


class FitTooLarge(Exception):
    """More data messages than :data:`MAX_FIT_MESSAGES`: refused, never handed to fitparse."""

    def __init__(self) -> None:
        super().__init__(
            f"FIT file holds more than {MAX_FIT_MESSAGES:,} messages (the cap per file; a "
            "24-hour run at 1 Hz has about 90,000): not read"
        )


RECORD_INT_COLUMNS: tuple[str, ...] = ("timestamp", "position_lat", "position_long")
RECORD_FLOAT_COLUMNS: tuple[str, ...] = (
    "distance",
    "speed",
    "enhanced_speed",
    "altitude",
    "enhanced_altitude",
    "cadence",
    "fractional_cadence",
    "heart_rate",
)
RECORD_COLUMNS: tuple[str, ...] = RECORD_INT_COLUMNS + RECORD_FLOAT_COLUMNS
"""The ``records`` columns both decoders may produce, in frame order (see above)."""


class DeferredColumn:
    """A record column not converted yet: :meth:`materialize` makes its float64 array (NaN =
    invalid), the values the decoder would have stored, when it is needed."""

    __slots__ = ()

    def __len__(self) -> int:
        raise NotImplementedError

    def materialize(self) -> np.ndarray:
        """The column as a new float64 array (the caller's to change in place)."""
        raise NotImplementedError

    def select(self, mask: np.ndarray) -> np.ndarray | DeferredColumn:
        """The rows where ``mask`` is true (deferred still, or converted)."""
        raise NotImplementedError

    def detach(self) -> None:
        """Hold copies of the values still read from the file's bytes, so that the bytes
        may be freed (a copy of the raw field, not of the converted column)."""
        raise NotImplementedError


def column_array(column: np.ndarray | DeferredColumn) -> np.ndarray:
    """A record column's float64 array (a deferred column's is a new array)."""
    return column.materialize() if isinstance(column, DeferredColumn) else column


def column_rows(
    column: np.ndarray | DeferredColumn, mask: np.ndarray
) -> np.ndarray | DeferredColumn:
    """The rows of a record column where ``mask`` is true (a deferred one stays deferred)."""
    return column.select(mask) if isinstance(column, DeferredColumn) else column[mask]


@record
class FitDecoded:
    """Raw content of one FIT file (or one part of a chained file)."""

    file_ids: list[Message] = field(default_factory=list)
    device_infos: list[Message] = field(default_factory=list)
    sessions: list[Message] = field(default_factory=list)
    laps: list[Message] = field(default_factory=list)
    activities: list[Message] = field(default_factory=list)
    events: list[Message] = field(default_factory=list)
    sports: list[Message] = field(default_factory=list)
    """``sport`` messages (#12); optional, used only when a file has no session (truncated)."""
    record_columns: dict[str, np.ndarray | DeferredColumn] = field(default_factory=dict)
    """Record messages column by column (see the module docstring)."""
    decoder: str = ""
    partial: bool = False
    """True when the data ended early; the complete records before the break are kept."""
    problem: str | None = None
    """One-line description of what went wrong (truncation, CRC mismatch), if anything."""
    crc_ok: bool | None = None

    def detach_records(self) -> None:
        """Let the record columns no longer read the file's bytes (:meth:`DeferredColumn.detach`),
        so that the bytes may be freed before the columns are converted."""
        for column in self.record_columns.values():
            if isinstance(column, DeferredColumn):
                column.detach()

    @property
    def records(self) -> pl.DataFrame:
        """``record_columns`` as a frame (see the module docstring)."""
        return records_frame(self.record_columns)


def records_frame(columns: Mapping[str, np.ndarray | DeferredColumn]) -> pl.DataFrame:
    """Record columns (float64, NaN = invalid) as a frame in :data:`RECORD_COLUMNS` order."""
    series = []
    for name in RECORD_COLUMNS:
        if name not in columns:
            continue
        s = pl.Series(name, column_array(columns[name]), dtype=pl.Float64, nan_to_null=True)
        series.append(s.cast(pl.Int64) if name in RECORD_INT_COLUMNS else s)
    return pl.DataFrame(series)


def column_from_values(values: Sequence[Any]) -> np.ndarray:
    """A record column from decoded Python values: numbers kept, anything else (None, a
    string or tuple from a damaged field) NaN, as a corrupt field must cost only itself."""
    import numpy as np

    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[i] = v
    return out
