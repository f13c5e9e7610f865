"""The per-connection sync lease (`sync.lease`) and what a held one does to a sync."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db_conn
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import (
    ProviderConnection,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.sync import engine as sync
from sessions_app.sync import lease
from tests.helpers.sync import sessions_populate
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def test_held_lease_records_a_skipped_run_and_touches_nothing(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    holder = lease.connection_lease_acquire(connection_id=connection.pk)
    assert holder is not None

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == SyncRunState.SKIPPED
    assert "is running" in run.error
    assert provider.calls == []
    assert WorkflowSession.objects.count() == 0
    connection.refresh_from_db()
    assert connection.lock_token == holder  # the holder keeps its lease


def test_expired_lease_lets_a_later_run_proceed(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    ProviderConnection.objects.filter(pk=connection.pk).update(
        lock_token="dead-worker",
        lock_expires_at=timezone.now() - dt.timedelta(seconds=1),
    )
    stale = SyncRun.objects.create(connection=connection, state=SyncRunState.RUNNING)
    live_refresh = SyncRun.objects.create(
        connection=connection, state=SyncRunState.RUNNING, trigger=SyncTrigger.WEBHOOK
    )
    dead_refresh = SyncRun.objects.create(
        connection=connection, state=SyncRunState.RUNNING, trigger=SyncTrigger.WEBHOOK
    )
    SyncRun.objects.filter(pk=dead_refresh.pk).update(
        started_at=timezone.now() - dt.timedelta(hours=2)
    )

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == SyncRunState.SUCCEEDED
    live_refresh.refresh_from_db()
    assert live_refresh.state == SyncRunState.RUNNING  # a refresh needs no lease
    dead_refresh.refresh_from_db()
    assert dead_refresh.state == SyncRunState.INTERRUPTED
    stale.refresh_from_db()
    assert stale.state == SyncRunState.INTERRUPTED
    assert stale.error.startswith("Interrupted")
    assert stale.error_kind == "interrupted"


def test_lease_is_taken_with_one_conditional_update_and_released_only_by_its_holder():
    connection = ProviderConnection.objects.create(
        slug="x",
        kind="onfido",
        display_name="x",
        base_url="https://x.test",
        credential_env="X",
    )
    with CaptureQueriesContext(db_conn) as captured:
        token = lease.connection_lease_acquire(connection_id=connection.pk)
    assert token
    assert len(captured.captured_queries) == 1
    assert captured.captured_queries[0]["sql"].upper().startswith("UPDATE")
    assert lease.connection_lease_acquire(connection_id=connection.pk) is None
    assert (
        lease.connection_lease_release(connection_id=connection.pk, token="not-mine")
        is False
    )
    assert (
        lease.connection_lease_release(connection_id=connection.pk, token=token) is True
    )
    assert lease.connection_lease_acquire(connection_id=connection.pk) is not None


@pytest.mark.postgres  # truly concurrent connections; SQLite: the held-lease tests
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_syncs_of_one_provider_one_runs_one_skips(monkeypatch):
    """Real threads with their own database connections race for the lease."""
    import threading

    from django.db import connections

    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    sessions_populate(provider, 4)
    inside, release = threading.Event(), threading.Event()

    def block_first_page(page_index):
        if page_index == 0 and not inside.is_set():
            inside.set()
            assert release.wait(10)

    provider.before_page = block_first_page
    runs: dict[str, SyncRun] = {}

    def worker(name):
        try:
            runs[name] = sync.provider_sync(
                connection=ProviderConnection.objects.get(pk=connection.pk),
                trigger=SyncTrigger.SCHEDULE,
            )
        finally:
            connections.close_all()

    first = threading.Thread(target=worker, args=("first",))
    first.start()
    assert inside.wait(10)  # the first sync holds the lease and is mid-page
    second = threading.Thread(target=worker, args=("second",))
    second.start()
    second.join(10)
    release.set()
    first.join(10)

    assert runs["second"].state == SyncRunState.SKIPPED
    assert runs["first"].state == SyncRunState.SUCCEEDED
    assert WorkflowSession.objects.count() == 4
    assert len(provider.calls) == 1  # the skipped run never reached the provider
