"""Connections and what their syncs leave (admin/connections.py): no secret
values, raw webhook bodies and quarantined records read-only and pretty."""

import json

import pytest
from django.urls import reverse
from django.utils.html import escape

from tests.factories import (
    ProviderConnectionFactory,
    QuarantinedRecordFactory,
    WebhookDeliveryFactory,
)

pytestmark = pytest.mark.django_db


def test_admin_pages_never_show_secret_values(admin_client_verity, monkeypatch):
    monkeypatch.setenv("VERITY_PROVIDER_ONFIDO_TEST_TOKEN", "super-secret-token-value")
    connection = ProviderConnectionFactory()
    url = reverse("admin:sessions_app_providerconnection_change", args=[connection.pk])
    body = admin_client_verity.get(url).content.decode()
    assert "VERITY_PROVIDER_ONFIDO_TEST_TOKEN" in body
    assert "super-secret-token-value" not in body


def test_webhook_body_is_shown_read_only_as_pretty_json(admin_client_verity):
    payload = {"resource": {"id": "run-1", "note": "<b>bold</b>"}, "action": "x"}
    delivery = WebhookDeliveryFactory(body=json.dumps(payload))
    url = reverse("admin:sessions_app_webhookdelivery_change", args=[delivery.pk])
    body = admin_client_verity.get(url).content.decode()
    pretty = json.dumps(payload, indent=2, sort_keys=True)
    assert escape(pretty) in body
    assert "<b>bold</b>" not in body
    assert 'name="body"' not in body


@pytest.mark.parametrize("depth", [900, 100_000])
def test_a_webhook_body_nested_too_deeply_is_shown_as_text(admin_client_verity, depth):
    text = '{"a": ' * depth + "1" + "}" * depth
    delivery = WebhookDeliveryFactory(body=text)
    url = reverse("admin:sessions_app_webhookdelivery_change", args=[delivery.pk])
    response = admin_client_verity.get(url)
    assert response.status_code == 200
    assert escape(text) in response.content.decode()


def test_quarantined_raw_falls_back_to_escaped_text_when_not_json(admin_client_verity):
    record = QuarantinedRecordFactory(raw="<script>alert(1)</script> status=???")
    url = reverse("admin:sessions_app_quarantinedrecord_change", args=[record.pk])
    body = admin_client_verity.get(url).content.decode()
    assert escape("<script>alert(1)</script> status=???") in body
    assert "<script>alert(1)</script>" not in body
    assert 'name="raw"' not in body


def test_quarantined_raw_json_is_pretty_printed(admin_client_verity):
    record = QuarantinedRecordFactory(raw='{"status": {"bad": true}, "id": 1}')
    url = reverse("admin:sessions_app_quarantinedrecord_change", args=[record.pk])
    body = admin_client_verity.get(url).content.decode()
    pretty = json.dumps({"id": 1, "status": {"bad": True}}, indent=2, sort_keys=True)
    assert escape(pretty) in body


def test_quarantine_list_shows_how_often_and_when_a_record_was_seen(
    admin_client_verity,
):
    import datetime as dt

    first = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)
    QuarantinedRecordFactory(
        seen_count=7, created_at=first, last_seen_at=first + dt.timedelta(days=1)
    )
    body = admin_client_verity.get(
        reverse("admin:sessions_app_quarantinedrecord_changelist")
    ).content.decode()
    for header in ("Times seen", "First seen", "Last seen"):
        assert header in body
    assert '<td class="field-seen_count">7</td>' in body
    assert '<td class="field-last_seen_at nowrap">2026-06-02 06:00 UTC</td>' in body


def _connection_form(connection, **changes) -> dict:
    form = {
        "slug": connection.slug,
        "kind": connection.kind,
        "display_name": connection.display_name,
        "base_url": connection.base_url,
        "enabled": "on",
        "credential_env": connection.credential_env,
        "webhook_secret_env": "",
        "sync_interval_seconds": "300",
        "rate_limit_per_second": "",
        "options": "{}",
    }
    return form | changes


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        (
            {
                "credential_env": "DJANGO_SECRET_KEY",
                "webhook_secret_env": "PATH",
                "base_url": "https://evil.example/collect",
            },
            {"credential_env", "webhook_secret_env", "base_url"},
        ),
        ({"credential_env": "DATABASE_URL"}, {"credential_env"}),
        ({"base_url": "https://evil.example/collect"}, {"base_url"}),
    ],
)
def test_the_change_form_refuses_the_exfiltration_attempt(
    admin_client_verity, changes, refused
):
    from sessions_app.models import AuditEvent, ProviderConnection

    connection = ProviderConnectionFactory()
    url = reverse("admin:sessions_app_providerconnection_change", args=[connection.pk])

    response = admin_client_verity.post(url, _connection_form(connection, **changes))

    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert set(errors) == refused
    stored = ProviderConnection.objects.get(pk=connection.pk)
    assert (stored.credential_env, stored.base_url) == (
        connection.credential_env,
        connection.base_url,
    )
    assert not AuditEvent.objects.filter(action="admin.change").exists()


def test_the_add_form_refuses_a_server_secret(admin_client_verity):
    from sessions_app.models import ProviderConnection

    url = reverse("admin:sessions_app_providerconnection_add")
    form = _connection_form(
        ProviderConnectionFactory.build(slug="new-one"),
        credential_env="DJANGO_SECRET_KEY",
    )
    response = admin_client_verity.post(url, form)
    assert response.status_code == 200
    assert "VERITY_PROVIDER_" in str(response.context["adminform"].form.errors)
    assert not ProviderConnection.objects.filter(slug="new-one").exists()
