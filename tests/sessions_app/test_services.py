"""Audit mechanism and client linking services."""

import pytest

from sessions_app.models import AuditEvent, Client, ClientLinkSource, ProviderClient
from sessions_app.services import (
    audit_event_record,
    clients_link_by_reference,
    model_snapshot,
    provider_client_link,
    snapshot_diff,
)
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_audit_event_records_actor_object_and_client(reviewer):
    pc = ProviderClientFactory()
    event = audit_event_record(
        actor=reviewer,
        source="web",
        action="x.y",
        obj=pc,
        client=pc.client,
        before={"a": 1},
        after={"a": 2},
    )
    assert (event.actor, event.actor_label, event.source) == (
        reviewer,
        reviewer.username,
        "web",
    )
    assert (event.object_type, event.object_id) == (
        "sessions_app.providerclient",
        str(pc.pk),
    )
    assert event.client == pc.client


def test_audit_event_for_system_actor_uses_source_as_label():
    event = audit_event_record(
        actor=None, source="sync", action="sync.run", object_type="t", object_id="1"
    )
    assert event.actor is None
    assert event.actor_label == "sync"


def test_snapshot_excludes_raw_payloads_and_diff_keeps_changes_only():
    pc = ProviderClientFactory(raw_payload={"huge": "x" * 100})
    snap = model_snapshot(pc)
    assert "raw_payload" not in snap
    before, after = snapshot_diff(
        {"name": "A", "x": 1, "updated_at": "t1"},
        {"name": "B", "x": 1, "updated_at": "t2"},
    )
    assert (before, after) == ({"name": "A"}, {"name": "B"})


def test_clients_link_by_reference_joins_providers_and_is_idempotent():
    onfido = ProviderConnectionFactory(kind="onfido")
    cube = ProviderConnectionFactory(kind="complycube")
    a = ProviderClientFactory(
        connection=onfido, client=None, external_reference="cust-42", name="Ada L"
    )
    b = ProviderClientFactory(
        connection=cube, client=None, external_reference="cust-42", name="Ada Lovelace"
    )
    lone = ProviderClientFactory(connection=cube, client=None, external_reference="")
    assert clients_link_by_reference(provider_clients=[a, b, lone]) == 2
    a.refresh_from_db()
    b.refresh_from_db()
    lone.refresh_from_db()
    assert a.client_id == b.client_id is not None
    assert lone.client_id is None
    assert Client.objects.filter(reference="cust-42").count() == 1
    assert clients_link_by_reference(provider_clients=[a, b]) == 0


def test_automatic_linking_never_overrides_a_manual_unlink():
    pc = ProviderClientFactory(
        client=None, external_reference="cust-7", link_source=ClientLinkSource.MANUAL
    )
    assert clients_link_by_reference(provider_clients=[pc]) == 0
    pc.refresh_from_db()
    assert pc.client_id is None


def test_provider_client_link_and_unlink_are_audited_for_both_clients():
    admin = UserFactory(roles=["admin"])
    old, new = ClientFactory(), ClientFactory()
    pc = ProviderClientFactory(client=old)
    provider_client_link(provider_client=pc, client=new, actor=admin, reason="test")
    assert ProviderClient.objects.get(pk=pc.pk).client == new
    assert set(
        AuditEvent.objects.filter(action="provider_client.link").values_list(
            "client_id", flat=True
        )
    ) == {
        old.pk,
        new.pk,
    }
    provider_client_link(provider_client=pc, client=None, actor=admin, reason="test")
    unlinked = ProviderClient.objects.get(pk=pc.pk)
    assert unlinked.client is None
    assert unlinked.link_source == ClientLinkSource.MANUAL
    assert AuditEvent.objects.filter(
        action="provider_client.unlink", client=new
    ).exists()
