"""Shared FIT builder: :class:`FitDecoded` parts -> canonical :class:`Activity` objects.

Both FIT decoders (fitparse and the fast one) feed this module, so every unit
and meaning decision for FIT is made exactly once:

* one Activity per ``session`` (multisport and chained files give several);
  records are split between sessions by session start time; ``transition``
  sessions of a triathlon are not activities and are dropped;
* sport from ``session.sport``/``sub_sport`` (see :func:`map_sport`), raw pair
  kept in ``sport_detail``; a file without a session (a watch that died
  mid-run) falls back to the ``sport`` message, then the laps;
* running/walking/hiking cadence is strides/min in FIT:
  spm = 2 × (cadence + fractional_cadence); other sports keep raw rpm;
* ``enhanced_speed``/``enhanced_altitude`` win over the legacy fields, row by row;
* positions: semicircles × 180 / 2³¹ -> degrees;
* distance from the file, else cumulative haversine; speed from the file, else
  distance over time (:func:`~kneeflags.parsers.common.finish_samples`);
* UTC offset: ``activity.local_timestamp − activity.timestamp`` rounded to
  15 min, else the ``tz`` option, else the machine's zone (at the instant);
* elevation source: barometric for devices known to carry a barometric
  altimeter (:data:`BAROMETRIC_PRODUCTS`), else gps when the file has
  positions, else unknown (FIT itself never says, evidence.md §2);
* timestamps below 0x10000000 are device-relative: such a session cannot be
  placed in a week and is reported as an error, never given a 1990 date.
"""

from __future__ import annotations

import bisect
import re
from datetime import UTC, datetime

import numpy as np
import polars as pl

from kneeflags.model import (
    SAMPLE_SCHEMA,
    Activity,
    ElevationSource,
    Lap,
    LoadResult,
    Problem,
    Provenance,
    Skipped,
    SourceRef,
    Sport,
)
from kneeflags.parsers import fit_profile
from kneeflags.parsers.common import (
    ON_FOOT_SPORTS,
    elapsed_from_start,
    elapsed_into,
    finish_samples,
)
from kneeflags.parsers.fit_decoded import (
    FIT_EPOCH_UNIX,
    FIT_MIN_ABSOLUTE,
    DeferredColumn,
    FitDecoded,
    Message,
    column_rows,
)
from kneeflags.timezones import offset_from_local_timestamp, resolve_offset

SEMICIRCLE_TO_DEG = 180.0 / 2**31

BAROMETRIC_PRODUCTS = re.compile(
    r"^(fenix|fr9\d\d|fr745|marq|epix|enduro|instinct|descent|tactix|quatix|d2|venu(?!_?sq)"
    r"|vivo_active_hr|vivo_active3|vivo_active4|vivoactive4"
    r"|edge(?!_?(20|25|200)(_|$)))",
)
"""Garmin product names (fitparse spelling) of devices with a barometric altimeter.

Deliberately small: fēnix, Forerunner 9xx/745, MARQ, epix, Enduro, Instinct,
Descent, tactix, quatix, D2, Venu (not Venu Sq), vívoactive HR/3/4 and Edge
bike computers (except Edge 20/25/200). Anything else with positions is
treated as GPS altitude, which only makes the downhill smoothing more
conservative.
"""

NEWER_GARMIN_PRODUCTS: dict[int, str] = {
    2713: "edge_1030",
    2900: "fenix5s_plus",
    2909: "edge_130",
    3110: "fenix5_plus",
    3111: "fenix5x_plus",
    3113: "fr945",
    3121: "edge_530",
    3122: "edge_830",
    3224: "vivoactive4_small",
    3225: "vivoactive4_large",
    3226: "venu",
    3258: "descent_mk2",
    3287: "fenix6_s_sport",
    3288: "fenix6_s",
    3289: "fenix6_sport",
    3290: "fenix6",
    3291: "fenix6x",
    3466: "instinct_solar",
    3570: "edge_1030_plus",
    3589: "fr745",
    3638: "enduro",
    3652: "fr945_lte",
    3703: "venu2",
    3704: "venu2s",
    3843: "edge_1040",
    3888: "instinct_2",
    3905: "fenix7s",
    3906: "fenix7",
    3907: "fenix7x",
    3943: "epix_gen2",
    4024: "fr955",
    4061: "edge_540",
    4062: "edge_840",
    4105: "marq_gen2",
    4315: "fr965",
    4341: "enduro2",
    4374: "fenix7s_pro_solar",
    4375: "fenix7_pro_solar",
    4376: "fenix7x_pro_solar",
    4536: "fenix8",
}
"""Garmin product ids newer than fitparse's profile (20.8), names as in the FIT SDK.

Only common barometric watches and bike computers, so that e.g. a Forerunner
955 (4024) is named and recognised as barometric. tests check every entry
against fit-tool's current profile.
"""


