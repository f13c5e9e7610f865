"""Stopping a sync cleanly (`sync.stopping`, the engine's stop and lease checks)
and the lease keeper (`sync.lease.LeaseKeeper`), in this process.

The real signals against real processes are in
tests/sessions_app/management/test_sync_providers_signals.py (the command) and
tests/sessions_app/test_tasks_shutdown.py (a Celery worker).
"""

from __future__ import annotations

import signal
from unittest import mock

import pytest

from sessions_app import services, tasks
from sessions_app.models import (
    ProviderConnection,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.sync import engine as sync
from sessions_app.sync import lease
from sessions_app.sync.stopping import PROCESS_STOP, StopRequest, stop_on_signals
from tests.helpers.processes import wait_until
from tests.helpers.sync import sessions_populate
from tests.sessions_app.fake_provider import fake_provider_install


@pytest.fixture(autouse=True)
def _page_per_commit(settings):
    """Each adapter page is its own commit, so "the current page" is one page."""
    settings.VERITY_SYNC_BATCH_SIZE = 1


@pytest.fixture
def stop():
    request = StopRequest()
    yield request
    request.clear()


@pytest.fixture
def process_stop():
    PROCESS_STOP.clear()
    yield PROCESS_STOP
    PROCESS_STOP.clear()


@pytest.mark.django_db
def test_a_stop_mid_pass_commits_the_current_page_and_the_next_run_resumes(
    monkeypatch, stop
):
    provider, connection = fake_provider_install(monkeypatch, page_size=3)
    sessions_populate(provider, 12)
    provider.before_page = lambda index: (
        index == 1 and stop.request("stopped by SIGTERM")
    )

    run = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.MANUAL, stop=stop
    )

    # The page being read when the stop came (index 1) is finished and committed.
    assert run.state == SyncRunState.INTERRUPTED
    assert run.error_kind == "interrupted"
    assert "stopped by SIGTERM" in run.error
    assert (run.pages, run.created) == (2, 6)
    assert run.cursor_after == {"offset": 6, "passes": 0}
    connection.refresh_from_db()
    assert connection.lock_token == ""  # released
    assert connection.sync_cursor == run.cursor_after

    stop.clear()
    resumed = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    assert resumed.state == SyncRunState.SUCCEEDED
    assert resumed.cursor_before == run.cursor_after
    assert (resumed.created, WorkflowSession.objects.count()) == (6, 12)


@pytest.mark.django_db
def test_a_second_signal_abandons_the_open_page_and_still_marks_the_run(
    monkeypatch, stop
):
    provider, connection = fake_provider_install(monkeypatch, page_size=3)
    sessions_populate(provider, 9)

    def second_signal(index: int) -> None:
        if index == 1:
            raise KeyboardInterrupt

    provider.before_page = second_signal
    with pytest.raises(KeyboardInterrupt):
        sync.provider_sync(connection=connection, stop=stop)

    run = SyncRun.objects.get()
    assert run.state == SyncRunState.INTERRUPTED
    assert run.pages == 1
    connection.refresh_from_db()
    assert connection.lock_token == ""
    assert connection.sync_cursor == {"offset": 3, "passes": 0}
    assert WorkflowSession.objects.count() == 3


@pytest.mark.django_db
def test_a_lease_released_by_an_admin_stops_the_live_run_with_lease_lost(
    monkeypatch, admin_user
):
    provider, connection = fake_provider_install(monkeypatch, page_size=3)
    sessions_populate(provider, 9)

    def admin_releases(index: int) -> None:
        if index == 1:
            assert services.connection_lease_force_release(
                connection=connection, actor=admin_user
            )

    provider.before_page = admin_releases
    run = sync.provider_sync(connection=connection)

    # Page 1 was read after the release: its commit finds the lease gone and
    # rolls it back, so the cursor stays where the lease was last ours.
    assert run.state == SyncRunState.FAILED
    assert run.error_kind == "lease_lost"
    assert run.pages == 1
    connection.refresh_from_db()
    assert connection.sync_cursor == {"offset": 3, "passes": 0}
    assert WorkflowSession.objects.count() == 3


