"""Case work in the API: the same services and permissions as the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import Approval, AuditEvent, CaseState, Review
from tests.factories import UserFactory, WorkflowSessionFactory
from tests.helpers.tokens import api_token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return WorkflowSessionFactory(outcome="attention")


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["reviewer"])


def _post(user, name, pk, body=None):
    return api_token_client(user).post(
        reverse(name, args=[pk]), body or {}, content_type="application/json"
    )


def _submit(user, session):
    response = _post(
        user,
        "api-session-reviews",
        session.pk,
        {"decision": "reject", "reason_code": "watchlist_match", "comment": "PEP"},
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_a_four_eyes_decision_is_a_202_with_the_pending_approval(reviewer, session):
    body = _submit(reviewer, session)
    approval = Approval.objects.get()
    assert body["id"] == approval.pk
    assert body["result"] == "pending"
    assert body["maker"] == "rita-reviewer"
    assert body["checker"] is None
    assert (body["decision"], body["reason_code"], body["comment"]) == (
        "reject",
        "watchlist_match",
        "PEP",
    )
    assert not Review.objects.exists()
    detail = api_token_client(reviewer).get(
        reverse("api-session-detail", args=[session.pk])
    )
    assert detail.json()["case_state"] == "awaiting_approval"
    assert detail.json()["approvals"][0]["id"] == approval.pk


def test_the_checker_approves_through_the_api(reviewer, checker, session):
    pk = _submit(reviewer, session)["id"]
    response = _post(checker, "api-approval-approve", pk, {"comment": "Agreed"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["result"] == "approved"
    assert body["checker"] == "carla-checker"
    assert body["review_id"] == Review.objects.get().pk
    session.refresh_from_db()
    assert session.case_state == CaseState.REJECTED
    event = AuditEvent.objects.get(action="approval.approve")
    assert event.source == "api"
    review = api_token_client(checker).get(
        reverse("api-session-detail", args=[session.pk])
    )
    assert review.json()["reviews"][0]["approved_by"] == "carla-checker"


def test_the_maker_cannot_approve_through_the_api(reviewer, session):
    pk = _submit(reviewer, session)["id"]
    response = _post(reviewer, "api-approval-approve", pk)
    assert response.status_code == 400
    assert "You made this decision" in response.json()["detail"]
    assert Approval.objects.get().pending


def test_send_back_through_the_api_needs_a_comment(reviewer, checker, session):
    pk = _submit(reviewer, session)["id"]
    refused = _post(checker, "api-approval-send-back", pk)
    assert refused.status_code == 400
    assert "Say why" in refused.json()["detail"]
    response = _post(checker, "api-approval-send-back", pk, {"comment": "Recheck"})
    assert response.json()["result"] == "sent_back"
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN


def test_a_reason_that_does_not_fit_is_a_400(reviewer, session):
    response = _post(
        reviewer,
        "api-session-reviews",
        session.pk,
        {"decision": "approve", "reason_code": "fraud_suspected"},
    )
    assert response.status_code == 400
    assert "does not justify" in response.json()["detail"]


def test_reopen_and_resume_through_the_api(reviewer, session):
    session.case_state = CaseState.REJECTED
    session.save()
    decided = _post(
        reviewer,
        "api-session-reviews",
        session.pk,
        {"decision": "escalate", "reason_code": "adverse_media"},
    )
    assert decided.status_code == 400
    assert "Reopen it first" in decided.json()["detail"]
    assert _post(reviewer, "api-case-reopen", session.pk).status_code == 400
    reopened = _post(reviewer, "api-case-reopen", session.pk, {"comment": "New doc"})
    assert reopened.status_code == 200
    assert reopened.json()["case_state"] == "open"
    waiting = _post(
        reviewer,
        "api-session-reviews",
        session.pk,
        {"decision": "request_information", "reason_code": "incomplete"},
    )
    assert waiting.status_code == 201
    resumed = _post(reviewer, "api-case-resume", session.pk)
    assert resumed.json()["case_state"] == "open"


@pytest.mark.parametrize(
    "name",
    ["api-approval-approve", "api-approval-send-back"],
)
def test_viewers_may_not_check(viewer, reviewer, session, name):
    pk = _submit(reviewer, session)["id"]
    assert _post(viewer, name, pk, {"comment": "x"}).status_code == 403
    assert Approval.objects.get().pending


@pytest.mark.parametrize("name", ["api-case-reopen", "api-case-resume"])
def test_viewers_may_not_reopen_or_resume(viewer, session, name):
    assert _post(viewer, name, session.pk, {"comment": "x"}).status_code == 403


def test_a_viewer_may_read_an_approval(viewer, reviewer, session):
    pk = _submit(reviewer, session)["id"]
    response = api_token_client(viewer).get(reverse("api-approval-detail", args=[pk]))
    assert response.status_code == 200
    assert response.json()["maker"] == "rita-reviewer"
