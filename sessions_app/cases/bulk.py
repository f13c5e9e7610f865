"""Bulk work on the queue: one request applies one action to many sessions.

Each row goes through the same service a single change uses
(`services.session_assign`, `notes.note_add`,
`cases.services.case_decision_record`), so it is checked and audited exactly
as it would be alone: a four-eyes rule turns a row's decision into a pending
approval, a refused row is reported with the service's reason and the others
proceed (each row in its own savepoint). One more audit event records the
request itself, with every id and what became of it.

The selection is bounded (`BULK_MAX_SESSIONS`); the rows are locked in id
order up front, so two bulk requests over the same rows never deadlock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models, transaction

from ..exceptions import ApplicationError
from ..models import Client, WorkflowSession
from ..roles import user_can_assign, user_can_decide
from ..services import audit_event_record, session_assign
from ..vocabulary import Decision, ReasonCode
from . import services as case_services
from .notes import note_add, note_text_clean
from .reasons import reason_fit_check
from .states import CLOSED_STATES

# The most sessions one bulk request may touch (a page of the queue holds at
# most 100 rows).
BULK_MAX_SESSIONS = 100
# How many session ids a summary names per reason before "and N more".
SUMMARY_IDS_SHOWN = 5


class BulkAction(models.TextChoices):
    ASSIGN_ME = "assign_me", "Assign to me"
    ASSIGN = "assign", "Assign to a reviewer"
    UNASSIGN = "unassign", "Unassign"
    NOTE = "note", "Add a note"
    DECIDE = "decide", "Record a decision"


class RowOutcome(models.TextChoices):
    DONE = "done", "Done"
    PENDING = "pending", "Awaiting a second reviewer"
    UNCHANGED = "unchanged", "Unchanged"
    REFUSED = "refused", "Refused"


@dataclasses.dataclass(frozen=True)
class BulkRow:
    session_id: int
    external_id: str
    outcome: str
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class BulkResult:
    action: str
    rows: list[BulkRow]
    assignee: str = ""

    def ids(self, outcome: str) -> list[int]:
        return [row.session_id for row in self.rows if row.outcome == outcome]

    @property
    def summary(self) -> str:
        """What happened, in words: "12 assigned to you; 3 not: closed cases
        (s-1, s-2, s-3)"."""
        done = len(self.ids(RowOutcome.DONE))
        parts = [f"{done} {_done_words(self.action, self.assignee)}"]
        if pending := len(self.ids(RowOutcome.PENDING)):
            parts.append(f"{pending} awaiting a second reviewer's approval")
        not_done = [
            row
            for row in self.rows
            if row.outcome in (RowOutcome.UNCHANGED, RowOutcome.REFUSED)
        ]
        if not_done:
            by_reason: dict[str, list[str]] = {}
            for row in not_done:
                by_reason.setdefault(row.reason, []).append(row.external_id)
            reasons = "; ".join(
                f"{reason} ({_ids_words(ids)})" for reason, ids in by_reason.items()
            )
            parts.append(f"{len(not_done)} not: {reasons}")
        return "; ".join(parts) + "."


def _done_words(action: str, assignee: str) -> str:
    return {
        BulkAction.ASSIGN_ME: "assigned to you",
        BulkAction.ASSIGN: f"assigned to {assignee}",
        BulkAction.UNASSIGN: "unassigned",
        BulkAction.NOTE: "noted",
        BulkAction.DECIDE: "decided",
    }[action]


def _ids_words(ids: list[str]) -> str:
    shown = ", ".join(ids[:SUMMARY_IDS_SHOWN])
    more = len(ids) - SUMMARY_IDS_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def bulk_ids_clean(session_ids: Iterable[Any]) -> list[int]:
    """The selection as distinct ids in the order given; ApplicationError
    when empty, not numbers, or more than BULK_MAX_SESSIONS."""
    ids: list[int] = []
    for raw in session_ids:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ApplicationError(f"{raw!r} is not a session id.") from None
        if value <= 0:
            raise ApplicationError(f"{raw!r} is not a session id.")
        if value not in ids:
            ids.append(value)
    if not ids:
        raise ApplicationError("Select at least one session.")
    if len(ids) > BULK_MAX_SESSIONS:
        raise ApplicationError(
            f"Select at most {BULK_MAX_SESSIONS} sessions at once "
            f"({len(ids)} were selected)."
        )
    return ids


def _decision_check(decision: str, reason_code: str, comment: str) -> None:
    """Refuse a bad decision once for the request, not once per row."""
    if decision not in Decision.values:
        raise ApplicationError(f"Unknown decision {decision!r}.")
    if reason_code not in ReasonCode.values:
        raise ApplicationError(f"Unknown reason code {reason_code!r}.")
    reason_fit_check(decision=decision, reason_code=reason_code)
    if reason_code == ReasonCode.OTHER and not (comment or "").strip():
        raise ApplicationError("A comment is required when the reason is 'Other'.")


