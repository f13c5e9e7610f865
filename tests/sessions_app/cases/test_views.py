"""The session page's case work: the maker submits, the checker sees the
maker's decision, reason and comment and approves or sends it back; the
maker cannot; closed cases reopen with a reason; refusals are shown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Approval, AuditEvent, CaseState, Review
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]
QUEUE = reverse("session-list")


@pytest.fixture
def session():
    return WorkflowSessionFactory(outcome="attention", external_id="run-4eyes")


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["reviewer"])


@pytest.fixture
def checker_client(checker):
    client = DjangoClient()
    client.force_login(checker)
    return client


def _case(page: str) -> str:
    return page.split('id="case-title"')[1].split("</section>")[0]


def _submit(reviewer_client, session):
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {
            "decision": "reject",
            "reason_code": "document_issue",
            "comment": "Passport expired in 2019.",
        },
    )
    assert response.status_code == 302
    return Approval.objects.get(session=session)


def test_the_maker_submits_and_sees_it_awaits_someone_else(reviewer_client, session):
    approval = _submit(reviewer_client, session)
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert "A second reviewer must approve it before it takes effect." in page
    case = _case(page)
    assert "Awaiting approval" in case
    assert "<strong>Reject</strong> · Document problem" in case
    assert "Passport expired in 2019." in case
    assert "You made this decision: another reviewer must approve it" in case
    assert reverse("approval-approve", args=[approval.pk]) not in page
    # The decision form is closed while the decision waits.
    decide = page.split('id="decide-title"')[1].split("</section>")[0]
    assert "<form" not in decide
    assert "awaits a second reviewer" in decide


def test_the_checker_sees_the_makers_decision_and_approves_it(
    reviewer_client, checker_client, session
):
    approval = _submit(reviewer_client, session)
    back = f"{QUEUE}?awaiting_my_approval=true"
    page = checker_client.get(
        f"{session.get_absolute_url()}?back={back}"
    ).content.decode()
    case = _case(page)
    assert "by rita-reviewer" in case
    assert "Passport expired in 2019." in case
    assert f'action="{reverse("approval-approve", args=[approval.pk])}"' in case
    assert f'formaction="{reverse("approval-send-back", args=[approval.pk])}"' in case
    response = checker_client.post(
        reverse("approval-approve", args=[approval.pk]),
        {"comment": "Agreed.", "back": back},
    )
    # Back to the queue it came from, where the session is gone.
    assert response.status_code == 302
    assert response.url == back
    queue = checker_client.get(back)
    assert reverse("session-detail", args=[session.pk]) not in queue.content.decode()
    session.refresh_from_db()
    assert session.case_state == CaseState.REJECTED
    review = Review.objects.get(session=session)
    assert review.reviewer.username == "rita-reviewer"
    page = checker_client.get(session.get_absolute_url()).content.decode()
    reviews = page.split('id="reviews"')[1].split("</section>")[0]
    assert "by rita-reviewer · approved by carla-checker" in reviews
    history = page.split('id="history"')[1]
    assert "Decision submitted for approval" in history
    assert "Decision approved (second reviewer)" in history
    assert "Closed — rejected" in history


def test_the_maker_cannot_approve_their_own_decision_by_posting(
    reviewer_client, session
):
    approval = _submit(reviewer_client, session)
    response = reviewer_client.post(
        reverse("approval-approve", args=[approval.pk]), follow=True
    )
    assert "You made this decision" in response.content.decode()
    approval.refresh_from_db()
    assert approval.pending
    assert not Review.objects.exists()


def test_send_back_needs_a_comment_then_reopens_the_decision(
    reviewer_client, checker_client, session
):
    approval = _submit(reviewer_client, session)
    url = reverse("approval-send-back", args=[approval.pk])
    refused = checker_client.post(url, {"comment": ""}, follow=True)
    assert "Say why the decision goes back to its maker." in refused.content.decode()
    assert Approval.objects.get().pending
    checker_client.post(url, {"comment": "Look at page two."})
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert "sent back</strong> by carla-checker" in _case(page)
    assert "Look at page two." in _case(page)
    assert 'class="decision-form"' in page


def test_a_closed_case_offers_reopen_and_refuses_a_new_decision(
    reviewer_client, session, reviewer
):
    session.case_state = CaseState.APPROVED
    session.last_decision = "approve"
    session.save()
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert "This case is closed. Reopen it above" in page
    refused = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "escalate", "reason_code": "adverse_media"},
        follow=True,
    )
    assert "This case is closed (approved). Reopen it first" in (
        refused.content.decode()
    )
    reviewer_client.post(
        reverse("case-reopen", args=[session.pk]), {"comment": "New evidence."}
    )
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN
    assert AuditEvent.objects.filter(action="case.reopen").exists()


def test_a_waiting_case_shows_its_date_and_resumes(reviewer_client, session):
    day = timezone.now().date() + dt.timedelta(days=30)
    reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {
            "decision": "request_information",
            "reason_code": "incomplete",
            "waiting_until": day.isoformat(),
        },
    )
    session.refresh_from_db()
    assert session.case_state == CaseState.WAITING
    assert session.case_waiting_until.isoformat() == f"{day.isoformat()}T00:00:00+00:00"
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert "Waiting for information until" in _case(page)
    reviewer_client.post(reverse("case-resume", args=[session.pk]))
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN


def test_a_reason_that_does_not_fit_is_refused_on_the_page(reviewer_client, session):
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "reason_code": "fraud_suspected"},
        follow=True,
    )
    assert "“Fraud suspected” does not justify “Approve”." in (
        response.content.decode()
    )
    assert not Approval.objects.exists()
    assert not Review.objects.exists()


@pytest.mark.parametrize("name", ["case-reopen", "case-resume"])
def test_viewers_may_not_work_on_cases(viewer_client, session, name):
    response = viewer_client.post(reverse(name, args=[session.pk]), {"comment": "x"})
    assert response.status_code == 403


def test_viewers_may_not_approve(viewer_client, reviewer_client, session):
    approval = _submit(reviewer_client, session)
    for name in ("approval-approve", "approval-send-back"):
        assert viewer_client.post(reverse(name, args=[approval.pk])).status_code == 403
    assert Approval.objects.get().pending
    viewer_page = viewer_client.get(session.get_absolute_url()).content.decode()
    assert "Passport expired in 2019." in viewer_page  # everyone sees it
    assert reverse("approval-approve", args=[approval.pk]) not in viewer_page


def test_awaiting_my_approval_lists_what_others_made(
    reviewer_client, checker_client, session
):
    _submit(reviewer_client, session)
    url = f"{QUEUE}?awaiting_my_approval=true"
    link = reverse("session-detail", args=[session.pk])
    assert link in checker_client.get(url).content.decode()
    assert link not in reviewer_client.get(url).content.decode()
