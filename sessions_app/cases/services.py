"""Case work's writes: decisions, four-eyes approvals, reopening and
resuming (the beat's return of waiting cases is `waiting.py`). Each is atomic: the session row is locked, the
transition table (`states.py`) says whether the action is allowed, and one
AuditEvent is written at the end of the transaction (the audit chain's lock
is held until commit, so it comes last).

Assignment lives in `services.session_assign`; it moves an open case into
review and back (`states.state_after_assignment`) in its own audited write.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..client_review.refresh import clients_mark_stale
from ..exceptions import ApplicationError
from ..models import Approval, ApprovalResult, Review, WorkflowSession
from ..roles import user_can_decide
from ..services import (
    REVIEW_COMMENT_MAX_LENGTH,
    audit_event_record,
    client_for_object,
)
from ..vocabulary import Decision, ReasonCode
from .approval_settle import approval_settle
from .case_fields import (
    CASE_FIELDS,
    case_snapshot,
    case_state_set,
    override_case_return,
)
from .override_effect import override_approval_confirm
from .reasons import reason_fit_check
from .rules import OVERRIDE, four_eyes_required
from .sla import SLA_FIELDS
from .states import CaseAction, CaseState, case_transition_target

# A request for information without a date waits this many days.
DEFAULT_WAITING_DAYS = 7
# The longest a case may wait for information.
MAX_WAITING_DAYS = 365
# What a reopening or a send-back must say, at least (characters).
CASE_COMMENT_MIN_LENGTH = 3


@dataclasses.dataclass(frozen=True)
class DecisionResult:
    """What recording a decision did: a Review when it took effect, an
    Approval when it waits for a second reviewer."""

    review: Review | None
    approval: Approval | None

    @property
    def pending(self) -> bool:
        return self.approval is not None and self.review is None


def _comment_clean(comment: str, *, required: str = "") -> str:
    comment = (comment or "").strip()
    if required and len(comment) < CASE_COMMENT_MIN_LENGTH:
        raise ApplicationError(required)
    if len(comment) > REVIEW_COMMENT_MAX_LENGTH:
        raise ApplicationError(
            f"A comment may hold at most {REVIEW_COMMENT_MAX_LENGTH:,} characters "
            f"(this one has {len(comment):,})."
        )
    return comment


def case_comment_clean(comment: str) -> str:
    """A decision's comment stripped; ApplicationError when too long (bulk
    work checks it once for the whole request)."""
    return _comment_clean(comment)


def _waiting_until_clean(
    *, decision: str, waiting_until: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    if decision != Decision.REQUEST_INFORMATION:
        if waiting_until is not None:
            raise ApplicationError(
                "A waiting-until date goes only with “Request information”."
            )
        return None
    if waiting_until is None:
        days = getattr(settings, "VERITY_CASE_WAITING_DAYS", DEFAULT_WAITING_DAYS)
        return now + dt.timedelta(days=days)
    if waiting_until <= now:
        raise ApplicationError("The waiting-until date must be in the future.")
    if waiting_until > now + dt.timedelta(days=MAX_WAITING_DAYS):
        raise ApplicationError(
            f"A case may wait at most {MAX_WAITING_DAYS} days for information."
        )
    return waiting_until


def _lock(session: WorkflowSession) -> WorkflowSession:
    return WorkflowSession.objects.select_for_update().get(pk=session.pk)


def _copy_back(session: WorkflowSession, locked: WorkflowSession) -> None:
    """The caller's instance sees what was written."""
    for field in (*CASE_FIELDS, *SLA_FIELDS, "last_decision", "last_decision_at"):
        setattr(session, field, getattr(locked, field))


def _decision_take_effect(
    locked: WorkflowSession,
    *,
    maker: Any,
    decision: str,
    reason_code: str,
    comment: str,
    waiting_until: dt.datetime | None,
    target: str,
    due_at: dt.datetime | None,
) -> Review:
    """Write the Review and the session's decision and case state;
    `due_at`: the session's due time when the maker decided."""
    review = Review.objects.create(
        session=locked,
        decision=decision,
        reason_code=reason_code,
        comment=comment,
        reviewer=maker,
        due_at=due_at,
    )
    locked.last_decision = decision
    locked.last_decision_at = review.created_at
    fields = case_state_set(
        locked, state=target, at=review.created_at, waiting_until=waiting_until
    )
    locked.save(update_fields=["last_decision", "last_decision_at", *fields])
    if locked.provider_client_id is not None:  # a reject raises the client's tier
        clients_mark_stale(provider_client_ids=[locked.provider_client_id])
    return review


