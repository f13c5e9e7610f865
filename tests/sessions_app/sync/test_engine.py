"""The sync engine's passes (`sync.engine`) against an in-memory provider
behind the real adapter interface."""

from __future__ import annotations

import logging

import pytest

from sessions_app.exceptions import ProviderAuthError, ProviderRateLimited
from sessions_app.models import (
    AuditEvent,
    Client,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    Tag,
    WorkflowSession,
)
from sessions_app.providers.base import Budget
from sessions_app.sync import engine as sync
from tests.helpers.sync import sessions_populate
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def test_first_sync_creates_sessions_checks_clients_tags_and_policies(monkeypatch):
    onfido, onfido_conn = fake_provider_install(
        monkeypatch, slug="onfido-main", kind="onfido"
    )
    cube, cube_conn = fake_provider_install(
        monkeypatch, slug="cube-main", kind="complycube"
    )
    onfido.add(
        "wr-1",
        status="approved",
        client=("app-1", "Ada Lovelace", "cust-42"),
        checks=[("rep-1", "complete", "clear"), ("rep-2", "complete", "consider")],
        tags=[("vip", "user"), ("eu", "technical")],
    )
    onfido.add("wr-2", status="processing", client=("app-2", "Bob", "cust-7"))
    cube.add(
        "cs-1",
        status="complete",
        outcome="attention",
        client=("cc-1", "Ada Lovelace", "cust-42"),
        checks=[("chk-1", "complete", "attention")],
        tags=[("vip", "user")],
        policies=[("pol-a", "Standard KYC", "attention"), ("pol-b", "PEP", "clear")],
    )

    run = sync.provider_sync(connection=onfido_conn, trigger=SyncTrigger.MANUAL)
    cube_run = sync.provider_sync(connection=cube_conn, trigger=SyncTrigger.MANUAL)

    assert (run.state, run.seen, run.created, run.updated, run.unchanged) == (
        "succeeded",
        2,
        2,
        0,
        0,
    )
    assert (cube_run.state, cube_run.created) == ("succeeded", 1)
    session = WorkflowSession.objects.get(connection=onfido_conn, external_id="wr-1")
    assert (session.status, session.outcome, session.raw_status) == (
        "completed",
        "clear",
        "approved",
    )
    assert session.payload_hash
    assert session.last_synced_at is not None
    assert sorted(session.checks.values_list("external_id", "outcome")) == [
        ("rep-1", "clear"),
        ("rep-2", "attention"),
    ]
    assert sorted(session.tags.values_list("name", "kind")) == [
        ("eu", "technical"),
        ("vip", "user"),
    ]
    assert Tag.objects.filter(name="vip").count() == 1  # shared across providers
    cube_session = WorkflowSession.objects.get(connection=cube_conn, external_id="cs-1")
    assert (cube_session.status, cube_session.outcome) == ("completed", "attention")
    assert list(
        cube_session.policy_assurances.values_list("policy_id", "outcome", "position")
    ) == [
        ("pol-a", "attention", 0),
        ("pol-b", "clear", 1),
    ]
    # Provider clients sharing an external reference join one Client.
    ada = Client.objects.get(reference="cust-42")
    assert sorted(ada.provider_clients.values_list("external_id", flat=True)) == [
        "app-1",
        "cc-1",
    ]
    assert session.provider_client.client == ada
    assert cube_session.provider_client.client == ada
    # The cursor advanced and one audit event summarises each run.
    onfido_conn.refresh_from_db()
    assert onfido_conn.sync_cursor == {"offset": 0, "passes": 1} == run.cursor_after
    assert onfido_conn.last_success_at is not None
    assert onfido_conn.lock_token == ""
    events = AuditEvent.objects.filter(
        source="sync", object_type="sessions_app.syncrun"
    )
    assert events.count() == 2
    assert events.get(object_id=str(run.pk)).after["created"] == 2


