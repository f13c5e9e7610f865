"""The streamed, audited CSV response (exports/stream.py): the file name,
quoting, tags per chunk, reading in chunks, a query count that does not grow
with the rows, the audit event (also of a download cut short), exact check
counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.db.models.query import QuerySet
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app import exports, selectors
from sessions_app.models import AuditEvent, Check, Outcome, TagKind, WorkflowSession
from tests.factories import (
    CheckFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    TagFactory,
    WorkflowSessionFactory,
)
from tests.helpers.exports import (
    CHECKS_URL,
    NOW,
    SESSIONS_URL,
    csv_column,
    csv_ids,
    csv_read,
)

pytestmark = pytest.mark.django_db


# --- File name, quoting, tags ----------------------------------------------------------


def test_export_filename_is_sanitised_and_summarises_filters():
    name = exports.export_filename(
        kind="sessions",
        filters={"status": "completed,failed", "q": 'A"b/../c\r\n'},
        today=dt.date(2026, 3, 10),
    )
    assert name == "verity-sessions-20260310-status-completed-failed_q-a-b-..-c.csv"
    assert exports.export_filename(
        kind="checks", filters={}, today=dt.date(2026, 1, 2)
    ) == ("verity-checks-20260102-all.csv")
    long = exports.export_filename(kind="sessions", filters={"q": "x" * 500})
    assert len(long) < 100


def test_sessions_csv_tags_are_joined_in_page_order(queue, exporter_client):
    header, rows = csv_read(
        exporter_client.get(SESSIONS_URL, {"status": "in_progress"})
    )
    on_page = selectors.session_queryset().get(pk=queue[2].pk).tags.all()
    assert [t.name for t in on_page] == ["manual", "vip"]
    assert csv_column(header, rows, "Tags") == ["manual; vip"]


def test_every_cell_is_quoted(queue, exporter_client):
    body = b"".join(exporter_client.get(SESSIONS_URL).streaming_content).decode(
        "utf-8-sig"
    )
    first_line = body.split("\r\n", 1)[0]
    assert first_line.startswith('"Verity id","Provider",')
    data_line = body.split("\r\n")[1]
    assert data_line.startswith(f'"{queue[0].pk}","onfido-eu",')


# --- Streaming and memory ----------------------------------------------------------------


def test_response_streams_and_reads_the_database_in_chunks(
    exporter_client, monkeypatch, settings
):
    """Python path: rows are produced while the body is read, one chunk at a time."""
    settings.VERITY_EXPORT_POSTGRES_COPY = False
    monkeypatch.setattr(exports.stream, "CHUNK_SIZE", 10)
    monkeypatch.setattr(exports.stream, "WRITE_BATCH", 4)
    connection_ = ProviderConnectionFactory()
    for i in range(25):
        WorkflowSessionFactory(
            connection=connection_, provider_created_at=NOW - dt.timedelta(minutes=i)
        )
    iterator_calls = []
    original_iterator = QuerySet.iterator

    def recording_iterator(self, chunk_size=None):
        iterator_calls.append((self.model.__name__, chunk_size))
        return original_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", recording_iterator)
    response = exporter_client.get(SESSIONS_URL)
    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    assert not hasattr(response, "content"), "no buffered body"
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    stream = iter(response.streaming_content)
    assert iterator_calls == [], "nothing is read before the body is consumed"
    with CaptureQueriesContext(connection) as first_pieces:
        next(stream)  # BOM + header
        next(stream)  # first batch of 4 rows: reads chunk 1 only
    assert iterator_calls == [("WorkflowSession", 10)]
    tag_queries = [
        q for q in first_pieces.captured_queries if "workflowsession_tags" in q["sql"]
    ]
    assert len(tag_queries) == 1, "only the first chunk's tags so far"
    with CaptureQueriesContext(connection) as rest:
        pieces = list(stream)
    tag_queries = [
        q for q in rest.captured_queries if "workflowsession_tags" in q["sql"]
    ]
    assert len(tag_queries) == 2, "chunks 2 and 3"
    # 25 rows in batches of 4: 7 pieces after the header (the first already read).
    assert len(pieces) == 6


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (SESSIONS_URL, {}),
        (CHECKS_URL, {}),
        # The search's narrowing queries and a sort: still nothing per row.
        (SESSIONS_URL, {"q": "Budget", "tag": "vip", "sort": "-updated"}),
        (CHECKS_URL, {"q": "Budget", "tag": "vip", "session_status": "completed"}),
    ],
)
def test_export_query_count_does_not_grow_with_rows(
    url, params, exporter_client, django_assert_max_num_queries
):
    tag = TagFactory(name="vip")
    pc = ProviderClientFactory(name="Budget Ltd")

    def grow(n: int) -> None:
        for _ in range(n):
            session = WorkflowSessionFactory(
                tags=[tag], connection=pc.connection, provider_client=pc
            )
            CheckFactory(session=session)

    grow(5)
    # Session and user, permissions, the audit row (three statements: the chain
    # head, the row, the head's hash), the rows (on PostgreSQL one COPY in a
    # savepoint, elsewhere the rows and the chunk's tags), the "finished" audit
    # row (three again, in its own transaction), the search's two, the tag's
    # id and the filter's check that the tag exists: nothing per row.
    with django_assert_max_num_queries(21) as small:
        b"".join(exporter_client.get(url, params).streaming_content)
    grow(45)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = exporter_client.get(url, params)
        assert len(b"".join(response.streaming_content).splitlines()) == 51


# --- Content-Disposition and audit -------------------------------------------------------


def test_attachment_filename_summarises_the_filters(queue, exporter_client):
    response = exporter_client.get(
        SESSIONS_URL, {"status": "completed", "tag": "vip", "sort": "-updated"}
    )
    today = timezone.now().astimezone(dt.UTC)
    assert response["Content-Disposition"] == (
        f'attachment; filename="verity-sessions-{today:%Y%m%d}-status-completed_tag-vip.csv"'
    )
    assert response["Cache-Control"] == "private, no-store"
    b"".join(response.streaming_content)


def test_export_is_audited_with_filters_and_row_count(queue, exporter, exporter_client):
    response = exporter_client.get(
        SESSIONS_URL, {"status": "completed", "provider": "onfido-eu"}
    )
    event = AuditEvent.objects.get(action="export.sessions_csv")
    # Written before the first byte, with the filters; count not known yet.
    assert event.actor == exporter
    assert event.source == "web"
    assert event.object_type == "sessions_app.workflowsession"
    assert event.after == {
        "filters": {"status": "completed", "provider": "onfido-eu"},
        "filename": event.object_repr,
        "personal_data": "masked",  # an exporter without export_personal_data
        "sort": "-created",
    }
    assert event.after["filename"].startswith("verity-sessions-")
    assert not AuditEvent.objects.filter(action__endswith=".finished").exists()
    _, rows = csv_read(response)
    # The end is a second event naming the first: the first is never updated.
    finished = AuditEvent.objects.get(action="export.sessions_csv.finished")
    assert finished.sequence == event.sequence + 1
    assert (finished.actor, finished.source) == (exporter, "web")
    assert (finished.object_type, finished.object_id) == (
        event.object_type,
        str(event.pk),
    )
    assert finished.after == {
        "export_event_id": event.pk,
        "filename": event.object_repr,
        "row_count": len(rows),
        "completed": True,
    }
    assert len(rows) == 3
    unchanged = AuditEvent.objects.get(pk=event.pk)
    assert (unchanged.after, unchanged.hash) == (event.after, event.hash)


def test_interrupted_download_still_records_what_was_sent(exporter, rf, monkeypatch):
    """Both paths: on PostgreSQL closing the stream cancels the COPY mid-way."""
    monkeypatch.setattr(exports.stream, "WRITE_BATCH", 2)
    for _ in range(5):
        WorkflowSessionFactory()
    request = rf.get(SESSIONS_URL)
    request.user = exporter
    response = exports.sessions_csv(request)
    stream = iter(response.streaming_content)
    next(stream)
    next(stream)  # header, then two rows
    # The client went away: the WSGI server closes the response. Closing also
    # fires request_finished, which would close the test's own connection
    # (PostgreSQL); Django's test client mutes that handler the same way.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    event = AuditEvent.objects.get(action="export.sessions_csv.finished")
    assert event.after["row_count"] == 2
    assert event.after["completed"] is False
    # On PostgreSQL the COPY was cancelled; the test's transaction survived it.
    assert WorkflowSession.objects.count() == 5


def test_checks_export_is_audited(queue, exporter_client):
    _, rows = csv_read(exporter_client.get(CHECKS_URL, {"outcome": "clear"}))
    event = AuditEvent.objects.get(action="export.checks_csv")
    assert event.object_type == "sessions_app.check"
    assert event.after["filters"] == {"outcome": "clear"}
    finished = AuditEvent.objects.get(action="export.checks_csv.finished")
    assert finished.after["row_count"] == len(rows) == 2
    assert finished.after["export_event_id"] == event.pk


# --- Check counts: one grouped join ------------------------------------------------------

COUNT_COLUMNS = {
    "Checks clear": Outcome.CLEAR,
    "Checks attention": Outcome.ATTENTION,
    "Checks rejected": Outcome.REJECTED,
    "Checks without outcome": Outcome.NONE,
}


@pytest.mark.parametrize("params", [{}, {"tag": "vip"}, {"q": "Count"}])
def test_check_counts_per_outcome_are_exact_and_rows_are_not_repeated(
    params, exporter_client
):
    outcomes = list(COUNT_COLUMNS.values())
    tags = [TagFactory(name="vip"), TagFactory(name="ops", kind=TagKind.TECHNICAL)]
    pc = ProviderClientFactory(name="Count Me Ltd")
    made = []
    # 0..3 checks of each outcome in varying mixes, several tags per session.
    for i in range(8):
        session = WorkflowSessionFactory(
            connection=pc.connection,
            provider_client=pc,
            tags=tags[: i % 3],
            provider_created_at=NOW - dt.timedelta(hours=i),
        )
        for k, outcome in enumerate(outcomes):
            for _ in range((i + k) % 4):
                CheckFactory(session=session, outcome=outcome)
        made.append(session)
    header, rows = csv_read(exporter_client.get(SESSIONS_URL, params))
    ids = csv_ids(header, rows)
    assert len(ids) == len(set(ids))
    expected = {
        s.pk
        for s in made
        if "tag" not in params or any(t.name == "vip" for t in s.tags.all())
    }
    assert set(ids) == expected
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        session_id = int(cells["Verity id"])
        for column, outcome in COUNT_COLUMNS.items():
            truth = Check.objects.filter(session_id=session_id, outcome=outcome).count()
            assert int(cells[column]) == truth, (session_id, column)
    # Some session has none of some outcome, some has three: 0..n covered.
    counts = {
        cell for column in COUNT_COLUMNS for cell in csv_column(header, rows, column)
    }
    assert {"0", "3"} <= counts
