"""Celery tasks: dispatch, retries on 429, continuation, the lease, on-commit enqueues."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.db import connection as db
from django.utils import timezone

from sessions_app import tasks
from sessions_app.models import (
    ProviderConnection,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    WebhookDelivery,
    WorkflowSession,
)
from sessions_app.sync import lease, schedule
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
        kwargs={"connection_id": due.pk, "trigger": "schedule", "full": False},
        expires=settings.VERITY_BEAT_TICK_SECONDS * 2,
    )


def _finished_run(connection, *, trigger, days_ago):
    run = SyncRun.objects.create(
        connection=connection, trigger=trigger, state=SyncRunState.SUCCEEDED
    )
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - dt.timedelta(days=days_ago)
    )


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ([], False),  # never synced: the first pass reads everything anyway
        ([("schedule", 1)], False),  # synced a day ago, never full: not yet
        ([("schedule", 8)], True),  # first success 8 days ago, never full
        ([("schedule", 30), ("full", 2)], False),  # a full pass 2 days ago
        ([("full", 9), ("schedule", 0)], True),  # the last full one is 9 days old
        ([("webhook", 30)], False),  # webhook refreshes are not passes
    ],
)
def test_every_seventh_day_the_scheduled_pass_is_a_full_one(
    monkeypatch, settings, django_capture_on_commit_callbacks, runs, expected
):
    settings.VERITY_FULL_SYNC_INTERVAL_DAYS = 7
    _, connection = fake_provider_install(monkeypatch)
    for trigger, days_ago in runs:
        _finished_run(connection, trigger=trigger, days_ago=days_ago)

    with (
        mock.patch.object(tasks.sync_connection, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.dispatch_due_syncs()

    kwargs = apply_async.call_args.kwargs["kwargs"]
    assert kwargs["full"] is expected
    assert kwargs["trigger"] == ("full" if expected else "schedule")


def test_full_passes_can_be_switched_off(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.VERITY_FULL_SYNC_INTERVAL_DAYS = 0
    _, connection = fake_provider_install(monkeypatch)
    _finished_run(connection, trigger="schedule", days_ago=100)

    with (
        mock.patch.object(tasks.sync_connection, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.dispatch_due_syncs()

    assert apply_async.call_args.kwargs["kwargs"]["full"] is False


def test_a_duplicate_scheduled_full_pass_is_dropped_once_the_first_ran(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    first = tasks.sync_connection.delay(
        connection_id=connection.pk, trigger="full", full=True
    ).get()
    again = tasks.sync_connection.delay(
        connection_id=connection.pk, trigger="full", full=True
    ).get()

    assert SyncRun.objects.get(pk=first).trigger == "full"
    assert again is None  # not due any more: the first copy ran the pass


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
    lease.connection_lease_acquire(connection_id=connection.pk)

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
    # A short lease, kept alive while its holder lives, for as long as a task may.
    assert lease.lease_seconds() <= 60
    assert lease.lease_hold_limit() > settings.CELERY_TASK_TIME_LIMIT
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


# --- Redelivery: a copy whose worker died resumes the pass --------------------------


def _run_as_redelivered(**kwargs):
    """Run sync_connection as the worker runs a message Redis restored."""
    tasks.sync_connection.push_request(
        delivery_info={"redelivered": True}, retries=0, id="redelivered-task"
    )
    try:
        return tasks.sync_connection.run(**kwargs)
    finally:
        tasks.sync_connection.pop_request()


def _first_page_committed(monkeypatch, captured):
    """Sync one page of three (a partial run) without running the continuation."""
    provider, connection = fake_provider_install(monkeypatch, page_size=1)
    for n in range(3):
        provider.add(f"wr-{n}")
    monkeypatch.setattr("django.conf.settings.VERITY_SYNC_MAX_PAGES", 1)
    with captured(execute=False):
        first = tasks.sync_connection(connection.pk)
    connection.refresh_from_db()
    return provider, connection, SyncRun.objects.get(pk=first)


def test_a_redelivered_scheduled_copy_is_not_dropped_as_not_due(
    monkeypatch, django_capture_on_commit_callbacks
):
    _, connection, first = _first_page_committed(
        monkeypatch, django_capture_on_commit_callbacks
    )
    assert first.state == SyncRunState.PARTIAL
    assert not schedule.connection_is_due(connection)  # the first delivery just ran

    with django_capture_on_commit_callbacks(execute=False):
        run_id = _run_as_redelivered(connection_id=connection.pk)

    resumed = SyncRun.objects.get(pk=run_id)
    assert resumed.cursor_before == first.cursor_after  # from the committed page
    assert WorkflowSession.objects.count() == 2


def test_a_redelivered_copy_waits_for_the_dead_runs_lease_then_resumes(
    monkeypatch, no_jitter, django_capture_on_commit_callbacks
):
    _, connection, first = _first_page_committed(
        monkeypatch, django_capture_on_commit_callbacks
    )
    # The worker died mid-run: its run is still `running`, its lease not expired.
    dead = SyncRun.objects.create(
        connection=connection, trigger="schedule", state=SyncRunState.RUNNING
    )
    ProviderConnection.objects.filter(pk=connection.pk).update(
        lock_token="dead-worker",
        lock_expires_at=timezone.now() + dt.timedelta(seconds=60),
    )

    with (
        mock.patch.object(tasks.sync_connection, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        _run_as_redelivered(connection_id=connection.pk)

    assert 59 <= retry.call_args.kwargs["countdown"] <= 61 + 1  # until the lease lapses
    retry_kwargs = retry.call_args.kwargs["kwargs"]
    assert retry_kwargs["resume"] is True
    assert SyncRun.objects.filter(state=SyncRunState.SKIPPED).count() == 1

    # The lease expires; the retry runs and carries on from the committed cursor.
    ProviderConnection.objects.filter(pk=connection.pk).update(
        lock_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sync_connection(**retry_kwargs)

    dead.refresh_from_db()
    assert dead.state == SyncRunState.INTERRUPTED
    resumed = SyncRun.objects.exclude(pk__in=[first.pk, dead.pk]).filter(
        state__in=[SyncRunState.PARTIAL, SyncRunState.SUCCEEDED]
    )
    assert resumed.order_by("pk").first().cursor_before == first.cursor_after
    assert resumed.order_by("-pk").first().state == SyncRunState.SUCCEEDED
    assert WorkflowSession.objects.count() == 3


def test_a_copy_delivered_once_that_finds_the_lease_held_is_not_retried(monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    lease.connection_lease_acquire(connection_id=connection.pk)

    with mock.patch.object(tasks.sync_connection, "retry") as retry:
        tasks.sync_connection(connection.pk, resume=True)

    retry.assert_not_called()


# --- Queues: control work never waits behind syncs ------------------------------------


def test_ticks_and_refreshes_go_to_the_control_queue_syncs_to_the_default():
    from config.celery import CONTROL_QUEUE, SYNC_QUEUE, app

    app.finalize()
    router = app.amqp.router

    def queue_of(name):
        return router.route({}, name)["queue"]

    assert queue_of("sessions_app.tasks.dispatch_due_syncs").name == CONTROL_QUEUE
    assert queue_of("sessions_app.tasks.webhook_deliveries_sweep").name == CONTROL_QUEUE
    assert queue_of("sessions_app.tasks.session_refresh").name == CONTROL_QUEUE
    assert queue_of("sessions_app.tasks.sync_connection").name == SYNC_QUEUE
    assert app.conf.task_default_queue == SYNC_QUEUE
    # A worker started without -Q consumes every declared queue.
    assert set(app.amqp.queues) == {SYNC_QUEUE, CONTROL_QUEUE}


def test_each_message_lands_in_exactly_one_queue(monkeypatch):
    """Publish through a real (in-memory) broker: no queue receives another's work."""
    from config.celery import CONTROL_QUEUE, SYNC_QUEUE, app

    app.finalize()
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    with app.connection_for_write("memory://") as conn:
        channel = conn.default_channel
        for queue in app.amqp.queues.values():
            queue.bind(channel).declare()
        with app.producer_or_acquire(
            app.amqp.Producer(conn, auto_declare=False)
        ) as producer:
            tasks.dispatch_due_syncs.apply_async(producer=producer)
            tasks.session_refresh.apply_async(args=(1, "x"), producer=producer)
            tasks.sync_connection.apply_async(args=(1,), producer=producer)
        counts = {
            name: channel.queue_declare(name, passive=True).message_count
            for name in (SYNC_QUEUE, CONTROL_QUEUE)
        }
    assert counts == {SYNC_QUEUE: 1, CONTROL_QUEUE: 2}


