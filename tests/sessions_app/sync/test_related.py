"""The rows that hang off a session (`sync.related`): client links, tags,
policy assurances."""

from __future__ import annotations

import pytest

from sessions_app.models import (
    ClientLinkSource,
    ProviderClient,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.sync import engine as sync
from tests.factories import ClientFactory
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def test_changed_session_replaces_its_tags_and_policies(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add(
        "wr-1",
        tags=[("vip", "user"), ("eu", "technical")],
        policies=[("p1", "A", "clear")],
    )
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    provider.change(
        "wr-1", tags=[("eu", "technical")], policies=[("p2", "B", "rejected")]
    )

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    session = WorkflowSession.objects.get()
    assert list(session.tags.values_list("name", flat=True)) == ["eu"]
    assert list(session.policy_assurances.values_list("policy_id", "outcome")) == [
        ("p2", "rejected")
    ]


def test_sync_never_overrides_a_manual_client_link(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", client=("app-1", "Ada", "cust-1"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    chosen = ClientFactory(reference="cust-other")
    ProviderClient.objects.filter(external_id="app-1").update(
        client=chosen, link_source=ClientLinkSource.MANUAL
    )
    provider.change("wr-1", client=("app-1", "Ada L.", "cust-2"))

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    pc = ProviderClient.objects.get(external_id="app-1")
    assert (pc.name, pc.external_reference, pc.client) == ("Ada L.", "cust-2", chosen)


def test_automatic_client_link_follows_a_changed_reference(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", client=("app-1", "Ada", "cust-1"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    provider.change("wr-1", client=("app-1", "Ada", "cust-2"))

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert ProviderClient.objects.get(external_id="app-1").client.reference == "cust-2"


def test_an_incomplete_client_record_never_overwrites_the_stored_client(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="processing", client=("app-1", "Ada Lovelace", "c-1"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    real_record = provider.record

    def without_applicant(spec):
        # The applicant call failed: the adapter knows only the client's id.
        record = real_record(spec)
        record.client.name, record.client.external_reference = "", ""
        record.client.raw, record.client.incomplete = {"id": "app-1"}, True
        # The change marker stays: the sync must not store it for an incomplete read.
        record.missing = ["applicant app-1: HTTP 503"]
        record.raw = {**record.raw, "status": "approved"}
        return record

    monkeypatch.setattr(provider, "record", without_applicant)
    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert run.updated == 1  # the session itself changed and is written
    client = ProviderClient.objects.get(external_id="app-1")
    assert (client.name, client.external_reference) == ("Ada Lovelace", "c-1")
    session = WorkflowSession.objects.get(external_id="wr-1")
    assert session.provider_client == client
    assert session.source_version == ""
