"""Case work's reads: a session's approvals and outcome overrides, the
overview's case counts, and the "awaiting my approval" condition of the queue."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from ..models import (
    Approval,
    ApprovalResult,
    OutcomeOverride,
    OverrideState,
    WorkflowSession,
)
from .case_fields import override_case_return
from .states import BACK_TO_WORK, CaseState

# How many of a session's approvals its page lists (newest first).
APPROVAL_HISTORY_LIMIT = 20
# The case states the overview counts: small sets, each an index range of
# `session_case_state_created` (never the whole table).
OVERVIEW_CASE_STATES = (
    CaseState.ESCALATED,
    CaseState.WAITING,
    CaseState.AWAITING_APPROVAL,
)


@dataclasses.dataclass(frozen=True)
class SessionApprovals:
    pending: Approval | None
    history: list[Approval]

    @property
    def settled(self) -> list[Approval]:
        """The approved and sent-back ones, newest first."""
        return [approval for approval in self.history if not approval.pending]


def session_approvals_get(
    *, session_id: int, limit: int = APPROVAL_HISTORY_LIMIT
) -> SessionApprovals:
    """A session's newest approvals with their maker and checker (one query);
    the pending one, if any, is always the newest (a new decision can only
    be submitted once the last is settled)."""
    history = list(
        Approval.objects.filter(session_id=session_id)
        .select_related("maker", "checker")
        .order_by("-made_at", "-id")[:limit]
    )
    pending = history[0] if history and history[0].pending else None
    return SessionApprovals(pending=pending, history=history)


def approval_return_words(*, approval: Approval, now: dt.datetime) -> str:
    """Where an override request's case goes once it is approved or sent
    back, in words for the pending-approval panel, when the request
    interrupted an escalation or a wait ("" otherwise: the case goes back to
    work as after any decision). Follows `override_case_return`, the rule
    the approve and send-back services apply."""
    prior = approval.prior_case_state
    if prior not in (CaseState.ESCALATED, CaseState.WAITING):
        return ""
    state, _ = override_case_return(approval, target=BACK_TO_WORK, at=now)
    settled = "once this is approved or sent back"
    if state == CaseState.ESCALATED:
        return (
            f"Raised while the case was escalated: it returns to escalated {settled}."
        )
    until = approval.prior_waiting_until
    raised = "Raised while the case was waiting for information"
    if until is not None:
        raised += f" until {timezone.localtime(until):%Y-%m-%d %H:%M}"
    if state == CaseState.WAITING:
        return f"{raised}: it returns to waiting until then {settled}."
    if until is not None:  # the date passed meanwhile: the wait is over
        return f"{raised}; that date has passed, so it goes back to work {settled}."
    return f"{raised}: it goes back to work {settled}."


def approval_get(*, pk: int) -> Approval:
    """Return the approval `pk` with its session; raise Approval.DoesNotExist."""
    return Approval.objects.select_related("session").get(pk=pk)


def approval_queryset() -> QuerySet[Approval]:
    return Approval.objects.select_related("maker", "checker", "session")


def case_state_counts() -> dict[str, int]:
    """How many cases are escalated, waiting for information and awaiting
    approval (one grouped query over the case-state index ranges)."""
    rows = (
        WorkflowSession.objects.filter(case_state__in=OVERVIEW_CASE_STATES)
        .order_by()
        .values("case_state")
        .annotate(n=Count("*"))
    )
    counts = dict.fromkeys(OVERVIEW_CASE_STATES, 0)
    counts.update({row["case_state"]: row["n"] for row in rows})
    return {str(state): n for state, n in counts.items()}


def awaiting_approval_by_q(user: Any) -> Q:
    """Sessions whose pending decision `user` may approve: awaiting approval,
    and not made by `user` (nobody approves their own decision)."""
    own = Approval.objects.filter(
        session_id=OuterRef("pk"), result=ApprovalResult.PENDING, maker_id=user.pk
    )
    return Q(case_state=CaseState.AWAITING_APPROVAL) & ~Q(Exists(own))


# The overview's SLA breaches (cases/sla.py): overdue cases per queue rule,
# each with the `case_state` values of its queue link. Needs attention is
# every state without a rule of its own.
BREACH_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("needs_attention", "Needs attention", ("open", "in_review", "closed")),
    ("escalated", "Escalated", (CaseState.ESCALATED,)),
    ("waiting", "Waiting for information", (CaseState.WAITING,)),
    ("awaiting_approval", "Awaiting approval", (CaseState.AWAITING_APPROVAL,)),
)


# The overview reads at most this many overdue cases: beyond it, "more than".
BREACH_COUNT_CAP = 1000


def sla_breach_counts(*, now: dt.datetime) -> dict[str, int] | None:
    """Overdue cases per rule of BREACH_RULES, or None when more than
    BREACH_COUNT_CAP are overdue. One query reading at most the cap's
    entries of the due-time index (`session_due_state`, index-only): an
    overview never counts a backlog of a hundred thousand one by one."""
    states = list(
        WorkflowSession.objects.filter(case_due_at__lt=now)
        .order_by()
        .values_list("case_state", flat=True)[: BREACH_COUNT_CAP + 1]
    )
    if len(states) > BREACH_COUNT_CAP:
        return None
    counts = dict.fromkeys((rule for rule, _, _ in BREACH_RULES), 0)
    for state in states:
        counts[state if state in counts else "needs_attention"] += 1
    return counts


# How many of a session's overrides its page lists (newest first).
OVERRIDE_HISTORY_LIMIT = 20
# Where list rows (queue, client page) find the active override's outcome.
OVERRIDE_OUTCOME_ATTR = "override_outcome"


@dataclasses.dataclass(frozen=True)
class SessionOverrides:
    active: OutcomeOverride | None
    history: list[OutcomeOverride]

    @property
    def ended(self) -> list[OutcomeOverride]:
        """The superseded and withdrawn ones, newest first."""
        return [override for override in self.history if not override.active]


def session_overrides_get(
    *, session_id: int, limit: int = OVERRIDE_HISTORY_LIMIT
) -> SessionOverrides:
    """A session's newest outcome overrides with their maker, approver and
    ender (one query); the active one, if any, is the newest."""
    history = list(
        OutcomeOverride.objects.filter(session_id=session_id)
        .select_related("maker", "approver", "ended_by")
        .order_by("-effective_at", "-id")[:limit]
    )
    active = history[0] if history and history[0].active else None
    return SessionOverrides(active=active, history=history)


def active_overrides_prefetch_queryset() -> QuerySet[OutcomeOverride]:
    """The active overrides with what their words name (the API's prefetch)."""
    return OutcomeOverride.objects.filter(state=OverrideState.ACTIVE).select_related(
        "maker", "approver"
    )


def override_outcome_subquery() -> Subquery:
    """The outcome of a session's active override ("" … NULL when none), for
    list rows: one probe per row shown of the partial unique index
    `override_one_active_per_session`, no extra query per page."""
    return Subquery(
        OutcomeOverride.objects.filter(
            session_id=OuterRef("pk"), state=OverrideState.ACTIVE
        ).values("outcome")[:1]
    )