@transaction.atomic
def case_decision_record(
    *,
    session: WorkflowSession,
    reviewer: Any,
    decision: str,
    reason_code: str,
    comment: str = "",
    waiting_until: dt.datetime | None = None,
    source: str = "web",
) -> DecisionResult:
    """Record a reviewer's decision on a session's case; audited.

    The decision takes effect at once (a Review; the case moves to its
    target: approved, rejected, escalated, waiting), or, when a four-eyes
    rule applies (`rules.py`), waits for a second reviewer as a pending
    Approval (the case: awaiting approval).

    Raise ApplicationError for a user who may not decide, an unknown
    decision or reason, a reason that does not fit the decision, a missing
    comment for 'Other', a comment too long, a bad waiting-until date, or a
    case whose state does not allow a decision (closed: reopen it first).
    """
    if not user_can_decide(reviewer):
        raise ApplicationError("You are not allowed to record decisions.")
    if decision not in Decision.values:
        raise ApplicationError(f"Unknown decision {decision!r}.")
    if reason_code not in ReasonCode.values:
        raise ApplicationError(f"Unknown reason code {reason_code!r}.")
    reason_fit_check(decision=decision, reason_code=reason_code)
    comment = _comment_clean(comment)
    if reason_code == ReasonCode.OTHER and not comment:
        raise ApplicationError("A comment is required when the reason is 'Other'.")
    now = timezone.now()
    waiting_until = _waiting_until_clean(
        decision=decision, waiting_until=waiting_until, now=now
    )
    locked = _lock(session)
    before = {
        "last_decision": locked.last_decision,
        "last_decision_at": locked.last_decision_at,
        **case_snapshot(locked),
    }
    assigned = locked.assignee_id is not None
    if four_eyes_required(decision=decision, outcome=locked.outcome):
        case_transition_target(
            state=locked.case_state, action=CaseAction.SUBMIT, assigned=assigned
        )
        approval = Approval.objects.create(
            session=locked,
            maker=reviewer,
            decision=decision,
            reason_code=reason_code,
            comment=comment,
            waiting_until=waiting_until,
            made_at=now,
            due_at=locked.case_due_at,
        )
        fields = case_state_set(locked, state=CaseState.AWAITING_APPROVAL, at=now)
        locked.save(update_fields=fields)
        audit_event_record(
            actor=reviewer,
            source=source,
            action="approval.request",
            obj=locked,
            client=client_for_object(locked),
            before=_case_snapshot_of(before),
            after={
                **case_snapshot(locked),
                "decision": decision,
                "reason_code": reason_code,
                "comment": comment,
                "waiting_until": waiting_until,
                "approval_id": approval.pk,
            },
        )
        _copy_back(session, locked)
        return DecisionResult(review=None, approval=approval)
    target = case_transition_target(
        state=locked.case_state, action=decision, assigned=assigned
    )
    review = _decision_take_effect(
        locked,
        maker=reviewer,
        decision=decision,
        reason_code=reason_code,
        comment=comment,
        waiting_until=waiting_until,
        target=target,
        due_at=locked.case_due_at,
    )
    audit_event_record(
        actor=reviewer,
        source=source,
        action=f"review.{decision}",
        obj=locked,
        client=client_for_object(locked),
        before=before,
        after={
            "last_decision": decision,
            "last_decision_at": review.created_at,
            **case_snapshot(locked),
            "reason_code": reason_code,
            "comment": comment,
            "review_id": review.pk,
        },
    )
    _copy_back(session, locked)
    return DecisionResult(review=review, approval=None)


