"""An outcome override taking effect: the new OutcomeOverride row (superseding
the active one) and the second reviewer's approval of a requested override.

Below `cases/services.py`, which calls `override_approval_confirm` from
`approval_approve` (the one approve service for every four-eyes request);
`overrides.py`, the request, withdrawal and the sync's provider-change
check, sits above both. Call these inside the caller's transaction, with the
session row locked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from ..exceptions import ApplicationError
from ..models import (
    Approval,
    ApprovalResult,
    OutcomeOverride,
    OverrideState,
    WorkflowSession,
)
from .approval_settle import approval_settle
from .case_fields import case_snapshot, case_state_set, override_case_return
from .models import outcome_words
from .rules import OVERRIDE
from .states import CaseAction, case_transition_target


def case_state_write(
    locked: WorkflowSession,
    *,
    state: str,
    at: dt.datetime,
    waiting_until: dt.datetime | None = None,
) -> None:
    """Move a locked session's case to `state` and save it (`waiting` only
    back to the wait an override request interrupted, with its date)."""
    locked.save(
        update_fields=case_state_set(
            locked, state=state, at=at, waiting_until=waiting_until
        )
    )


def override_put_in_force(
    *,
    locked: WorkflowSession,
    outcome: str,
    reason_code: str,
    comment: str,
    maker: Any,
    requested_at: dt.datetime,
    approval: Approval | None,
    approver: Any,
    at: dt.datetime,
) -> tuple[OutcomeOverride, OutcomeOverride | None]:
    """Write the override over the provider's current outcome; the active one
    before it, if any, is superseded. Return (new, superseded)."""
    previous = (
        OutcomeOverride.objects.select_for_update()
        .filter(session=locked, state=OverrideState.ACTIVE)
        .first()
    )
    if previous is not None:
        previous.state = OverrideState.SUPERSEDED
        previous.ended_at = at
        previous.ended_by = approver or maker
        previous.save(update_fields=["state", "ended_at", "ended_by"])
    override = OutcomeOverride.objects.create(
        session=locked,
        outcome=outcome,
        provider_outcome=locked.outcome,
        provider_outcome_now=locked.outcome,
        reason_code=reason_code,
        comment=comment,
        maker=maker,
        requested_at=requested_at,
        approval=approval,
        approver=approver,
        effective_at=at,
    )
    return override, previous


def override_audit_after(
    override: OutcomeOverride, previous: OutcomeOverride | None
) -> dict[str, Any]:
    after: dict[str, Any] = {
        "override_id": override.pk,
        "override_outcome": override.outcome,
        "provider_outcome": override.provider_outcome,
        "reason_code": override.reason_code,
        "comment": override.comment,
    }
    if previous is not None:
        after["superseded_override_id"] = previous.pk
    return after


def override_approval_confirm(
    *,
    approval: Approval,
    session: WorkflowSession,
    checker: Any,
    comment: str,
    source: str,
) -> OutcomeOverride:
    """The second reviewer approves a requested override (both rows locked,
    the approval pending, the checker not its maker: `approval_approve`
    checked). The override takes effect, the case goes back to work (a
    decision on the new outcome comes next), or back to the escalation or
    wait it was in when the override was asked for; one audit event."""
    if approval.decision != OVERRIDE:
        raise ApplicationError("This approval is not an outcome override.")
    target = case_transition_target(
        state=session.case_state,
        action=CaseAction.CONFIRM,
        assigned=session.assignee_id is not None,
        decision=OVERRIDE,
    )
    if approval.override_outcome == session.outcome:
        raise ApplicationError(
            f"The provider's outcome is now {outcome_words(session.outcome)}: "
            "this override is no longer needed. Send it back."
        )
    before = case_snapshot(session)
    now = timezone.now()
    override, previous = override_put_in_force(
        locked=session,
        outcome=approval.override_outcome,
        reason_code=approval.reason_code,
        comment=approval.comment,
        maker=approval.maker,
        requested_at=approval.made_at,
        approval=approval,
        approver=checker,
        at=now,
    )
    state, waiting_until = override_case_return(approval, target=target, at=now)
    case_state_write(session, state=state, at=now, waiting_until=waiting_until)
    approval_settle(
        approval,
        session=session,
        checker=checker,
        result=ApprovalResult.APPROVED,
        comment=comment,
        at=now,
        source=source,
        before=before,
        after={
            **case_snapshot(session),
            "decision": OVERRIDE,
            **override_audit_after(override, previous),
        },
    )
    return override
