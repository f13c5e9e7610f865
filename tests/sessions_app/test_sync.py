"""The sync engine against an in-memory provider behind the real adapter interface."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db_conn
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.exceptions import ProviderRateLimited
from sessions_app.models import (
    AuditEvent,
    Check,
    Client,
    ClientLinkSource,
    PolicyAssurance,
    ProviderClient,
    ProviderConnection,
    QuarantinedRecord,
    Status,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    Tag,
    WorkflowSession,
)
from sessions_app.normalization import Normalised
from sessions_app.providers.base import Budget, QuarantineRecord, SessionRecord
from sessions_app.sync import engine as sync
from tests.factories import ClientFactory
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db

SESSION_TABLE = WorkflowSession._meta.db_table


def _populate(
    provider, count: int, *, prefix: str = "run", reference: str = ""
) -> None:
    for n in range(count):
        provider.add(
            f"{prefix}-{n}",
            status="approved" if n % 2 == 0 else "processing",
            client=(
                f"{prefix}-client-{n}",
                f"Person {n}",
                reference or f"cust-{prefix}-{n}",
            ),
            checks=[(f"{prefix}-check-{n}", "complete", "clear")],
            tags=[("vip", "user"), (f"batch-{n % 2}", "technical")],
            policies=[(f"pol-{n}", "Standard KYC", "clear")],
        )


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


def _session_writes(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if SESSION_TABLE in q["sql"]
        and q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def test_second_sync_with_nothing_changed_rewrites_no_session(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    _populate(provider, 4)
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    before = {
        s.external_id: (s.payload_hash, s.provider_updated_at, s.last_synced_at)
        for s in WorkflowSession.objects.all()
    }
    checks_before = list(Check.objects.values_list("id", "last_synced_at"))
    policies_before = list(PolicyAssurance.objects.values_list("id", flat=True))

    with CaptureQueriesContext(db_conn) as captured:
        run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert (run.state, run.seen, run.created, run.updated, run.unchanged) == (
        "succeeded",
        4,
        0,
        0,
        4,
    )
    after = {
        s.external_id: (s.payload_hash, s.provider_updated_at, s.last_synced_at)
        for s in WorkflowSession.objects.all()
    }
    assert list(Check.objects.values_list("id", "last_synced_at")) == checks_before
    assert list(PolicyAssurance.objects.values_list("id", flat=True)) == policies_before
    # Final sessions (approved) are not written at all...
    assert {k: v for k, v in after.items() if k in ("run-0", "run-2")} == {
        k: v for k, v in before.items() if k in ("run-0", "run-2")
    }
    # ...unfinished ones (processing) only get last_synced_at bumped, in one
    # UPDATE, which moves the re-poll rotation along.
    for key in ("run-1", "run-3"):
        assert after[key][:2] == before[key][:2]
        assert after[key][2] > before[key][2]
    session_writes = _session_writes(captured)
    assert len(session_writes) == 1
    assert session_writes[0].upper().startswith("UPDATE")
    assert "last_synced_at" in session_writes[0]
    assert "payload_hash" not in session_writes[0]


def test_second_sync_of_final_sessions_writes_no_session_row(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    for n in range(5):
        provider.add(f"done-{n}", status="approved", client=(f"c-{n}", "P", ""))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    with CaptureQueriesContext(db_conn) as captured:
        run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert (run.seen, run.unchanged, run.created, run.updated) == (5, 5, 0, 0)
    assert _session_writes(captured) == []


def test_unchanged_ids_reported_by_the_adapter_count_as_unchanged(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    provider.use_versions = True
    _populate(provider, 3)
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    provider.change("run-1", status="declined")

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert (run.seen, run.updated, run.unchanged) == (3, 1, 2)
    assert WorkflowSession.objects.get(external_id="run-1").outcome == "rejected"


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


def test_failure_mid_run_keeps_committed_pages_and_a_rerun_loses_and_duplicates_nothing(
    monkeypatch,
):
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    _populate(provider, 7)
    provider.fail_at_page = 2  # pages 0 and 1 commit, then the provider errors

    failed = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert failed.state == SyncRunState.FAILED
    assert "HTTP 500" in failed.error
    assert failed.finished_at is not None
    assert (failed.pages, failed.created) == (2, 4)
    connection.refresh_from_db()
    assert connection.sync_cursor == {"offset": 4, "passes": 0} == failed.cursor_after
    assert WorkflowSession.objects.count() == 4
    assert connection.lock_token == ""  # released in finally

    provider.fail_at_page = None
    resumed = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert resumed.state == SyncRunState.SUCCEEDED
    assert resumed.cursor_before == {"offset": 4, "passes": 0}
    assert (resumed.created, resumed.updated) == (3, 0)
    assert sorted(
        WorkflowSession.objects.values_list("external_id", flat=True)
    ) == sorted(provider.sessions)
    assert Check.objects.count() == 7
    assert ProviderClient.objects.count() == 7
    assert PolicyAssurance.objects.count() == 7
    assert WorkflowSession.tags.through.objects.count() == 14


def test_exception_in_the_middle_of_a_page_rolls_back_that_page_and_its_cursor(
    monkeypatch, settings
):
    settings.VERITY_SYNC_BATCH_SIZE = 2  # one commit per provider page
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    _populate(provider, 4)
    real = sync._policies_replace
    calls = {"n": 0}

    def explode_on_second_page(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(sync, "_policies_replace", explode_on_second_page)
    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == SyncRunState.FAILED
    assert run.error == "RuntimeError: disk full"
    assert WorkflowSession.objects.count() == 2  # page 2's sessions were rolled back
    connection.refresh_from_db()
    assert connection.sync_cursor == {"offset": 2, "passes": 0}

    monkeypatch.setattr(sync, "_policies_replace", real)
    again = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    assert again.state == SyncRunState.SUCCEEDED
    assert WorkflowSession.objects.count() == 4


def test_quarantined_records_are_stored_and_the_sync_continues(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    _populate(provider, 3)
    provider.quarantine_on_first_page = [
        QuarantineRecord(
            record_type="session",
            reason="status is not a string",
            raw='{"id": 9, "status": {}}',
        )
    ]

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert (run.state, run.quarantined, run.created) == ("succeeded", 1, 3)
    record = QuarantinedRecord.objects.get()
    assert (record.sync_run, record.connection, record.reason) == (
        run,
        connection,
        "status is not a string",
    )
    assert record.raw == '{"id": 9, "status": {}}'


def test_invalid_records_from_an_adapter_are_quarantined_not_fatal(monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    bad = SessionRecord(
        external_id="x-1",
        raw_status="??",
        normalised=Normalised("exploded", "", False),
        raw={"id": "x-1"},
    )
    nameless = SessionRecord(
        external_id="",
        raw_status="approved",
        normalised=Normalised("completed", "clear", True),
    )
    good = SessionRecord(
        external_id="ok-1",
        raw_status="approved",
        normalised=Normalised("completed", "clear", True),
        summary="nul\x00byte",
        dashboard_url="https://x.test/" + "a" * 2000,
        raw={"id": "ok-1", "note": "nul\x00inside"},
    )

    with transaction.atomic():
        result = sync.session_upsert_batch(
            connection=connection, records=[bad, nameless, good]
        )

    assert (result.created, result.quarantined) == (1, 2)
    assert set(QuarantinedRecord.objects.values_list("external_id", flat=True)) == {
        "x-1",
        "",
    }
    session = WorkflowSession.objects.get(external_id="ok-1")
    assert session.summary == "nulbyte"
    assert len(session.dashboard_url) == 1000
    assert session.raw_payload == {"id": "ok-1", "note": "nulinside"}


def test_unknown_provider_values_are_counted_on_the_run(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="brand_new_status")
    provider.add(
        "wr-2", status="brand_new_status", checks=[("rep-1", "teleported", "clear")]
    )
    provider.add("wr-3", status="approved")

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.unknown_values == {"brand_new_status": 2, "teleported": 1}
    assert WorkflowSession.objects.get(external_id="wr-1").status == Status.UNKNOWN
    assert (
        WorkflowSession.objects.get(external_id="wr-1").raw_status == "brand_new_status"
    )


def test_missing_provider_timestamps_fall_back_to_first_seen(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="processing", created_at=None)
    start = timezone.now()
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    session = WorkflowSession.objects.get()
    assert session.provider_created_at >= start
    assert session.provider_updated_at >= start
    first_created = session.provider_created_at

    provider.change("wr-1", status="approved")
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    session.refresh_from_db()
    assert session.status == "completed"
    assert (
        session.provider_created_at == first_created
    )  # still when Verity first saw it


def test_duplicate_keys_inside_one_page_keep_the_last_record(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    first = provider.record(
        provider.add("wr-1", status="processing", checks=[("rep-1", "in_progress", "")])
    )
    provider.change("wr-1", status="approved", checks=[("rep-1", "complete", "clear")])
    last = provider.record(provider.sessions["wr-1"])

    with transaction.atomic():
        result = sync.session_upsert_batch(connection=connection, records=[first, last])

    assert (result.seen, result.created) == (1, 1)
    session = WorkflowSession.objects.get()
    assert session.status == "completed"
    assert session.checks.get().outcome == "clear"


def test_changed_session_replaces_its_tags_and_policies(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add(
        "wr-1",
        tags=[("vip", "user"), ("eu", "technical")],
        policies=[("p1", "A", "clear")],
    )
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    provider.change(
        "wr-1", tags=[("eu", "technical")], policies=[("p2", "B", "rejected")]
    )

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    session = WorkflowSession.objects.get()
    assert list(session.tags.values_list("name", flat=True)) == ["eu"]
    assert list(session.policy_assurances.values_list("policy_id", "outcome")) == [
        ("p2", "rejected")
    ]


def test_sync_never_overrides_a_manual_client_link(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", client=("app-1", "Ada", "cust-1"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    chosen = ClientFactory(reference="cust-other")
    ProviderClient.objects.filter(external_id="app-1").update(
        client=chosen, link_source=ClientLinkSource.MANUAL
    )
    provider.change("wr-1", client=("app-1", "Ada L.", "cust-2"))

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    pc = ProviderClient.objects.get(external_id="app-1")
    assert (pc.name, pc.external_reference, pc.client) == ("Ada L.", "cust-2", chosen)


def test_automatic_client_link_follows_a_changed_reference(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", client=("app-1", "Ada", "cust-1"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    provider.change("wr-1", client=("app-1", "Ada", "cust-2"))

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert ProviderClient.objects.get(external_id="app-1").client.reference == "cust-2"


def test_unfinished_sessions_are_handed_to_the_adapter_least_recently_synced_first(
    monkeypatch,
):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("done", status="approved")
    provider.add("open-a", status="processing")
    provider.add("open-b", status="awaiting_input")
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    WorkflowSession.objects.filter(external_id="open-b").update(
        last_synced_at=timezone.now() - dt.timedelta(hours=1)
    )

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert provider.calls[-1]["refresh_ids"] == ["open-b", "open-a"]


def test_exhausted_budget_ends_partial_and_the_next_run_continues(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    _populate(provider, 5)

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
    _populate(provider, 4)
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

    states = {slug: [r.state for r in runs] for slug, runs in outcome.items()}
    assert states == {
        "cube-nokey": ["failed"],
        "ica-up": ["succeeded"],
        "onfido-down": ["failed"],
    }
    assert WorkflowSession.objects.get().external_id == "ws-1"


def test_held_lease_records_a_skipped_run_and_touches_nothing(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1")
    holder = sync.connection_lease_acquire(connection_id=connection.pk)
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
    assert dead_refresh.state == SyncRunState.FAILED
    stale.refresh_from_db()
    assert stale.state == SyncRunState.FAILED
    assert stale.error.startswith("Interrupted")


def test_lease_is_taken_with_one_conditional_update_and_released_only_by_its_holder():
    connection = ProviderConnection.objects.create(
        slug="x",
        kind="onfido",
        display_name="x",
        base_url="https://x.test",
        credential_env="X",
    )
    with CaptureQueriesContext(db_conn) as captured:
        token = sync.connection_lease_acquire(connection_id=connection.pk)
    assert token
    assert len(captured.captured_queries) == 1
    assert captured.captured_queries[0]["sql"].upper().startswith("UPDATE")
    assert sync.connection_lease_acquire(connection_id=connection.pk) is None
    assert (
        sync.connection_lease_release(connection_id=connection.pk, token="not-mine")
        is False
    )
    assert (
        sync.connection_lease_release(connection_id=connection.pk, token=token) is True
    )
    assert sync.connection_lease_acquire(connection_id=connection.pk) is not None


def test_a_run_that_lost_its_lease_rolls_back_its_page(monkeypatch, settings):
    settings.VERITY_SYNC_BATCH_SIZE = 1  # one commit per provider page
    provider, connection = fake_provider_install(monkeypatch, page_size=1)
    _populate(provider, 3)

    def steal_lease(run, result):
        # While a run works it is visible as running, with its progress so far.
        stored = SyncRun.objects.get(pk=run.pk)
        assert (stored.state, stored.pages) == (SyncRunState.RUNNING, 1)
        # Simulate the lease expiring and another worker taking it.
        ProviderConnection.objects.filter(pk=connection.pk).update(
            lock_token="someone-else",
            lock_expires_at=timezone.now() + dt.timedelta(minutes=5),
        )

    run = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, on_page=steal_lease
    )

    assert run.state == SyncRunState.FAILED
    assert "LeaseLost" in run.error
    assert (
        WorkflowSession.objects.count() == 1
    )  # only the page committed before the theft
    connection.refresh_from_db()
    assert connection.lock_token == "someone-else"  # not released by the loser
    assert connection.sync_cursor == {"offset": 1, "passes": 0}


def test_connections_due_respects_interval_enabled_and_lease():
    now = timezone.now()

    def make(slug, **fields):
        return ProviderConnection.objects.create(
            slug=slug,
            kind="onfido",
            display_name=slug,
            base_url="https://x.test",
            credential_env="X",
            **fields,
        )

    never = make("never")
    elapsed = make(
        "elapsed",
        sync_interval_seconds=60,
        last_sync_started_at=now - dt.timedelta(seconds=61),
    )
    make(
        "recent",
        sync_interval_seconds=60,
        last_sync_started_at=now - dt.timedelta(seconds=10),
    )
    make("off", enabled=False)
    make("leased", lock_token="t", lock_expires_at=now + dt.timedelta(minutes=1))
    expired = make(
        "expired-lease", lock_token="t", lock_expires_at=now - dt.timedelta(minutes=1)
    )

    assert sorted(sync.connections_due(now=now)) == sorted(
        [never.pk, elapsed.pk, expired.pk]
    )


@pytest.mark.parametrize("count", [5, 60])
def test_upsert_query_count_does_not_grow_with_page_size(
    monkeypatch, django_assert_max_num_queries, count
):
    provider, connection = fake_provider_install(monkeypatch, page_size=count)
    _populate(provider, count)
    records = [provider.record(spec) for spec in provider.sessions.values()]

    with django_assert_max_num_queries(18), transaction.atomic():
        created = sync.session_upsert_batch(connection=connection, records=records)
    for spec in provider.sessions.values():
        spec["version"] += 1
    records = [provider.record(spec) for spec in provider.sessions.values()]
    with django_assert_max_num_queries(18), transaction.atomic():
        updated = sync.session_upsert_batch(connection=connection, records=records)

    assert (created.created, updated.updated) == (count, count)
    assert Check.objects.count() == count
    assert PolicyAssurance.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_syncs_of_one_provider_one_runs_one_skips(monkeypatch):
    """Real threads with their own database connections race for the lease."""
    if db_conn.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL for truly concurrent connections (SQLite: see the held-lease tests)"
        )
    import threading

    from django.db import connections

    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    _populate(provider, 4)
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


def test_sessions_gone_at_the_provider_are_kept_and_move_to_the_back_of_the_rotation(
    monkeypatch,
):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="processing", checks=[("rep-1", "in_progress", "")])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    old = timezone.now() - dt.timedelta(days=1)
    WorkflowSession.objects.update(last_synced_at=old)

    with transaction.atomic():
        result = sync.session_upsert_batch(
            connection=connection, records=[], gone_ids=["wr-1"]
        )

    assert (result.gone, result.seen, result.updated) == (1, 0, 0)
    session = WorkflowSession.objects.get()
    assert session.status == "in_progress"
    assert session.checks.count() == 1
    assert session.last_synced_at > old


def test_refresh_with_a_missing_credential_records_the_failure_on_run_and_delivery(
    monkeypatch,
):
    from tests.factories import WebhookDeliveryFactory

    _, connection = fake_provider_install(monkeypatch, credential=None)
    delivery = WebhookDeliveryFactory(connection=connection)

    run = sync.session_refresh_from_provider(
        connection=connection, external_id="wr-1", delivery_id=delivery.pk
    )

    assert run.state == SyncRunState.FAILED
    assert "is not set" in run.error
    delivery.refresh_from_db()
    assert "is not set" in delivery.error
    assert delivery.processed_at is None


def test_refresh_ids_include_unfinished_and_onfido_review_runs_but_not_final_ones():
    from sessions_app.sync.engine import _refresh_ids
    from tests.factories import ProviderConnectionFactory, WorkflowSessionFactory

    onfido = ProviderConnectionFactory(kind="onfido", slug="onfido-refresh")
    cube = ProviderConnectionFactory(kind="complycube", slug="cube-refresh")
    WorkflowSessionFactory(
        connection=onfido,
        external_id="running",
        status="in_progress",
        raw_status="processing",
    )
    WorkflowSessionFactory(
        connection=onfido,
        external_id="in-review",
        status="completed",
        raw_status="review",
    )
    WorkflowSessionFactory(
        connection=onfido,
        external_id="approved",
        status="completed",
        raw_status="approved",
    )
    # `review` means nothing special at ComplyCube: a completed session there is final.
    WorkflowSessionFactory(
        connection=cube, external_id="cc-done", status="completed", raw_status="review"
    )
    assert sorted(_refresh_ids(onfido)) == ["in-review", "running"]
    assert _refresh_ids(cube) == []


# --- Batching adapter pages into commits ------------------------------------------------


def test_small_provider_pages_are_committed_together_in_one_batch(
    monkeypatch, settings
):
    settings.VERITY_SYNC_BATCH_SIZE = 5
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    _populate(provider, 11)
    commits = []

    run = sync.provider_sync(
        connection=connection,
        trigger=SyncTrigger.MANUAL,
        on_page=lambda run, result: commits.append(result.seen),
    )

    # Pages of 2 are merged until a batch holds 5 sessions or ends the pass:
    # [2+2+2], [2+2+1 (done)]; SyncRun.pages still counts provider pages.
    assert commits == [6, 5]
    assert (run.state, run.pages, run.created) == ("succeeded", 6, 11)
    assert WorkflowSession.objects.count() == 11


def test_pages_read_before_an_adapter_failure_are_committed_first(
    monkeypatch, settings
):
    settings.VERITY_SYNC_BATCH_SIZE = 500  # everything would fit in one batch
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    _populate(provider, 7)
    provider.fail_at_page = 3

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == SyncRunState.FAILED
    assert (run.pages, run.created) == (3, 6)
    connection.refresh_from_db()
    assert connection.sync_cursor == {"offset": 6, "passes": 0}
    assert WorkflowSession.objects.count() == 6


def test_a_batch_closes_when_its_time_is_up_even_if_it_is_small():
    from sessions_app.providers.base import Page

    now = {"t": 0.0}

    def pages():
        for n in range(4):
            now["t"] += 3.0  # a slow provider: 3 s a page
            yield Page(sessions=[], unchanged_ids=[f"s{n}"], cursor={"n": n})

    batches = list(
        sync.pages_coalesced(
            pages(), min_sessions=100, max_seconds=5.0, clock=lambda: now["t"]
        )
    )

    assert [b.pages for b in batches] == [2, 2]
    assert [b.page.cursor for b in batches] == [{"n": 1}, {"n": 3}]
    assert [b.page.unchanged_ids for b in batches] == [["s0", "s1"], ["s2", "s3"]]


def test_an_adapter_error_with_nothing_buffered_is_raised_at_once():
    def pages():
        raise RuntimeError("boom")
        yield  # pragma: no cover

    with pytest.raises(RuntimeError, match="boom"):
        list(sync.pages_coalesced(pages(), min_sessions=10, max_seconds=5.0))


# --- Change detection ---------------------------------------------------------------------


def test_a_changed_client_is_written_even_when_the_session_payload_is_the_same(
    monkeypatch,
):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="approved", client=("app-1", "Ada Lovelace", "cust-1"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    # The applicant is renamed and re-referenced at the provider; the run itself
    # (its raw payload and change marker) is untouched.
    spec = provider.sessions["wr-1"]
    spec["client"] = ("app-1", "Ada King", "cust-9")

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert (run.updated, run.unchanged) == (1, 0)
    client = ProviderClient.objects.get(external_id="app-1")
    assert (client.name, client.external_reference) == ("Ada King", "cust-9")
    assert client.client.reference == "cust-9"


def test_a_full_pass_ignores_stored_change_markers(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    provider.use_versions = True
    _populate(provider, 3)
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    incremental = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    full = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.MANUAL, full=True
    )

    # Incremental: the adapter skips all three by their markers (listed unchanged).
    # Full: it is handed no markers, so it reads all three again (and the
    # engine's digests find them unchanged).
    assert provider.calls[-2]["full"] is False
    assert provider.calls[-1]["full"] is True
    assert (incremental.seen, incremental.unchanged) == (3, 3)
    assert (full.seen, full.unchanged, full.updated) == (3, 3, 0)
    # First sync: nothing known; incremental: all three skipped; full: none.
    assert provider.listed_unchanged == [[], ["run-0", "run-1", "run-2"], []]


def test_a_session_read_incompletely_is_fetched_again_by_the_next_pass(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    provider.use_versions = True
    _populate(provider, 2)
    # The check of run-0 cannot be fetched this time (a 500 on its detail call).
    provider.incomplete = {"run-0": "check run-check-0: HTTP 500"}

    first = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert first.created == 2
    broken = WorkflowSession.objects.get(external_id="run-0")
    assert broken.source_version == ""  # no marker: not skippable as unchanged
    assert broken.checks.count() == 0  # stored as read
    assert WorkflowSession.objects.get(external_id="run-1").source_version == "v1"

    provider.incomplete = {}
    second = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    # run-1 is skipped by its marker; run-0 is read again, now in full.
    assert provider.listed_unchanged[-1] == ["run-1"]
    assert (second.updated, second.unchanged) == (1, 1)
    repaired = WorkflowSession.objects.get(external_id="run-0")
    assert repaired.source_version == "v1"
    assert list(repaired.checks.values_list("external_id", flat=True)) == [
        "run-check-0"
    ]


def test_an_incomplete_client_record_never_overwrites_the_stored_client(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="processing", client=("app-1", "Ada Lovelace", "c-1"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    real_record = provider.record

    def without_applicant(spec):
        # The applicant call failed: the adapter knows only the client's id.
        record = real_record(spec)
        record.client.name, record.client.external_reference = "", ""
        record.client.raw, record.client.incomplete = {"id": "app-1"}, True
        record.missing, record.source_version = ["applicant app-1: HTTP 503"], ""
        record.raw = {**record.raw, "status": "approved"}
        return record

    monkeypatch.setattr(provider, "record", without_applicant)
    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert run.updated == 1  # the session itself changed and is written
    client = ProviderClient.objects.get(external_id="app-1")
    assert (client.name, client.external_reference) == ("Ada Lovelace", "c-1")
    session = WorkflowSession.objects.get(external_id="wr-1")
    assert session.provider_client == client
    assert session.source_version == ""


def test_json_payloads_lose_nul_characters_anywhere_and_clean_ones_are_kept_as_is():
    clean = {"a": [1, {"b": "text"}], "c": None}
    assert sync._json(clean) is clean
    dirty = {"k\x00ey": [{"v": "x\x00y"}, ("t\x00",)], "n": 5}
    assert sync._json(dirty) == {"key": [{"v": "xy"}, ["t"]], "n": 5}
    # A literal backslash-u text is not a NUL and survives the cleaning.
    assert sync._json({"s": "\\u0000"}) == {"s": "\\u0000"}
