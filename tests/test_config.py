"""Config: defaults are rules.md, TOML overrides, unknown keys rejected with key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kneeflags.config import Config, ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kneeflags.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_rules_md() -> None:
    c = Config()
    assert c.week_start_index == 0
    r = c.rules
    assert (r.volume_jump.watch_pct, r.volume_jump.high_pct, r.volume_jump.min_rise_km) == (
        10.0,
        30.0,
        3.0,
    )
    assert (r.session_spike.watch_pct, r.session_spike.high_pct) == (10.0, 100.0)
    assert r.session_spike.window_days == 30
    assert (r.downhill_share.watch_pct, r.downhill_share.high_pct) == (15.0, 25.0)
    assert (r.downhill_jump.watch_ratio, r.downhill_jump.high_ratio) == (1.3, 2.0)
    assert (r.low_cadence.watch_below_spm, r.low_cadence.high_below_spm) == (170.0, 160.0)
    assert (r.cadence_drop.watch_drop_pct, r.cadence_drop.high_drop_pct) == (3.0, 5.0)
    assert r.cadence_drop.baseline_weeks == 8
    m = c.metrics
    assert (m.resample_m, m.despike_m, m.smooth_gps_m, m.smooth_baro_m) == (5, 25, 150, 50)
    assert (m.grade_gps_m, m.grade_baro_m, m.max_abs_grade_pct) == (100, 50, 40)
    assert (m.downhill_grade_pct, m.steep_grade_pct) == (-5, -10)
    assert (m.segment_gap_s, m.segment_gap_m) == (30, 200)
    assert (m.run_min_speed_mps, m.run_min_cadence_spm, m.edge_exclude_s) == (2.0, 135, 60)


def test_toml_overrides(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
week_start = "sunday"
timezone = "America/Los_Angeles"

[metrics]
downhill_grade_pct = -6

[rules.volume-jump]
watch_pct = 15
min_rise_km = 2.5

[rules.cadence-drop]
baseline_weeks = 6
""",
    )
    c = load_config(path)
    assert c.week_start_index == 6
    assert c.timezone == "America/Los_Angeles"
    assert c.metrics.downhill_grade_pct == -6.0
    assert c.rules.volume_jump.watch_pct == 15.0
    assert c.rules.volume_jump.high_pct == 30.0  # untouched keys keep defaults
    assert c.rules.volume_jump.min_rise_km == 2.5
    assert c.rules.cadence_drop.baseline_weeks == 6
    assert load_config(None) == Config()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("wek_start = 'monday'", "unknown key 'wek_start'"),
        ("[rules.volume-jump]\nwach_pct = 5", "unknown key 'rules.volume-jump.wach_pct'"),
        ("[rules.volume-leap]\nwatch_pct = 5", "unknown key 'rules.volume-leap'"),
        ("[metrics]\nresample_m = 'five'", "'metrics.resample_m' must be a number"),
        ("[rules.cadence-drop]\nbaseline_weeks = 6.5", "must be an integer"),
        ("week_start = 'someday'", "week_start must be one of"),
        ("[rules]\nvolume-jump = 3", "rules.volume-jump must be a table"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert needle in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_metrics_fingerprint_tracks_stage_one_only() -> None:
    base = Config().metrics_fingerprint()
    assert (
        Config.from_dict({"rules": {"volume-jump": {"watch_pct": 20}}}).metrics_fingerprint()
        == base
    )
    assert Config.from_dict({"metrics": {"resample_m": 10}}).metrics_fingerprint() != base


def test_unknown_timezone_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "timezone = 'Mars/Olympus'")
    with pytest.raises(ConfigError, match=r"kneeflags.toml: unknown time zone 'Mars/Olympus'"):
        load_config(path)


@pytest.mark.parametrize(
    ("section", "body", "keys"),
    [
        ("volume-jump", "watch_pct = 40.0", ("watch_pct", "high_pct")),
        ("session-spike", "high_pct = 5.0", ("watch_pct", "high_pct")),
        ("low-cadence", "watch_below_spm = 150.0", ("watch_below_spm", "high_below_spm")),
        ("downhill-jump", "watch_ratio = 2.5", ("watch_ratio", "high_ratio")),
    ],
)
def test_a_watch_level_past_its_high_level_is_an_error_naming_both_keys(
    tmp_path: Path, section: str, body: str, keys: tuple[str, str]
) -> None:
    cfg = tmp_path / "knees.toml"
    cfg.write_text(f"[rules.{section}]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        Config.from_toml(cfg)
    msg = str(info.value)
    assert msg.startswith(f"{cfg}: ") and "\n" not in msg
    for key in keys:
        assert f"'rules.{section}.{key}'" in msg


def test_equal_watch_and_high_levels_are_allowed() -> None:
    cfg = Config.from_dict({"rules": {"volume-jump": {"watch_pct": 30.0}}})
    assert cfg.rules.volume_jump.watch_pct == cfg.rules.volume_jump.high_pct


def test_a_huge_integer_is_a_config_error_naming_the_file() -> None:
    """An int too large for a float was an OverflowError (exit 1, no file named)."""
    from kneeflags.config import Config, ConfigError

    with pytest.raises(ConfigError, match=r"big\.toml.*habit_weeks.*must be between"):
        Config.from_dict({"rules": {"low_cadence": {"habit_weeks": 10**400}}}, source="big.toml")
