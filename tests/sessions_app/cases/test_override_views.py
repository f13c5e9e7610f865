"""Outcome overrides on the pages: requested and withdrawn from the session
page (reviewers only), approved by another reviewer with the ordinary
approve button; the session page, the queue row and the client page show
"Rejected — override by A, approved by B (provider: clear)"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import (
    Approval,
    AuditEvent,
    CaseState,
    OutcomeOverride,
    OverrideState,
    WorkflowSession,
)
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]
QUEUE = reverse("session-list")
REQUEST = {
    "outcome": "rejected",
    "reason_code": "fraud_suspected",
    "comment": "Forged passport.",
}


@pytest.fixture
def session():
    return WorkflowSessionFactory(
        outcome="clear", raw_outcome="clear", external_id="run-override"
    )


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["reviewer"])


@pytest.fixture
def checker_client(checker):
    client = DjangoClient()
    client.force_login(checker)
    return client


def _page(client, session) -> str:
    response = client.get(reverse("session-detail", args=[session.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _request_and_approve(reviewer_client, checker_client, session) -> None:
    response = reviewer_client.post(
        reverse("override-request", args=[session.pk]), REQUEST, follow=True
    )
    assert "another reviewer must approve it" in response.content.decode()
    approval = Approval.objects.get()
    response = checker_client.post(
        reverse("approval-approve", args=[approval.pk]), {"comment": ""}
    )
    assert response.status_code == 302


def test_a_reviewer_requests_another_approves_and_the_page_shows_both(
    reviewer_client, checker_client, session
):
    page = _page(reviewer_client, session)
    assert "Request override" in page
    assert "The outcome is the provider's (clear)." in page

    reviewer_client.post(reverse("override-request", args=[session.pk]), REQUEST)
    pending = _page(checker_client, session)
    assert "Override of the outcome to Rejected (provider: clear)" in pending
    assert "Approve override" in pending
    assert "Approve decision" not in pending

    approval = Approval.objects.get()
    checker_client.post(reverse("approval-approve", args=[approval.pk]), {})

    page = _page(reviewer_client, session)
    assert (
        "Rejected — override by rita-reviewer, approved by carla-checker "
        "(provider: clear)" in page
    )
    assert "Withdraw override" in page
    assert (
        "<strong>Override to Rejected</strong> · Fraud suspected by rita-reviewer"
        in page
    )


def test_the_maker_sees_no_approve_button_on_their_own_override(
    reviewer_client, session
):
    reviewer_client.post(reverse("override-request", args=[session.pk]), REQUEST)
    page = _page(reviewer_client, session)
    assert "You asked for this override" in page
    assert "Approve override" not in page


def _pending_panel_after_request(reviewer_client, checker_client, session) -> str:
    reviewer_client.post(reverse("override-request", args=[session.pk]), REQUEST)
    page = _page(checker_client, session)
    assert "Approve override" in page
    return page


def test_the_checker_reads_that_an_escalated_case_returns_to_its_escalation(
    reviewer_client, checker_client, session
):
    WorkflowSession.objects.filter(pk=session.pk).update(case_state=CaseState.ESCALATED)

    page = _pending_panel_after_request(reviewer_client, checker_client, session)

    assert (
        "Raised while the case was escalated: it returns to escalated once "
        "this is approved or sent back." in page
    )


def test_the_checker_reads_that_a_waiting_case_returns_to_its_wait_and_date(
    reviewer_client, checker_client, session
):
    until = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    WorkflowSession.objects.filter(pk=session.pk).update(
        case_state=CaseState.WAITING, case_waiting_until=until
    )

    page = _pending_panel_after_request(reviewer_client, checker_client, session)

    assert (
        "Raised while the case was waiting for information until "
        f"{timezone.localtime(until):%Y-%m-%d %H:%M}: it returns to waiting "
        "until then once this is approved or sent back." in page
    )


def test_the_checker_reads_that_a_wait_whose_date_passed_is_over(
    reviewer_client, checker_client, session
):
    until = timezone.now() + dt.timedelta(minutes=5)
    WorkflowSession.objects.filter(pk=session.pk).update(
        case_state=CaseState.WAITING, case_waiting_until=until
    )
    reviewer_client.post(reverse("override-request", args=[session.pk]), REQUEST)
    passed = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    Approval.objects.update(prior_waiting_until=passed)

    page = _page(checker_client, session)

    assert (
        f"until {timezone.localtime(passed):%Y-%m-%d %H:%M}; that date has "
        "passed, so it goes back to work once this is approved or sent back." in page
    )


def test_an_ordinary_request_says_nothing_of_a_return(
    reviewer_client, checker_client, session
):
    page = _pending_panel_after_request(reviewer_client, checker_client, session)

    assert "Raised while" not in page
    assert 'id="pending-approval-return"' not in page


def test_a_viewer_can_neither_request_nor_withdraw(viewer_client, session):
    for name in ("override-request", "override-withdraw"):
        response = viewer_client.post(reverse(name, args=[session.pk]), REQUEST)
        assert response.status_code == 403
    assert not Approval.objects.exists()
    assert "Request override" not in _page(viewer_client, session)


def test_a_bad_request_is_refused_on_the_page_and_loses_nothing(
    reviewer_client, session
):
    response = reviewer_client.post(
        reverse("override-request", args=[session.pk]),
        {**REQUEST, "reason_code": "verified"},
        follow=True,
    )
    assert "does not justify an outcome of “Rejected”" in response.content.decode()
    response = reviewer_client.post(
        reverse("override-request", args=[session.pk]),
        {**REQUEST, "outcome": "maybe"},
        follow=True,
    )
    assert "The override was not requested." in response.content.decode()
    assert not Approval.objects.exists()
    assert not AuditEvent.objects.exists()


def test_withdrawing_from_the_page(reviewer_client, checker_client, session):
    _request_and_approve(reviewer_client, checker_client, session)

    response = reviewer_client.post(
        reverse("override-withdraw", args=[session.pk]),
        {"comment": "The provider's re-check is right."},
        follow=True,
    )

    assert "Override withdrawn" in response.content.decode()
    assert OutcomeOverride.objects.get().state == OverrideState.WITHDRAWN
    page = _page(reviewer_client, session)
    assert "Earlier overrides" in page
    assert "withdrawn</strong> by rita-reviewer" in page


def test_the_queue_row_and_the_client_page_show_the_effective_outcome(
    reviewer_client, checker_client, session
):
    _request_and_approve(reviewer_client, checker_client, session)

    queue = reviewer_client.get(f"{QUEUE}?q=run-override").content.decode()
    row = queue[queue.index("run-override") :]
    assert (
        'badge-rejected">Rejected</span> <span class="override small">override (provider: clear)'
        in row
    )

    client_id = session.provider_client.client_id
    page = reviewer_client.get(reverse("client-detail", args=[client_id]))
    assert "override (provider: clear)" in page.content.decode()


def test_the_queue_filters_the_provider_outcome(
    reviewer_client, checker_client, session
):
    _request_and_approve(reviewer_client, checker_client, session)

    clear = reviewer_client.get(f"{QUEUE}?outcome=clear").content.decode()
    rejected = reviewer_client.get(f"{QUEUE}?outcome=rejected").content.decode()
    assert "run-override" in clear
    assert "run-override" not in rejected


def _queue_queries(client, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(14) as captured:
        response = client.get(f"{QUEUE}?page_size=100")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_overrides_add_no_query_to_the_queue(
    reviewer_client, reviewer, checker, django_assert_max_num_queries
):
    sessions = WorkflowSessionFactory.create_batch(5, outcome="clear")
    without = _queue_queries(reviewer_client, django_assert_max_num_queries)
    now = timezone.now()
    for session in sessions:
        OutcomeOverride.objects.create(
            session=session,
            outcome="rejected",
            provider_outcome="clear",
            provider_outcome_now="clear",
            reason_code="other",
            maker=reviewer,
            approver=checker,
            requested_at=now,
            effective_at=now,
        )
    WorkflowSessionFactory.create_batch(40, outcome="clear")
    assert _queue_queries(reviewer_client, django_assert_max_num_queries) == without
