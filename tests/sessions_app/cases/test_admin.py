"""The Django admin cannot bypass case work: provider-owned, decision and
case fields are read-only; the assignee goes through the desk's service;
approvals are read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import Approval, AuditEvent, CaseState, WorkflowSession
from tests.factories import ApprovalFactory, UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


# The read-only inlines' management forms (no rows), which every POST carries.
INLINES = {
    f"{prefix}-{name}": "0"
    for prefix in ("checks", "policy_assurances")
    for name in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def _change_url(session) -> str:
    return reverse("admin:sessions_app_workflowsession_change", args=[session.pk])


def test_posting_the_change_form_changes_no_outcome_decision_or_case(
    admin_client_verity,
):
    session = WorkflowSessionFactory(outcome="rejected", raw_outcome="declined")
    before = WorkflowSession.objects.values().get(pk=session.pk)
    response = admin_client_verity.post(
        _change_url(session),
        {
            "outcome": "clear",
            "raw_outcome": "approved",
            "status": "completed",
            "last_decision": "approve",
            "case_state": "approved",
            "assignee": "",
            "_save": "Save",
            **INLINES,
        },
    )
    assert response.status_code == 302
    assert WorkflowSession.objects.values().get(pk=session.pk) == before
    assert not AuditEvent.objects.exists()


def test_the_change_page_shows_those_fields_read_only(admin_client_verity):
    session = WorkflowSessionFactory()
    page = admin_client_verity.get(_change_url(session)).content.decode()
    for name in ("outcome", "status", "last_decision", "case_state", "raw_outcome"):
        assert f'name="{name}"' not in page
    assert 'name="assignee"' in page


def test_the_assignee_goes_through_the_desks_service(admin_client_verity, reviewer):
    session = WorkflowSessionFactory()
    admin_client_verity.post(
        _change_url(session), {"assignee": str(reviewer.pk), "_save": "Save", **INLINES}
    )
    session.refresh_from_db()
    assert session.assignee == reviewer
    assert session.case_state == CaseState.IN_REVIEW
    event = AuditEvent.objects.get()
    assert event.action == "session.assign"
    assert event.source == "admin"
    assert event.after["case_state"] == "in_review"


def test_a_non_reviewer_assignee_is_a_form_error(admin_client_verity, viewer):
    session = WorkflowSessionFactory()
    response = admin_client_verity.post(
        _change_url(session), {"assignee": str(viewer.pk), "_save": "Save", **INLINES}
    )
    assert response.status_code == 200
    assert "is not a reviewer" in response.content.decode()
    assert WorkflowSession.objects.get(pk=session.pk).assignee is None


def test_sessions_cannot_be_added_in_the_admin(admin_client_verity):
    url = reverse("admin:sessions_app_workflowsession_add")
    assert admin_client_verity.get(url).status_code == 403


def test_approvals_are_read_only_in_the_admin(admin_client_verity):
    approval = ApprovalFactory()
    url = reverse("admin:sessions_app_approval_change", args=[approval.pk])
    checker = UserFactory(roles=["reviewer"])
    admin_client_verity.post(
        url, {"result": "approved", "checker": str(checker.pk), "_save": "Save"}
    )
    approval.refresh_from_db()
    assert approval.pending
    assert approval.checker is None
    assert (
        admin_client_verity.get(
            reverse("admin:sessions_app_approval_delete", args=[approval.pk])
        ).status_code
        == 403
    )
    assert Approval.objects.count() == 1
