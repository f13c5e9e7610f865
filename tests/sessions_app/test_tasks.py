"""Celery tasks: dispatch, retries on 429, continuation, the lease, on-commit enqueues."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.utils import timezone

from sessions_app import sync, tasks
from sessions_app.models import (
    ProviderConnection,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    WebhookDelivery,
    WorkflowSession,
)
from tests.factories import WebhookDeliveryFactory
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_jitter(settings):
    settings.VERITY_RETRY_JITTER_SECONDS = 0
    return settings


def test_dispatch_enqueues_due_connections_on_commit_with_expiry(
    monkeypatch, django_capture_on_commit_callbacks
):
    _, due = fake_provider_install(monkeypatch, slug="due")
    fake_provider_install(
        monkeypatch, slug="recent", last_sync_started_at=timezone.now()
    )
    fake_provider_install(
        monkeypatch,
        slug="leased",
        lock_token="t",
        lock_expires_at=timezone.now() + dt.timedelta(minutes=1),
    )
    with mock.patch.object(tasks.sync_connection, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            dispatched = tasks.dispatch_due_syncs()
        assert dispatched == [due.pk]
        apply_async.assert_not_called()  # nothing leaves before the commit
        for callback in callbacks:
            callback()

    apply_async.assert_called_once_with(
        kwargs={"connection_id": due.pk, "trigger": "schedule"},
        expires=settings.VERITY_BEAT_TICK_SECONDS * 2,
    )


def test_sync_connection_runs_the_sync_through_eager_celery(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")

    result = tasks.sync_connection.delay(connection.pk, trigger="manual")

    run = SyncRun.objects.get(pk=result.get())
    assert (run.state, run.trigger, run.created) == ("succeeded", "manual", 1)
    assert WorkflowSession.objects.count() == 1


def test_rate_limit_retries_with_the_providers_retry_after(monkeypatch, no_jitter):
    provider, connection = fake_provider_install(monkeypatch)
    provider.rate_limit_retry_after = 42

    with (
        mock.patch.object(tasks.sync_connection, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        tasks.sync_connection(connection.pk)

    assert retry.call_args.kwargs["countdown"] == 42
    assert retry.call_args.kwargs["kwargs"] == {
        "connection_id": connection.pk,
        "trigger": "schedule",
        "full": False,
        "resume": True,  # the retry must not be dropped as "not due"
    }
    assert SyncRun.objects.get().state == SyncRunState.RATE_LIMITED


def test_retry_countdown_is_capped_below_the_visibility_timeout(monkeypatch, no_jitter):
    provider, connection = fake_provider_install(monkeypatch)
    provider.rate_limit_retry_after = 86_400  # "come back tomorrow"

    with (
        mock.patch.object(tasks.sync_connection, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        tasks.sync_connection(connection.pk)

    assert retry.call_args.kwargs["countdown"] == settings.VERITY_RETRY_COUNTDOWN_CAP


def test_retry_countdown_adds_bounded_jitter(settings):
    settings.VERITY_RETRY_JITTER_SECONDS = 5
    countdowns = {tasks.retry_countdown(10) for _ in range(50)}
    assert all(10 <= c <= 15 for c in countdowns)
    assert len(countdowns) > 1
    assert 16 <= tasks.retry_countdown(0, attempt=0) <= 21  # no Retry-After: backoff


def test_partial_run_re_enqueues_itself_on_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    provider, connection = fake_provider_install(monkeypatch, page_size=1)
    provider.add("wr-1")
    provider.add("wr-2")
    monkeypatch.setattr("django.conf.settings.VERITY_SYNC_MAX_PAGES", 1)

    with (
        mock.patch.object(tasks.sync_connection, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_id = tasks.sync_connection(connection.pk)

    assert SyncRun.objects.get(pk=run_id).state == SyncRunState.PARTIAL
    apply_async.assert_called_once_with(
        kwargs={
            "connection_id": connection.pk,
            "trigger": "schedule",
            "full": False,
            "resume": True,
        }
    )


def test_partial_chain_finishes_the_pass_in_eager_mode(
    monkeypatch, django_capture_on_commit_callbacks
):
    provider, connection = fake_provider_install(monkeypatch, page_size=1)
    for n in range(3):
        provider.add(f"wr-{n}")
    monkeypatch.setattr("django.conf.settings.VERITY_SYNC_MAX_PAGES", 1)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.sync_connection(connection.pk)

    states = list(SyncRun.objects.order_by("pk").values_list("state", flat=True))
    assert states == ["partial", "partial", "succeeded"]
    assert WorkflowSession.objects.count() == 3


def test_held_lease_is_logged_and_never_retried(
    monkeypatch, django_capture_on_commit_callbacks
):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    sync.connection_lease_acquire(connection_id=connection.pk)

    with (
        mock.patch.object(tasks.sync_connection, "retry") as retry,
        mock.patch.object(tasks.sync_connection, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_id = tasks.sync_connection(connection.pk)

    assert SyncRun.objects.get(pk=run_id).state == SyncRunState.SKIPPED
    retry.assert_not_called()
    apply_async.assert_not_called()
    assert WorkflowSession.objects.count() == 0


def test_a_duplicate_scheduled_dispatch_is_dropped_once_the_first_ran(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    assert tasks.sync_connection(connection.pk) is not None

    assert tasks.sync_connection(connection.pk) is None  # not due for another interval
    assert SyncRun.objects.count() == 1
    assert (
        tasks.sync_connection(connection.pk, trigger="manual") is not None
    )  # manual always runs


def test_disabled_or_missing_connection_is_not_synced(monkeypatch):
    _, connection = fake_provider_install(monkeypatch, enabled=False)
    assert tasks.sync_connection(connection.pk) is None
    assert tasks.sync_connection(999_999) is None
    assert SyncRun.objects.count() == 0


def test_session_refresh_upserts_one_session_and_marks_the_delivery(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="processing")
    provider.add("wr-2", status="approved")
    delivery = WebhookDeliveryFactory(connection=connection)

    run_id = tasks.session_refresh(
        connection.pk, "wr-2", {"project_id": "p1"}, delivery.pk
    )

    run = SyncRun.objects.get(pk=run_id)
    assert (run.trigger, run.state, run.created) == (
        SyncTrigger.WEBHOOK,
        "succeeded",
        1,
    )
    assert list(WorkflowSession.objects.values_list("external_id", "status")) == [
        ("wr-2", "completed")
    ]
    assert provider.fetch_calls == [("wr-2", {"project_id": "p1"})]
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    assert delivery.error == ""
    connection.refresh_from_db()
    assert connection.last_sync_started_at is None  # webhooks do not move the schedule


def test_session_refresh_of_a_session_the_provider_lost_deletes_nothing(monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    delivery = WebhookDeliveryFactory(connection=connection)
    kept = WorkflowSession.objects.create(connection=connection, external_id="wr-gone")

    tasks.session_refresh(connection.pk, "wr-gone", None, delivery.pk)

    assert WorkflowSession.objects.filter(pk=kept.pk).exists()
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    assert "not found at the provider" in delivery.error


def test_session_refresh_retries_on_rate_limit(monkeypatch, no_jitter):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    provider.rate_limit_retry_after = 7
    delivery = WebhookDeliveryFactory(connection=connection)

    with (
        mock.patch.object(tasks.session_refresh, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        tasks.session_refresh(connection.pk, "wr-1", None, delivery.pk)

    assert retry.call_args.kwargs["countdown"] == 7
    assert WebhookDelivery.objects.get().processed_at is None


def test_time_limits_lease_and_retry_cap_fit_together():
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert settings.VERITY_SYNC_MAX_SECONDS < settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert sync.lease_seconds() > settings.CELERY_TASK_TIME_LIMIT
    assert (
        settings.VERITY_RETRY_COUNTDOWN_CAP + settings.VERITY_RETRY_JITTER_SECONDS
        < 3600
    )
    assert settings.CELERY_TASK_SERIALIZER == "json"
    assert settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_beat_ticks_dispatch_with_an_expiry():
    from config.celery import app

    app.finalize()
    entry = app.conf.beat_schedule["verity: dispatch due provider syncs"]
    assert entry["task"] == "sessions_app.tasks.dispatch_due_syncs"
    assert entry["options"]["expires"] == float(settings.VERITY_BEAT_TICK_SECONDS)
    assert "sessions_app.tasks.sync_connection" in app.tasks


def test_lease_expiry_lets_a_queued_task_proceed(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    ProviderConnection.objects.filter(pk=connection.pk).update(
        lock_token="crashed", lock_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    run_id = tasks.sync_connection(connection.pk)

    assert SyncRun.objects.get(pk=run_id).state == SyncRunState.SUCCEEDED
