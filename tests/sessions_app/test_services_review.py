"""The review services: decisions and assignments are validated, atomic and audited."""

from __future__ import annotations

import pytest

from sessions_app import services
from sessions_app.exceptions import ApplicationError
from sessions_app.models import AuditEvent, Review, WorkflowSession
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return WorkflowSessionFactory(outcome="attention", raw_outcome="review")


def test_decision_writes_review_audit_event_and_last_decision(session, reviewer):
    review = services.review_decision_record(
        session=session,
        reviewer=reviewer,
        decision="reject",
        reason_code="document_issue",
        comment="  Expired passport.  ",
    )
    assert Review.objects.get() == review
    assert review.comment == "Expired passport."
    session.refresh_from_db()
    assert session.last_decision == "reject"
    assert session.last_decision_at == review.created_at
    event = AuditEvent.objects.get()
    assert event.action == "review.reject"
    assert event.actor == reviewer
    assert event.source == "web"
    assert event.object_type == "sessions_app.workflowsession"
    assert event.object_id == str(session.pk)
    assert event.client_id == session.provider_client.client_id
    assert event.after["reason_code"] == "document_issue"
    assert event.after["review_id"] == review.pk
    assert event.before == {"last_decision": "", "last_decision_at": None}


def test_decisions_are_append_only(session, reviewer):
    for decision in ("escalate", "approve"):
        services.review_decision_record(
            session=session,
            reviewer=reviewer,
            decision=decision,
            reason_code="verified",
        )
    assert list(Review.objects.values_list("decision", flat=True).order_by("id")) == [
        "escalate",
        "approve",
    ]
    assert AuditEvent.objects.count() == 2
    session.refresh_from_db()
    assert session.last_decision == "approve"


@pytest.mark.parametrize(
    ("decision", "reason", "comment", "message"),
    [
        ("bless", "verified", "", "Unknown decision"),
        ("approve", "vibes", "", "Unknown reason code"),
        ("reject", "other", "   ", "A comment is required"),
    ],
)
def test_invalid_decisions_raise_and_write_nothing(
    session, reviewer, decision, reason, comment, message
):
    with pytest.raises(ApplicationError, match=message):
        services.review_decision_record(
            session=session,
            reviewer=reviewer,
            decision=decision,
            reason_code=reason,
            comment=comment,
        )
    assert not Review.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "exporter"])
def test_only_reviewers_decide(session, role):
    user = UserFactory(roles=[role])
    with pytest.raises(ApplicationError, match="not allowed"):
        services.review_decision_record(
            session=session, reviewer=user, decision="approve", reason_code="verified"
        )
    assert not Review.objects.exists()


def test_assign_and_release_are_audited(session, reviewer):
    colleague = UserFactory(username="colin", roles=["reviewer"])
    services.session_assign(session=session, assignee=colleague, actor=reviewer)
    session.refresh_from_db()
    assert session.assignee == colleague
    assert session.assigned_at is not None
    services.session_assign(session=session, assignee=None, actor=reviewer)
    session.refresh_from_db()
    assert session.assignee is None
    events = list(AuditEvent.objects.order_by("id"))
    assert [e.action for e in events] == ["session.assign", "session.unassign"]
    assert events[0].after["assignee"] == "colin"
    assert events[1].before["assignee_id"] == colleague.pk
    assert all(e.actor == reviewer for e in events)


def test_assigning_to_the_current_assignee_changes_nothing(session, reviewer):
    services.session_assign(session=session, assignee=reviewer, actor=reviewer)
    services.session_assign(session=session, assignee=reviewer, actor=reviewer)
    assert AuditEvent.objects.count() == 1


def test_assign_refuses_non_reviewer_assignee_and_non_reviewer_actor(
    session, reviewer, viewer
):
    with pytest.raises(ApplicationError, match="is not a reviewer"):
        services.session_assign(session=session, assignee=viewer, actor=reviewer)
    with pytest.raises(ApplicationError, match="not allowed"):
        services.session_assign(session=session, assignee=reviewer, actor=viewer)
    assert WorkflowSession.objects.get().assignee is None
    assert not AuditEvent.objects.exists()
