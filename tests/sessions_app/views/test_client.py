"""The client page (views/client.py): every provider, bounded, linked to its queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app import views
from tests.factories import (
    CheckFactory,
    ClientFactory,
    PolicyAssuranceFactory,
    SessionReasonFactory,
    WorkflowSessionFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]


def test_client_page_spans_every_provider(viewer_client, data):
    client = data.clients[0]
    response = viewer_client.get(reverse("client-detail", args=[client.pk]))
    page = response.content.decode()
    detail = response.context["detail"]
    assert {pc.connection.slug for pc in detail.provider_clients} == {
        "onfido-eu",
        "complycube",
        "ica-lab",
    }
    own = [s for s in data.sessions if s.provider_client.client_id == client.pk]
    assert {s.pk for s in detail.sessions} == {s.pk for s in own}
    assert len({s.connection_id for s in detail.sessions}) == 3
    assert len(detail.checks) == 4 * len(own)
    for session in own:
        assert f'href="{session.get_absolute_url()}"' in page
    assert f'href="{reverse("session-list")}?client={client.pk}"' in page
    assert "session.assign" in page or "Nothing concerning this client" in page


def test_client_page_is_bounded_with_a_link_to_the_queue(
    viewer_client, data, monkeypatch
):
    monkeypatch.setattr(views.client, "CLIENT_PAGE_LIMIT", 2)
    client = data.clients[0]
    response = viewer_client.get(reverse("client-detail", args=[client.pk]))
    assert len(response.context["detail"].sessions) == 2
    assert response.context["detail"].sessions_truncated
    assert "newest 2" in response.content.decode()


def test_client_page_opens_with_what_is_verified_and_the_gaps(viewer_client, settings):

    settings.VERITY_REQUIRED_CHECK_KINDS = ["document", "screening", "liveness"]
    person = ClientFactory(display_name="Grace Hopper")
    session = WorkflowSessionFactory(
        connection__kind="complycube", provider_client__client=person
    )
    CheckFactory(
        session=session,
        check_type="standard_screening_check",
        outcome="rejected",
        raw_outcome="match_confirmed",
    )
    CheckFactory(session=session, check_type="document_check")

    response = viewer_client.get(reverse("client-detail", args=[person.pk]))

    page = response.content.decode()
    matrix = page[page.index("What is verified") : page.index("Identities at each")]
    assert "(1 gap)" in matrix
    assert "Liveness" in matrix
    assert "No provider has checked this." in matrix
    assert "Watchlist / sanctions / PEP screening" in matrix
    assert "match_confirmed" in matrix  # the provider's word beside ours
    assert "Gap: never verified" in matrix
    kinds = [row.kind for row in response.context["assurance"].rows]
    assert kinds == ["document", "liveness", "screening"]
    # Every check stays reachable below, grouped by kind in taxonomy order.
    groups = response.context["detail"].checks_by_kind
    assert [(label, len(checks)) for label, checks in groups] == [
        ("Document", 1),
        ("Watchlist / sanctions / PEP screening", 1),
    ]
    assert 'scope="rowgroup" colspan="6">Document' in page


def _client_page_queries(client, person, django_assert_max_num_queries) -> int:
    # The signed-in user (5: session, user, permissions 2, a role), the
    # client, its sessions, their reasons, checks, audit events, identities
    # (6), the personal-data reveal, the assurance matrix (checks, policies),
    # the sync notices (connections, and their runs when there are any),
    # retention (2). Each list is one query however long it is (no N+1).
    with django_assert_max_num_queries(18) as captured:
        response = client.get(reverse("client-detail", args=[person.pk]))
    assert response.status_code == 200
    return len(captured.captured_queries)


def _sessions_with_checks(person, count: int, prefix: str) -> None:
    for n in range(count):
        session = WorkflowSessionFactory(
            provider_client__client=person,
            external_id=f"{prefix}{n}",
            last_decision="approve",
        )
        SessionReasonFactory(session=session)
        PolicyAssuranceFactory(session=session)
        for check_type in ("document", "facial_similarity_photo", "watchlist_aml"):
            CheckFactory(session=session, check_type=check_type)


def test_client_page_query_budget_does_not_grow_with_its_rows(
    reviewer_client, django_assert_max_num_queries
):
    person = ClientFactory(display_name="Ada Lovelace")
    _sessions_with_checks(person, 2, "few-")
    few = _client_page_queries(reviewer_client, person, django_assert_max_num_queries)
    _sessions_with_checks(person, 20, "many-")
    many = _client_page_queries(reviewer_client, person, django_assert_max_num_queries)
    assert few == many


def test_client_page_rows_show_each_session_and_check(reviewer_client):
    """The rows built in Python (templatetags/client_rows.py) say what the
    template's cells said: escaped ids, links, badges, reasons, decisions."""
    person = ClientFactory(display_name="Ada Lovelace")
    session = WorkflowSessionFactory(
        provider_client__client=person,
        external_id="run-<b>&-" + "x" * 40,
        workflow_name="",
        workflow_id="wf-1",
        status="completed",
        raw_status="approved",
        outcome="rejected",
        raw_outcome="declined",
        last_decision="approve",
    )
    SessionReasonFactory(session=session, code="document_rejected", raw="doc_bad")
    CheckFactory(
        session=session,
        check_type="",
        provider_created_at=None,
        raw_status="",
        outcome="attention",
        raw_outcome="consider",
    )

    page = reviewer_client.get(reverse("client-detail", args=[person.pk]))
    html = page.content.decode()

    url = reverse("session-detail", args=[session.pk])
    assert f'<a class="mono" href="{url}">run-&lt;b&gt;&amp;-{"x" * 30}…</a>' in html
    assert '<td data-label="Workflow">wf-1</td>' in html
    assert 'title="Provider value: approved">Completed' in html
    assert '<span class="badge badge-rejected">Rejected</span>' in html
    assert '<span class="raw">doc_bad</span>' in html
    assert '<td data-label="Last decision">Approve</td>' in html
    # The check: no type says "check", no date says "—", the session's id cut at 32.
    assert '<th scope="row">check</th>' in html
    assert f'<a class="mono" href="{url}">run-&lt;b&gt;&amp;-{"x" * 22}…</a>' in html
    assert '<td class="nowrap" data-label="Created">—</td>' in html
    assert 'title="Provider value: (none)">Completed</span>' in html
