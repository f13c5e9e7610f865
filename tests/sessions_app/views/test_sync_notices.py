"""Officers see when the provider data on a page may no longer be true
(issue 17, point 8): the queue, the session page and the client page carry a
notice for each failing or stale connection their sessions come from."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from sessions_app.models import ProviderConnection, SyncRunState
from tests.factories import SyncRunFactory


def _healthy(connection: ProviderConnection) -> None:
    SyncRunFactory(
        connection=connection,
        state=SyncRunState.SUCCEEDED,
        finished_at=timezone.now() - dt.timedelta(seconds=30),
    )
    ProviderConnection.objects.filter(pk=connection.pk).update(
        sync_interval_seconds=3600
    )


def _failing(connection: ProviderConnection) -> None:
    SyncRunFactory(
        connection=connection,
        state=SyncRunState.FAILED,
        error="complycube HTTP 401 Unauthorized",
        error_kind="auth",
    )


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_pages_warn_about_the_connections_they_show_and_only_those(
    reviewer_client, data, no_queries_in_templates
):
    onfido, cube, *others = data.connections
    for connection in [onfido, *others]:
        _healthy(connection)
    _healthy(cube)
    _failing(cube)  # after its last success: failing now
    warning = "ComplyCube data last synced"

    onfido_session = next(s for s in data.sessions if s.connection_id == onfido.pk)
    cube_session = next(s for s in data.sessions if s.connection_id == cube.pk)

    assert warning in _page(reviewer_client, reverse("session-list"))
    on_cube = _page(reviewer_client, cube_session.get_absolute_url())
    assert warning in on_cube
    assert "failing since" in on_cube
    assert warning not in _page(reviewer_client, onfido_session.get_absolute_url())


def test_no_notice_when_every_connection_is_fresh(reviewer_client, data):
    for connection in data.connections:
        _healthy(connection)

    for url in (
        reverse("session-list"),
        data.sessions[0].get_absolute_url(),
        reverse("client-detail", args=[data.clients[0].pk]),
    ):
        assert 'aria-label="Data freshness"' not in _page(reviewer_client, url)


def test_the_client_page_warns_about_its_identities_connections(reviewer_client, data):
    for connection in data.connections:
        _healthy(connection)
    client = data.clients[0]
    connection = client.provider_clients.first().connection
    _failing(connection)

    page = _page(reviewer_client, reverse("client-detail", args=[client.pk]))

    assert f"{connection.display_name} data last synced" in page
