"""Analysis configuration: every threshold of ``rules.md`` in one typed, overridable place.

The defaults *are* the rule catalogue of ``../shared/guide/rules.md`` (version 1). Values
that rules.md marks ``[eng]`` are engineering defaults with no published cut-off; they are
kept here precisely so a coach can tune them without touching code.

A TOML file overrides any subset. Section names follow the rule ids, so the file reads
like the catalogue::

    week_start = "sunday"          # first day of the local week
    timezone = "America/Los_Angeles"  # fallback when a file carries no UTC offset

    [metrics]
    downhill_grade_pct = -6.0

    [rules.volume-jump]
    watch_pct = 15.0

Unknown keys are rejected with an error that names the key and the file: a typo must
never silently fall back to a default and hide a flag.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import stat
import tomllib
from dataclasses import field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kneeflags.plan.protocol_config import ProtocolConfig
from kneeflags.records import record

WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


MAX_CONFIG_BYTES = 1024 * 1024
"""A config file is a few hundred bytes; anything over a MiB is not one."""


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message is one user-facing line."""


@record(frozen=True)
class MetricsConfig:
    """Per-sample processing (stage 1, cached): rules.md "Definitions" and evidence.md §2–3."""

    # Running samples for cadence (rules.md Definitions; evidence.md §3).
    run_min_speed_mps: float = 2.0
    run_min_cadence_spm: float = 135.0
    edge_exclude_s: float = 60.0
    """Samples within this many seconds of the start or end are warm-up/stop noise."""
    max_sample_weight_s: float = 10.0
    """[eng] A sample never weighs more than this, so a pause after it does not count."""
    cadence_max_abs_grade_pct: float | None = None
    """[eng] evidence.md §3 suggests |grade| ≤ 3 % for cadence; rules.md does not. Off."""
    speed_bin_mps: float = 0.25
    moving_min_speed_mps: float = 0.5
    """[eng] Below this a sample is standing still (for ``moving_s``)."""

    # Downhill (rules.md Definitions; evidence.md §2 algorithm). All [eng].
    resample_m: float = 5.0
    despike_m: float = 25.0
    smooth_gps_m: float = 150.0
    smooth_baro_m: float = 50.0
    grade_gps_m: float = 100.0
    grade_baro_m: float = 50.0
    max_abs_grade_pct: float = 40.0
    downhill_grade_pct: float = -5.0
    steep_grade_pct: float = -10.0
    segment_gap_s: float = 30.0
    segment_gap_m: float = 200.0
    descent_hysteresis_m: float = 3.0
    min_altitude_coverage: float = 0.5
    """[eng] Share of positioned samples that must carry altitude for a usable profile."""

    # Speed work in a run (``rtr-speed-work``; :mod:`kneeflags.metrics.speed_work`). All [eng].
    speed_fast_pct: float = 30.0
    """A stretch or lap this much faster than the run's median grade-adjusted speed is fast."""
    speed_min_repeats: int = 3
    """Fast stretches or laps a run needs to be speed work (repeated, not one surge)."""
    speed_segment_min_s: float = 30.0
    """A fast stretch (or marked lap) shorter than this is a surge or a stride, not a repeat."""
    speed_smooth_s: float = 20.0
    """Window of the speed the pace structure reads (GPS speed jitters second to second)."""
    speed_recovery_max_s: float = 300.0
    """Fast stretches further apart than this are not one block of repeats."""
    speed_lap_max_s: float = 600.0
    """A marked lap longer than this is a block of the run, not a repeat."""


@record(frozen=True)
class VolumeJumpConfig:
    """``volume-jump``: week's km vs max(previous week, mean of previous 4 weeks)."""

    watch_pct: float = 10.0
    high_pct: float = 30.0
    min_rise_km: float = 3.0
    """[eng] A rise smaller than this is never a jump, whatever the percentage."""
    baseline_weeks: int = 4
    break_weeks: int = 2
    """[eng] Weeks without running that make the next running week a return from a break,
    judged against the level before the break instead of the (emptied) baseline."""
    return_watch_pct: float = 75.0
    """[eng] First week back above this share of the pre-break weekly level: watch."""
    return_high_pct: float = 110.0
    """[eng] First week back more than 10 % over the pre-break level: high (the guide's
    10 % ceiling, with the fitness lost in the break on top)."""


