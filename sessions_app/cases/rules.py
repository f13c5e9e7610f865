"""Four-eyes rules, as data: which decisions a second reviewer must approve.

`VERITY_FOUR_EYES_RULES` (settings) is a list of rules; a decision needs a
second reviewer when any rule matches it. A rule names a `decision` (one of
Decision's values, or "override" for outcome overrides, overrides.py) and may
narrow it to the sessions whose provider `outcomes` it lists ("" is no
outcome yet). The default: every approval of a session the provider found
attention or rejected, every reject, every override.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from ..vocabulary import Decision, Outcome

OVERRIDE = "override"
RULE_DECISIONS = (*Decision.values, OVERRIDE)
RULE_DECISION_CHOICES = [*Decision.choices, (OVERRIDE, "Override")]
DEFAULT_FOUR_EYES_RULES: list[dict[str, Any]] = [
    {"decision": Decision.APPROVE.value, "outcomes": ["attention", "rejected"]},
    {"decision": Decision.REJECT.value},
    {"decision": OVERRIDE},
]


def four_eyes_rules() -> list[Mapping[str, Any]]:
    return list(getattr(settings, "VERITY_FOUR_EYES_RULES", DEFAULT_FOUR_EYES_RULES))


def four_eyes_rule_problems(rules: Iterable[Any]) -> list[str]:
    """What is wrong with a rules setting, in words (the system check reports it)."""
    problems = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            problems.append(f"rule {index}: not a mapping")
            continue
        unknown_keys = set(rule) - {"decision", "outcomes"}
        if unknown_keys:
            problems.append(f"rule {index}: unknown keys {sorted(unknown_keys)}")
        if rule.get("decision") not in RULE_DECISIONS:
            problems.append(
                f"rule {index}: decision {rule.get('decision')!r} is not one of "
                f"{', '.join(RULE_DECISIONS)}"
            )
        outcomes = rule.get("outcomes")
        if outcomes is not None and (
            isinstance(outcomes, str)
            or not all(outcome in Outcome.values for outcome in outcomes)
        ):
            problems.append(
                f"rule {index}: outcomes must be a list of {Outcome.values}"
            )
    return problems


def four_eyes_required(*, decision: str, outcome: str) -> bool:
    """Whether a decision on a session with this provider outcome needs a
    second reviewer who is not the maker."""
    for rule in four_eyes_rules():
        if rule.get("decision") != decision:
            continue
        outcomes = rule.get("outcomes")
        if outcomes is None or outcome in outcomes:
            return True
    return False
