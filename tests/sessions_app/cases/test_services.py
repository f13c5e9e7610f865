"""Case services: decisions, four-eyes approval, reopening, the return of
waiting cases; each atomic and audited, illegal moves refused in words."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app import services
from sessions_app.cases import services as case_services
from sessions_app.cases.waiting import cases_waiting_return
from sessions_app.exceptions import ApplicationError
from sessions_app.models import (
    Approval,
    AuditEvent,
    CaseState,
    Review,
    WorkflowSession,
    needs_attention_q,
)
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return WorkflowSessionFactory(outcome="attention", raw_outcome="review")


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["viewer", "reviewer"])


def _decide(session, reviewer, decision="reject", reason="document_issue", **kw):
    return case_services.case_decision_record(
        session=session, reviewer=reviewer, decision=decision, reason_code=reason, **kw
    )


def _state(session) -> str:
    return WorkflowSession.objects.get(pk=session.pk).case_state


# --- Decisions that take effect at once ----------------------------------------------


def test_an_escalation_takes_effect_with_review_case_state_and_audit(session, reviewer):
    result = _decide(
        session, reviewer, "escalate", "watchlist_match", comment="  PEP hit.  "
    )
    assert not result.pending
    review = result.review
    assert Review.objects.get() == review
    assert review.comment == "PEP hit."
    session.refresh_from_db()
    assert session.last_decision == "escalate"
    assert session.case_state == CaseState.ESCALATED
    assert session.case_state_changed_at == review.created_at
    event = AuditEvent.objects.get()
    assert event.action == "review.escalate"
    assert event.actor == reviewer
    assert event.source == "web"
    assert event.object_id == str(session.pk)
    assert event.client_id == session.provider_client.client_id
    assert event.before["case_state"] == "open"
    assert event.after["case_state"] == "escalated"
    assert event.after["review_id"] == review.pk
    # An escalated case has left "needs attention" for its own queue.
    assert not WorkflowSession.objects.filter(needs_attention_q()).exists()


def test_approving_a_clear_session_closes_the_case_without_a_second_reviewer(
    reviewer,
):
    session = WorkflowSessionFactory(outcome="clear")
    result = _decide(session, reviewer, "approve", "verified")
    assert result.review is not None
    assert result.approval is None
    assert _state(session) == CaseState.APPROVED


def test_request_information_waits_until_a_date_then_comes_back(session, reviewer):
    now = timezone.now()
    _decide(session, reviewer, "request_information", "incomplete")
    session.refresh_from_db()
    assert session.case_state == CaseState.WAITING
    assert (
        dt.timedelta(days=6, hours=23)
        < session.case_waiting_until - now
        < dt.timedelta(days=7, hours=1)
    )
    # Not yet: the clock is before the date.
    assert cases_waiting_return(now=now + dt.timedelta(days=6)) == []
    assert _state(session) == CaseState.WAITING
    returned = cases_waiting_return(now=now + dt.timedelta(days=8))
    assert returned == [session.pk]
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN
    assert session.case_waiting_until is None
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "case.waiting_over"
    assert event.source == "schedule"
    assert event.actor is None
    # Back in "needs attention" (its outcome is attention).
    assert WorkflowSession.objects.filter(needs_attention_q(), pk=session.pk).exists()


def test_an_assigned_waiting_case_comes_back_in_review(session, reviewer):
    services.session_assign(session=session, assignee=reviewer, actor=reviewer)
    until = timezone.now() + dt.timedelta(days=2)
    _decide(session, reviewer, "request_information", "incomplete", waiting_until=until)
    assert WorkflowSession.objects.get(pk=session.pk).case_waiting_until == until
    cases_waiting_return(now=until)
    assert _state(session) == CaseState.IN_REVIEW


@pytest.mark.parametrize(
    ("decision", "until", "message"),
    [
        ("request_information", -1, "must be in the future"),
        ("request_information", 400, "at most 365 days"),
        ("escalate", 3, "goes only with"),
    ],
)
def test_bad_waiting_dates_are_refused(session, reviewer, decision, until, message):
    reason = "incomplete" if decision == "request_information" else "adverse_media"
    with pytest.raises(ApplicationError, match=message):
        _decide(
            session,
            reviewer,
            decision,
            reason,
            waiting_until=timezone.now() + dt.timedelta(days=until),
        )
    assert _state(session) == CaseState.OPEN
    assert not AuditEvent.objects.exists()


def test_resume_brings_a_waiting_case_back_before_its_date(session, reviewer):
    _decide(session, reviewer, "request_information", "incomplete")
    case_services.case_resume(session=session, actor=reviewer, comment="Got it.")
    assert _state(session) == CaseState.OPEN
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "case.resume"
    assert event.after["comment"] == "Got it."
    with pytest.raises(ApplicationError, match="not possible while the case is open"):
        case_services.case_resume(session=session, actor=reviewer)


@pytest.mark.parametrize(
    ("decision", "reason", "comment", "message"),
    [
        ("bless", "verified", "", "Unknown decision"),
        ("approve", "vibes", "", "Unknown reason code"),
        ("reject", "other", "   ", "A comment is required"),
        ("approve", "fraud_suspected", "", "does not justify"),
    ],
)
def test_invalid_decisions_raise_and_write_nothing(
    session, reviewer, decision, reason, comment, message
):
    with pytest.raises(ApplicationError, match=message):
        _decide(session, reviewer, decision, reason, comment=comment)
    assert not Review.objects.exists()
    assert not Approval.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "exporter"])
def test_only_reviewers_decide(session, role):
    with pytest.raises(ApplicationError, match="not allowed"):
        _decide(session, UserFactory(roles=[role]), "escalate", "adverse_media")
    assert not Review.objects.exists()


# --- Four eyes --------------------------------------------------------------------------


def test_a_reject_waits_for_a_second_reviewer(session, reviewer):
    result = _decide(session, reviewer, comment="Expired passport.")
    assert result.pending
    assert result.review is None
    approval = result.approval
    assert (approval.maker, approval.decision, approval.reason_code) == (
        reviewer,
        "reject",
        "document_issue",
    )
    assert approval.comment == "Expired passport."
    assert approval.pending
    session.refresh_from_db()
    assert session.case_state == CaseState.AWAITING_APPROVAL
    assert session.last_decision == ""  # nothing took effect
    assert not Review.objects.exists()
    event = AuditEvent.objects.get()
    assert event.action == "approval.request"
    assert event.after["approval_id"] == approval.pk
    assert event.after["case_state"] == "awaiting_approval"
    # Awaiting approval is not "needs attention": it has its own queue.
    assert not WorkflowSession.objects.filter(needs_attention_q()).exists()


def test_approving_an_attention_session_needs_four_eyes_a_clear_one_does_not(
    reviewer,
):
    attention = WorkflowSessionFactory(outcome="attention")
    assert _decide(attention, reviewer, "approve", "verified").pending


def test_the_checker_approves_and_the_makers_decision_takes_effect(
    session, reviewer, checker
):
    approval = _decide(session, reviewer, comment="Expired.").approval
    review = case_services.approval_approve(
        approval=approval, checker=checker, comment="Agreed."
    )
    assert review.reviewer == reviewer  # the maker's decision
    assert (review.decision, review.reason_code, review.comment) == (
        "reject",
        "document_issue",
        "Expired.",
    )
    approval.refresh_from_db()
    assert approval.result == "approved"
    assert approval.checker == checker
    assert approval.checker_comment == "Agreed."
    assert approval.review == review
    session.refresh_from_db()
    assert session.case_state == CaseState.REJECTED
    assert session.last_decision == "reject"
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "approval.approve"
    assert event.actor == checker
    assert event.after["maker_id"] == reviewer.pk
    assert event.after["review_id"] == review.pk
    assert event.before["case_state"] == "awaiting_approval"
    assert event.after["case_state"] == "rejected"


def test_nobody_approves_their_own_decision(session, reviewer):
    approval = _decide(session, reviewer).approval
    for action in (case_services.approval_approve, case_services.approval_send_back):
        with pytest.raises(ApplicationError, match="You made this decision"):
            action(approval=approval, checker=reviewer, comment="fine by me")
    assert _state(session) == CaseState.AWAITING_APPROVAL
    assert Approval.objects.get().pending
    assert AuditEvent.objects.count() == 1


def test_the_database_refuses_a_checker_who_is_the_maker(session, reviewer):
    approval = _decide(session, reviewer).approval
    with pytest.raises(IntegrityError), transaction.atomic():
        Approval.objects.filter(pk=approval.pk).update(checker=reviewer)


def test_a_viewer_cannot_check(session, reviewer, viewer):
    approval = _decide(session, reviewer).approval
    with pytest.raises(ApplicationError, match="not allowed"):
        case_services.approval_approve(approval=approval, checker=viewer)


def test_send_back_needs_a_comment_and_returns_the_case_to_work(
    session, reviewer, checker
):
    approval = _decide(session, reviewer).approval
    with pytest.raises(ApplicationError, match="Say why"):
        case_services.approval_send_back(approval=approval, checker=checker, comment="")
    case_services.approval_send_back(
        approval=approval, checker=checker, comment="Check the second page."
    )
    approval.refresh_from_db()
    assert approval.result == "sent_back"
    assert approval.review is None
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN
    assert session.last_decision == ""
    assert not Review.objects.exists()
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "approval.send_back"
    assert event.after["checker_comment"] == "Check the second page."
    # Back in "needs attention", and a new decision can be submitted.
    assert WorkflowSession.objects.filter(needs_attention_q()).exists()
    assert _decide(session, reviewer, "escalate", "adverse_media").review


def test_a_settled_approval_cannot_be_settled_again(session, reviewer, checker):
    approval = _decide(session, reviewer).approval
    case_services.approval_approve(approval=approval, checker=checker)
    other = UserFactory(roles=["reviewer"])
    with pytest.raises(ApplicationError, match="already approved"):
        case_services.approval_send_back(
            approval=Approval.objects.get(), checker=other, comment="too late"
        )


def test_no_second_decision_while_one_awaits_approval(session, reviewer, checker):
    _decide(session, reviewer)
    with pytest.raises(ApplicationError, match="awaits a second reviewer"):
        _decide(session, checker, "approve", "verified")
    assert Approval.objects.count() == 1


def test_the_database_holds_one_pending_approval_per_session(session, reviewer):
    approval = _decide(session, reviewer).approval
    with pytest.raises(IntegrityError), transaction.atomic():
        Approval.objects.create(
            session=session,
            maker=reviewer,
            decision="reject",
            reason_code="other",
            made_at=approval.made_at,
        )


# --- Closed cases: reopen first -----------------------------------------------------------


def test_a_closed_case_refuses_a_contradicting_decision_until_reopened(
    session, reviewer, checker
):
    approval = _decide(session, reviewer).approval
    case_services.approval_approve(approval=approval, checker=checker)
    with pytest.raises(ApplicationError, match=r"closed \(rejected\)\. Reopen it"):
        _decide(session, checker, "escalate", "adverse_media")
    with pytest.raises(ApplicationError, match="Say why the case is reopened"):
        case_services.case_reopen(session=session, actor=checker, comment=" ")
    case_services.case_reopen(
        session=session, actor=checker, comment="New document arrived."
    )
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN
    assert session.last_decision == "reject"  # on record until a new one
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "case.reopen"
    assert event.before["case_state"] == "rejected"
    assert event.after == {
        "case_state": "open",
        "case_state_changed_at": event.after["case_state_changed_at"],
        "comment": "New document arrived.",
    }
    assert _decide(session, checker, "escalate", "adverse_media").review


def test_reopening_an_open_case_is_refused(session, reviewer):
    with pytest.raises(ApplicationError, match="Reopen is not possible"):
        case_services.case_reopen(session=session, actor=reviewer, comment="why not")
    with pytest.raises(ApplicationError, match="not allowed"):
        case_services.case_reopen(
            session=session, actor=UserFactory(roles=["viewer"]), comment="why not"
        )
