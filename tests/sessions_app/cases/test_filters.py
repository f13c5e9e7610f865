"""The `case_state` and `awaiting_my_approval` filters mean the same on the
queue, in the API and in the CSV; the overview counts escalated, waiting and
awaiting-approval cases; the queue's queries stay constant."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client as DjangoClient
from django.urls import reverse

from sessions_app.cases.selectors import case_state_counts
from sessions_app.models import CaseState, WorkflowSession
from tests.factories import ApprovalFactory, UserFactory, WorkflowSessionFactory
from tests.helpers.tokens import api_token_client

pytestmark = pytest.mark.django_db
QUEUE = reverse("session-list")


@pytest.fixture
def cases(reviewer):
    made = {
        state: WorkflowSessionFactory(external_id=f"s-{state}", case_state=state)
        for state in CaseState.values
    }
    other = UserFactory(username="olga", roles=["reviewer"])
    mine = made[CaseState.AWAITING_APPROVAL]
    ApprovalFactory(session=mine, maker=reviewer)
    theirs = WorkflowSessionFactory(
        external_id="s-theirs", case_state=CaseState.AWAITING_APPROVAL
    )
    ApprovalFactory(session=theirs, maker=other)
    return made


def _queue_ids(client, query: str) -> set[str]:
    return {s.external_id for s in client.get(f"{QUEUE}?{query}").context["sessions"]}


def _api_ids(user, query: str) -> set[str]:
    response = api_token_client(user).get(f"{reverse('api-session-list')}?{query}")
    assert response.status_code == 200, response.content
    return {row["external_id"] for row in response.json()["results"]}


def _csv_ids(client, query: str) -> set[str]:
    response = client.get(f"{reverse('sessions-export')}?{query}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return {row["External id"] for row in csv.DictReader(io.StringIO(body))}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("case_state=escalated", {"s-escalated"}),
        ("case_state=waiting,escalated", {"s-waiting", "s-escalated"}),
        ("case_state=closed", {"s-approved", "s-rejected"}),
        ("case_state=open,in_review", {"s-open", "s-in_review"}),
        (
            "case_state=awaiting_approval",
            {"s-awaiting_approval", "s-theirs"},
        ),
        ("awaiting_my_approval=true", {"s-theirs"}),
        ("case_state=", None),  # blank: unset
    ],
)
def test_the_queue_the_api_and_the_csv_agree(cases, reviewer, query, expected):
    reviewer.groups.add(Group.objects.get(name="exporter"))
    browser = DjangoClient()
    browser.force_login(reviewer)
    every = set(WorkflowSession.objects.values_list("external_id", flat=True))
    want = every if expected is None else expected
    assert _queue_ids(browser, f"{query}&page_size=100") == want
    assert _api_ids(reviewer, query) == want
    assert _csv_ids(browser, query) == want


def test_an_unknown_case_state_is_a_field_error(cases, reviewer, reviewer_client):
    response = api_token_client(reviewer).get(
        f"{reverse('api-session-list')}?case_state=limbo"
    )
    assert response.status_code == 400
    assert "case_state" in response.json()
    page = reviewer_client.get(f"{QUEUE}?case_state=limbo")
    assert page.context["filter_errors"][0]["field"] == "case_state"


def test_quick_filters_link_to_escalated_waiting_and_my_approvals(
    cases, reviewer_client
):
    quick = {
        q["label"]: q["url"]
        for q in reviewer_client.get(QUEUE).context["quick_filters"]
    }
    assert quick["Escalated"] == "?case_state=escalated"
    assert quick["Waiting for information"] == "?case_state=waiting"
    assert quick["Awaiting my approval"] == "?awaiting_my_approval=true"


def test_the_overview_counts_escalated_waiting_and_awaiting_approval(
    cases, reviewer_client
):
    assert case_state_counts() == {
        "escalated": 1,
        "waiting": 1,
        "awaiting_approval": 2,
    }
    page = reviewer_client.get(reverse("overview"))
    rows = {row["state"]: row for row in page.context["case_counts"]}
    assert rows["awaiting_approval"]["count"] == 2
    assert rows["escalated"]["url"] == f"{QUEUE}?case_state=escalated&sort=created"
    assert "Waiting for information" in page.content.decode()


def test_the_case_counts_are_one_query(cases, django_assert_num_queries):
    with django_assert_num_queries(1):
        case_state_counts()


@pytest.mark.parametrize(
    "query", ["case_state=escalated", "awaiting_my_approval=true", "case_state=closed"]
)
def test_queue_pages_cost_a_constant_number_of_queries(
    reviewer, reviewer_client, django_assert_max_num_queries, query
):
    other = UserFactory(username="olga", roles=["reviewer"])

    def count(n: int) -> int:
        with transaction.atomic():
            for state in (CaseState.ESCALATED, CaseState.APPROVED):
                WorkflowSessionFactory.create_batch(n, case_state=state)
            for _ in range(n):
                ApprovalFactory(maker=other)
            with django_assert_max_num_queries(20) as captured:
                response = reviewer_client.get(f"{QUEUE}?{query}&page_size=100")
            assert response.status_code == 200
            assert response.context["sessions"]
            transaction.set_rollback(True)
        return len(captured.captured_queries)

    assert count(2) == count(30)
