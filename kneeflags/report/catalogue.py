"""``kneeflags rules``: the rule catalogue rendered like ruff's rule docs.

For every rule: id and name, what it measures and how, the thresholds in force
(defaults of rules.md or a config file's; ``[eng]`` marks engineering defaults
with no published cut-off), further parameters, conditions, why (rationale and
reference), an example of the evidence line, the advice, and the config section
that tunes it. Text on a terminal is styled; piped it is plain.
"""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.text import Text

from kneeflags.report.text import bullet, make_console, strip_trailing


def _selected(rule: str | None) -> list[Any]:
    from kneeflags.rules.catalogue import ALL_RULES, get_rule

    return [get_rule(rule)] if rule else list(ALL_RULES)


def _advice(rule: Any) -> list[str]:
    from kneeflags.rules.advice import advice_lines

    return list(advice_lines(tuple(rule.advice_keys)))


def rule_record(rule: Any, config: Any | None) -> dict[str, Any]:
    """One rule as plain data (the JSON output and the source of the other formats)."""
    return {
        "id": rule.id,
        "name": rule.name,
        "scope": rule.scope,
        "conditions": list(rule.conditions),
        "measures": rule.measures,
        "computation": rule.computation,
        "unit": rule.unit,
        "thresholds": rule.threshold_lines(config),
        "parameters": rule.parameter_lines(config),
        "rationale": rule.rationale,
        "reference": rule.reference,
        "example": rule.example,
        "advice": _advice(rule),
        "config_section": f"[{rule.config_section}]",
        "guide_quote": getattr(rule, "guide_quote", "") or None,
    }


def render_rules(
    fmt: str = "text", *, rule: str | None = None, config: Any | None = None, color: bool = False
) -> str:
    """The catalogue (or one ``rule``) as text, Markdown or JSON."""
    records = [rule_record(r, config) for r in _selected(rule)]
    if fmt == "json":
        return json.dumps({"rules": records}, indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return _markdown(records)
    return _text(records, color=color)


_SCOPE = {"week": "per week", "run": "per run", "athlete": "per athlete"}


def _text(records: list[dict[str, Any]], *, color: bool) -> str:
    buf = io.StringIO()
    console = make_console(buf, color=color, width=88)
    for i, r in enumerate(records):
        if i:
            console.print()
        head = Text(r["id"], style="bold cyan")
        head.append(f"  {r['name']}", style="bold")
        head.append(
            f"  ({', '.join(r['conditions'])}; {_SCOPE.get(r['scope'], r['scope'])})", style="dim"
        )
        body: list[Any] = [
            _field("Measures", r["measures"]),
            _field("How", r["computation"]),
            Text("Thresholds:", style="bold"),
            *(bullet(t, indent=2, mark="-") for t in r["thresholds"]),
        ]
        if r["parameters"]:
            body.append(Text("Parameters:", style="bold"))
            body.extend(bullet(p, indent=2, mark="-") for p in r["parameters"])
        body += [
            _field("Why", r["rationale"]),
            _field("Reference", r["reference"]),
            *([_field("Guide", r["guide_quote"])] if r.get("guide_quote") else []),
            _field("Example", r["example"]),
            Text("Advice:", style="bold"),
            *(bullet(a, indent=2, mark="-") for a in r["advice"]),
            _field("Tune in config", r["config_section"]),
        ]
        console.print(head)
        console.print(Padding(Group(*body), (0, 0, 0, 2)))
    out = buf.getvalue()
    return out if color else strip_trailing(out)


def _field(label: str, value: str) -> Text:
    out = Text(f"{label}: ", style="bold")
    out.append(value)
    return out


def _markdown(records: list[dict[str, Any]]) -> str:
    lines = ["# kneeflags rule catalogue", ""]
    for r in records:
        lines += [
            f"## `{r['id']}`: {r['name']}",
            "",
            f"*{', '.join(r['conditions'])}; {_SCOPE.get(r['scope'], r['scope'])}*",
            "",
            f"**Measures:** {r['measures']}",
            "",
            f"**How:** {r['computation']}",
            "",
            "**Thresholds:**",
            "",
            *(f"- {t}" for t in r["thresholds"]),
            "",
        ]
        if r["parameters"]:
            lines += ["**Parameters:**", "", *(f"- {p}" for p in r["parameters"]), ""]
        lines += [
            f"**Why:** {r['rationale']}",
            "",
            f"**Reference:** {r['reference']}",
            "",
            *([f"**Guide:** {r['guide_quote']}", ""] if r.get("guide_quote") else []),
            f"**Example:** {r['example']}",
            "",
            "**Advice:**",
            "",
            *(f"- {a}" for a in r["advice"]),
            "",
            f"Tune in config: `{r['config_section']}`",
            "",
        ]
    return "\n".join(lines)