@record(frozen=True)
class SessionSpikeConfig:
    """``session-spike``: a run vs the longest run of the previous 30 days (Frandsen 2025)."""

    watch_pct: float = 10.0
    high_pct: float = 100.0
    window_days: int = 30


@record(frozen=True)
class DownhillShareConfig:
    """``downhill-share``: downhill km ÷ running km with known terrain, per week. [eng]"""

    watch_pct: float = 15.0
    high_pct: float = 25.0


@record(frozen=True)
class DownhillJumpConfig:
    """``downhill-jump``: week's downhill km vs the largest of the previous 4 weeks. [eng]"""

    watch_ratio: float = 1.3
    watch_min_rise_km: float = 1.0
    high_ratio: float = 2.0
    high_min_rise_km: float = 2.0
    baseline_weeks: int = 4


@record(frozen=True)
class LowCadenceConfig:
    """``low-cadence``: week's median running cadence vs the guide's 170–180 spm."""

    watch_below_spm: float = 170.0
    high_below_spm: float = 160.0
    """[eng]"""
    band_low_spm: float = 170.0
    band_high_spm: float = 180.0
    min_minutes: float = 10.0
    """[eng] Less qualifying running time than this in a week gives no cadence verdict."""
    habit_weeks: int = 8
    """[eng] Weeks, ending with the reported week, whose running cadence makes the one
    athlete-level "usual cadence below the band" line (the watch level): a runner's usual
    cadence is a habit, said once per report rather than flagged every week."""


@record(frozen=True)
class CadenceDropConfig:
    """``cadence-drop``: same-speed-band cadence vs the previous 8 weeks (overstride proxy)."""

    watch_drop_pct: float = 3.0
    """[eng]"""
    high_drop_pct: float = 5.0
    """[eng]"""
    baseline_weeks: int = 8
    min_bin_minutes: float = 5.0
    """[eng] Minimum running time of a speed band in the week to compare it."""
    min_baseline_minutes: float = 10.0
    """[eng] Minimum running time of the same band over the baseline weeks."""


@record(frozen=True)
class StrengthGapConfig:
    """``strength-gap``: one athlete-level line about the recent weeks (guide: two a week).

    Strength work is often done without a watch, so this is never more than a ``watch``,
    is said once per report instead of once per week, and stays out of ``--fail-on``
    unless asked for (``--fail-on-rule strength-gap``)."""

    target_sessions: int = 2
    window_weeks: int = 12
    """[eng] Weeks, ending with the reported week, whose recorded sessions are counted."""
    watch_below_per_week: float = 1.0
    """[eng] Watch when fewer sessions than this per running week were recorded in them."""


@record(frozen=True)
class AcwrConfig:
    """Acute:chronic workload ratio, information only (Williams 2017 EWMA)."""

    acute_days: int = 7
    chronic_days: int = 28


@record(frozen=True)
class RtrCapConfig:
    """``rtr-session-cap`` / ``rtr-weekly-cap``: distance over the protocol's cap. [eng]

    GPS distance wanders by a few per cent, so a run a hair over the cap is not a breach."""

    watch_over_pct: float = 5.0
    high_over_pct: float = 30.0


@record(frozen=True)
class RtrDownhillConfig:
    """``rtr-downhill``: downhill km in a run of a flat-only phase (evidence.md DH-REHAB)."""

    min_downhill_km: float = 0.5
    """[eng] evidence.md's DH-REHAB rule: more than 0.5 km at grade <= -5 % in one run."""


@record(frozen=True)
class RtrProgressionConfig:
    """``rtr-progression``: the first run after a setback entry, vs the run that hurt."""

    same_load_ratio: float = 1.0
    """[eng] A run at least this share of the painful run's distance did not step back."""


@record(frozen=True)
class RtrOnsetConfig:
    """``rtr-onset``: a run of the episode past the median logged onset distance."""

    over_pct: float = 0.0


@record(frozen=True)
class RtrSpeedWorkConfig:
    """``rtr-speed-work``: detected speed work before the protocol allows it (no numbers:
    detection lives in ``[metrics]``, the allowed dates in ``[rules.return-to-run]``)."""


