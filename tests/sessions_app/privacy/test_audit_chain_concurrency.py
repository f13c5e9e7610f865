"""Several writers at once keep one valid chain; PostgreSQL refuses edits."""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, connections, transaction

from sessions_app.models import AuditEvent
from sessions_app.privacy.audit_chain import chain_verify
from sessions_app.services import audit_event_record
from tests.helpers.audit_chain import events_write
from tests.helpers.processes import FileDatabase, migrated_template

WRITERS = 4
EVENTS_EACH = 25

WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, django
    django.setup()
    from django.db import transaction
    from sessions_app.services import audit_event_record
    writer, count = sys.argv[1], int(sys.argv[2])
    for index in range(count):
        with transaction.atomic():
            audit_event_record(
                actor=None, source="command", action="test.concurrent",
                object_type="tests.writer", object_id=writer, after={"index": index},
            )
    """
)


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("verity-audit-template"))


def test_processes_writing_at_once_on_one_sqlite_file_keep_the_chain(
    tmp_path, sqlite_template
):
    db = FileDatabase(tmp_path, sqlite_template)
    writers = [
        db.popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(n), str(EVENTS_EACH)],
            tmp_path / f"writer-{n}.log",
        )
        for n in range(WRITERS)
    ]
    codes = [process.wait(timeout=120) for process in writers]
    logs = [(tmp_path / f"writer-{n}.log").read_text() for n in range(WRITERS)]
    assert codes == [0] * WRITERS, logs
    done = db.manage("audit_verify")
    assert f"intact: {WRITERS * EVENTS_EACH} event(s)" in done.stdout


def _write_in_thread(count: int, writer: int, errors: list[BaseException]) -> None:
    try:
        for index in range(count):
            with transaction.atomic():
                audit_event_record(
                    actor=None,
                    source="command",
                    action="test.concurrent",
                    object_type="tests.writer",
                    object_id=str(writer),
                    after={"index": index},
                )
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.postgres  # truly concurrent connections; SQLite: the processes above
@pytest.mark.django_db(transaction=True)
def test_threads_writing_at_once_on_postgresql_keep_the_chain():
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_write_in_thread, args=(EVENTS_EACH, n, errors))
        for n in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    finding = chain_verify()
    assert finding.intact, finding
    assert finding.events_checked == WRITERS * EVENTS_EACH
    assert sorted(AuditEvent.objects.values_list("sequence", flat=True)) == list(
        range(1, WRITERS * EVENTS_EACH + 1)
    )


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE sessions_app_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM sessions_app_auditevent WHERE id = %s",
    ],
)
def test_postgresql_refuses_to_update_or_delete_an_event(statement):
    (event,) = events_write(1)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_refuses_the_orm_too():
    (event,) = events_write(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(object_repr="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert chain_verify().intact