def test_status_change_at_the_provider_is_picked_up_by_the_next_run(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="processing", checks=[("rep-1", "in_progress", "")])
    provider.add("wr-2", status="processing")
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    provider.change(
        "wr-1", status="declined", checks=[("rep-1", "complete", "consider")]
    )

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert (run.updated, run.unchanged, run.created) == (1, 1, 0)
    session = WorkflowSession.objects.get(external_id="wr-1")
    assert (session.status, session.outcome, session.raw_status) == (
        "completed",
        "rejected",
        "declined",
    )
    assert session.checks.get().outcome == "attention"
    assert WorkflowSession.objects.count() == 2


def test_exhausted_budget_ends_partial_and_the_next_run_continues(
    monkeypatch, settings
):
    # The fake's cursor does not say when its pass began, so the children
    # re-read would count the second run as a new pass (tested in test_children).
    settings.VERITY_SYNC_CHILDREN_LIMIT = 0
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    sessions_populate(provider, 5)

    first = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, budget=Budget(max_pages=2)
    )
    assert (first.state, first.pages, first.created) == ("partial", 2, 4)
    second = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, budget=Budget(max_pages=2)
    )
    assert (second.state, second.pages, second.created) == ("succeeded", 1, 1)
    assert WorkflowSession.objects.count() == 5


def test_sync_pass_loops_partial_runs_until_done(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=1)
    sessions_populate(provider, 4)
    monkeypatch.setattr("django.conf.settings.VERITY_SYNC_MAX_PAGES", 1)

    runs = sync.provider_sync_pass(connection=connection)

    assert [r.state for r in runs] == ["partial", "partial", "partial", "succeeded"]
    assert WorkflowSession.objects.count() == 4


