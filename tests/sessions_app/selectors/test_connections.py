"""Sync health and the sync page's reads (selectors/connections.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sessions_app import selectors
from sessions_app.models import (
    SyncRunState,
)
from tests.factories import (
    ProviderConnectionFactory,
    QuarantinedRecordFactory,
    SyncRunFactory,
    WebhookDeliveryFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def test_provider_health_states_and_staleness(django_assert_num_queries):
    fresh = ProviderConnectionFactory(slug="fresh", sync_interval_seconds=300)
    SyncRunFactory(
        connection=fresh,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=5),
    )
    stale = ProviderConnectionFactory(slug="stale", sync_interval_seconds=300)
    SyncRunFactory(
        connection=stale,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=16),
    )
    failing = ProviderConnectionFactory(slug="failing", sync_interval_seconds=300)
    SyncRunFactory(
        connection=failing,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=2),
    )
    SyncRunFactory(
        connection=failing, state=SyncRunState.FAILED, error="HTTP 401", finished_at=NOW
    )
    never = ProviderConnectionFactory(slug="never")
    off = ProviderConnectionFactory(slug="off", enabled=False)
    with django_assert_num_queries(2):
        health = {h.connection.slug: h for h in selectors.provider_health_list(now=NOW)}
    assert health["fresh"].state == "ok"
    assert not health["fresh"].stale
    assert health["stale"].state == "stale"
    assert health["failing"].state == "failing"
    assert health["failing"].last_run.error == "HTTP 401"
    assert health["failing"].last_success_at == NOW - dt.timedelta(minutes=2)
    assert health["never"].state == "never"
    assert health["never"].stale
    assert health["off"].state == "disabled"
    assert not health["off"].stale
    assert never.pk
    assert off.pk


def test_provider_health_uses_the_connections_own_last_success():
    conn = ProviderConnectionFactory(
        slug="own",
        sync_interval_seconds=60,
        last_success_at=NOW - dt.timedelta(seconds=30),
    )
    [health] = selectors.provider_health_list(now=NOW)
    assert health.connection == conn
    assert health.last_success_at == NOW - dt.timedelta(seconds=30)
    assert not health.stale


def test_sync_status_limits_and_aggregates(django_assert_num_queries):
    a = ProviderConnectionFactory(slug="a-conn")
    b = ProviderConnectionFactory(slug="b-conn", kind="ica")
    base = timezone.now()
    for i in range(12):
        run = SyncRunFactory(
            connection=a, unknown_values={"NEW_STATE": 1} if i % 2 else {}
        )
        SyncRunFactory(connection=b, unknown_values={"WEIRD": 2, "ODD": 1})
        type(run).objects.filter(pk=run.pk).update(
            started_at=base - dt.timedelta(minutes=i)
        )
    for _ in range(55):
        QuarantinedRecordFactory(connection=a, raw="x" * 5000)
    WebhookDeliveryFactory.create_batch(25, connection=b)
    with django_assert_num_queries(6):
        status = selectors.sync_status_get()
    by_slug = {c.health.connection.slug: c for c in status.connections}
    assert len(by_slug["a-conn"].recent_runs) == 10
    assert len(by_slug["b-conn"].recent_runs) == 10
    starts = [r.started_at for r in by_slug["a-conn"].recent_runs]
    assert starts == sorted(starts, reverse=True)
    assert starts[0] == base
    assert dict(by_slug["b-conn"].unknown_values) == {"WEIRD": 24, "ODD": 12}
    assert by_slug["b-conn"].unknown_values[0] == ("WEIRD", 24)
    assert dict(by_slug["a-conn"].unknown_values) == {"NEW_STATE": 6}
    assert len(status.quarantined) == 50
    record = status.quarantined[0]
    assert len(record.raw_excerpt) == selectors.QUARANTINE_EXCERPT_CHARS
    assert record.raw_length == 5000
    assert len(status.webhooks) == 20
