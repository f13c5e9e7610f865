"""A webhook's targeted refresh (`sync.refresh`) against an in-memory provider
behind the real adapter interface."""

from __future__ import annotations

import logging

import pytest

from sessions_app.exceptions import ProviderAuthError
from sessions_app.models import SyncRunState
from sessions_app.providers import adapter_for
from sessions_app.sync import refresh
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def test_refresh_with_a_missing_credential_records_the_failure_on_run_and_delivery(
    monkeypatch,
):
    from tests.factories import WebhookDeliveryFactory

    _, connection = fake_provider_install(monkeypatch, credential=None)
    delivery = WebhookDeliveryFactory(connection=connection)

    run = refresh.session_refresh_from_provider(
        connection=connection, external_id="wr-1", delivery_id=delivery.pk
    )

    assert run.state == SyncRunState.FAILED
    assert "is not set" in run.error
    delivery.refresh_from_db()
    assert "is not set" in delivery.error
    assert delivery.processed_at is None


def test_a_refresh_refused_by_the_provider_logs_one_line_and_records_the_kind(
    monkeypatch, caplog
):
    provider, connection = fake_provider_install(monkeypatch)

    def refused(*args, **kwargs):
        raise ProviderAuthError("Forbidden", provider="onfido", status=403)

    monkeypatch.setattr(type(adapter_for(connection)), "fetch_session", refused)
    with caplog.at_level(logging.WARNING, logger="sessions_app.sync.refresh"):
        run = refresh.session_refresh_from_provider(
            connection=connection, external_id="wr-1"
        )

    assert (run.state, run.error_kind) == (SyncRunState.FAILED, "auth")
    [entry] = [r for r in caplog.records if r.name == "sessions_app.sync.refresh"]
    assert (entry.levelno, entry.exc_info) == (logging.WARNING, None)
    assert entry.getMessage().endswith(": onfido HTTP 403 Forbidden")
    assert provider.fetch_calls == []
