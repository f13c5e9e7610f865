"""Clients and provider clients (admin/clients.py): a link made by hand is
audited and sticks."""

import pytest
from django.urls import reverse

from sessions_app.models import AuditEvent, ClientLinkSource
from tests.factories import ClientFactory, ProviderClientFactory

pytestmark = pytest.mark.django_db


def test_linking_a_provider_client_by_hand_is_audited_and_sticks(admin_client_verity):
    pc = ProviderClientFactory(client=None, external_reference="")
    target = ClientFactory()
    url = reverse("admin:sessions_app_providerclient_change", args=[pc.pk])
    form = {
        "name": pc.name,
        "external_reference": "",
        "client": str(target.pk),
        "link_source": "automatic",
    }
    response = admin_client_verity.post(url, form)
    assert response.status_code == 302, response.content
    pc.refresh_from_db()
    assert pc.client == target
    assert pc.link_source == ClientLinkSource.MANUAL
    event = AuditEvent.objects.get(action="provider_client.link")
    assert event.client_id == target.pk
    assert event.before["client_id"] is None
