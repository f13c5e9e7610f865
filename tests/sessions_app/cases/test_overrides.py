"""Outcome overrides (`cases/overrides.py`, `cases/override_effect.py`):
requested under four-eyes, effective only once another reviewer approves,
stored apart from the provider's outcome, every step audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.cases import services as case_services
from sessions_app.cases.overrides import (
    outcome_override_request,
    outcome_override_withdraw,
)
from sessions_app.exceptions import ApplicationError
from sessions_app.models import (
    Approval,
    AuditEvent,
    CaseState,
    OutcomeOverride,
    OverrideState,
    Review,
    WorkflowSession,
)
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return WorkflowSessionFactory(outcome="clear", raw_outcome="clear")


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["viewer", "reviewer"])


def _request(session, maker, outcome="rejected", reason="fraud_suspected", **kw):
    kw.setdefault("comment", "Forged passport, see the document check.")
    return outcome_override_request(
        session=session, maker=maker, outcome=outcome, reason_code=reason, **kw
    )


def _approved(session, maker, checker, **kw) -> OutcomeOverride:
    result = _request(session, maker, **kw)
    case_services.approval_approve(approval=result.approval, checker=checker)
    return OutcomeOverride.objects.get(state=OverrideState.ACTIVE)


def _actions(session) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(session.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_a_request_is_a_pending_approval_and_changes_no_outcome(session, reviewer):
    result = _request(session, reviewer)

    assert result.pending
    approval = Approval.objects.get()
    assert (approval.decision, approval.override_outcome) == ("override", "rejected")
    assert approval.maker == reviewer
    assert not OutcomeOverride.objects.exists()
    stored = WorkflowSession.objects.get(pk=session.pk)
    assert (stored.outcome, stored.case_state) == ("clear", CaseState.AWAITING_APPROVAL)
    event = AuditEvent.objects.get(action="approval.request")
    assert event.after["decision"] == "override"
    assert event.after["override_outcome"] == "rejected"
    assert event.after["provider_outcome"] == "clear"


def test_approval_by_another_reviewer_makes_it_effective_beside_the_provider(
    session, reviewer, checker
):
    override = _approved(session, reviewer, checker)

    assert (override.outcome, override.provider_outcome) == ("rejected", "clear")
    assert (override.maker, override.approver) == (reviewer, checker)
    assert override.approval == Approval.objects.get()
    assert override.summary() == (
        "Rejected — override by rita-reviewer, approved by carla-checker "
        "(provider: clear)"
    )
    stored = WorkflowSession.objects.get(pk=session.pk)
    assert stored.outcome == "clear"  # the provider's field is never edited
    assert stored.case_state == CaseState.OPEN  # back to work for a decision
    assert not Review.objects.exists()  # an override is not a decision
    approval = Approval.objects.get()
    assert (approval.result, approval.checker) == ("approved", checker)
    event = AuditEvent.objects.get(action="approval.approve")
    assert event.actor == checker
    assert event.after["override_id"] == override.pk
    assert event.after["override_outcome"] == "rejected"


def test_the_maker_cannot_approve_their_own_override(session, reviewer):
    result = _request(session, reviewer)

    with pytest.raises(ApplicationError, match="another reviewer must approve"):
        case_services.approval_approve(approval=result.approval, checker=reviewer)
    assert not OutcomeOverride.objects.exists()


def test_the_database_refuses_an_override_approved_by_its_maker(session, reviewer):
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeOverride.objects.create(
            session=session,
            outcome="rejected",
            provider_outcome="clear",
            provider_outcome_now="clear",
            reason_code="other",
            maker=reviewer,
            approver=reviewer,
            requested_at=timezone.now(),
            effective_at=timezone.now(),
        )


def test_a_sent_back_override_never_takes_effect(session, reviewer, checker):
    result = _request(session, reviewer)

    case_services.approval_send_back(
        approval=result.approval, checker=checker, comment="Check the selfie first."
    )

    assert not OutcomeOverride.objects.exists()
    assert Approval.objects.get().result == "sent_back"
    assert _state(session) == CaseState.OPEN
    assert _actions(session) == ["approval.request", "approval.send_back"]


def _state(session) -> str:
    return WorkflowSession.objects.get(pk=session.pk).case_state


@pytest.mark.parametrize(
    ("outcome", "reason", "comment", "message"),
    [
        ("", "other", "Because.", "clear, attention or rejected"),
        ("approved", "other", "Because.", "clear, attention or rejected"),
        ("rejected", "verified", "Because.", "does not justify"),
        ("clear", "fraud_suspected", "Because.", "does not justify"),
        ("rejected", "nonsense", "Because.", "Unknown reason code"),
        ("rejected", "other", "", "Say why"),
        ("rejected", "other", "x" * 4001, "at most"),
        ("clear", "verified", "Because.", "already clear"),
    ],
)
def test_bad_requests_are_refused_in_words_and_change_nothing(
    session, reviewer, outcome, reason, comment, message
):
    with pytest.raises(ApplicationError, match=message):
        _request(session, reviewer, outcome, reason, comment=comment)
    assert not Approval.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_viewer_may_not_request_an_override(session, viewer):
    with pytest.raises(ApplicationError, match="not allowed"):
        _request(session, viewer)


def test_an_admin_may_request_one_and_a_reviewer_approves_it(
    session, admin_user, checker
):
    override = _approved(session, admin_user, checker)
    assert override.maker == admin_user


def test_a_closed_case_must_be_reopened_first(session, reviewer, checker):
    session.case_state = CaseState.APPROVED
    session.save(update_fields=["case_state"])

    with pytest.raises(ApplicationError, match="Reopen it first"):
        _request(session, reviewer)

    case_services.case_reopen(session=session, actor=reviewer, comment="New evidence")
    assert _request(session, reviewer).pending


def test_nothing_more_while_an_override_awaits_approval(session, reviewer, checker):
    _request(session, reviewer)
    with pytest.raises(ApplicationError, match="awaits a second reviewer"):
        _request(session, checker, "attention", "other")
    with pytest.raises(ApplicationError, match="awaits a second reviewer"):
        case_services.case_decision_record(
            session=session,
            reviewer=checker,
            decision="approve",
            reason_code="verified",
        )


def test_the_provider_changing_before_approval_makes_the_override_needless(
    session, reviewer, checker
):
    result = _request(session, reviewer)
    WorkflowSession.objects.filter(pk=session.pk).update(outcome="rejected")

    with pytest.raises(ApplicationError, match="no longer needed"):
        case_services.approval_approve(approval=result.approval, checker=checker)
    assert Approval.objects.get().pending


def test_a_new_override_supersedes_the_active_one(session, reviewer, checker):
    first = _approved(session, reviewer, checker)
    second = _approved(
        session, checker, reviewer, outcome="attention", reason="needs_senior_review"
    )

    first.refresh_from_db()
    assert first.state == OverrideState.SUPERSEDED
    assert first.ended_at is not None
    assert second.state == OverrideState.ACTIVE
    assert second.provider_outcome == "clear"
    event = AuditEvent.objects.filter(action="approval.approve").latest("id")
    assert event.after["superseded_override_id"] == first.pk


def test_asking_for_the_provider_outcome_back_means_withdraw(
    session, reviewer, checker
):
    _approved(session, reviewer, checker)
    with pytest.raises(ApplicationError, match="withdraw the override instead"):
        _request(session, checker, "clear", "verified")
    with pytest.raises(ApplicationError, match="already rejected"):
        _request(session, checker, "rejected", "other")


def test_withdrawing_restores_the_provider_outcome_audited(session, reviewer, checker):
    override = _approved(session, reviewer, checker)

    outcome_override_withdraw(
        session=session, actor=reviewer, comment="Provider's re-check is right."
    )

    override.refresh_from_db()
    assert override.state == OverrideState.WITHDRAWN
    assert (override.ended_by, override.end_comment) == (
        reviewer,
        "Provider's re-check is right.",
    )
    assert _actions(session)[-1] == "override.withdraw"
    with pytest.raises(ApplicationError, match="no override to withdraw"):
        outcome_override_withdraw(session=session, actor=reviewer, comment="Again")


@pytest.mark.parametrize(
    ("actor_role", "comment", "message"),
    [("viewer", "Because", "not allowed"), ("reviewer", "", "Say why")],
)
def test_withdrawal_refusals(session, reviewer, checker, actor_role, comment, message):
    _approved(session, reviewer, checker)
    actor = UserFactory(roles=[actor_role])
    with pytest.raises(ApplicationError, match=message):
        outcome_override_withdraw(session=session, actor=actor, comment=comment)
    assert OutcomeOverride.objects.get().state == OverrideState.ACTIVE


def test_without_a_four_eyes_rule_an_override_takes_effect_at_once(
    session, reviewer, settings
):
    settings.VERITY_FOUR_EYES_RULES = [{"decision": "reject"}]

    result = _request(session, reviewer)

    assert not result.pending
    override = result.override
    assert (override.approver, override.approval) == (None, None)
    assert override.summary() == (
        "Rejected — override by rita-reviewer (provider: clear)"
    )
    assert _actions(session) == ["override.record"]
    assert not Approval.objects.exists()


SETTLEMENTS = ["approve", "send_back"]


def _settle(approval, how: str, checker) -> None:
    """The checker approves the request or sends it back (`how`)."""
    if how == "approve":
        case_services.approval_approve(approval=approval, checker=checker)
    else:
        case_services.approval_send_back(
            approval=approval, checker=checker, comment="Not convinced."
        )


def _in_state(session, state, waiting_until=None):
    WorkflowSession.objects.filter(pk=session.pk).update(
        case_state=state, case_waiting_until=waiting_until
    )
    session.refresh_from_db()


@pytest.mark.parametrize("settle", SETTLEMENTS)
def test_an_escalated_case_stays_escalated_once_its_override_is_settled(
    session, reviewer, checker, settle
):
    _in_state(session, CaseState.ESCALATED)
    approval = _request(session, reviewer).approval
    assert WorkflowSession.objects.get(pk=session.pk).case_state == (
        CaseState.AWAITING_APPROVAL
    )

    _settle(approval, settle, checker)

    stored = WorkflowSession.objects.get(pk=session.pk)
    assert (stored.case_state, stored.case_waiting_until) == (CaseState.ESCALATED, None)
    assert OutcomeOverride.objects.filter(state=OverrideState.ACTIVE).exists() == (
        settle == "approve"
    )


@pytest.mark.parametrize("settle", SETTLEMENTS)
def test_a_waiting_case_goes_back_to_its_wait_and_date(
    session, reviewer, checker, settle
):
    until = timezone.now() + dt.timedelta(days=3)
    _in_state(session, CaseState.WAITING, until)
    approval = _request(session, reviewer).approval
    assert (approval.prior_case_state, approval.prior_waiting_until) == (
        CaseState.WAITING,
        until,
    )

    _settle(approval, settle, checker)

    stored = WorkflowSession.objects.get(pk=session.pk)
    assert (stored.case_state, stored.case_waiting_until) == (CaseState.WAITING, until)


def test_a_wait_whose_date_passed_meanwhile_is_over(session, reviewer, checker):
    _in_state(session, CaseState.WAITING, timezone.now() + dt.timedelta(minutes=5))
    approval = _request(session, reviewer).approval
    Approval.objects.filter(pk=approval.pk).update(
        prior_waiting_until=timezone.now() - dt.timedelta(minutes=1)
    )
    approval.refresh_from_db()

    _settle(approval, "send_back", checker)

    stored = WorkflowSession.objects.get(pk=session.pk)
    assert (stored.case_state, stored.case_waiting_until) == (CaseState.OPEN, None)


def test_a_decision_sent_back_from_an_escalated_case_goes_back_to_work(
    session, reviewer, checker
):
    _in_state(session, CaseState.ESCALATED)
    approval = case_services.case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="reject",  # always under four-eyes
        reason_code="document_issue",
        comment="The document is a copy.",
    ).approval

    _settle(approval, "send_back", checker)

    assert WorkflowSession.objects.get(pk=session.pk).case_state == CaseState.OPEN
