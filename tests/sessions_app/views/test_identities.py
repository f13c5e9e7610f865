"""Linking provider identities to a client by hand from the client page:
search (JSON and without script), link and unlink with a reason, audited,
reviewers and admins only; and the sync never undoes it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import (
    AuditEvent,
    ClientLinkSource,
    ProviderClient,
    SyncTrigger,
)
from sessions_app.sync import engine as sync
from tests.factories import ClientFactory, ProviderClientFactory
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    client = ClientFactory(display_name="Ada Lovelace", reference="cust-ada")
    own = ProviderClientFactory(client=client, name="Ada Lovelace")
    stray = ProviderClientFactory(
        client=None, name="Ada L. (ICA project)", external_id="proj-1"
    )
    other = ClientFactory(display_name="Someone else")
    elsewhere = ProviderClientFactory(client=other, name="Ada King")
    return client, own, stray, elsewhere


def _search(http, client, q):
    return http.get(reverse("client-identities-search", args=[client.pk]), {"q": q})


def test_search_lists_unlinked_and_other_clients_identities(reviewer_client, people):
    client, _own, stray, elsewhere = people
    rows = _search(reviewer_client, client, "ada").json()["results"]
    assert [row["id"] for row in rows] == [stray.pk, elsewhere.pk]  # unlinked first
    assert rows[1]["client"] == {"id": elsewhere.client_id, "name": "Someone else"}
    by_id = _search(reviewer_client, client, "proj-1").json()["results"]
    assert [row["id"] for row in by_id] == [stray.pk]
    assert _search(reviewer_client, client, "a").json() == {"results": []}


@pytest.mark.parametrize(
    ("fixture", "allowed"),
    [
        ("viewer_client", False),
        ("exporter_client", False),
        ("reviewer_client", True),
        ("admin_client_verity", True),
    ],
)
def test_only_reviewers_and_admins_search_link_and_unlink(
    request, people, fixture, allowed
):
    http = request.getfixturevalue(fixture)
    client, own, stray, _ = people
    expected = 200 if allowed else 403
    assert _search(http, client, "ada").status_code == expected
    link = http.post(
        reverse("client-identity-link", args=[client.pk]),
        {"identity": stray.pk, "reason": "same person"},
    )
    unlink = http.post(
        reverse("client-identity-unlink", args=[client.pk, own.pk]),
        {"reason": "wrong person"},
    )
    assert {link.status_code, unlink.status_code} == ({302} if allowed else {403})
    page = http.get(client.get_absolute_url(), {"identity_q": "ada"}).content.decode()
    assert ("Link another identity" in page) is allowed
    # Everyone sees the links, names masked until a reveal (issue 21).
    assert "A. L." in page


def test_link_records_the_reason_and_is_manual(reviewer_client, reviewer, people):
    client, _, stray, _ = people
    response = reviewer_client.post(
        reverse("client-identity-link", args=[client.pk]),
        {"identity": stray.pk, "reason": "  Same passport number  "},
        follow=True,
    )
    stray.refresh_from_db()
    assert (stray.client_id, stray.link_source) == (client.pk, ClientLinkSource.MANUAL)
    event = AuditEvent.objects.get(action="provider_client.link")
    assert event.actor == reviewer
    assert event.client_id == client.pk
    assert event.after["reason"] == "Same passport number"
    assert "Linked" in response.content.decode()


def test_a_link_without_a_reason_changes_nothing(reviewer_client, people):
    client, _, stray, _ = people
    response = reviewer_client.post(
        reverse("client-identity-link", args=[client.pk]),
        {"identity": stray.pk, "reason": "  ", "identity_q": "ada"},
        follow=True,
    )
    stray.refresh_from_db()
    assert stray.client_id is None
    assert not AuditEvent.objects.filter(action="provider_client.link").exists()
    page = response.content.decode()
    assert "Not linked" in page
    assert response.redirect_chain[-1][0].endswith("?identity_q=ada#identities")


def test_moving_an_identity_from_another_client_is_audited_on_both(
    reviewer_client, people
):
    client, _, _, elsewhere = people
    old = elsewhere.client_id
    reviewer_client.post(
        reverse("client-identity-link", args=[client.pk]),
        {"identity": elsewhere.pk, "reason": "merged"},
    )
    assert set(
        AuditEvent.objects.filter(action="provider_client.link").values_list(
            "client_id", flat=True
        )
    ) == {old, client.pk}


def test_unlink_with_a_reason_and_only_this_clients_identity(reviewer_client, people):
    client, own, _, elsewhere = people
    reviewer_client.post(
        reverse("client-identity-unlink", args=[client.pk, own.pk]),
        {"reason": "not her"},
    )
    own.refresh_from_db()
    assert (own.client_id, own.link_source) == (None, ClientLinkSource.MANUAL)
    assert AuditEvent.objects.get(action="provider_client.unlink").after["reason"] == (
        "not her"
    )
    not_hers = reviewer_client.post(
        reverse("client-identity-unlink", args=[client.pk, elsewhere.pk]),
        {"reason": "x"},
    )
    assert not_hers.status_code == 404


def test_the_page_searches_without_script(reviewer_client, people):
    client, _, stray, _ = people
    page = reviewer_client.get(
        client.get_absolute_url(), {"identity_q": "proj-1"}
    ).content.decode()
    assert f'name="identity" value="{stray.pk}"' in page
    assert "not linked" in page
    assert "js/identity-search.js" in page


def test_a_manual_unlink_and_link_survive_the_sync(monkeypatch, reviewer):
    from sessions_app import services

    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", client=("app-1", "Ada", "cust-1"))
    provider.add("wr-2", client=("app-2", "Bob", "cust-2"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    app1 = ProviderClient.objects.get(external_id="app-1")
    app2 = ProviderClient.objects.get(external_id="app-2")
    services.provider_client_link(
        provider_client=app1, client=None, actor=reviewer, reason="wrong"
    )
    services.provider_client_link(
        provider_client=app2, client=app1.client, actor=reviewer, reason="same"
    )
    cust1 = app1.client
    provider.change("wr-1", client=("app-1", "Ada", "cust-1"))
    provider.change("wr-2", client=("app-2", "Bob B.", "cust-9"))

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    app1.refresh_from_db()
    app2.refresh_from_db()
    assert app1.client_id is None
    assert app2.client_id == cust1.pk


def test_the_service_refuses_no_reason_and_other_roles(
    people, reviewer, viewer, exporter
):
    from sessions_app import services
    from sessions_app.exceptions import ApplicationError

    client, _, stray, _ = people
    with pytest.raises(ApplicationError, match="why"):
        services.provider_client_link(
            provider_client=stray, client=client, actor=reviewer, reason="   "
        )
    for actor in (viewer, exporter):
        with pytest.raises(ApplicationError, match="reviewers and admins"):
            services.provider_client_link(
                provider_client=stray, client=client, actor=actor, reason="x"
            )
    stray.refresh_from_db()
    assert stray.client_id is None
