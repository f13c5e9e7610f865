"""Assignment: validated, atomic and audited, moving the case into review and
back (decisions: tests/sessions_app/cases/test_services.py)."""

from __future__ import annotations

import pytest

from sessions_app import services
from sessions_app.exceptions import ApplicationError
from sessions_app.models import AuditEvent, CaseState, WorkflowSession
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return WorkflowSessionFactory(outcome="attention", raw_outcome="review")


def test_assign_and_release_are_audited(session, reviewer):
    colleague = UserFactory(username="colin", roles=["reviewer"])
    services.session_assign(session=session, assignee=colleague, actor=reviewer)
    session.refresh_from_db()
    assert session.assignee == colleague
    assert session.assigned_at is not None
    assert session.case_state == CaseState.IN_REVIEW
    services.session_assign(session=session, assignee=None, actor=reviewer)
    session.refresh_from_db()
    assert session.assignee is None
    assert session.case_state == CaseState.OPEN
    events = list(AuditEvent.objects.order_by("id"))
    assert [e.action for e in events] == ["session.assign", "session.unassign"]
    assert events[0].before["case_state"] == "open"
    assert events[0].after["case_state"] == "in_review"
    assert events[1].after["case_state"] == "open"
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


@pytest.mark.parametrize(
    "state", [CaseState.ESCALATED, CaseState.WAITING, CaseState.APPROVED]
)
def test_assignment_keeps_any_other_case_state(session, reviewer, state):
    WorkflowSession.objects.filter(pk=session.pk).update(case_state=state)
    services.session_assign(session=session, assignee=reviewer, actor=reviewer)
    services.session_assign(session=session, assignee=None, actor=reviewer)
    session.refresh_from_db()
    assert session.case_state == state
    assert all("case_state" not in e.after for e in AuditEvent.objects.all())