_RUN_SUB = {
    "treadmill": Sport.TREADMILL_RUNNING,
    "indoor_running": Sport.TREADMILL_RUNNING,
    "virtual_activity": Sport.TREADMILL_RUNNING,
    "trail": Sport.TRAIL_RUNNING,
    "track": Sport.TRACK_RUNNING,
}
_PLAIN_SPORT = {
    "cycling": Sport.CYCLING,
    "swimming": Sport.SWIMMING,
    "rowing": Sport.ROWING,
    "walking": Sport.WALKING,
    "hiking": Sport.HIKING,
}


def _enum_name(value: object, table: dict[int, str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, int):
        return table.get(value, str(value))
    return str(value)


def map_sport(sport: object, sub_sport: object) -> tuple[Sport, str]:
    """FIT ``sport``/``sub_sport`` (names or raw ints) -> (:class:`Sport`, ``"sport/sub"``)."""
    # Decoders that hand over raw ints get the profile's names (fit_profile.TYPES).
    s = _enum_name(sport, fit_profile.TYPES["sport"])
    sub = _enum_name(sub_sport, fit_profile.TYPES["sub_sport"])
    detail = f"{s or 'unknown'}/{sub or 'generic'}"
    if s == "running":
        return _RUN_SUB.get(sub or "", Sport.RUNNING), detail
    if s == "training" and sub == "strength_training":
        return Sport.STRENGTH_TRAINING, detail
    if s == "fitness_equipment" and sub == "indoor_rowing":
        return Sport.ROWING, detail
    return _PLAIN_SPORT.get(s or "", Sport.OTHER), detail


def device_name(decoded: FitDecoded) -> tuple[str | None, str | None]:
    """(``"manufacturer product"`` for display, product name for the barometer lookup)."""
    candidates: list[Message] = list(decoded.file_ids)
    candidates += [d for d in decoded.device_infos if d.get("device_index") in ("creator", 0)]
    for msg in candidates:
        manu = msg.get("manufacturer")
        prod = msg.get("garmin_product", msg.get("product"))
        if manu is None and prod is None:
            continue
        if isinstance(prod, int) and manu in ("garmin", 1):
            prod = NEWER_GARMIN_PRODUCTS.get(prod, prod)
        product = None if prod is None else str(prod)
        parts = [str(p) for p in (manu, prod) if p is not None]
        return " ".join(parts), product
    return None, None


def elevation_source(
    samples: pl.DataFrame, product: str | None, manufacturer_garmin: bool
) -> ElevationSource:
    if samples.height == 0 or samples["altitude_m"].null_count() == samples.height:
        return "none"
    if manufacturer_garmin and product and BAROMETRIC_PRODUCTS.match(product):
        return "barometric"
    if samples["lat"].null_count() < samples.height:
        return "gps"
    return "unknown"


def _fit_to_utc(raw: int) -> datetime:
    return datetime.fromtimestamp(raw + FIT_EPOCH_UNIX, tz=UTC)


def _number(value: object) -> float | None:
    """A session total as a float, or ``None`` when a damaged definition made it an array
    or a string (a corrupt field must cost that field, not the whole run)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return None
    out = float(value)
    return out if np.isfinite(out) else None


_LAP_INTENSITY_EXTRA = {4: "recovery", 5: "interval", 6: "other"}
"""FIT ``intensity`` values newer than the decoder's profile (SDK 21.x: recovery, interval)."""


def _lap_enum_name(value: object, extra: dict[int, str] | None = None) -> str | None:
    """A lap's enum field as its name (numbers the decoder's profile lacks as ``extra``
    says, else as digits); anything else is unknown. Not :func:`_enum_name`, whose raw
    values fall back to their text for the sport mapping."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return (extra or {}).get(int(value), str(int(value)))
    return None


def _placed_laps(laps: list[Message]) -> tuple[list[int], list[Message]]:
    """The laps with an absolute start time, sorted by it (and the sorted start times), so
    each session takes its laps by bisection: a hostile file with tens of thousands of
    sessions and laps costs a sort, not sessions × laps."""
    placed = sorted(
        ((int(raw), k) for k, lap in enumerate(laps) if _is_absolute(raw := lap.get("start_time"))),
    )
    return [t for t, _ in placed], [laps[k] for _, k in placed]


def _session_laps(
    placed: tuple[list[int], list[Message]],
    start_utc: datetime,
    starts: list[int | None],
    index: int,
) -> tuple[Lap, ...]:
    """The laps of session ``index``: those starting between its start and the next
    session's. A lap without an absolute start time cannot be placed and is left out, and
    so are all laps of a session without one when the file holds several sessions.

    Laps feed speed-work detection (``rtr-speed-work``): a structured workout's ``active``
    and ``rest`` laps, or the repeats a runner marked with the lap button."""
    times, laps = placed
    lo = starts[index] if index < len(starts) else None
    if lo is None and len(starts) > 1:
        return ()
    # the next session that has a start (no slice copy: sessions are up to 1,000 a file)
    hi = next((starts[j] for j in range(index + 1, len(starts)) if starts[j] is not None), None)
    a = 0 if lo is None else bisect.bisect_left(times, lo)
    b = len(times) if hi is None else bisect.bisect_left(times, hi)
    origin = start_utc.timestamp()
    return tuple(
        Lap(
            start_s=float(_fit_to_utc(t).timestamp() - origin),
            elapsed_s=_number(lap.get("total_timer_time"))
            or _number(lap.get("total_elapsed_time")),
            distance_m=_number(lap.get("total_distance")),
            intensity=_lap_enum_name(lap.get("intensity"), _LAP_INTENSITY_EXTRA),
            trigger=_lap_enum_name(lap.get("lap_trigger")),
        )
        for t, lap in zip(times[a:b], laps[a:b], strict=True)
    )


def _is_absolute(raw: object) -> bool:
    return isinstance(raw, int | np.integer) and int(raw) >= FIT_MIN_ABSOLUTE


def _samples_frame(
    records: dict[str, np.ndarray | DeferredColumn],
    on_foot: bool,
    start_us: int,
    *,
    owned: bool = False,
) -> pl.DataFrame:
    """Raw record columns -> canonical columns (units converted, enhanced preferred).

    Plain numpy on the decoder's arrays and one frame at the end: this runs once per
    activity on the cold path, where a polars expression graph costs more to set up than
    the arithmetic.

    One column at a time: a deferred decoded column
    (:class:`~kneeflags.parsers.fit_decoded.DeferredColumn`) is converted only when its
    canonical column is made, and each canonical column goes to polars (which keeps the
    numpy array as its buffer, no copy) before the next is made. Besides the table itself,
    the working memory is one or two columns and their temporaries, not every decoded
    column next to every canonical one.

    ``owned``: the caller gives ``records`` away (:func:`build_fit`): each decoded column
    is taken out of the dict and, where the canonical column is a function of it alone,
    converted in place (the same IEEE operations, so the same values) instead of copied.
    A deferred column's array is always new, so always converted in place.

    ``elapsed_s`` is filled here from ``start_us`` (:func:`elapsed_from_start`, the values
    of :func:`finish_samples`' expression): one polars query less per activity.
    """
    n = len(records["timestamp"])
    take = records.pop if owned else records.get

    def c(name: str) -> tuple[np.ndarray | None, bool]:
        """The decoded column (None when absent) and whether it may be changed in place."""
        value = take(name, None)
        if value is None:
            return None, False
        if isinstance(value, DeferredColumn):
            return value.materialize(), True
        return value, owned

    def series(name: str, values: np.ndarray | None) -> pl.Series:
        if values is None:
            values = np.full(n, np.nan)
        return pl.Series(name, values, dtype=pl.Float64, nan_to_null=True)

    def first_valid(preferred_name: str, other_name: str) -> np.ndarray | None:
        """The preferred column, its gaps filled row by row from the other one."""
        preferred, mine = c(preferred_name)
        if preferred is None:
            return c(other_name)[0]
        gaps = np.isnan(preferred)
        if not gaps.any():
            take(other_name, None)  # given away all the same
            return preferred
        other = c(other_name)[0]
        if other is None:
            return preferred  # its gaps stay NaN
        if mine:
            preferred[gaps] = other[gaps]
            return preferred
        return np.where(gaps, other, preferred)

    def scaled(name: str, factor: float) -> np.ndarray | None:
        values, mine = c(name)
        if values is None:
            return None
        if mine:
            values *= factor
            return values
        return values * factor

    # Made in the order that holds the least at once (the frame's order is fixed below): the
    # timestamps (elapsed_s is written over the decoded column, through a temporary copy
    # numpy makes) and cadence (two columns) while the frame is small, heart rate (a one-byte
    # field: the smallest raw column held while its column is made) last.
    made: dict[str, pl.Series] = {}
    fit_stamps, mine = c("timestamp")
    assert fit_stamps is not None  # always there (see fit_decoded)
    stamps = fit_stamps.astype(np.int64)
    stamps += FIT_EPOCH_UNIX
    stamps *= 1_000_000
    if mine and fit_stamps.dtype == np.float64 and fit_stamps.flags.c_contiguous:
        elapsed = elapsed_into(stamps, start_us, fit_stamps)  # the decoded column's memory
    else:
        elapsed = elapsed_from_start(stamps, start_us)
    del fit_stamps
    made["timestamp"] = pl.Series("timestamp", stamps, dtype=pl.Int64).cast(
        SAMPLE_SCHEMA["timestamp"]
    )
    made["elapsed_s"] = pl.Series("elapsed_s", elapsed, dtype=pl.Float64)
    cadence, mine = c("cadence")
    fractional, fractional_mine = c("fractional_cadence")
    if cadence is not None:
        if fractional is None:
            whole = 0.0  # what nan_to_num gives for a column of NaN
        else:
            whole = np.nan_to_num(fractional, nan=0.0, copy=not fractional_mine)
        del fractional
        if mine:
            cadence += whole
            if on_foot:
                cadence *= 2.0
        else:
            cadence = cadence + whole
            if on_foot:
                cadence = cadence * 2.0
        del whole
    made["cadence_spm"] = series("cadence_spm", cadence)
    del cadence
    made["altitude_m"] = series("altitude_m", first_valid("enhanced_altitude", "altitude"))
    made["speed_mps"] = series("speed_mps", first_valid("enhanced_speed", "speed"))
    made["lat"] = series("lat", scaled("position_lat", SEMICIRCLE_TO_DEG))
    made["lon"] = series("lon", scaled("position_long", SEMICIRCLE_TO_DEG))
    made["distance_m"] = series("distance_m", c("distance")[0])
    made["heart_rate"] = series("heart_rate", c("heart_rate")[0])
    return pl.DataFrame([made[name] for name in _SAMPLE_ORDER])


_SAMPLE_ORDER = (
    "timestamp",
    "elapsed_s",
    "distance_m",
    "altitude_m",
    "speed_mps",
    "cadence_spm",
    "heart_rate",
    "lat",
    "lon",
)
"""The columns of :func:`_samples_frame`'s frame, in order."""


def _file_offset(decoded: FitDecoded) -> int | None:
    for act in decoded.activities:
        local, utc = act.get("local_timestamp"), act.get("timestamp")
        if _is_absolute(local) and _is_absolute(utc):
            off = offset_from_local_timestamp(int(local), int(utc))  # type: ignore[arg-type]
            if off is not None:
                return off
    return None


def _fallback_session(decoded: FitDecoded) -> tuple[Message, str]:
    """A stand-in session for files without one (truncated): sport from sport msg or laps."""
    for msg in [*decoded.sports, *decoded.laps]:
        if msg.get("sport") is not None:
            return {"sport": msg.get("sport"), "sub_sport": msg.get("sub_sport")}, (
                "no session message; sport taken from the file's sport/lap message"
            )
    return {}, "no session message and no sport message: sport unknown"


_READ_KEYS: dict[str, tuple[str, ...]] = {
    "file_ids": ("type", "manufacturer", "garmin_product", "product"),
    "device_infos": ("device_index", "manufacturer", "garmin_product", "product"),
    "sessions": (
        "start_time",
        "sport",
        "sub_sport",
        "total_distance",
        "total_timer_time",
        "total_elapsed_time",
    ),
    "laps": (
        "start_time",
        "total_timer_time",
        "total_elapsed_time",
        "total_distance",
        "intensity",
        "lap_trigger",
        "sport",
        "sub_sport",
    ),
    "activities": ("local_timestamp", "timestamp"),
    "sports": ("sport", "sub_sport"),
    "events": (),
}
"""The message fields :func:`build_fit` reads, by :class:`FitDecoded` list."""


def keep_read_fields(decoded: FitDecoded) -> None:
    """Let go of the message fields :func:`build_fit` does not read (:data:`_READ_KEYS`),
    and of the messages it never looks at (events, device infos of other devices): a lap
    is some fifty fields, a kilobyte of Python objects, and a small file's messages were
    half its reading memory besides the sample table. Only for a caller that builds the
    activities and nothing else (:func:`kneeflags.parsers.parse_source`)."""
    for attr, keys in _READ_KEYS.items():
        messages = getattr(decoded, attr)
        if attr == "device_infos":
            messages = [m for m in messages if m.get("device_index") in ("creator", 0)]
        if attr == "events":
            messages = []
        setattr(decoded, attr, [{k: m[k] for k in keys if k in m} for m in messages])


def build_fit(
    decoded: list[FitDecoded],
    ref: SourceRef,
    sha256: str,
    tz: str | None = None,
    *,
    tz_source: str = "option",
) -> LoadResult:
    """Build activities and per-file problems from all decoded parts of one file.

    Consumes ``decoded``: each part's record columns become the activities' sample
    columns (converted in place, not copied), so a part's ``record_columns`` must not be
    read afterwards.
    """
    out = LoadResult()
    path = str(ref)
    part_index = 0
    for dec in decoded:
        ftype = dec.file_ids[0].get("type") if dec.file_ids else None
        if ftype not in (None, "activity", 4):
            out.skipped.append(Skipped(path, f"FIT {ftype} file, not an activity"))
            if dec.problem:  # a damaged file's type byte is not to be trusted: name it
                out.warnings.append(
                    Problem(path, f"FIT {ftype} file, not an activity: not used ({dec.problem})")
                )
            continue
        if dec.problem:
            out.warnings.append(Problem(path, dec.problem, "warning"))
        records = dec.record_columns
        n_relative = 0
        if records and "timestamp" in records:
            ts = records["timestamp"]
            with np.errstate(invalid="ignore"):
                absolute = ts >= FIT_MIN_ABSOLUTE  # NaN (no timestamp) is not absolute either
            if not absolute.all():  # rare: filter only then
                n_relative = int((~absolute & ~np.isnan(ts)).sum())
                records = {k: column_rows(v, absolute) for k, v in records.items()}
            del ts, absolute
        else:
            records = {}
        n_records = len(records["timestamp"]) if records else 0
        if n_records > 1 and (back := int((np.diff(records["timestamp"]) < 0).sum())):
            # as GPX/TCX say (screen_samples): a clock that jumps back makes "1.8 km in 0 min"
            out.warnings.append(
                Problem(path, f"timestamps go backwards {back:,} time(s)", "warning")
            )
        sessions = sorted(
            (s for s in dec.sessions if s.get("start_time") is not None or len(dec.sessions) == 1),
            key=lambda s: int(v) if isinstance(v := s.get("start_time"), int | np.integer) else 0,
        )
        notes: list[str] = []
        if not sessions:
            if not n_records:
                if n_relative:
                    out.errors.append(
                        Problem(
                            path,
                            "FIT timestamps are device-relative (no real date): "
                            "the activity cannot be placed in a week",
                        )
                    )
                continue
            sess, note = _fallback_session(dec)
            sessions = [sess]
            notes.append(note)
        device, product = device_name(dec)
        garmin = bool(dec.file_ids) and dec.file_ids[0].get("manufacturer") in ("garmin", 1)
        if not garmin:
            garmin = bool(device) and str(device).startswith("garmin")
        file_offset = _file_offset(dec)

        # Split records by session start (first session also takes earlier records).
        starts = [
            int(s["start_time"]) if _is_absolute(s.get("start_time")) else None for s in sessions
        ]
        session_of: np.ndarray | None = None
        if len(sessions) > 1 and n_records and all(v is not None for v in starts):
            session_of = np.clip(
                np.searchsorted(np.asarray(starts, dtype=np.float64), records["timestamp"], "right")
                - 1,
                0,
                None,
            ).astype(np.min_scalar_type(len(sessions)))  # held to the last session: a byte a row

        placed_laps = _placed_laps(dec.laps)
        for i, sess in enumerate(sessions):
            sport, detail = map_sport(sess.get("sport"), sess.get("sub_sport"))
            if detail.startswith("transition/"):
                continue
            part = part_index
            part_index += 1
            if session_of is None:  # one session (the usual case): no split to make
                rec = records
            else:
                mine = session_of == i
                rec = {k: column_rows(v, mine) for k, v in records.items()}
            rec_n = len(rec["timestamp"]) if rec else 0
            start_raw = sess.get("start_time")
            if _is_absolute(start_raw):
                start_utc = _fit_to_utc(int(start_raw))  # type: ignore[arg-type]
            elif rec_n:
                start_utc = _fit_to_utc(int(rec["timestamp"].min()))
            else:
                out.errors.append(
                    Problem(
                        path,
                        ("" if len(sessions) == 1 else f"session {part}: ")
                        + "FIT timestamps are device-relative (no real date): "
                        "the activity cannot be placed in a week",
                    )
                )
                continue
            if n_relative and rec_n == 0:
                notes.append(f"{n_relative} records with device-relative timestamps dropped")
            on_foot = sport in ON_FOOT_SPORTS
            start_us = int(start_utc.timestamp() * 1_000_000)
            if rec_n:
                # Split by session: each session's columns are its own copies; one session:
                # the decoded columns themselves are given away (see build_fit). Several
                # sessions sharing all records (no usable start times) keep them intact.
                owned = session_of is not None or len(sessions) == 1
                frame = _samples_frame(rec, on_foot, start_us, owned=owned)
                samples, dist_source = finish_samples(frame, start_us, elapsed_set=True)
                del frame
            else:
                samples, dist_source = finish_samples(pl.DataFrame(), start_us)
            total_distance = _number(sess.get("total_distance"))
            if total_distance is None and samples.height:
                total_distance = samples["distance_m"].max()
            else:
                dist_source = "file" if total_distance is not None else dist_source
            span = float(samples["elapsed_s"].max() or 0.0) if samples.height else None
            timer_s = _number(sess.get("total_timer_time"))
            elapsed_s = _number(sess.get("total_elapsed_time"))
            offset, offset_source = resolve_offset(
                start_utc,
                file_offset_s=file_offset,
                tz=tz,
                tz_source=tz_source,  # type: ignore[arg-type]
            )
            has_cad = samples.height > 0 and samples["cadence_spm"].null_count() < samples.height
            if not has_cad:
                cad_unit, cad_reason = "none", "no cadence in file"
            elif on_foot:
                cad_unit, cad_reason = (
                    "strides",
                    ("FIT record cadence is strides/min: spm = 2 x (cadence + fractional_cadence)"),
                )
            else:
                cad_unit, cad_reason = "none", f"{sport.value}: raw FIT cadence kept (rpm)"
            prov = Provenance(
                cadence_unit=cad_unit,  # type: ignore[arg-type]
                cadence_reason=cad_reason,
                elevation_source=elevation_source(samples, product, garmin),
                distance_source=dist_source,  # type: ignore[arg-type]
                partial=dec.partial,
                decoder=dec.decoder,
                notes=list(notes),
            )
            if dec.crc_ok is False:
                prov.notes.append("FIT CRC mismatch")
            if dec.problem:
                prov.notes.append(dec.problem)
            out.activities.append(
                Activity(
                    source=ref,
                    sha256=sha256,
                    format="fit",
                    sport=sport,
                    start_utc=start_utc,
                    samples=samples,
                    sport_detail=detail,
                    name=None,
                    utc_offset_s=offset,
                    utc_offset_source=offset_source,
                    device=device,
                    distance_m=None if total_distance is None else float(total_distance),
                    timer_s=float(timer_s) if timer_s is not None else span,
                    elapsed_s=float(elapsed_s) if elapsed_s is not None else span,
                    part=part,
                    provenance=prov,
                    laps=_session_laps(placed_laps, start_utc, starts, i),
                )
            )
    if not (out.activities or out.errors or out.skipped):
        out.errors.append(Problem(path, "FIT file holds no activity data (no session, no records)"))
    return out


def build_activities(
    decoded: list[FitDecoded], ref: SourceRef, sha256: str, tz: str | None = None
) -> list[Activity]:
    """Activities only (problems dropped); see :func:`build_fit` for the full result."""
    return build_fit(decoded, ref, sha256, tz).activities
