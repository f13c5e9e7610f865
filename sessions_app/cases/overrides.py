"""Outcome overrides layered on provider truth (docs/case-work.md).

The provider's outcome (`WorkflowSession.outcome`) is the sync's and is never
edited; a reviewer's different view of it is an OutcomeOverride beside it.
Requesting one is subject to four-eyes (the "override" rule of
`VERITY_FOUR_EYES_RULES`): it becomes a pending Approval carrying the
requested outcome, which another reviewer approves or sends back through the
ordinary `approval_approve` / `approval_send_back`; only on approval does it
take effect (`override_effect.py`). A reviewer may withdraw the active one.

When the provider later changes the outcome the override was layered on,
`outcome_overrides_provider_changed` (called by the sync's write path,
`sync/upsert.py`, for every written batch) records the change on the override
and sends a closed case back to review; each step is audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..exceptions import ApplicationError
from ..models import Approval, OutcomeOverride, OverrideState, WorkflowSession
from ..roles import user_can_decide
from ..services import audit_event_record, client_for_object
from ..vocabulary import ReasonCode
from .case_fields import case_snapshot
from .models import OVERRIDE_TARGETS, outcome_words
from .override_effect import (
    case_state_write,
    override_audit_after,
    override_put_in_force,
)
from .reasons import override_reason_fit_check
from .rules import OVERRIDE, four_eyes_required
from .services import _comment_clean  # one definition of a case comment's limits
from .states import (
    CLOSED_STATES,
    CaseAction,
    CaseState,
    case_transition_target,
)


@dataclasses.dataclass(frozen=True)
class OverrideResult:
    """What requesting an override did: the override when it took effect at
    once (no four-eyes rule), the pending Approval otherwise."""

    override: OutcomeOverride | None
    approval: Approval | None

    @property
    def pending(self) -> bool:
        return self.override is None


def _active(locked: WorkflowSession) -> OutcomeOverride | None:
    return (
        OutcomeOverride.objects.select_for_update()
        .filter(session=locked, state=OverrideState.ACTIVE)
        .first()
    )


@transaction.atomic
def outcome_override_request(
    *,
    session: WorkflowSession,
    maker: Any,
    outcome: str,
    reason_code: str,
    comment: str,
    source: str = "web",
) -> OverrideResult:
    """Ask for the session's outcome to read `outcome` instead of the
    provider's, with a fitting reason and a comment; audited.

    Under a four-eyes rule (the default) it becomes a pending Approval and
    the case awaits approval; otherwise it takes effect at once.

    Raise ApplicationError for a user who may not decide, an outcome other
    than clear / attention / rejected, an unknown or unfitting reason, a
    missing or too long comment, an outcome the session already shows, or a
    case whose state allows no new decision (closed: reopen it first; a
    decision or override already awaiting approval).
    """
    if not user_can_decide(maker):
        raise ApplicationError("You are not allowed to override outcomes.")
    if outcome not in OVERRIDE_TARGETS:
        raise ApplicationError(
            "An override sets the outcome to clear, attention or rejected."
        )
    if reason_code not in ReasonCode.values:
        raise ApplicationError(f"Unknown reason code {reason_code!r}.")
    override_reason_fit_check(outcome=outcome, reason_code=reason_code)
    comment = _comment_clean(
        comment, required="Say why the provider's outcome is overridden."
    )
    locked = WorkflowSession.objects.select_for_update().get(pk=session.pk)
    active = _active(locked)
    if outcome == (active.outcome if active else locked.outcome):
        raise ApplicationError(f"The outcome is already {outcome_words(outcome)}.")
    if active is not None and outcome == locked.outcome:
        raise ApplicationError(
            f"The provider's outcome is {outcome_words(outcome)}: withdraw the "
            "override instead."
        )
    # The same states as any decision: refused on a closed case (reopen it
    # first) and while something awaits a second reviewer.
    case_transition_target(
        state=locked.case_state,
        action=CaseAction.SUBMIT,
        assigned=locked.assignee_id is not None,
    )
    now = timezone.now()
    before = case_snapshot(locked)
    if four_eyes_required(decision=OVERRIDE, outcome=locked.outcome):
        approval = Approval.objects.create(
            session=locked,
            maker=maker,
            decision=OVERRIDE,
            override_outcome=outcome,
            reason_code=reason_code,
            comment=comment,
            made_at=now,
            prior_case_state=locked.case_state,
            prior_waiting_until=locked.case_waiting_until,
        )
        case_state_write(locked, state=CaseState.AWAITING_APPROVAL, at=now)
        audit_event_record(
            actor=maker,
            source=source,
            action="approval.request",
            obj=locked,
            client=client_for_object(locked),
            before=before,
            after={
                **case_snapshot(locked),
                "decision": OVERRIDE,
                "override_outcome": outcome,
                "provider_outcome": locked.outcome,
                "reason_code": reason_code,
                "comment": comment,
                "approval_id": approval.pk,
            },
        )
        _copy_case(session, locked)
        return OverrideResult(override=None, approval=approval)
    override, previous = override_put_in_force(
        locked=locked,
        outcome=outcome,
        reason_code=reason_code,
        comment=comment,
        maker=maker,
        requested_at=now,
        approval=None,
        approver=None,
        at=now,
    )
    audit_event_record(
        actor=maker,
        source=source,
        action="override.record",
        obj=locked,
        client=client_for_object(locked),
        before=before,
        after={
            **case_snapshot(locked),
            **override_audit_after(override, previous),
        },
    )
    return OverrideResult(override=override, approval=None)


@transaction.atomic
def outcome_override_withdraw(
    *, session: WorkflowSession, actor: Any, comment: str, source: str = "web"
) -> OutcomeOverride:
    """Withdraw the session's active override, saying why: the provider's
    outcome shows again; audited. No second reviewer (it restores provider
    truth), but not on a closed case (reopen it first) nor while something
    awaits approval."""
    if not user_can_decide(actor):
        raise ApplicationError("You are not allowed to withdraw overrides.")
    comment = _comment_clean(comment, required="Say why the override is withdrawn.")
    locked = WorkflowSession.objects.select_for_update().get(pk=session.pk)
    active = _active(locked)
    if active is None:
        raise ApplicationError("This session has no override to withdraw.")
    case_transition_target(
        state=locked.case_state,
        action=CaseAction.SUBMIT,
        assigned=locked.assignee_id is not None,
    )
    active.state = OverrideState.WITHDRAWN
    active.ended_at = timezone.now()
    active.ended_by = actor
    active.end_comment = comment
    active.save(update_fields=["state", "ended_at", "ended_by", "end_comment"])
    audit_event_record(
        actor=actor,
        source=source,
        action="override.withdraw",
        obj=locked,
        client=client_for_object(locked),
        before={"override_id": active.pk, "override_outcome": active.outcome},
        after={"override_id": active.pk, "state": active.state, "comment": comment},
    )
    return active


def outcome_overrides_provider_changed(
    *, session_ids: Collection[int], now: dt.datetime | None = None
) -> int:
    """The sync's check after writing a batch of sessions: each active
    override whose provider outcome changed since the sync last saw it
    records the change, and its case goes back to review (a closed case is
    reopened; a case already in work stays where it is); one audit event
    each (source `sync`). Return how many changed.

    Called inside the sync's transaction (each change in a savepoint of its
    own; alone, in a transaction of its own). One query for the batch (none for an
    empty one), reading only the sessions that have an active override; the
    rare change costs a few more.
    """
    if not session_ids:
        return 0
    changed = list(
        OutcomeOverride.objects.filter(
            state=OverrideState.ACTIVE, session_id__in=list(session_ids)
        ).exclude(session__outcome=F("provider_outcome_now"))
    )
    now = now or timezone.now()
    for override in changed:
        with transaction.atomic():  # the sync's, or its own when called alone
            _provider_change_record(override, now=now)
    return len(changed)


def _provider_change_record(override: OutcomeOverride, *, now: dt.datetime) -> None:
    """Record one override's provider change: the override notes it, a
    closed case is reopened, one audit event (source `sync`)."""
    locked = WorkflowSession.objects.select_for_update().get(pk=override.session_id)
    before = {
        **case_snapshot(locked),
        "provider_outcome": override.provider_outcome_now,
    }
    override.provider_outcome_now = locked.outcome
    override.provider_changed_at = now
    override.save(update_fields=["provider_outcome_now", "provider_changed_at"])
    if locked.case_state in CLOSED_STATES:
        target = case_transition_target(
            state=locked.case_state,
            action=CaseAction.REOPEN,
            assigned=locked.assignee_id is not None,
        )
        case_state_write(locked, state=target, at=now)
    audit_event_record(
        actor=None,
        source="sync",
        action="override.provider_changed",
        obj=locked,
        client=client_for_object(locked),
        before=before,
        after={
            **case_snapshot(locked),
            "provider_outcome": locked.outcome,
            "override_id": override.pk,
            "override_outcome": override.outcome,
            "override_provider_outcome": override.provider_outcome,
        },
    )


def _copy_case(session: WorkflowSession, locked: WorkflowSession) -> None:
    for field in ("case_state", "case_state_changed_at", "case_waiting_until"):
        setattr(session, field, getattr(locked, field))