def _case_snapshot_of(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {field: snapshot[field] for field in CASE_FIELDS if field in snapshot}


def _approval_lock(approval: Approval) -> tuple[Approval, WorkflowSession]:
    # The session first, as every case service locks it: one order, no deadlock.
    locked_session = WorkflowSession.objects.select_for_update().get(
        pk=approval.session_id
    )
    locked = Approval.objects.select_for_update().get(pk=approval.pk)
    if not locked.pending:
        raise ApplicationError(
            f"This decision was already {locked.get_result_display().lower()}."
        )
    return locked, locked_session


def _checker_check(approval: Approval, checker: Any) -> None:
    if not user_can_decide(checker):
        raise ApplicationError("You are not allowed to approve decisions.")
    if approval.maker_id == checker.pk:
        raise ApplicationError(
            "You made this decision: another reviewer must approve it or send it back."
        )


@transaction.atomic
def approval_approve(
    *, approval: Approval, checker: Any, comment: str = "", source: str = "web"
) -> Review | None:
    """The second reviewer approves the maker's decision: it takes effect as
    the maker's Review, and the case moves to the decision's target; audited.
    An outcome override takes effect as an OutcomeOverride instead (no
    Review: None; `override_effect.py`).

    Raise ApplicationError for the maker themselves, a user who may not
    decide, or an approval already settled.
    """
    _checker_check(approval, checker)
    comment = _comment_clean(comment)
    locked, session = _approval_lock(approval)
    if locked.decision == OVERRIDE:
        override_approval_confirm(
            approval=locked,
            session=session,
            checker=checker,
            comment=comment,
            source=source,
        )
        _approval_copy_back(approval, locked, session)
        return None
    target = case_transition_target(
        state=session.case_state,
        action=CaseAction.CONFIRM,
        assigned=session.assignee_id is not None,
        decision=locked.decision,
    )
    before = {
        "last_decision": session.last_decision,
        "last_decision_at": session.last_decision_at,
        **case_snapshot(session),
    }
    review = _decision_take_effect(
        session,
        maker=locked.maker,
        decision=locked.decision,
        reason_code=locked.reason_code,
        comment=locked.comment,
        waiting_until=locked.waiting_until,
        target=target,
        due_at=locked.due_at,
    )
    approval_settle(
        locked,
        session=session,
        checker=checker,
        result=ApprovalResult.APPROVED,
        comment=comment,
        at=review.created_at,
        source=source,
        before=before,
        after={
            "last_decision": session.last_decision,
            "last_decision_at": session.last_decision_at,
            **case_snapshot(session),
            "reason_code": locked.reason_code,
            "comment": locked.comment,
        },
        review=review,
    )
    _approval_copy_back(approval, locked, session)
    return review


@transaction.atomic
def approval_send_back(
    *, approval: Approval, checker: Any, comment: str, source: str = "web"
) -> Approval:
    """The second reviewer sends the maker's decision back, saying why: no
    decision takes effect, and the case returns to work (an override request
    returns it to the escalation or wait it interrupted); audited."""
    _checker_check(approval, checker)
    comment = _comment_clean(
        comment, required="Say why the decision goes back to its maker."
    )
    locked, session = _approval_lock(approval)
    target = case_transition_target(
        state=session.case_state,
        action=CaseAction.SEND_BACK,
        assigned=session.assignee_id is not None,
    )
    before = case_snapshot(session)
    now = timezone.now()
    waiting_until = None
    if locked.decision == OVERRIDE:  # no decision: back to where it was
        target, waiting_until = override_case_return(locked, target=target, at=now)
    session.save(
        update_fields=case_state_set(
            session, state=target, at=now, waiting_until=waiting_until
        )
    )
    approval_settle(
        locked,
        session=session,
        checker=checker,
        result=ApprovalResult.SENT_BACK,
        comment=comment,
        at=now,
        source=source,
        before=before,
        after={
            **case_snapshot(session),
            "decision": locked.decision,
            "reason_code": locked.reason_code,
        },
    )
    _approval_copy_back(approval, locked, session)
    return locked


def _approval_copy_back(
    approval: Approval, locked: Approval, session: WorkflowSession
) -> None:
    for field in ("checker_id", "checked_at", "result", "checker_comment", "review_id"):
        setattr(approval, field, getattr(locked, field))
    if Approval.session.is_cached(approval):  # no query for the copy
        _copy_back(approval.session, session)


def back_to_work(
    *,
    session: WorkflowSession,
    actor: Any,
    action: str,
    audit_action: str,
    comment: str,
    source: str,
) -> WorkflowSession:
    """Move a case back to work by `action` (resume, reopen) and audit it;
    call inside a transaction."""
    locked = _lock(session)
    target = case_transition_target(
        state=locked.case_state, action=action, assigned=locked.assignee_id is not None
    )
    before = case_snapshot(locked)
    locked.save(update_fields=case_state_set(locked, state=target, at=timezone.now()))
    after = case_snapshot(locked)
    if comment:
        after["comment"] = comment
    audit_event_record(
        actor=actor,
        source=source,
        action=audit_action,
        obj=locked,
        client=client_for_object(locked),
        before=before,
        after=after,
    )
    _copy_back(session, locked)
    return locked


@transaction.atomic
def case_reopen(
    *, session: WorkflowSession, actor: Any, comment: str, source: str = "web"
) -> WorkflowSession:
    """Reopen a closed case so a new decision can be recorded, saying why;
    audited. The last decision stays on record until a new one takes effect."""
    if not user_can_decide(actor):
        raise ApplicationError("You are not allowed to reopen cases.")
    comment = _comment_clean(comment, required="Say why the case is reopened.")
    return back_to_work(
        session=session,
        actor=actor,
        action=CaseAction.REOPEN,
        audit_action="case.reopen",
        comment=comment,
        source=source,
    )


@transaction.atomic
def case_resume(
    *, session: WorkflowSession, actor: Any, comment: str = "", source: str = "web"
) -> WorkflowSession:
    """Bring a case waiting for information back to work before its date
    (the information arrived); audited."""
    if not user_can_decide(actor):
        raise ApplicationError("You are not allowed to resume cases.")
    return back_to_work(
        session=session,
        actor=actor,
        action=CaseAction.RESUME,
        audit_action="case.resume",
        comment=_comment_clean(comment),
        source=source,
    )
