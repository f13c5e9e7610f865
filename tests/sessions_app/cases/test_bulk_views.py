"""The queue's bulk bar: checkboxes for reviewers and admins only, one POST
(CSRF, bounded), PRG back to the same queue with the result in words; the
queue's query count stays constant per page."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse

from sessions_app.cases.bulk import BULK_MAX_SESSIONS
from sessions_app.models import Approval, AuditEvent, Note, WorkflowSession
from tests.factories import UserFactory, WorkflowSessionFactory
from tests.sessions_app.desk_data import desk_data_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]
QUEUE = reverse("session-list")
BULK = reverse("sessions-bulk")


def test_reviewers_see_checkboxes_and_the_bulk_bar(reviewer_client):
    rows = WorkflowSessionFactory.create_batch(2)
    page = reviewer_client.get(QUEUE).content.decode()
    assert f'action="{BULK}"' in page
    for row in rows:
        assert f'name="ids" value="{row.pk}" form="bulk-form"' in page
        assert f'name="page_ids" value="{row.pk}"' in page
    assert 'name="all_on_page"' in page
    assert "Select all on this page (2)" in page


@pytest.mark.parametrize("fixture", ["viewer_client", "exporter_client"])
def test_viewers_see_no_checkboxes_and_are_refused(request, fixture):
    client = request.getfixturevalue(fixture)
    row = WorkflowSessionFactory()
    page = client.get(QUEUE).content.decode()
    assert 'name="ids"' not in page
    assert "bulk-form" not in page
    response = client.post(BULK, {"ids": [row.pk], "action": "assign_me"})
    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_signed_out_users_are_sent_to_sign_in():
    response = DjangoClient().post(BULK, {"ids": ["1"], "action": "assign_me"})
    assert response.status_code in (302, 403)
    assert not AuditEvent.objects.exists()


def test_the_bulk_post_needs_csrf(reviewer):
    client = DjangoClient(enforce_csrf_checks=True)
    client.force_login(reviewer)
    row = WorkflowSessionFactory()
    response = client.post(BULK, {"ids": [row.pk], "action": "assign_me"})
    assert response.status_code == 403
    assert WorkflowSession.objects.get(pk=row.pk).assignee_id is None


def test_assigning_two_rows_redirects_back_with_a_summary(reviewer_client, reviewer):
    rows = WorkflowSessionFactory.create_batch(3)
    back = f"{QUEUE}?status=completed&page_size=25"
    response = reviewer_client.post(
        BULK, {"ids": [rows[0].pk, rows[1].pk], "action": "assign_me", "back": back}
    )
    assert response.status_code == 302
    assert response.url == back
    assert set(WorkflowSession.objects.filter(assignee=reviewer)) == set(rows[:2])
    landing = reviewer_client.get(response.url).content.decode()
    assert "2 assigned to you." in landing
    assert AuditEvent.objects.filter(action="session.assign").count() == 2
    assert AuditEvent.objects.get(action="sessions.bulk").after["session_ids"] == [
        rows[0].pk,
        rows[1].pk,
    ]


def test_all_on_page_takes_the_pages_ids(reviewer_client, reviewer):
    rows = WorkflowSessionFactory.create_batch(3)
    response = reviewer_client.post(
        BULK,
        {
            "ids": [rows[0].pk],
            "page_ids": [r.pk for r in rows],
            "all_on_page": "on",
            "action": "note",
            "text": "Seen in the weekly sweep.",
        },
    )
    assert response.url == QUEUE
    assert Note.objects.filter(text="Seen in the weekly sweep.").count() == 3


def test_a_partial_refusal_is_a_warning_in_words(reviewer_client, reviewer):
    other = UserFactory(username="rita", roles=["reviewer"])
    free = WorkflowSessionFactory(external_id="free-1")
    taken = WorkflowSessionFactory(external_id="taken-1", assignee=other)
    response = reviewer_client.post(
        BULK,
        {"ids": [free.pk, taken.pk], "action": "assign", "assignee": "rita"},
    )
    landing = reviewer_client.get(response.url).content.decode()
    assert "1 assigned to rita; 1 not: already assigned (taken-1)." in landing
    assert 'class="warning"' in landing


def test_bulk_decisions_under_four_eyes_become_pending(reviewer_client, reviewer):
    rows = WorkflowSessionFactory.create_batch(2, outcome="attention")
    response = reviewer_client.post(
        BULK,
        {
            "ids": [r.pk for r in rows],
            "action": "decide",
            "decision": "reject",
            "reason_code": "document_issue",
            "comment": "Expired IDs.",
        },
    )
    landing = reviewer_client.get(response.url).content.decode()
    assert "0 decided; 2 awaiting a second reviewer&#x27;s approval." in landing
    assert Approval.objects.filter(maker=reviewer, result="").count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "assign_me"}, "Select at least one session."),
        ({"ids": ["x"], "action": "assign_me"}, "bad session id"),
        ({"ids": ["1"], "action": "explode"}, "Select a valid choice"),
        ({"ids": ["1"], "action": "assign"}, "Choose the reviewer to assign."),
        ({"ids": ["1"], "action": "decide"}, "Choose a decision."),
        (
            {
                "ids": [str(n) for n in range(1, BULK_MAX_SESSIONS + 2)],
                "action": "unassign",
            },
            "at most 100",
        ),
    ],
)
def test_bad_bulk_posts_change_nothing_and_say_why(reviewer_client, data, message):
    response = reviewer_client.post(BULK, data)
    assert response.status_code == 302
    landing = reviewer_client.get(response.url).content.decode()
    assert "Nothing changed:" in landing
    assert message in landing
    assert not AuditEvent.objects.exists()


def test_a_foreign_back_link_returns_to_the_plain_queue(reviewer_client):
    row = WorkflowSessionFactory()
    response = reviewer_client.post(
        BULK, {"ids": [row.pk], "action": "assign_me", "back": "https://evil.example/"}
    )
    assert response.url == QUEUE


def test_bulk_is_post_only(reviewer_client):
    assert reviewer_client.get(BULK).status_code == 405


def _queue_queries(client, django_assert_max_num_queries) -> int:
    # The queue's 13, plus PostgreSQL's planner estimate of the total
    # (test_queue.py says which).
    with django_assert_max_num_queries(14) as captured:
        response = client.get(f"{QUEUE}?page_size=100")
    assert response.status_code == 200
    assert 'name="ids"' in response.content.decode()
    return len(captured.captured_queries)


def test_the_queue_with_checkboxes_keeps_a_constant_number_of_queries(
    reviewer_client, django_assert_max_num_queries
):
    desk_data_create(sessions=5)
    small = _queue_queries(reviewer_client, django_assert_max_num_queries)
    desk_data_create(sessions=60, prefix="more-")
    assert small == _queue_queries(reviewer_client, django_assert_max_num_queries)
