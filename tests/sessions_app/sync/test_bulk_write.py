"""`sync.bulk_write`: it stores exactly what Django's `bulk_create(update_conflicts=True)`
stores, column by column, on the database the suite runs on (SQLite, and
PostgreSQL in CI)."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pytest
from django.db import connection as db_connection
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.functional import lazystr

from sessions_app.models import (
    Check,
    PolicyAssurance,
    ProviderClient,
    SessionReason,
    Status,
    Tag,
    WorkflowSession,
)
from sessions_app.sync import bulk_write
from sessions_app.sync.bulk_write import keyed_rows_upsert, rows_insert
from sessions_app.sync.related import CHECK_SYNC_FIELDS, PROVIDER_CLIENT_SYNC_FIELDS
from sessions_app.sync.upsert import SESSION_SYNC_FIELDS
from tests.factories import ProviderConnectionFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
# Columns filled by the database or by `now()` at the moment of writing.
WRITE_TIME_COLUMNS = {
    "id",
    "connection_id",
    "first_seen_at",
    "created_at",
    "updated_at",
}


def _sessions(connection, n=4, *, status="completed", payload=None):
    return [
        WorkflowSession(
            connection=connection,
            external_id=f"wr-{i}",
            workflow_id="wf",
            workflow_name=lazystr("Name é ✓"),  # a lazy string: Django's own path
            status=status,
            raw_status="approved",
            outcome="clear" if i % 2 else "",
            reasons=["a", {"nested": [1, 2.5, None]}],
            summary="line 1\nline 2 'quoted' \"double\" end",
            risk_score=None if i % 2 else 0.25 + i,
            link_expires_at=None,
            provider_created_at=AT + dt.timedelta(days=i),
            provider_updated_at=AT.astimezone(dt.timezone(dt.timedelta(hours=5))),
            started_at=AT.replace(tzinfo=None) if i == 3 else AT,  # naive: warned
            completed_at=None,
            raw_payload=payload if payload is not None else {"id": f"wr-{i}", "n": i},
            payload_hash="h" * 64,
            source_version=str(i),
            last_synced_at=AT,
            detail_read_at=AT,
        )
        for i in range(n)
    ]


def _checks(connection, sessions):
    return [
        Check(
            connection=connection,
            session_id=session.pk,
            external_id=f"chk-{session.external_id}",
            check_type="document",
            kind="document",
            status="completed",
            outcome="clear",
            breakdown={"x": {"y": True}},
            provider_created_at=AT,
            provider_updated_at=None,
            document_expires_on=dt.date(2030, 1, 31),
            raw_payload=[1, "two"],
            payload_hash="c" * 64,
            last_synced_at=AT,
        )
        for session in sessions
    ]


def _stored(model, connection):
    """The rows as the database holds them (no field converts them back)."""
    table = model._meta.db_table
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {table} WHERE connection_id = %s ORDER BY external_id",  # noqa: S608 - a model's table
            [connection.pk],
        )
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    return [
        {k: v for k, v in zip(names, row, strict=True) if k not in WRITE_TIME_COLUMNS}
        for row in rows
    ]


def _both(model, make, *, update_fields, **kwargs):
    """Write the same rows with Django's bulk_create and with keyed_rows_upsert."""
    django_conn = ProviderConnectionFactory(kind="onfido", slug="by-django")
    keyed_conn = ProviderConnectionFactory(kind="onfido", slug="by-keyed")
    django_rows, keyed_rows = make(django_conn), make(keyed_conn)
    model.objects.bulk_create(
        django_rows,
        update_conflicts=True,
        unique_fields=["connection", "external_id"],
        update_fields=update_fields,
        batch_size=500,
    )
    keyed_rows_upsert(model, keyed_rows, update_fields=update_fields, **kwargs)
    return (django_conn, django_rows), (keyed_conn, keyed_rows)


