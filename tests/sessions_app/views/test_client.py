"""The client page (views/client.py): every provider, bounded, linked to its queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app import views
from tests.factories import CheckFactory, ClientFactory, WorkflowSessionFactory

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