def test_rate_limited_run_is_recorded_and_the_error_propagates(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.rate_limit_retry_after = 42

    with pytest.raises(ProviderRateLimited) as caught:
        sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert caught.value.retry_after == 42
    run = SyncRun.objects.get()
    assert caught.value.run == run  # the run it ended, for callers that report runs
    assert run.state == SyncRunState.RATE_LIMITED
    assert "Too many requests" in run.error
    connection.refresh_from_db()
    assert connection.lock_token == ""
    assert connection.lock_expires_at is None


def test_sync_pass_waits_out_a_short_rate_limit(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    provider.rate_limit_retry_after = 2
    slept = []

    def fake_sleep(seconds):
        slept.append(seconds)
        provider.rate_limit_retry_after = None

    runs = sync.provider_sync_pass(connection=connection, sleep=fake_sleep)

    assert slept == [2]
    assert [r.state for r in runs] == ["rate_limited", "succeeded"]


def test_missing_credential_fails_the_run_with_a_clear_message(monkeypatch):
    _, connection = fake_provider_install(monkeypatch, credential=None)

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == SyncRunState.FAILED
    assert run.error == (
        f"Environment variable {connection.credential_env} (credential of 'onfido-test') is not set."
    )


def test_one_provider_down_does_not_stop_the_others(monkeypatch):
    down, _ = fake_provider_install(monkeypatch, slug="onfido-down")
    down.add("wr-1")
    down.fail_at_page = 0
    fake_provider_install(
        monkeypatch, slug="cube-nokey", kind="complycube", credential=None
    )
    up, _ = fake_provider_install(monkeypatch, slug="ica-up", kind="ica")
    up.add("ws-1", status="SUCCEEDED")
    fake_provider_install(monkeypatch, slug="ica-off", kind="ica", enabled=False)

    outcome = sync.providers_sync_all(trigger=SyncTrigger.MANUAL)

    states = {slug: [r.state for r in result.runs] for slug, result in outcome.items()}
    assert states == {
        "cube-nokey": ["failed"],
        "ica-up": ["succeeded"],
        "onfido-down": ["failed"],
    }
    assert WorkflowSession.objects.get().external_id == "ws-1"
    assert all(result.crash is None for result in outcome.values())


def test_a_full_pass_ignores_stored_change_markers(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    provider.use_versions = True
    sessions_populate(provider, 3)
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    incremental = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    full = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.MANUAL, full=True
    )

    # Incremental: the adapter skips all three by their markers (listed
    # unchanged): run-1 is in rotation, but it was read in full less than a
    # sync interval ago, so its children are not due yet. Full: it is handed
    # no markers, so it reads all three again (and the engine's digests find
    # them unchanged).
    assert provider.calls[-2]["full"] is False
    assert provider.calls[-1]["full"] is True
    assert (incremental.seen, incremental.unchanged) == (3, 3)
    assert (full.seen, full.unchanged, full.updated) == (3, 3, 0)
    assert provider.listed_unchanged == [[], ["run-0", "run-1", "run-2"], []]


class _Recorder(sync.PassObserver):
    """Records what providers_sync_all reports; can fail at the start of a pass."""

    def __init__(self, fail_start_of: str = "") -> None:
        self.fail_start_of = fail_start_of
        self.events: list[tuple[str, str]] = []

    def pass_started(self, connection):
        self.events.append(("started", connection.slug))
        if connection.slug == self.fail_start_of:
            raise RuntimeError("no terminal for a progress bar")

    def pass_finished(self, outcome):
        self.events.append(("finished", outcome.connection.slug))

    def pass_abandoned(self, connection):
        self.events.append(("abandoned", connection.slug))


def test_an_observer_failing_to_start_fails_that_provider_only(monkeypatch):
    """A progress display that cannot start is that provider's crash, not the
    command's: the other providers still sync."""
    first, _ = fake_provider_install(monkeypatch, slug="aaa", kind="onfido")
    second, _ = fake_provider_install(monkeypatch, slug="bbb", kind="ica")
    sessions_populate(first, 1)
    sessions_populate(second, 1)
    observer = _Recorder(fail_start_of="aaa")

    outcome = sync.providers_sync_all(observer=observer)

    assert isinstance(outcome["aaa"].crash, RuntimeError)
    assert outcome["aaa"].runs == []
    assert outcome["bbb"].crash is None
    assert [r.state for r in outcome["bbb"].runs] == ["succeeded"]
    assert ("finished", "aaa") in observer.events
    assert ("finished", "bbb") in observer.events


def test_ctrl_c_in_a_pass_lets_the_observer_close_and_stops(monkeypatch):
    provider, _ = fake_provider_install(monkeypatch, slug="aaa", kind="onfido")
    sessions_populate(provider, 1)
    observer = _Recorder()

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sync, "provider_sync_pass", interrupted)

    with pytest.raises(KeyboardInterrupt):
        sync.providers_sync_all(observer=observer)
    assert observer.events == [("started", "aaa"), ("abandoned", "aaa")]


# --- Failures: one log line for the ordinary, a traceback for bugs, a kind --------


def _raising(exc):
    def before_page(_index):
        raise exc

    return before_page


def test_an_ordinary_provider_error_is_logged_as_one_line_without_traceback(
    monkeypatch, caplog
):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    provider.before_page = _raising(
        ProviderAuthError("Unauthorized (GET /v3/runs)", provider="onfido", status=401)
    )

    with caplog.at_level(logging.WARNING, logger="sessions_app.sync.engine"):
        run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert (run.state, run.error_kind) == (SyncRunState.FAILED, "auth")
    [entry] = [r for r in caplog.records if r.name == "sessions_app.sync.engine"]
    assert entry.levelno == logging.WARNING
    assert entry.exc_info is None
    assert entry.getMessage() == (
        "Sync of onfido-test failed after 0 page(s): "
        "onfido HTTP 401 Unauthorized (GET /v3/runs)"
    )


def test_an_unexpected_exception_keeps_its_traceback(monkeypatch, caplog):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    provider.before_page = _raising(KeyError("status"))

    with caplog.at_level(logging.WARNING, logger="sessions_app.sync.engine"):
        run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert (run.state, run.error_kind) == (SyncRunState.FAILED, "internal")
    [entry] = [r for r in caplog.records if r.name == "sessions_app.sync.engine"]
    assert entry.levelno == logging.ERROR
    assert entry.exc_info is not None


def test_a_rate_limited_run_records_its_kind(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.rate_limit_retry_after = 5

    with pytest.raises(ProviderRateLimited):
        sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert SyncRun.objects.get().error_kind == "rate_limited"