@record(frozen=True)
class RulesConfig:
    """Thresholds per rule id (TOML section ``[rules.<rule-id>]``)."""

    volume_jump: VolumeJumpConfig = field(default_factory=VolumeJumpConfig)
    session_spike: SessionSpikeConfig = field(default_factory=SessionSpikeConfig)
    downhill_share: DownhillShareConfig = field(default_factory=DownhillShareConfig)
    downhill_jump: DownhillJumpConfig = field(default_factory=DownhillJumpConfig)
    low_cadence: LowCadenceConfig = field(default_factory=LowCadenceConfig)
    cadence_drop: CadenceDropConfig = field(default_factory=CadenceDropConfig)
    strength_gap: StrengthGapConfig = field(default_factory=StrengthGapConfig)
    acwr: AcwrConfig = field(default_factory=AcwrConfig)
    rtr_session_cap: RtrCapConfig = field(default_factory=RtrCapConfig)
    rtr_weekly_cap: RtrCapConfig = field(default_factory=RtrCapConfig)
    rtr_downhill: RtrDownhillConfig = field(default_factory=RtrDownhillConfig)
    rtr_speed_work: RtrSpeedWorkConfig = field(default_factory=RtrSpeedWorkConfig)
    rtr_progression: RtrProgressionConfig = field(default_factory=RtrProgressionConfig)
    rtr_onset: RtrOnsetConfig = field(default_factory=RtrOnsetConfig)
    return_to_run: ProtocolConfig = field(default_factory=ProtocolConfig)
    """The protocol's numbers (``[rules.return-to-run]``), see :mod:`kneeflags.plan.protocol`."""

    def for_rule(self, rule_id: str) -> Any:
        """The threshold record of ``rule_id`` (``volume-jump`` -> ``volume_jump``)."""
        return getattr(self, rule_id.replace("-", "_"))


