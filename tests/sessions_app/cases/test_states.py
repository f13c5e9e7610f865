"""The transition table: every (state, action) pair is allowed with the
expected target or refused in words. The expected table is spelt out again
here, so a change to the data is a deliberate change to this test too."""

from __future__ import annotations

import itertools
import re

import pytest

from sessions_app.cases.states import (
    CaseAction,
    CaseState,
    case_transition_target,
    state_after_assignment,
)
from sessions_app.exceptions import ApplicationError

OP, R, A = CaseState.OPEN, CaseState.IN_REVIEW, CaseState.AWAITING_APPROVAL
E, W = CaseState.ESCALATED, CaseState.WAITING
OK, NO = CaseState.APPROVED, CaseState.REJECTED
WORK = "work"  # in review when assigned, open otherwise

ALLOWED = {
    CaseAction.APPROVE: {OP: OK, R: OK, E: OK, W: OK},
    CaseAction.REJECT: {OP: NO, R: NO, E: NO, W: NO},
    CaseAction.ESCALATE: {OP: E, R: E, W: E},
    CaseAction.REQUEST_INFORMATION: {OP: W, R: W, E: W},
    CaseAction.SUBMIT: {OP: A, R: A, E: A, W: A},
    CaseAction.CONFIRM: {A: "decision"},
    CaseAction.SEND_BACK: {A: WORK},
    CaseAction.RESUME: {W: WORK},
    CaseAction.REOPEN: {OK: WORK, NO: WORK},
}


@pytest.mark.parametrize(
    ("state", "action", "assigned"),
    list(itertools.product(CaseState.values, CaseAction.values, [False, True])),
)
def test_every_transition_is_allowed_or_refused_as_the_table_says(
    state, action, assigned
):
    expected = ALLOWED[action].get(state)
    if expected is None:
        with pytest.raises(ApplicationError) as refused:
            case_transition_target(
                state=state, action=action, assigned=assigned, decision="reject"
            )
        assert refused.value.message  # a sentence, never empty
        return
    target = case_transition_target(
        state=state, action=action, assigned=assigned, decision="reject"
    )
    if expected == WORK:
        assert target == (R if assigned else OP)
    elif expected == "decision":
        assert target == NO
    else:
        assert target == expected


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (OK, "closed (approved). Reopen it first"),
        (NO, "closed (rejected). Reopen it first"),
        (A, "awaits a second reviewer's approval"),
    ],
)
def test_a_decision_on_a_closed_or_pending_case_says_what_to_do(state, message):
    for action in (CaseAction.APPROVE, CaseAction.REJECT, CaseAction.ESCALATE):
        with pytest.raises(ApplicationError, match=re.escape(message)):
            case_transition_target(state=state, action=action, assigned=False)


def test_confirm_leads_to_the_decision_target():
    for decision, target in [
        ("approve", OK),
        ("reject", NO),
        ("escalate", E),
        ("request_information", W),
    ]:
        assert (
            case_transition_target(
                state=A, action=CaseAction.CONFIRM, assigned=False, decision=decision
            )
            == target
        )


def test_unknown_action_is_refused():
    with pytest.raises(ApplicationError, match="Unknown case action"):
        case_transition_target(state=OP, action="teleport", assigned=False)


@pytest.mark.parametrize(
    ("state", "assigned", "after"),
    [
        (OP, True, R),
        (R, False, OP),
        (OP, False, OP),
        (R, True, R),
        *[(s, a, s) for s in (A, E, W, OK, NO) for a in (True, False)],
    ],
)
def test_assignment_moves_only_between_open_and_in_review(state, assigned, after):
    assert state_after_assignment(state=state, assigned=assigned) == after
