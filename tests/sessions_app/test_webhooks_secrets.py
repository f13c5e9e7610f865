"""A webhook delivery is stored without the credentials it carries (issue 21
item 5): verified on the bytes as received, stored cut, refreshed as usual."""

from __future__ import annotations

import hashlib
import hmac
import json
from unittest import mock

import pytest
from django.urls import reverse

from sessions_app import tasks
from sessions_app.models import WebhookDelivery
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db

SECRET = "whsec-current"


def test_a_complycube_delivery_is_stored_without_its_secrets(
    monkeypatch, client, django_capture_on_commit_callbacks
):
    fake_provider_install(
        monkeypatch,
        slug="cube-hooks",
        kind="complycube",
        webhook_secret_env="VERITY_PROVIDER_CUBE_HOOK_SECRET",
    )
    monkeypatch.setenv("VERITY_PROVIDER_CUBE_HOOK_SECRET", SECRET)
    body = json.dumps(
        {
            "id": "evt-9",
            "type": "workflow.session.completed",
            "payload": {"id": "cs-9", "token": "SECRET-sdk", "secret": "SECRET-hook"},
        }
    ).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("provider-webhook", args=["cube-hooks"]),
            data=body,
            content_type="application/json",
            headers={"ComplyCube-Signature": signature},
        )
    assert response.status_code == 202  # verified on the original bytes
    delivery = WebhookDelivery.objects.get()
    assert "SECRET-" not in delivery.body
    assert json.loads(delivery.body) == {
        "id": "evt-9",
        "type": "workflow.session.completed",
        "payload": {"id": "cs-9"},
    }
    # The outbox refreshes from the delivery's resource id, not its body.
    assert delivery.resource_id == "cs-9"
    assert [c.args[1] for c in delay.call_args_list] == ["cs-9"]
    tasks.webhook_deliveries_sweep()  # re-reading the stored delivery works