@pytest.mark.django_db
def test_a_stop_starts_no_other_connection(monkeypatch, stop):
    provider, _ = fake_provider_install(monkeypatch, slug="a-first")
    sessions_populate(provider, 6)
    other, _ = fake_provider_install(monkeypatch, slug="b-second")
    sessions_populate(other, 3, prefix="other")
    provider.before_page = lambda index: stop.request("stopped by SIGINT")

    passes = sync.providers_sync_all(stop=stop)

    assert list(passes) == ["a-first"]
    assert passes["a-first"].runs[-1].state == SyncRunState.INTERRUPTED
    assert other.calls == []


@pytest.mark.django_db
def test_the_task_queues_the_continuation_of_an_interrupted_run(
    monkeypatch, process_stop
):
    provider, connection = fake_provider_install(monkeypatch, page_size=3)
    sessions_populate(provider, 9)
    provider.before_page = lambda index: process_stop.request("stopped by SIGTERM")

    with mock.patch.object(tasks.sync_connection, "apply_async") as queued:
        tasks.sync_connection(connection.pk, "manual")

    assert SyncRun.objects.get().state == SyncRunState.INTERRUPTED
    queued.assert_called_once()
    assert queued.call_args.kwargs["kwargs"]["resume"] is True


@pytest.mark.django_db
def test_a_task_reaching_a_child_that_is_shutting_down_is_handed_back_unstarted(
    monkeypatch, process_stop
):
    provider, connection = fake_provider_install(monkeypatch, page_size=3)
    sessions_populate(provider, 9)
    process_stop.request("stopped by the worker's shutdown")  # before the task

    with mock.patch.object(tasks.sync_connection, "apply_async") as queued:
        assert tasks.sync_connection(connection.pk, "manual") is None

    assert not SyncRun.objects.exists()  # no run that would stop after one page
    queued.assert_called_once()
    assert queued.call_args.kwargs["kwargs"]["resume"] is True


def test_the_first_signal_asks_for_a_stop_the_second_stops_at_once(stop):
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop, signals=(signal.SIGTERM,)):
        signal.raise_signal(signal.SIGTERM)
        assert stop.requested
        assert stop.signum == signal.SIGTERM
        with pytest.raises(SystemExit) as exited:
            signal.raise_signal(signal.SIGTERM)
    assert exited.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_second_sigint_is_a_keyboard_interrupt(stop):
    with stop_on_signals(stop):
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)


def test_redeliver_raises_the_signal_again_under_the_previous_handler(stop):
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with stop_on_signals(stop, signals=(signal.SIGTERM,), redeliver=True):
            signal.raise_signal(signal.SIGTERM)
            assert seen == []  # inside: only a stop request
        assert seen == [signal.SIGTERM]  # after: the previous handler's turn
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.django_db(transaction=True)
def test_the_keeper_renews_the_lease_and_notices_when_it_is_gone(monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    token = lease.connection_lease_acquire(connection_id=connection.pk, ttl_seconds=5)
    first_expiry = lease.connection_lease_expires_at(connection_id=connection.pk)
    keeper = lease.LeaseKeeper(connection_id=connection.pk, token=token, interval=0.05)
    keeper.start()
    try:
        wait_until("two renewals", lambda: keeper.renewals >= 2, seconds=30)
        assert (
            lease.connection_lease_expires_at(connection_id=connection.pk)
            > first_expiry
        )
        ProviderConnection.objects.filter(pk=connection.pk).update(
            lock_token="", lock_expires_at=None
        )
        wait_until("the keeper noticed", keeper.lost.is_set, seconds=30)
    finally:
        keeper.stop()
    assert lease.connection_lease_expires_at(connection_id=connection.pk) is None


def test_the_keeper_stops_renewing_past_any_legitimate_run_length(settings):
    settings.CELERY_TASK_TIME_LIMIT = 300
    settings.VERITY_SYNC_LEASE_SECONDS = 60
    assert lease.lease_hold_limit() == 360
    assert lease.lease_hold_limit(budget_seconds=900) == 960


def test_a_worker_shutting_down_asks_the_syncs_of_its_own_process_too(
    process_stop, monkeypatch
):
    """A solo or threads pool runs its syncs in the worker's main process,
    where no pool child is there to forward the shutdown to."""
    from config import celery as celery_config

    monkeypatch.setattr(celery_config, "pool_children_pids", lambda: [])
    celery_config._pool_children_stop(sig="SIGTERM", how="Warm")

    assert process_stop.requested
    assert process_stop.reason == "stopped by the worker's shutdown"