def _written_alike(model, make, *, update_fields, batch_size=500):
    """Write with both (`_both`), check the stored rows are the same, and
    return the keyed writer's connection and rows."""
    (django_conn, _), (keyed_conn, rows) = _both(
        model, make, update_fields=update_fields, batch_size=batch_size
    )
    assert _stored(model, keyed_conn) == _stored(model, django_conn)
    return keyed_conn, rows


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_sessions_are_stored_as_bulk_create_stores_them():
    keyed_conn, _ = _written_alike(
        WorkflowSession, _sessions, update_fields=SESSION_SYNC_FIELDS
    )
    stored = WorkflowSession.objects.get(connection=keyed_conn, external_id="wr-1")
    assert stored.reasons == ["a", {"nested": [1, 2.5, None]}]
    assert stored.provider_updated_at == AT
    assert stored.first_seen_at is not None  # auto_now_add, as bulk_create fills it


# Values whose JSON and SQL forms are easy to get wrong.
AWKWARD_TEXT = "back\\slash \"q\" 's' \t tab \x01 \u2028 ☃ 𝄞 \\u0000 as text"
AWKWARD_PAYLOAD = {
    "s": AWKWARD_TEXT,
    # (PostgreSQL's jsonb gives 1e300 back as an integer, whoever wrote it.)
    "f": [0.1, 1e-7, 123456.789, -2.5, 0.0],
    "i": [2**53 + 1, 2**70, -1],
    "b": [True, False],
    "n": None,
    "é": {"nested": [[], {}]},
    # Words the strict serialisation must look at (the spliced text: NaN is not JSON).
    "words": ["NaN", "-Infinity", "a NaN inside"],
}


def _awkward_sessions(connection, n=3):
    rows = _sessions(connection, n=n, payload=AWKWARD_PAYLOAD)
    rows[0].summary = AWKWARD_TEXT
    rows[0].status = Status.COMPLETED  # an enum member: stored as its value
    rows[1].risk_score = 1e-300
    rows[2].started_at = AT.astimezone(dt.timezone(dt.timedelta(hours=-9, minutes=-30)))
    rows[2].reasons = "a bare string in a JSON column"
    return rows


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_awkward_values_are_stored_as_bulk_create_stores_them():
    keyed_conn, _ = _written_alike(
        WorkflowSession, _awkward_sessions, update_fields=SESSION_SYNC_FIELDS
    )
    stored = WorkflowSession.objects.get(connection=keyed_conn, external_id="wr-0")
    assert stored.raw_payload == AWKWARD_PAYLOAD
    assert stored.summary == AWKWARD_TEXT


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_postgresql_reads_a_batch_as_one_json_text_unless_a_value_has_no_json_form(
    monkeypatch,
):
    if db_connection.vendor != "postgresql":
        pytest.skip("the JSON batch is PostgreSQL's")
    connection = ProviderConnectionFactory(kind="onfido")
    plain, odd = _awkward_sessions(connection), _sessions(connection, n=2)
    for row in odd:
        row.external_id += "-odd"
    odd[1].risk_score = float("nan")  # no JSON form: the arrays carry it
    large = _sessions(connection, n=2)
    for row in large:
        row.external_id += "-large"
    monkeypatch.setattr(bulk_write, "JSON_BATCH_MAX_CHARS", 100_000)
    large[0].raw_payload = {"blob": "x" * 100_000}  # over the cap: the arrays

    with CaptureQueriesContext(db_connection) as queries:
        keyed_rows_upsert(
            WorkflowSession, plain, update_fields=SESSION_SYNC_FIELDS, batch_size=500
        )
        keyed_rows_upsert(
            WorkflowSession, odd, update_fields=SESSION_SYNC_FIELDS, batch_size=500
        )
        keyed_rows_upsert(
            WorkflowSession, large, update_fields=SESSION_SYNC_FIELDS, batch_size=500
        )

    first, second, third = (query["sql"] for query in queries.captured_queries)
    assert "UNNEST" in third
    assert WorkflowSession.objects.get(pk=large[0].pk).raw_payload == {
        "blob": "x" * 100_000
    }
    assert "jsonb_to_recordset" in first
    assert "UNNEST" in second
    assert "jsonb_to_recordset" not in second
    assert math.isnan(WorkflowSession.objects.get(pk=odd[1].pk).risk_score)
    assert WorkflowSession.objects.get(pk=plain[0].pk).raw_payload == AWKWARD_PAYLOAD


