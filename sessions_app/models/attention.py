"""Which sessions need attention: the rule as a condition (`needs_attention_q`,
which also defines WorkflowSession's partial index `session_attention_created`),
and why a session meets it, in words: an expression (`needs_attention_reason`,
the sessions CSV) and for a row in memory (`needs_attention_words`, the queue's
"Why" column)."""

from __future__ import annotations

from django.db import models

from ..cases.states import CaseState
from ..vocabulary import Outcome, Status

# "Needs attention": an officer has something to decide or to chase.
#   * the provider's outcome is attention or rejected and the case is open or
#     in review (nothing decided yet, or reopened, sent back by a second
#     reviewer, or back from waiting for information: cases/states.py), or
#   * it is stuck or broken whatever its outcome: awaiting input, failed, or in
#     a status Verity does not recognise (the raw word is on the sync page).
# One definition: the overview count, the queue's quick filter, the API and CSV
# `needs_attention` filter and the session index `session_attention_created`
# all use it.
NEEDS_ATTENTION_OUTCOMES = (Outcome.ATTENTION, Outcome.REJECTED)
NEEDS_ATTENTION_STATUSES = (Status.AWAITING_INPUT, Status.FAILED, Status.UNKNOWN)
# Escalated, waiting and awaiting-approval cases have queues of their own.
NEEDS_ATTENTION_CASE_STATES = (CaseState.OPEN, CaseState.IN_REVIEW)


def needs_attention_q() -> models.Q:
    """Return the condition selecting sessions that need attention (see above)."""
    return models.Q(
        outcome__in=NEEDS_ATTENTION_OUTCOMES, case_state__in=NEEDS_ATTENTION_CASE_STATES
    ) | models.Q(status__in=NEEDS_ATTENTION_STATUSES)


def _outcome_case_words(outcome: str, case_state: str) -> str:
    # The rule's two halves, as they are: "outcome rejected, case in review".
    outcome_label = Outcome(outcome).label.lower()
    return f"outcome {outcome_label}, case {CaseState(case_state).label.lower()}"


def needs_attention_reason() -> models.Case:
    """Why a session needs attention, in a few words ("status failed",
    "outcome rejected, case open"), or "" when it does not: the same rule as
    `needs_attention_q`, as an expression (the sessions CSV)."""
    return models.Case(
        *[
            models.When(status=status, then=models.Value(f"status {label.lower()}"))
            for status, label in Status.choices
            if status in NEEDS_ATTENTION_STATUSES
        ],
        *[
            models.When(
                outcome=outcome,
                case_state=case_state,
                then=models.Value(_outcome_case_words(outcome, case_state)),
            )
            for outcome in NEEDS_ATTENTION_OUTCOMES
            for case_state in NEEDS_ATTENTION_CASE_STATES
        ],
        default=models.Value(""),
        output_field=models.CharField(),
    )


def needs_attention_words(*, status: str, outcome: str, case_state: str) -> str:
    """`needs_attention_reason` for one session already in memory (the queue's
    "Why" column): the same words, no query; "" when it does not need
    attention."""
    if status in NEEDS_ATTENTION_STATUSES:
        return f"status {Status(status).label.lower()}"
    if (
        outcome in NEEDS_ATTENTION_OUTCOMES
        and case_state in NEEDS_ATTENTION_CASE_STATES
    ):
        return _outcome_case_words(outcome, case_state)
    return ""
