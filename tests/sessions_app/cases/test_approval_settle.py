"""`approval_settle`: the one write of a checker's answer on a four-eyes
Approval and its audit event, used by every way an approval ends."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from sessions_app.cases import override_effect
from sessions_app.cases import services as case_services
from sessions_app.cases.approval_settle import approval_settle
from sessions_app.cases.overrides import outcome_override_request
from sessions_app.models import Approval, AuditEvent, Review, WorkflowSession
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["viewer", "reviewer"])


def _pending(reviewer) -> Approval:
    session = WorkflowSessionFactory(outcome="attention", raw_outcome="review")
    return case_services.case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="reject",
        reason_code="document_issue",
        comment="Expired.",
    ).approval


def _override_pending(reviewer) -> Approval:
    session = WorkflowSessionFactory(outcome="clear", raw_outcome="clear")
    return outcome_override_request(
        session=session,
        maker=reviewer,
        outcome="rejected",
        reason_code="fraud_suspected",
        comment="Forged passport.",
    ).approval


def test_it_writes_the_answer_and_one_audit_event_with_the_approval_keys(
    reviewer, checker
):
    approval = _pending(reviewer)
    session = approval.session
    now = timezone.now()
    with transaction.atomic():
        event = approval_settle(
            approval,
            session=session,
            checker=checker,
            result="sent_back",
            comment="Look again.",
            at=now,
            source="api",
            before={"case_state": "awaiting_approval"},
            after={"case_state": "open"},
        )
    approval.refresh_from_db()
    assert (approval.checker, approval.checked_at, approval.result) == (
        checker,
        now,
        "sent_back",
    )
    assert approval.checker_comment == "Look again."
    assert approval.review is None
    assert AuditEvent.objects.latest("id") == event
    assert (event.action, event.actor, event.source) == (
        "approval.send_back",
        checker,
        "api",
    )
    assert event.object_id == str(session.pk)
    assert event.before == {"case_state": "awaiting_approval"}
    assert event.after == {
        "case_state": "open",
        "maker_id": reviewer.pk,
        "checker_comment": "Look again.",
        "approval_id": approval.pk,
    }


def test_an_approval_names_the_review_it_became(reviewer, checker):
    approval = _pending(reviewer)
    review = Review.objects.create(
        session=approval.session,
        decision="reject",
        reason_code="document_issue",
        reviewer=reviewer,
    )
    with transaction.atomic():
        event = approval_settle(
            approval,
            session=approval.session,
            checker=checker,
            result="approved",
            comment="",
            at=review.created_at,
            source="web",
            before={},
            after={},
            review=review,
        )
    approval.refresh_from_db()
    assert (approval.result, approval.review) == ("approved", review)
    assert event.action == "approval.approve"
    assert event.after["review_id"] == review.pk


@pytest.mark.parametrize(
    ("make", "settle", "module"),
    [
        (_pending, case_services.approval_approve, case_services),
        (_pending, case_services.approval_send_back, case_services),
        (_override_pending, case_services.approval_approve, override_effect),
    ],
    ids=["approve", "send_back", "override_approve"],
)
def test_every_way_an_approval_ends_goes_through_it(
    monkeypatch, reviewer, checker, make, settle, module
):
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs["result"])
        return approval_settle(*args, **kwargs)

    monkeypatch.setattr(module, "approval_settle", counted)
    approval = make(reviewer)
    settle(approval=approval, checker=checker, comment="Second look.")
    assert len(calls) == 1
    assert AuditEvent.objects.filter(action__startswith="approval.").count() == 2


# The audit events as they were before the helper (one write for the three
# paths must not change what they record).
def test_the_three_settle_events_record_what_they_did(reviewer, checker):
    approval = _pending(reviewer)
    review = case_services.approval_approve(
        approval=approval, checker=checker, comment="Agreed."
    )
    session = WorkflowSession.objects.get(pk=approval.session_id)
    approve = AuditEvent.objects.latest("id")
    assert approve.action == "approval.approve"
    assert set(approve.after) == {
        "last_decision",
        "last_decision_at",
        "case_state",
        "case_state_changed_at",
        "maker_id",
        "reason_code",
        "comment",
        "checker_comment",
        "approval_id",
        "review_id",
    }
    assert approve.after["review_id"] == review.pk
    assert approve.after["last_decision"] == session.last_decision == "reject"

    back = _pending(reviewer)
    case_services.approval_send_back(approval=back, checker=checker, comment="No.")
    sent_back = AuditEvent.objects.latest("id")
    assert sent_back.action == "approval.send_back"
    assert set(sent_back.after) == {
        "case_state",
        "case_state_changed_at",
        "maker_id",
        "decision",
        "reason_code",
        "checker_comment",
        "approval_id",
    }

    override = _override_pending(reviewer)
    case_services.approval_approve(approval=override, checker=checker, comment="Ok.")
    confirmed = AuditEvent.objects.latest("id")
    assert confirmed.action == "approval.approve"
    assert set(confirmed.after) == {
        "case_state",
        "case_state_changed_at",
        "decision",
        "maker_id",
        "checker_comment",
        "approval_id",
        "override_id",
        "override_outcome",
        "provider_outcome",
        "reason_code",
        "comment",
    }
    assert confirmed.after["decision"] == "override"