def test_every_row_gets_the_primary_key_of_its_own_key():
    connection = ProviderConnectionFactory(kind="onfido")
    rows = _sessions(connection, n=7)

    keyed_rows_upsert(
        WorkflowSession, rows, update_fields=SESSION_SYNC_FIELDS, batch_size=3
    )

    stored = dict(
        WorkflowSession.objects.filter(connection=connection).values_list(
            "external_id", "pk"
        )
    )
    assert len(stored) == 7
    assert {row.external_id: row.pk for row in rows} == stored
    assert all(not row._state.adding for row in rows)


def test_a_second_write_updates_only_the_sync_fields_and_keeps_the_ids():
    connection = ProviderConnectionFactory(kind="onfido")
    first = _sessions(connection, n=3)
    keyed_rows_upsert(
        WorkflowSession, first, update_fields=SESSION_SYNC_FIELDS, batch_size=500
    )
    WorkflowSession.objects.filter(connection=connection).update(
        case_state="in_review"  # review state: never written by the sync
    )
    again = _sessions(connection, n=4, status="failed", payload={"changed": True})

    keyed_rows_upsert(
        WorkflowSession, again, update_fields=SESSION_SYNC_FIELDS, batch_size=500
    )

    assert [row.pk for row in again[:3]] == [row.pk for row in first]
    stored = {s.external_id: s for s in WorkflowSession.objects.all()}
    assert {s.status for s in stored.values()} == {"failed"}
    assert stored["wr-0"].raw_payload == {"changed": True}
    assert stored["wr-0"].case_state == "in_review"
    assert stored["wr-3"].pk == again[3].pk


def test_checks_and_provider_clients_are_stored_as_bulk_create_stores_them():
    def checks(connection):
        sessions = _sessions(connection, n=3)
        keyed_rows_upsert(
            WorkflowSession, sessions, update_fields=SESSION_SYNC_FIELDS, batch_size=500
        )
        return _checks(connection, sessions)

    (django_conn, _), (keyed_conn, _) = _both(
        Check, checks, update_fields=CHECK_SYNC_FIELDS, batch_size=2
    )
    django_checks = _stored(Check, django_conn)
    keyed_checks = _stored(Check, keyed_conn)
    for row in django_checks + keyed_checks:
        row.pop("session_id")  # each connection has its own sessions
    assert keyed_checks == django_checks
    assert keyed_checks[0]["document_expires_on"] == dt.date(2030, 1, 31)

    def clients(connection):
        return [
            ProviderClient(
                connection=connection,
                external_id=f"app-{i}",
                name="Ada Lovelace",
                external_reference=f"cust-{i}",
                raw_payload={"id": f"app-{i}"},
                payload_hash="p" * 64,
            )
            for i in range(3)
        ]

    _, rows = _written_alike(
        ProviderClient, clients, update_fields=PROVIDER_CLIENT_SYNC_FIELDS
    )
    assert all(row.created_at and row.updated_at for row in rows)  # auto_now(_add)


def test_values_of_other_types_take_the_fields_own_conversion():
    connection = ProviderConnectionFactory(kind="onfido")
    rows = _sessions(connection, n=1)
    rows[0].risk_score = decimal.Decimal("0.5")  # a float column given a Decimal
    rows[0].workflow_version = 7  # a text column given an int
    rows[0].reasons = ("a", "b")  # JSON given a tuple

    keyed_rows_upsert(
        WorkflowSession, rows, update_fields=SESSION_SYNC_FIELDS, batch_size=500
    )

    stored = WorkflowSession.objects.get(pk=rows[0].pk)
    assert (stored.risk_score, stored.workflow_version, stored.reasons) == (
        0.5,
        "7",
        ["a", "b"],
    )


def test_an_expression_value_is_written_through_django():
    connection = ProviderConnectionFactory(kind="onfido")
    rows = _sessions(connection, n=2)
    rows[1].last_synced_at = Now()
    before = timezone.now()

    keyed_rows_upsert(
        WorkflowSession, rows, update_fields=SESSION_SYNC_FIELDS, batch_size=500
    )

    stored = WorkflowSession.objects.get(pk=rows[1].pk)
    assert stored.last_synced_at >= before - dt.timedelta(seconds=1)
    assert WorkflowSession.objects.get(pk=rows[0].pk).last_synced_at == AT


