"""The case state machine, as data: the states, the actions, and which action
may move a case from which state to which.

A case is Verity's own work on a session, separate from the provider's status:

    open ──assign──▶ in review ──decide──▶ closed (approved / rejected)
      │                 │  ▲                 ▲
      │                 │  └─ send back ─┐   │ confirm (a second reviewer)
      │                 └──── submit ──▶ awaiting approval
      ├── escalate ──▶ escalated
      └── request information ──▶ waiting for information ──(date passes / resume)──▶ back to work

"Back to work" is `in review` when someone is assigned, `open` otherwise.
Assigning or releasing moves only between those two (`state_after_assignment`);
in any other state the assignee changes and the state stays.

Nothing here touches the database: `case_transition_target` says where an
action leads or raises ApplicationError in words; the services in
`cases/services.py` apply it under a row lock and audit it.
"""

from __future__ import annotations

import dataclasses

from django.db import models

from ..exceptions import ApplicationError
from ..vocabulary import Decision
from .rules import OVERRIDE


class CaseState(models.TextChoices):
    OPEN = "open", "Open"
    IN_REVIEW = "in_review", "In review"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    ESCALATED = "escalated", "Escalated"
    WAITING = "waiting", "Waiting for information"
    APPROVED = "approved", "Closed — approved"
    REJECTED = "rejected", "Closed — rejected"


# The `case_state` filter also takes "closed" for both closed states.
CLOSED_STATES = (CaseState.APPROVED, CaseState.REJECTED)
CASE_STATE_CLOSED = "closed"
# A decision can be recorded in these states (the rest: closed, or a decision
# already waits for its second reviewer).
DECIDABLE_STATES = (
    CaseState.OPEN,
    CaseState.IN_REVIEW,
    CaseState.ESCALATED,
    CaseState.WAITING,
)
# Where "back to work" leads: in review when someone is assigned, else open.
BACK_TO_WORK = "back_to_work"


class CaseAction(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ESCALATE = "escalate", "Escalate"
    REQUEST_INFORMATION = "request_information", "Request information"
    SUBMIT = "submit", "Submit for approval"
    CONFIRM = "confirm", "Approve the decision (second reviewer)"
    SEND_BACK = "send_back", "Send back"
    RESUME = "resume", "Resume (information received or date passed)"
    REOPEN = "reopen", "Reopen"


@dataclasses.dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    # A CaseState, BACK_TO_WORK, or None: the target of the decision being
    # confirmed (`DECISION_TARGETS`).
    target: str | None


# What each decision closes or moves the case to once it takes effect.
DECISION_TARGETS: dict[str, str] = {
    Decision.APPROVE: CaseState.APPROVED,
    Decision.REJECT: CaseState.REJECTED,
    Decision.ESCALATE: CaseState.ESCALATED,
    Decision.REQUEST_INFORMATION: CaseState.WAITING,
    # An approved outcome override changes the outcome, not the decision:
    # the case goes back to work for a decision on it (overrides.py).
    OVERRIDE: BACK_TO_WORK,
}

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(CaseAction.APPROVE, DECIDABLE_STATES, CaseState.APPROVED),
        Transition(CaseAction.REJECT, DECIDABLE_STATES, CaseState.REJECTED),
        Transition(
            CaseAction.ESCALATE,
            (CaseState.OPEN, CaseState.IN_REVIEW, CaseState.WAITING),
            CaseState.ESCALATED,
        ),
        Transition(
            CaseAction.REQUEST_INFORMATION,
            (CaseState.OPEN, CaseState.IN_REVIEW, CaseState.ESCALATED),
            CaseState.WAITING,
        ),
        Transition(CaseAction.SUBMIT, DECIDABLE_STATES, CaseState.AWAITING_APPROVAL),
        Transition(CaseAction.CONFIRM, (CaseState.AWAITING_APPROVAL,), None),
        Transition(CaseAction.SEND_BACK, (CaseState.AWAITING_APPROVAL,), BACK_TO_WORK),
        Transition(CaseAction.RESUME, (CaseState.WAITING,), BACK_TO_WORK),
        Transition(CaseAction.REOPEN, CLOSED_STATES, BACK_TO_WORK),
    )
}

_LABELS = dict(CaseState.choices)

# Why an action is refused in a state, when the general sentence says too little.
_REFUSALS: dict[str, str] = {
    CaseState.APPROVED: "This case is closed (approved). Reopen it first, with a reason.",
    CaseState.REJECTED: "This case is closed (rejected). Reopen it first, with a reason.",
    CaseState.AWAITING_APPROVAL: (
        "A decision on this case awaits a second reviewer's approval: "
        "approve it or send it back first."
    ),
}


def case_state_label(state: str) -> str:
    return _LABELS.get(state, state)


def case_transition_target(
    *, state: str, action: str, assigned: bool, decision: str = ""
) -> str:
    """Return the state `action` moves a case in `state` to; raise
    ApplicationError, in words, when the table does not allow it.

    `assigned` resolves "back to work"; `decision` is the decision a CONFIRM
    makes effective.
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ApplicationError(f"Unknown case action {action!r}.")
    if state not in transition.sources:
        reason = (
            _REFUSALS.get(state)
            if action
            not in (
                CaseAction.REOPEN,
                CaseAction.CONFIRM,
                CaseAction.SEND_BACK,
                CaseAction.RESUME,
            )
            else None
        )
        raise ApplicationError(
            reason
            or f"{CaseAction(action).label} is not possible while the case is "
            f"{case_state_label(state).lower()}."
        )
    target = (
        DECISION_TARGETS[decision] if transition.target is None else transition.target
    )
    if target == BACK_TO_WORK:
        return CaseState.IN_REVIEW if assigned else CaseState.OPEN
    return target


def state_after_assignment(*, state: str, assigned: bool) -> str:
    """Assigning starts the review of an open case; releasing puts a case in
    review back to open. Every other state keeps its state."""
    if state == CaseState.OPEN and assigned:
        return CaseState.IN_REVIEW
    if state == CaseState.IN_REVIEW and not assigned:
        return CaseState.OPEN
    return state
