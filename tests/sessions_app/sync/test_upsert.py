"""The write service (`sync.upsert.session_upsert_batch`): change detection,
quarantine, value cleaning, a query count that does not grow with the page."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
import responses
from django.db import connection as db_conn
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import (
    Check,
    PolicyAssurance,
    ProviderClient,
    QuarantinedRecord,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.normalization import Normalised
from sessions_app.providers.base import QuarantineRecord, SessionRecord
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from sessions_app.sync import engine as sync
from sessions_app.sync import quarantine, refresh, upsert
from tests.factories import ProviderConnectionFactory, SyncRunFactory
from tests.helpers.providers import (
    ONFIDO_BASE,
    FakeTime,
    load,
    make_adapter,
    register_onfido,
    run_pass,
)
from tests.helpers.sync import session_writes, sessions_populate
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def test_second_sync_with_nothing_changed_rewrites_no_session(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    sessions_populate(provider, 4)
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
    writes = session_writes(captured)
    assert len(writes) == 1
    assert writes[0].upper().startswith("UPDATE")
    assert "last_synced_at" in writes[0]
    assert "payload_hash" not in writes[0]


def test_second_sync_of_final_sessions_writes_no_session_row(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    for n in range(5):
        provider.add(f"done-{n}", status="approved", client=(f"c-{n}", "P", ""))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    with CaptureQueriesContext(db_conn) as captured:
        run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert (run.seen, run.unchanged, run.created, run.updated) == (5, 5, 0, 0)
    assert session_writes(captured) == []


def test_unchanged_ids_reported_by_the_adapter_count_as_unchanged(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    provider.use_versions = True
    sessions_populate(provider, 3)
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    provider.change("run-1", status="declined")

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert (run.seen, run.updated, run.unchanged) == (3, 1, 2)
    assert WorkflowSession.objects.get(external_id="run-1").outcome == "rejected"


def test_quarantined_records_are_stored_and_the_sync_continues(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    sessions_populate(provider, 3)
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
        result = upsert.session_upsert_batch(
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


def test_a_session_id_with_a_nul_character_is_quarantined_not_fatal(monkeypatch):
    """PostgreSQL refuses a NUL in any statement: such an id failed the whole
    page, on every pass. It is quarantined; the page's other sessions, and the
    ids only listed as unchanged or gone, go on."""
    _, connection = fake_provider_install(monkeypatch)

    def record(external_id):
        return SessionRecord(
            external_id=external_id,
            raw_status="approved",
            normalised=Normalised("completed", "clear", True),
            raw={"id": external_id},
        )

    with transaction.atomic():
        result = upsert.session_upsert_batch(
            connection=connection,
            records=[record("ok-1"), record("bad\x00id")],
            unchanged_ids=["listed\x00id"],
            gone_ids=["gone\x00id"],
        )

    assert (result.created, result.quarantined) == (1, 1)
    assert list(WorkflowSession.objects.values_list("external_id", flat=True)) == [
        "ok-1"
    ]
    quarantined = QuarantinedRecord.objects.get()
    assert (quarantined.external_id, quarantined.reason) == (
        "badid",
        "external id contains a NUL character",
    )
    assert "bad\\u0000id" in quarantined.raw


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
        result = upsert.session_upsert_batch(
            connection=connection, records=[first, last]
        )

    assert (result.seen, result.created) == (1, 1)
    session = WorkflowSession.objects.get()
    assert session.status == "completed"
    assert session.checks.get().outcome == "clear"


@pytest.mark.parametrize("count", [5, 60])
def test_upsert_query_count_does_not_grow_with_page_size(
    monkeypatch, django_assert_max_num_queries, count
):
    provider, connection = fake_provider_install(monkeypatch, page_size=count)
    sessions_populate(provider, count)
    records = [provider.record(spec) for spec in provider.sessions.values()]
    # +2 for the reasons (sync/reasons.py: one DELETE, one INSERT).

    # 21: one of them marks the clients of the changed sessions for the review
    # refresh (client_review.refresh.clients_mark_stale).
    with django_assert_max_num_queries(21), transaction.atomic():
        created = upsert.session_upsert_batch(connection=connection, records=records)
    for spec in provider.sessions.values():
        spec["version"] += 1
    records = [provider.record(spec) for spec in provider.sessions.values()]
    with django_assert_max_num_queries(21), transaction.atomic():
        updated = upsert.session_upsert_batch(connection=connection, records=records)

    assert (created.created, updated.updated) == (count, count)
    assert Check.objects.count() == count
    assert PolicyAssurance.objects.count() == count


def test_sessions_gone_at_the_provider_are_kept_and_move_to_the_back_of_the_rotation(
    monkeypatch,
):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="processing", checks=[("rep-1", "in_progress", "")])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    old = timezone.now() - dt.timedelta(days=1)
    WorkflowSession.objects.update(last_synced_at=old)

    with transaction.atomic():
        result = upsert.session_upsert_batch(
            connection=connection, records=[], gone_ids=["wr-1"]
        )

    assert (result.gone, result.seen, result.updated) == (1, 0, 0)
    session = WorkflowSession.objects.get()
    assert session.status == "in_progress"
    assert session.checks.count() == 1
    assert session.last_synced_at > old


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


def test_a_session_read_incompletely_is_fetched_again_by_the_next_pass(
    monkeypatch, settings
):
    # Without the children re-read, which would read run-1 (processing) in
    # full whatever its marker (tested in sync/test_children.py).
    settings.VERITY_SYNC_CHILDREN_LIMIT = 0
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    provider.use_versions = True
    sessions_populate(provider, 2)
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


def test_a_change_in_the_clients_raw_payload_alone_rewrites_the_session(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="approved", client=("app-1", "Ada Lovelace", "cust-1"))
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    # Only the provider's record of the client changes (a new address): its
    # name and reference, the session's raw payload and its change marker
    # are all as they were.
    provider.sessions["wr-1"]["client_details"] = {"address": "1 New Street"}

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert (run.updated, run.unchanged) == (1, 0)
    client = ProviderClient.objects.get(external_id="app-1")
    assert client.raw_payload["address"] == "1 New Street"
    assert (client.name, client.external_reference) == ("Ada Lovelace", "cust-1")


def test_the_session_digest_covers_the_session_and_every_part_of_its_client(
    monkeypatch,
):
    provider, _ = fake_provider_install(monkeypatch)
    spec = provider.add("wr-1", client=("app-1", "Ada", "cust-1"))
    digest = upsert.session_digest(provider.record(spec))
    assert upsert.session_digest(provider.record(spec)) == digest  # stable

    def changed(**client_fields):
        record = provider.record(spec)
        for field, value in client_fields.items():
            setattr(record.client, field, value)
        return upsert.session_digest(record)

    assert changed(raw={"id": "app-1", "name": "Ada", "ref": "cust-1", "x": 1}) != (
        digest
    )
    assert changed(name="Ada King") != digest
    assert changed(external_reference="cust-2") != digest
    assert changed(external_id="app-2") != digest
    without_client = provider.record(spec)
    without_client.client = None
    assert upsert.session_digest(without_client) != digest
    other_session = provider.record(spec)
    other_session.raw = {**other_session.raw, "status": "declined"}
    assert upsert.session_digest(other_session) != digest


# --- Quarantine: one row per bad record ---------------------------------------------


def _quarantine_pass(connection, records, *, now, sync_run=None):
    with transaction.atomic():
        return upsert.session_upsert_batch(
            connection=connection,
            records=[],
            quarantined=records,
            sync_run=sync_run,
            now=now,
        )


def test_the_same_idless_record_on_every_pass_is_one_row_counted(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=5)
    sessions_populate(provider, 2)
    provider.quarantine_on_first_page = [
        QuarantineRecord(
            record_type="session", reason="status is not a string", raw='{"s": {}}'
        )
    ]

    first = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    second = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, full=True
    )

    # Each run still counts what it quarantined; the table holds one row.
    assert (first.quarantined, second.quarantined) == (1, 1)
    record = QuarantinedRecord.objects.get()
    assert record.seen_count == 2
    assert record.sync_run == second
    assert record.created_at <= first.finished_at < record.last_seen_at


def test_a_record_seen_again_is_counted_stamped_reopened_and_keeps_its_latest_raw(
    monkeypatch,
):
    _, connection = fake_provider_install(monkeypatch)
    t0 = dt.datetime(2026, 6, 1, 6, 21, tzinfo=dt.UTC)
    t1 = t0 + dt.timedelta(minutes=5)
    bad = QuarantineRecord(
        record_type="check", reason="no status", raw='{"v": 1}', external_id="chk-1"
    )
    _quarantine_pass(connection, [bad], now=t0)
    QuarantinedRecord.objects.update(resolved_at=t0)
    run = SyncRunFactory(connection=connection)

    # The same id and reason with a newer body is the same record.
    again = dataclasses.replace(bad, raw='{"v": 2}')
    result = _quarantine_pass(connection, [again, again], now=t1, sync_run=run)

    assert result.quarantined == 2
    record = QuarantinedRecord.objects.get()
    assert (record.seen_count, record.created_at, record.last_seen_at) == (3, t0, t1)
    assert (record.raw, record.sync_run, record.resolved_at) == ('{"v": 2}', run, None)


def test_records_differing_in_type_id_raw_or_reason_are_separate_rows(monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    other = ProviderConnectionFactory(slug="other")
    base = QuarantineRecord(record_type="session", reason="r", raw="a")
    variants = [
        base,
        dataclasses.replace(base, record_type="check"),
        dataclasses.replace(base, reason="another reason"),
        dataclasses.replace(base, raw="b"),  # no id: the raw text tells them apart
        dataclasses.replace(base, external_id="s-1"),
        dataclasses.replace(base, external_id="s-1", raw="c"),  # same as the last
    ]
    now = timezone.now()
    _quarantine_pass(connection, variants, now=now)
    _quarantine_pass(other, [base], now=now)

    rows = QuarantinedRecord.objects.filter(connection=connection)
    assert rows.count() == 5
    assert rows.get(external_id="s-1").seen_count == 2
    assert QuarantinedRecord.objects.get(connection=other).seen_count == 1


@pytest.mark.parametrize("count", [3, 60])
def test_quarantine_query_count_does_not_grow_with_the_batch(
    monkeypatch, django_assert_max_num_queries, count
):
    _, connection = fake_provider_install(monkeypatch)
    records = [
        QuarantineRecord(record_type="session", reason="bad", raw=f"raw {i}")
        for i in range(count)
    ]
    now = timezone.now()
    # Half already known, half new: one find, one update, one insert.
    _quarantine_pass(connection, records[: count // 2 + 1], now=now)
    with django_assert_max_num_queries(3):
        quarantine.quarantine_upsert(
            connection=connection,
            rows=[
                quarantine.quarantine_row(
                    connection=connection,
                    record_type=r.record_type,
                    external_id=r.external_id,
                    reason=r.reason,
                    raw=r.raw,
                )
                for r in records
            ],
            sync_run=None,
            now=now,
        )
    assert QuarantinedRecord.objects.count() == count
    assert QuarantinedRecord.objects.filter(seen_count=2).count() == count // 2 + 1


def test_a_row_a_concurrent_writer_inserted_meanwhile_does_not_fail_the_page(
    monkeypatch,
):
    _, connection = fake_provider_install(monkeypatch)
    bad = QuarantineRecord(record_type="session", reason="bad", raw="x")
    t0 = timezone.now()
    _quarantine_pass(connection, [bad], now=t0)
    # The find saw nothing (the other writer had not committed yet): the
    # insert meets the unique key and updates the row instead of failing.
    monkeypatch.setattr(quarantine, "chunks", lambda items: iter(()))
    later = t0 + dt.timedelta(minutes=1)
    result = _quarantine_pass(connection, [bad], now=later)

    assert result.quarantined == 1
    record = QuarantinedRecord.objects.get()
    assert (record.created_at, record.last_seen_at) == (t0, later)


def test_the_contract_columns_are_written_and_rewritten(monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    record = SessionRecord(
        external_id="ok-1",
        raw_status="review",
        normalised=Normalised("completed", "attention", True),
        user_reference="ws_250603_1",
        decision="review",
        risk_score=0.75,
        link_expires_at=dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC),
        raw={"id": "ok-1"},
    )
    with transaction.atomic():
        upsert.session_upsert_batch(connection=connection, records=[record])
    stored = WorkflowSession.objects.get(external_id="ok-1")
    assert (
        stored.user_reference,
        stored.decision,
        stored.risk_score,
        stored.link_expires_at,
    ) == ("ws_250603_1", "review", 0.75, dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC))

    changed = dataclasses.replace(
        record,
        decision="approved",
        risk_score=float("nan"),  # never stored: not a number a page can show
        link_expires_at=None,
        raw={"id": "ok-1", "v": 2},
    )
    with transaction.atomic():
        upsert.session_upsert_batch(connection=connection, records=[changed])
    stored.refresh_from_db()
    assert (stored.decision, stored.risk_score, stored.link_expires_at) == (
        "approved",
        None,
        None,
    )


def test_an_onfido_run_is_stored_without_its_credentials():
    connection = ProviderConnectionFactory(kind="onfido")
    run = {
        **load("onfido", "workflow_runs/page-1.json")[1],
        "sdk_token": "eyJhbGciOi.sdk-secret",
        "output": {"decision": "review", "risk_score": 0.5},
    }
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register_onfido(rsps, pages=[[run], []])
        adapter = make_adapter(OnfidoAdapter, FakeTime(), base_url=ONFIDO_BASE)
        records = [r for page in run_pass(adapter) for r in page.sessions]

    with transaction.atomic():
        upsert.session_upsert_batch(connection=connection, records=records)

    stored = WorkflowSession.objects.get()
    raw = json.dumps(stored.raw_payload)
    assert "sdk-secret" not in raw
    assert "sdk_token" not in raw
    assert "eu.onfido.app/l/" not in raw  # the run link's url: a credential too
    assert (stored.decision, stored.risk_score) == ("review", 0.5)
    assert stored.dashboard_url.startswith("https://dashboard.onfido.com/results/")


def test_detail_read_at_marks_only_sessions_read_in_full(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=10)
    sessions_populate(provider, 4)  # run-0, run-2 approved; run-1, run-3 processing
    provider.incomplete = {"run-3": "check run-check-3: HTTP 500"}
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    read = dict(WorkflowSession.objects.values_list("external_id", "detail_read_at"))
    assert read["run-3"] is None  # its checks were not read
    assert all(read[key] for key in ("run-0", "run-1", "run-2"))

    def upsert_at(moment: dt.datetime, **batch) -> upsert.BatchResult:
        with transaction.atomic():
            return upsert.session_upsert_batch(
                connection=connection, now=moment, **batch
            )

    def stored(key: str) -> tuple:
        return WorkflowSession.objects.filter(external_id=key).values_list(
            "detail_read_at", "last_synced_at", "raw_status"
        )[0]

    hour = timezone.now() + dt.timedelta(hours=1)
    # Listed unchanged: seen (the re-poll rotation moves), not read.
    upsert_at(hour, records=[], unchanged_ids=["run-1"])
    assert stored("run-1")[:2] == (read["run-1"], hour)
    # Read in full and found unchanged: not rewritten, but read.
    two = hour + dt.timedelta(hours=1)
    result = upsert_at(two, records=[provider.record(provider.sessions["run-1"])])
    assert (result.unchanged, result.updated) == (1, 0)
    assert stored("run-1")[:2] == (two, two)
    # Changed but read incompletely: written, and still not read in full.
    provider.change("run-1", status="declined")
    provider.incomplete = {"run-1": "check run-check-1: HTTP 500"}
    three = two + dt.timedelta(hours=1)
    upsert_at(three, records=[provider.record(provider.sessions["run-1"])])
    assert stored("run-1") == (two, three, "declined")
    # A webhook's refresh reads the session in full.
    provider.incomplete = {}
    refresh.session_refresh_from_provider(connection=connection, external_id="run-3")
    assert stored("run-3")[0] is not None


def test_a_changed_session_marks_its_client_for_the_review_refresh(monkeypatch):
    from sessions_app.models import Client
    from sessions_app.providers.base import ClientRecord

    _, connection = fake_provider_install(monkeypatch)
    record = SessionRecord(
        external_id="run-stale-1",
        raw_status="approved",
        normalised=Normalised("completed", "clear", True),
        client=ClientRecord(external_id="app-1", external_reference="REF-STALE"),
        raw={"id": "run-stale-1"},
    )
    with transaction.atomic():
        upsert.session_upsert_batch(connection=connection, records=[record])
    client = Client.objects.get(reference="REF-STALE")
    assert client.assurance_stale is True
    Client.objects.update(assurance_stale=False)
    # Unchanged: not marked again (nothing to refresh).
    with transaction.atomic():
        upsert.session_upsert_batch(connection=connection, records=[record])
    assert Client.objects.get(pk=client.pk).assurance_stale is False
    changed = dataclasses.replace(record, raw={"id": "run-stale-1", "v": 2})
    with transaction.atomic():
        upsert.session_upsert_batch(connection=connection, records=[changed])
    assert Client.objects.get(pk=client.pk).assurance_stale is True
