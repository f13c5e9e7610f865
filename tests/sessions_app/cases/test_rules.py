"""Four-eyes rules as data: the defaults, settings, and the start-up check."""

from __future__ import annotations

import pytest

from sessions_app.cases.rules import four_eyes_required
from sessions_app.checks import four_eyes_rules_check


@pytest.mark.parametrize(
    ("decision", "outcome", "required"),
    [
        ("approve", "clear", False),
        ("approve", "", False),
        ("approve", "attention", True),
        ("approve", "rejected", True),
        ("reject", "clear", True),
        ("reject", "rejected", True),
        ("escalate", "rejected", False),
        ("request_information", "attention", False),
        ("override", "clear", True),
    ],
)
def test_the_default_rules(decision, outcome, required):
    assert four_eyes_required(decision=decision, outcome=outcome) is required


def test_rules_come_from_settings(settings):
    settings.VERITY_FOUR_EYES_RULES = [{"decision": "escalate"}]
    assert four_eyes_required(decision="escalate", outcome="clear")
    assert not four_eyes_required(decision="reject", outcome="rejected")
    settings.VERITY_FOUR_EYES_RULES = []
    assert not four_eyes_required(decision="reject", outcome="rejected")


def test_the_default_settings_pass_the_check():
    assert four_eyes_rules_check() == []


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ([{"decision": "aprove"}], "decision 'aprove' is not one of"),
        ([{"decision": "approve", "outcomes": ["red"]}], "outcomes must be a list"),
        ([{"decision": "approve", "outcomes": "attention"}], "outcomes must be"),
        ([{"decision": "approve", "when": "always"}], "unknown keys"),
        (["approve"], "not a mapping"),
        ({"decision": "approve"}, "must be a list"),
    ],
)
def test_a_typo_in_the_rules_is_an_error_at_start_up(settings, rules, problem):
    settings.VERITY_FOUR_EYES_RULES = rules
    errors = four_eyes_rules_check()
    assert errors
    assert all(e.id == "verity.E004" for e in errors)
    assert any(problem in e.msg for e in errors)