# --- Query budgets: constant in the number of connections and sessions ----------------


@pytest.mark.parametrize("count", [1, 6])
def test_dispatch_asks_the_database_twice_whatever_the_number_of_connections(
    monkeypatch,
    settings,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
    count,
):
    settings.VERITY_FULL_SYNC_INTERVAL_DAYS = 7
    expected_full = {}
    for n in range(count):
        _, connection = fake_provider_install(monkeypatch, slug=f"due-{n}")
        # Odd ones finished their first pass 8 days ago: their next one is full.
        _finished_run(connection, trigger="schedule", days_ago=8 if n % 2 else 1)
        expected_full[connection.pk] = bool(n % 2)

    with (
        mock.patch.object(tasks.sync_connection, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
        django_assert_max_num_queries(2),  # due connections + which are full
    ):
        dispatched = tasks.dispatch_due_syncs()

    assert sorted(dispatched) == sorted(expected_full)
    full = {
        call.kwargs["kwargs"]["connection_id"]: call.kwargs["kwargs"]["full"]
        for call in apply_async.call_args_list
    }
    assert full == expected_full


def _sessions_add(provider, count):
    for n in range(count):
        provider.add(
            f"wr-{n}",
            status="processing" if n % 2 else "approved",
            client=(f"app-{n}", f"Person {n}", f"cust-{n}"),
            checks=[(f"rep-{n}", "complete", "clear")],
            tags=[("vip", "user")],
            policies=[(f"pol-{n}", "Standard KYC", "clear")],
        )


@pytest.mark.parametrize("count", [2, 40])
def test_a_one_page_sync_task_has_a_query_budget_independent_of_its_sessions(
    monkeypatch, django_assert_max_num_queries, count
):
    provider, connection = fake_provider_install(monkeypatch, page_size=100)
    _sessions_add(provider, count)

    # Four of them are the two rotations' selections (`schedule.refresh_ids`,
    # `schedule.children_due`: the never read or synced, then the oldest);
    # three are the run's audit event (the chain head, the row, the head's hash);
    # two the session reasons (one DELETE, one INSERT: sync/reasons.py).
    # one marks the clients of the changed sessions for the review refresh.
    # On PostgreSQL four more: the planner-statistics question after a run that
    # created sessions, in a savepoint (sync/planner_statistics.py; the
    # connection holds too few sessions for an ANALYZE).
    with django_assert_max_num_queries(45 if db.vendor == "postgresql" else 41):
        first = tasks.sync_connection(connection.pk, trigger="manual")
    with django_assert_max_num_queries(24):  # nothing changed: bumps only
        again = tasks.sync_connection(connection.pk, trigger="manual")

    assert SyncRun.objects.get(pk=first).created == count
    assert SyncRun.objects.get(pk=again).unchanged == count


def test_session_refresh_has_a_query_budget(monkeypatch, django_assert_max_num_queries):
    provider, connection = fake_provider_install(monkeypatch)
    _sessions_add(provider, 3)
    first, second = WebhookDeliveryFactory.create_batch(2, connection=connection)

    # The run's audit event is three (the chain head, the row, the head's hash);
    # the reasons two (one DELETE, one INSERT).
    # one marks the session's client for the review refresh.
    with django_assert_max_num_queries(32):
        created = tasks.session_refresh(connection.pk, "wr-1", None, first.pk)
    with django_assert_max_num_queries(15):  # unchanged: one bump, no rewrite
        unchanged = tasks.session_refresh(connection.pk, "wr-1", None, second.pk)
    with django_assert_max_num_queries(1):  # a second copy: processed already
        assert tasks.session_refresh(connection.pk, "wr-1", None, first.pk) is None

    assert SyncRun.objects.get(pk=created).created == 1
    assert SyncRun.objects.get(pk=unchanged).unchanged == 1


# --- The webhook outbox's sweeper -------------------------------------------------------


def test_beat_sweeps_the_webhook_outbox_on_the_control_queue_with_an_expiry():
    from config.celery import app

    app.finalize()
    entry = app.conf.beat_schedule["verity: re-enqueue webhook refreshes still owed"]
    assert entry["task"] == "sessions_app.tasks.webhook_deliveries_sweep"
    assert entry["options"]["expires"] == float(settings.VERITY_BEAT_TICK_SECONDS)
    assert "sessions_app.tasks.webhook_deliveries_sweep" in app.tasks


def _owed(connection, *, ago=None, attempts=1, **fields):
    """A stored delivery still owed a refresh, last enqueued `ago` (None: never taken)."""
    now = timezone.now()
    delivery = WebhookDeliveryFactory(
        connection=connection,
        resource_id=fields.pop("resource_id", "wr-1"),
        enqueued_at=None if ago is None else now - ago,
        enqueue_attempts=attempts,
        **fields,
    )
    # received_at is auto_now_add: order them as they were received.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        received_at=now - (ago or dt.timedelta()) - dt.timedelta(seconds=delivery.pk)
    )
    return delivery


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Run the sweeper with the broker mocked; return (claimed ids, delay mock)."""

    def run():
        with (
            mock.patch.object(tasks.session_refresh, "delay") as delay,
            django_capture_on_commit_callbacks(execute=True),
        ):
            claimed = tasks.webhook_deliveries_sweep()
        return claimed, delay

    return run


def test_the_sweeper_re_enqueues_only_refreshes_owed_and_overdue(
    monkeypatch, settings, sweep
):
    settings.VERITY_WEBHOOK_SWEEP_AFTER_SECONDS = 60
    _, connection = fake_provider_install(monkeypatch)
    _, disabled = fake_provider_install(monkeypatch, slug="off", enabled=False)
    minute = dt.timedelta(minutes=1)
    overdue = _owed(connection, ago=2 * minute, hint={"project_id": "p1"})
    never_taken = _owed(connection, ago=None, resource_id="wr-2")
    _owed(connection, ago=dt.timedelta(seconds=30))  # queued, not overdue
    _owed(connection, ago=2 * minute, processed_at=timezone.now())
    _owed(connection, ago=2 * minute, error="Refresh failed: 404")
    _owed(connection, ago=2 * minute, resource_id="")  # names no session
    _owed(disabled, ago=2 * minute)

    claimed, delay = sweep()

    assert claimed == [overdue.pk, never_taken.pk]  # oldest first
    assert [call.args for call in delay.call_args_list] == [
        (connection.pk, "wr-1", {"project_id": "p1"}, overdue.pk),
        (connection.pk, "wr-2", {}, never_taken.pk),
    ]
    overdue.refresh_from_db()
    assert overdue.enqueue_attempts == 2
    assert timezone.now() - overdue.enqueued_at < dt.timedelta(seconds=5)
    # A second sweeper (another worker, the next tick) finds them claimed.
    assert sweep()[0] == []


def test_the_sweep_delay_doubles_with_each_attempt_up_to_the_cap(
    monkeypatch, settings, sweep
):
    settings.VERITY_WEBHOOK_SWEEP_AFTER_SECONDS = 60
    settings.VERITY_WEBHOOK_SWEEP_MAX_DELAY_SECONDS = 600
    assert [tasks.webhook_sweep_delay(n) for n in range(1, 7)] == [
        60,
        120,
        240,
        480,
        600,
        600,
    ]
    assert tasks.webhook_sweep_delay(10_000) == 600  # no overflow
    _, connection = fake_provider_install(monkeypatch)
    minutes = dt.timedelta(minutes=1)
    third_due = _owed(connection, ago=5 * minutes, attempts=3)
    _owed(connection, ago=3 * minutes, attempts=3)  # waits 4 minutes
    capped_due = _owed(connection, ago=11 * minutes, attempts=50)
    _owed(connection, ago=9 * minutes, attempts=50)  # waits 10 minutes

    claimed, _ = sweep()

    assert sorted(claimed) == sorted([third_due.pk, capped_due.pk])


def test_the_sweeper_takes_a_bounded_batch_per_tick_oldest_first(
    monkeypatch, settings, sweep
):
    settings.VERITY_WEBHOOK_SWEEP_BATCH = 2
    _, connection = fake_provider_install(monkeypatch)
    owed = [_owed(connection, ago=None, resource_id=f"wr-{n}") for n in range(5)]
    oldest_first = sorted(owed, key=lambda d: -d.pk)

    first, _ = sweep()
    second, _ = sweep()

    assert first == [d.pk for d in oldest_first[:2]]
    assert second == [d.pk for d in oldest_first[2:4]]


def test_a_broker_failure_mid_sweep_is_one_line_and_leaves_the_rest_owed(
    monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from kombu.exceptions import OperationalError

    _, connection = fake_provider_install(monkeypatch)
    for n in range(3):
        _owed(connection, ago=None, resource_id=f"wr-{n}")
    with (
        mock.patch.object(
            tasks.session_refresh,
            "delay",
            side_effect=[None, OperationalError("Connection refused")],
        ) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        claimed = tasks.webhook_deliveries_sweep()  # raises nothing

    sent, failed, after = claimed
    assert delay.call_count == 2  # it stops at the first failure
    enqueued = dict(WebhookDelivery.objects.values_list("pk", "enqueued_at"))
    assert enqueued[sent] is not None
    assert enqueued[failed] is None  # swept again at the next tick
    assert enqueued[after] is None
    [line] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "did not take the refresh" in line.getMessage()
    assert line.exc_info is None


@pytest.mark.parametrize("count", [1, 20])
def test_the_sweeper_has_a_query_budget_independent_of_the_deliveries(
    monkeypatch, django_assert_max_num_queries, sweep, count
):
    _, connection = fake_provider_install(monkeypatch)
    for n in range(count):
        _owed(connection, ago=None, resource_id=f"wr-{n}")

    # SAVEPOINT, the claim (SELECT ... FOR UPDATE), its UPDATE, RELEASE.
    with django_assert_max_num_queries(4):
        claimed, delay = sweep()

    assert len(claimed) == delay.call_count == count
    with django_assert_max_num_queries(3):  # nothing owed: no update
        assert sweep()[0] == []


def test_a_swept_copy_of_a_refresh_already_done_calls_no_provider(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    delivery = _owed(connection, ago=None)

    assert tasks.session_refresh(connection.pk, "wr-1", None, delivery.pk) is not None
    assert tasks.session_refresh(connection.pk, "wr-1", None, delivery.pk) is None

    assert len(provider.fetch_calls) == 1
    assert SyncRun.objects.count() == 1