def _row_action(
    *,
    action: str,
    actor: Any,
    assignee: Any | None,
    text: str,
    decision: str,
    reason_code: str,
    comment: str,
    source: str,
) -> Callable[[WorkflowSession], tuple[str, str]]:
    """The per-row step: returns (outcome, reason) or raises ApplicationError."""

    def assign(session: WorkflowSession) -> tuple[str, str]:
        target = assignee.pk if assignee is not None else None
        if session.assignee_id == target:
            return RowOutcome.UNCHANGED, (
                "already unassigned" if target is None else "already assigned"
            )
        if target is not None and session.case_state in CLOSED_STATES:
            return RowOutcome.REFUSED, "closed cases (reopen them first)"
        session_assign(session=session, assignee=assignee, actor=actor, source=source)
        return RowOutcome.DONE, ""

    def note(session: WorkflowSession) -> tuple[str, str]:
        note_add(session=session, author=actor, text=text, source=source)
        return RowOutcome.DONE, ""

    def decide(session: WorkflowSession) -> tuple[str, str]:
        result = case_services.case_decision_record(
            session=session,
            reviewer=actor,
            decision=decision,
            reason_code=reason_code,
            comment=comment,
            source=source,
        )
        return (RowOutcome.PENDING if result.pending else RowOutcome.DONE), ""

    if action == BulkAction.NOTE:
        return note
    if action == BulkAction.DECIDE:
        return decide
    return assign


def _reason_words(message: str) -> str:
    return message.strip().rstrip(".")


@transaction.atomic
def _clients_lock(session_ids: list[int]) -> None:
    """Lock the clients of the selected sessions, in id order, before any row.

    A decision marks its client's review summary stale (an UPDATE: a row
    lock) after its audit event, and the first row's audit event holds the
    audit chain's head until the bulk commits. A single decision, and the
    sync, take session, then client, then the chain; a bulk that locked a
    later row's client after the chain would take them the other way round
    and deadlock against them. Locked here, every client comes before the
    chain, as everywhere else.
    """
    list(
        Client.objects.select_for_update()
        .filter(
            pk__in=WorkflowSession.objects.filter(pk__in=session_ids).values(
                "provider_client__client_id"
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def sessions_bulk_apply(
    *,
    actor: Any,
    session_ids: Iterable[Any],
    action: str,
    assignee: Any | None = None,
    text: str = "",
    decision: str = "",
    reason_code: str = "",
    comment: str = "",
    source: str = "web",
) -> BulkResult:
    """Apply `action` to each selected session through its single-row
    service; audited per row and once for the request.

    Raise ApplicationError (and change nothing) for a user who may not work
    on the queue, a bad selection, an unknown action, a missing or
    non-reviewer assignee, a blank or too long note, or a decision whose
    reason does not fit. A row its service refuses is reported in the
    result; the others proceed.
    """
    if not (user_can_assign(actor) and user_can_decide(actor)):
        raise ApplicationError("Only reviewers and admins may work on the queue.")
    ids = bulk_ids_clean(session_ids)
    if action not in BulkAction.values:
        raise ApplicationError(f"Unknown bulk action {action!r}.")
    if action == BulkAction.ASSIGN_ME:
        assignee = actor
    elif action == BulkAction.UNASSIGN:
        assignee = None
    elif action == BulkAction.ASSIGN:
        if assignee is None:
            raise ApplicationError("Choose the reviewer to assign the sessions to.")
        if not user_can_decide(assignee):
            raise ApplicationError(f"{assignee.get_username()} is not a reviewer.")
    if action == BulkAction.NOTE:
        text = note_text_clean(text)
    if action == BulkAction.DECIDE:
        comment = case_services.case_comment_clean(comment)
        _decision_check(decision, reason_code, comment)
    step = _row_action(
        action=action,
        actor=actor,
        assignee=assignee,
        text=text,
        decision=decision,
        reason_code=reason_code,
        comment=comment,
        source=source,
    )
    locked = {
        session.pk: session
        for session in WorkflowSession.objects.select_for_update()
        .filter(pk__in=ids)
        .defer("raw_payload")
        .order_by("pk")
    }
    if action == BulkAction.DECIDE:
        _clients_lock(ids)
    rows: list[BulkRow] = []
    for pk in ids:
        session = locked.get(pk)
        if session is None:
            rows.append(BulkRow(pk, str(pk), RowOutcome.REFUSED, "no such session"))
            continue
        try:
            with transaction.atomic():
                outcome, reason = step(session)
        except ApplicationError as exc:
            outcome, reason = RowOutcome.REFUSED, _reason_words(exc.message)
        rows.append(BulkRow(pk, session.external_id, outcome, reason))
    result = BulkResult(
        action=action,
        rows=rows,
        assignee=assignee.get_username() if assignee is not None else "",
    )
    after: dict[str, Any] = {
        "action": action,
        "session_ids": ids,
        **{outcome.value: result.ids(outcome) for outcome in RowOutcome},
        "reasons": {str(row.session_id): row.reason for row in rows if row.reason},
    }
    if action in (BulkAction.ASSIGN, BulkAction.ASSIGN_ME):
        after["assignee"] = result.assignee
    if action == BulkAction.NOTE:
        after["text"] = text
    if action == BulkAction.DECIDE:
        after.update(decision=decision, reason_code=reason_code, comment=comment)
    audit_event_record(
        actor=actor,
        source=source,
        action="sessions.bulk",
        object_type=WorkflowSession._meta.label_lower,
        object_repr=f"{BulkAction(action).label}: {len(ids)} sessions",
        after=after,
    )
    return result
