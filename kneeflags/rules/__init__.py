"""Rules: the catalogue (data), the advice texts and the engine that evaluates them."""

from kneeflags.rules.advice import ADVICE, Advice
from kneeflags.rules.catalogue import RULES, RULES_BY_ID, Parameter, Rule, Threshold, get_rule
from kneeflags.rules.engine import evaluate, sort_flags

__all__ = [
    "ADVICE",
    "RULES",
    "RULES_BY_ID",
    "Advice",
    "Parameter",
    "Rule",
    "Threshold",
    "evaluate",
    "get_rule",
    "sort_flags",
]
