"""The client page (views/client.py): every provider, bounded, linked to its queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app import views

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
