"""A four-eyes Approval settled by its checker: the one write of the checker's
answer and its audit event, for every way an approval ends (a decision
approved or sent back in `services.py`, an outcome override approved in
`override_effect.py`).

Call it last in the caller's transaction, both rows locked and the session's
own change already saved: the audit event holds the chain's lock until
commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..models import Approval, ApprovalResult, AuditEvent, Review, WorkflowSession
from ..services import audit_event_record, client_for_object

# The audit action of each way a checker settles an approval.
APPROVAL_SETTLE_ACTIONS = {
    ApprovalResult.APPROVED: "approval.approve",
    ApprovalResult.SENT_BACK: "approval.send_back",
}


def approval_settle(
    approval: Approval,
    *,
    session: WorkflowSession,
    checker: Any,
    result: str,
    comment: str,
    at: dt.datetime,
    source: str,
    before: dict[str, Any],
    after: dict[str, Any],
    review: Review | None = None,
) -> AuditEvent:
    """Record the checker's answer (`result`: approved or sent back) on a
    locked pending approval, and audit the session's change: `before` and
    `after` are the caller's snapshots of it; the approval's own keys (its
    maker, the checker's comment, its id, the Review it became) are added to
    `after` here."""
    approval.checker = checker
    approval.checked_at = at
    approval.result = result
    approval.checker_comment = comment
    fields = ["checker", "checked_at", "result", "checker_comment"]
    settled = {"checker_comment": comment, "approval_id": approval.pk}
    if review is not None:
        approval.review = review
        fields.append("review")
        settled["review_id"] = review.pk
    approval.save(update_fields=fields)
    return audit_event_record(
        actor=checker,
        source=source,
        action=APPROVAL_SETTLE_ACTIONS[result],
        obj=session,
        client=client_for_object(session),
        before=before,
        after={**after, "maker_id": approval.maker_id, **settled},
    )
