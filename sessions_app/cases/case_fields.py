"""A case's own columns on WorkflowSession, written and snapshotted alike by
every case service (decisions, approvals, overrides, waiting, reopening).

`case_state_set` moves a locked row to a state and returns the fields to
save: the case's, and the due time that follows the new state
(`cases/sla.py`). `case_snapshot` is what an audit event records of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..models import WorkflowSession
from .sla import session_sla_apply
from .states import CaseState

CASE_FIELDS = ("case_state", "case_state_changed_at", "case_waiting_until")


def case_snapshot(session: WorkflowSession) -> dict[str, Any]:
    """The case fields for an audit event; no waiting date when there is none
    (it would read "Waiting until: none" on every event)."""
    return {
        field: getattr(session, field)
        for field in CASE_FIELDS
        if field != "case_waiting_until" or session.case_waiting_until is not None
    }


def case_state_set(
    locked: WorkflowSession,
    *,
    state: str,
    at: dt.datetime,
    waiting_until: dt.datetime | None = None,
) -> list[str]:
    """Move a locked session's case to `state` (a waiting date only when
    waiting); return the fields to save, its due time's included."""
    locked.case_state = state
    locked.case_state_changed_at = at
    locked.case_waiting_until = waiting_until if state == CaseState.WAITING else None
    return [*CASE_FIELDS, *session_sla_apply(locked, now=at)]


def override_case_return(
    approval: Any, *, target: str, at: dt.datetime
) -> tuple[str, dt.datetime | None]:
    """Where a case goes when its override request is approved or sent back,
    and its waiting date: back to the escalation or the wait it was in when
    the override was asked for (an override is no decision), else `target`.
    A wait whose date passed meanwhile is over: `target` (back to work)."""
    prior = approval.prior_case_state
    if prior == CaseState.ESCALATED:
        return CaseState.ESCALATED, None
    until = approval.prior_waiting_until
    if prior == CaseState.WAITING and until is not None and until > at:
        return CaseState.WAITING, until
    return target, None