@record(frozen=True)
class Config:
    """Everything tunable; ``Config()`` is exactly rules.md version 1."""

    week_start: str = "monday"
    """First day of the local week (rules.md: Monday by default)."""
    timezone: str | None = None
    """IANA zone used when an activity carries no UTC offset (before the system zone)."""
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)

    def __post_init__(self) -> None:
        if self.week_start.lower() not in WEEKDAYS:
            raise ConfigError(
                f"week_start must be one of {', '.join(WEEKDAYS)}, not {self.week_start!r}"
            )
        if self.timezone:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"unknown time zone {self.timezone!r} (use an IANA name such as Europe/London)"
                ) from None

    @property
    def week_start_index(self) -> int:
        """0 = Monday ... 6 = Sunday, as :meth:`datetime.date.weekday`."""
        return WEEKDAYS.index(self.week_start.lower())

    def metrics_fingerprint(self) -> str:
        """Short hash of what stage 1 (``summarize``) depends on, for cache keys."""
        payload = json.dumps(
            {"metrics": dataclasses.asdict(self.metrics), "timezone": self.timezone},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @classmethod
    def from_toml(cls, path: str | Path) -> Config:
        """Load overrides from a TOML file; unknown keys and wrong types are errors."""
        path = Path(path)
        try:
            # stat first: opening a FIFO would block and /dev/zero would never end
            if not stat.S_ISREG(path.stat().st_mode):
                raise ConfigError(f"{path}: not a regular file")
            with path.open("rb") as fh:
                raw = fh.read(MAX_CONFIG_BYTES + 1)
            if len(raw) > MAX_CONFIG_BYTES:
                raise ConfigError(f"{path}: config file is over {MAX_CONFIG_BYTES:,} bytes")
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not valid TOML (not UTF-8 text)") from None
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        except RecursionError:  # tomllib recurses per nesting level
            raise ConfigError(f"{path}: not a config file (values nested too deeply)") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<config>") -> Config:
        """Build from a nested mapping laid out like the TOML file."""
        try:
            return _build(cls, data, source, prefix="")
        except (TypeError, ValueError) as exc:  # ConfigError included (__post_init__)
            msg = str(exc)
            if isinstance(exc, ConfigError) and msg.startswith(f"{source}: "):
                raise
            raise ConfigError(f"{source}: {msg}") from None


def load_config(path: str | Path | None) -> Config:
    """``Config()`` when ``path`` is None, else the file's overrides on top of it."""
    return Config() if path is None else Config.from_toml(path)


def _build(cls: type, data: dict[str, Any], source: str, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'} must be a table")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            raise ConfigError(f"{source}: unknown key '{prefix}{raw_key}'")
        hint = hints[key]
        default = getattr(cls(), key) if is_dataclass(cls) else None
        if is_dataclass(default):
            kwargs[key] = _build(type(default), value, source, f"{prefix}{raw_key}.")
        else:
            kwargs[key] = _coerce(value, hint, f"{prefix}{raw_key}", source)
            _check_range(key, kwargs[key], f"{prefix}{raw_key}", source)
    built = cls(**kwargs)
    _check_watch_below_high(built, source, prefix)
    return built


MAX_CONFIG_NUMBER = 10_000
"""No threshold, day or week count in the catalogue comes near this; a larger value is a
typo (or an attack: a huge ``window_days`` made every run fail inside polars)."""

_STRICTLY_POSITIVE = frozenset(
    {
        "resample_m", "despike_m", "smooth_gps_m", "smooth_baro_m", "grade_gps_m",
        "grade_baro_m", "segment_gap_s", "segment_gap_m", "speed_bin_mps",
        "max_sample_weight_s", "max_abs_grade_pct",
    }
)  # fmt: skip
"""Lengths and steps that divide or build a grid: zero or less breaks every file."""

_NEGATIVE = frozenset({"downhill_grade_pct", "steep_grade_pct"})
"""Grades that mean "downhill": below zero by definition."""

MIN_RESAMPLE_M = 1.0
"""The grade grid step is at least a metre (a finer grid only adds GPS noise)."""


def _check_range(key: str, value: Any, shown: str, source: str) -> None:
    """One line naming the key when a number cannot be meant (exit 2, never a crash).

    NaN and infinities are refused everywhere: a ``nan`` threshold compares false with
    everything and silently switched its rule off (a HIGH flag vanished, exit 3 -> 0).
    Counts of days and weeks are at least 1; every other number is at least 0, except the
    downhill grades (below 0) and the lengths of :data:`_STRICTLY_POSITIVE` (above 0).
    """
    if value is None or isinstance(value, bool | str):
        return
    bad = None
    if isinstance(value, float) and not math.isfinite(value):  # an int of any size is finite
        bad = "must be a finite number"
    elif abs(value) > MAX_CONFIG_NUMBER:
        bad = f"must be between -{MAX_CONFIG_NUMBER:,} and {MAX_CONFIG_NUMBER:,}"
    elif key in _NEGATIVE:
        bad = "must be below 0 (a downhill grade)" if value >= 0 else None
    elif key == "resample_m" and value < MIN_RESAMPLE_M:
        bad = f"must be at least {MIN_RESAMPLE_M:g}"
    elif key in _STRICTLY_POSITIVE:
        bad = "must be above 0" if value <= 0 else None
    elif key.endswith(("_days", "_weeks")):
        bad = "must be at least 1" if value < 1 else None
    elif value < 0:
        bad = "must not be negative"
    if bad:
        raise ConfigError(f"{source}: '{shown}' {bad}, not {value!r}")


def _check_watch_below_high(obj: Any, source: str, prefix: str) -> None:
    """A ``watch`` threshold must be reached before its ``high`` one (or a high flag
    could never be preceded by a watch, and the severity order would invert)."""
    names = {f.name for f in fields(obj)}
    for name in names:
        if "watch" not in name or (pair := name.replace("watch", "high")) not in names:
            continue
        watch, high = getattr(obj, name), getattr(obj, pair)
        if not isinstance(watch, int | float) or not isinstance(high, int | float):
            continue
        below = "below" in name  # "below N spm": the watch level is the higher number
        if (watch < high) if below else (watch > high):
            order = "at least" if below else "at most"
            raise ConfigError(
                f"{source}: '{prefix}{name}' ({watch:g}) must be {order} "
                f"'{prefix}{pair}' ({high:g})"
            )


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    text = str(hint)
    optional = "None" in text
    if value is None and optional:
        return None
    if "float" in text:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: '{key}' must be a number, not {value!r}")
        return float(value)
    if "int" in text:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: '{key}' must be an integer, not {value!r}")
        return value
    if "str" in text:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: '{key}' must be a string, not {value!r}")
        return value
    raise ConfigError(f"{source}: '{key}' cannot be set from a config file")  # pragma: no cover
