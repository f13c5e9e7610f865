"""Audit events name clients by id and carry a fingerprint of a name, never the name."""

from __future__ import annotations

import pytest

from sessions_app import services
from sessions_app.models import Client
from sessions_app.privacy.audit_personal import personal_fingerprint
from tests.factories import ClientFactory, ProviderClientFactory

pytestmark = pytest.mark.django_db


def test_events_about_a_client_or_an_identity_do_not_name_the_person():
    client = ClientFactory(display_name="Ottoline Brackenbury")
    identity = ProviderClientFactory(client=client, name="Ottoline Brackenbury")
    for obj in (client, identity):
        event = services.audit_event_record(
            actor=None,
            source="admin",
            action="test.change",
            obj=obj,
            before=services.model_snapshot(obj),
        )
        assert "Ottoline" not in event.object_repr
        assert "Ottoline" not in str(event.before)
    assert event.object_repr == f"Provider identity {identity.external_id}"


def test_a_renamed_client_shows_as_a_change_without_the_names():
    client = ClientFactory(display_name="Old Name")
    before = services.model_snapshot(client)
    Client.objects.filter(pk=client.pk).update(display_name="New Name")
    client.refresh_from_db()
    old, new = services.snapshot_diff(before, services.model_snapshot(client))
    assert old["display_name"] == personal_fingerprint("Old Name")
    assert new["display_name"] == personal_fingerprint("New Name")
    assert old["display_name"] != new["display_name"]
    assert "Name" not in str(old) + str(new)
    assert personal_fingerprint("") == ""
