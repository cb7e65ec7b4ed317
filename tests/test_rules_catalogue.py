"""The catalogue is complete, printable and consistent with rules.md and the advice texts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kneeflags.config import Config
from kneeflags.rules.advice import ADVICE
from kneeflags.rules.catalogue import RULES, get_rule
from kneeflags.rules.engine import EVALUATORS

RULES_MD = Path(__file__).resolve().parents[2] / "shared" / "guide" / "rules.md"
EXPECTED_IDS = [
    "volume-jump",
    "session-spike",
    "downhill-share",
    "downhill-jump",
    "low-cadence",
    "cadence-drop",
    "strength-gap",
]


def test_all_seven_rules_in_order_with_evaluators() -> None:
    assert [r.id for r in RULES] == EXPECTED_IDS
    assert set(EVALUATORS) == set(EXPECTED_IDS)


def test_catalogue_matches_rules_md_table() -> None:
    if not RULES_MD.is_file():
        pytest.skip(f"guide not found at {RULES_MD}")
    text = RULES_MD.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \|(.+)$", text, flags=re.M)
    assert [rid for rid, _ in rows] == EXPECTED_IDS
    for rid, rest in rows:
        cells = [c.strip() for c in rest.split("|")]
        watch, high = cells[1], cells[2]
        lines = get_rule(rid).threshold_lines()
        if rid == "strength-gap":
            # documented departure (issue 12): one athlete-level watch line, never high
            assert len(lines) == 1 and "1" in lines[0] and "watch" in lines[0]
            continue
        # Every number in rules.md's watch/high cells appears in our rendered thresholds.
        for cell, line in ((watch, lines[0]), (high, lines[1])):
            for number in re.findall(r"\d+(?:\.\d+)?", cell.split("(")[0]):
                assert number in line, f"{rid}: {number} of {cell!r} missing in {line!r}"
        # [eng] in rules.md -> [eng] in ours (the high column carries the marks).
        if "[eng]" in high:
            assert "[eng]" in lines[1], rid


def test_rules_render_like_rule_docs() -> None:
    for rule in RULES:
        assert rule.name and rule.measures and rule.computation and rule.unit
        assert rule.rationale and rule.reference and rule.example
        assert set(rule.conditions) <= {"ITBS", "PFPS"} and rule.conditions
        expected = ["watch"] if rule.id == "strength-gap" else ["watch", "high"]
        assert [t.severity for t in rule.thresholds] == expected
        assert all(k in ADVICE for k in rule.advice_keys)
        assert rule.config_section == f"rules.{rule.id}"
        for line in rule.threshold_lines() + rule.parameter_lines():
            assert "{" not in line
    assert get_rule("volume-jump").threshold_lines() == [
        "watch: > 10 % (guide)",
        "high: > 30 % (Nielsen 2014)",
    ]
    assert get_rule("downhill-share").threshold_lines()[0].endswith("[eng]")
    assert "min_rise_km = 3 km" in get_rule("volume-jump").parameter_lines()[0]


def test_threshold_lines_follow_config() -> None:
    cfg = Config.from_dict({"rules": {"volume-jump": {"watch_pct": 12.5}}})
    assert get_rule("volume-jump").threshold_lines(cfg)[0] == "watch: > 12.5 % (guide)"


def test_unknown_rule_id_is_named() -> None:
    with pytest.raises(KeyError, match="volume-jump"):
        get_rule("volume-jmup")


def test_advice_traces_to_guide_sections() -> None:
    for advice in ADVICE.values():
        assert advice.guide_section
        assert advice.text.endswith(".")
    # The guide's facts survive the rewording.
    assert "10 %" in ADVICE["volume.ten_percent"].text
    assert "170–180" in ADVICE["cadence.target"].text
    assert "5–10 %" in ADVICE["cadence.raise"].text
    assert "3–4 weeks" in ADVICE["downhill.hills_last"].text
    assert "two weeks" in ADVICE["volume.pfps_cutback"].text
    assert "flat centre" in ADVICE["downhill.camber"].text
    for exercise in (
        "clamshell",
        "hip hike",
        "single-leg deadlift",
        "glute bridge",
        "hip thrust",
        "squat",
        "step-up",
        "terminal knee extension",
    ):
        assert exercise in ADVICE["strength.exercises"].text