def test_nothing_to_write_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        keyed_rows_upsert(
            WorkflowSession, [], update_fields=SESSION_SYNC_FIELDS, batch_size=500
        )


def test_one_statement_per_batch(django_assert_num_queries):
    connection = ProviderConnectionFactory(kind="onfido")
    rows = _sessions(connection, n=5)

    with django_assert_num_queries(3):
        keyed_rows_upsert(
            WorkflowSession, rows, update_fields=SESSION_SYNC_FIELDS, batch_size=2
        )


def _raw_rows(model, session_ids):
    table = model._meta.db_table
    column = "workflowsession_id" if model._meta.auto_created else "session_id"
    placeholders = ", ".join(["%s"] * len(session_ids))
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {table} WHERE {column} IN ({placeholders}) ORDER BY id",  # noqa: S608 - a model's table
            list(session_ids),
        )
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    return [
        {k: v for k, v in zip(names, row, strict=True) if k not in {"id", column}}
        for row in rows
    ]


def test_rows_without_a_key_are_inserted_as_bulk_create_inserts_them():
    tag = Tag.objects.create(name="vip", kind="user")
    through = WorkflowSession.tags.through

    def written_by(write, slug):
        connection = ProviderConnectionFactory(kind="onfido", slug=slug)
        sessions = _sessions(connection, n=3)
        keyed_rows_upsert(
            WorkflowSession, sessions, update_fields=SESSION_SYNC_FIELDS, batch_size=500
        )
        policies = [
            PolicyAssurance(
                session_id=session.pk,
                policy_id="p1",
                policy_name="Policy ✓",
                outcome="clear",
                details={"rules": [1, 2.5, None]},
                evaluated=position % 2 == 0,
                position=position,
            )
            for session in sessions
            for position in range(2)
        ]
        # Several rows a statement (UNNEST on PostgreSQL), then the same
        # again: conflicts, ignored.
        write(PolicyAssurance, policies, True)
        write(PolicyAssurance, policies[:3], True)
        write(
            SessionReason,
            [
                SessionReason(session_id=s.pk, code="other", raw=f"x{n}", position=n)
                for s in sessions
                for n in range(2)
            ],
            False,
        )
        links = [through(workflowsession_id=s.pk, tag_id=tag.pk) for s in sessions]
        write(through, links + links[:1], True)  # a duplicate within one statement
        ids = [s.pk for s in sessions]
        return {
            model.__name__: _raw_rows(model, ids)
            for model in (PolicyAssurance, SessionReason, through)
        }

    by_django = written_by(
        lambda model, rows, ignore: model.objects.bulk_create(
            rows, ignore_conflicts=ignore
        ),
        "by-django",
    )
    by_rows_insert = written_by(
        lambda model, rows, ignore: rows_insert(
            model, rows, batch_size=500, ignore_conflicts=ignore
        ),
        "by-rows-insert",
    )

    assert by_rows_insert == by_django
    assert [len(rows) for rows in by_django.values()] == [6, 6, 3]


def test_a_related_row_saved_by_the_upsert_gives_its_id_and_an_unsaved_one_is_refused():
    connection = ProviderConnectionFactory(kind="onfido")
    (session,) = _sessions(connection, n=1)
    check = _checks(connection, [session])[0]
    check.session = session  # assigned while the session has no id yet
    keyed_rows_upsert(
        WorkflowSession, [session], update_fields=SESSION_SYNC_FIELDS, batch_size=500
    )

    keyed_rows_upsert(Check, [check], update_fields=CHECK_SYNC_FIELDS, batch_size=500)

    assert Check.objects.get(pk=check.pk).session_id == session.pk
    orphan = _checks(connection, [WorkflowSession(connection=connection)])[0]
    orphan.session = WorkflowSession(connection=connection, external_id="never-saved")
    with pytest.raises(ValueError, match="unsaved"):
        keyed_rows_upsert(
            Check, [orphan], update_fields=CHECK_SYNC_FIELDS, batch_size=500
        )


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="positive"):
        rows_insert(SessionReason, [], batch_size=0)
