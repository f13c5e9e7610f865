"""CSV exports: same rows as the review queue, safe cells, streamed, audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.contrib import admin as django_admin
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.db.models.query import QuerySet
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sessions_app import exports, filters, selectors
from sessions_app.exports import csv_datetime, csv_number, csv_safe_cell
from sessions_app.models import (
    AuditEvent,
    Check,
    Outcome,
    ProviderKind,
    Status,
    TagKind,
    WorkflowSession,
)
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    ReviewFactory,
    TagFactory,
    UserFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db

SESSIONS_URL = reverse("sessions-export")
CHECKS_URL = reverse("checks-export")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)

# OWASP CSV Injection payloads, each expected back with a leading quote.
FORMULA_PAYLOADS = [
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=1",
    '=HYPERLINK("http://x")',
]
# Harmless but awkward: must come back byte for byte.
AWKWARD_TEXT = 'Smith, "Jo"\nsecond line; 50% = half'


def _parse(body: bytes) -> tuple[list[str], list[list[str]]]:
    """Return (header, rows) of a CSV body as csv.reader sees them."""
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel"
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def _read(response) -> tuple[list[str], list[list[str]]]:
    """Consume a CSV response; return (header, rows)."""
    return _parse(b"".join(response.streaming_content))


def _column(header: list[str], rows: list[list[str]], name: str) -> list[str]:
    index = header.index(name)
    return [row[index] for row in rows]


def _ids(
    header: list[str], rows: list[list[str]], name: str = "Verity id"
) -> list[int]:
    return [int(v) for v in _column(header, rows, name)]


@pytest.fixture
def queue(exporter, reviewer):
    """A small queue exercising every filter: two providers, statuses,
    outcomes, tags, assignees, clients and identical creation times."""
    onfido = ProviderConnectionFactory(kind=ProviderKind.ONFIDO, slug="onfido-eu")
    cube = ProviderConnectionFactory(kind=ProviderKind.COMPLYCUBE, slug="cube")
    vip = TagFactory(name="vip")
    manual = TagFactory(name="manual", kind=TagKind.TECHNICAL)
    acme = ClientFactory(display_name="Acme Holdings", reference="acme-1")
    acme_pc = ProviderClientFactory(connection=onfido, client=acme, name="ACME Ltd")
    made = []
    specs = [
        # connection, status, outcome, tags, assignee, days ago, workflow
        (onfido, Status.COMPLETED, Outcome.CLEAR, [vip], reviewer, 1, "kyc"),
        (onfido, Status.COMPLETED, Outcome.REJECTED, [], None, 2, "kyc"),
        (onfido, Status.IN_PROGRESS, Outcome.NONE, [vip, manual], exporter, 3, "kyb"),
        (cube, Status.COMPLETED, Outcome.ATTENTION, [manual], reviewer, 3, "kyc"),
        (cube, Status.FAILED, Outcome.NONE, [], None, 10, "kyb"),
        (cube, Status.COMPLETED, Outcome.CLEAR, [vip], None, 40, "kyc"),
    ]
    for conn, status, outcome, tags, assignee, days, workflow in specs:
        made.append(
            WorkflowSessionFactory(
                connection=conn,
                status=status,
                outcome=outcome,
                tags=tags,
                assignee=assignee,
                workflow_id=workflow,
                provider_created_at=NOW - dt.timedelta(days=days),
            )
        )
    # Same creation time as made[2] and made[3]: the id must break the tie.
    made.append(
        WorkflowSessionFactory(
            connection=onfido,
            provider_client=acme_pc,
            provider_created_at=NOW - dt.timedelta(days=3),
        )
    )
    CheckFactory(session=made[0], outcome=Outcome.CLEAR)
    CheckFactory(session=made[0], outcome=Outcome.CLEAR)
    CheckFactory(session=made[0], outcome=Outcome.ATTENTION)
    CheckFactory(session=made[1], outcome=Outcome.REJECTED)
    CheckFactory(session=made[2], outcome=Outcome.NONE)
    return made


# --- csv_safe_cell and friends -------------------------------------------------------


@pytest.mark.parametrize("payload", FORMULA_PAYLOADS)
def test_csv_safe_cell_neutralises_formula_triggers(payload):
    assert csv_safe_cell(payload) == "'" + payload


@pytest.mark.parametrize(
    "value",
    ["Acme", "", "  =not at start", "a=b", "50%", "'already quoted", AWKWARD_TEXT],
)
def test_csv_safe_cell_leaves_plain_text_exactly(value):
    assert csv_safe_cell(value) == value


def test_csv_safe_cell_none_is_empty_and_numbers_become_text():
    assert csv_safe_cell(None) == ""
    # A number reaching a *text* column is treated as text, trigger rules apply.
    assert csv_safe_cell(-5) == "'-5"


def test_numeric_and_date_cells_are_written_as_is():
    assert csv_number(-5) == "-5"
    assert csv_number(0) == "0"
    assert csv_number(None) == ""
    moment = dt.datetime(2026, 1, 31, 9, 30, 5, 123456, tzinfo=dt.UTC)
    assert csv_datetime(moment) == "2026-01-31T09:30:05Z"
    paris = moment.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert csv_datetime(paris) == "2026-01-31T09:30:05Z"
    assert csv_datetime(None) == ""


def test_numeric_and_date_columns_never_go_through_the_text_guard():
    numeric = {
        "id",
        "session_id",
        "provider_client__client_id",
        "session__provider_client__client_id",
        "checks_clear",
        "checks_attention",
        "checks_rejected",
        "checks_none",
    }
    for column in (*exports.SESSION_COLUMNS, *exports.CHECK_COLUMNS):
        if column.field in numeric:
            assert column.format is csv_number, column.header
        elif "(UTC)" in column.header:
            assert column.format is csv_datetime, column.header
        else:
            assert column.format is csv_safe_cell, column.header


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


# --- Same rows as the queue ------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"provider": "onfido-eu"},
        {"provider": "onfido-eu,cube"},
        {"provider_kind": "complycube"},
        {"status": "completed"},
        {"status": "completed,failed"},
        {"outcome": "none"},
        {"outcome": "clear,rejected"},
        {"tag": "vip"},
        {"tag": "manual"},
        {"q": "acme"},
        {"workflow": "kyb"},
        {"created_after": "2026-03-07"},
        {"created_before": "2026-03-07"},
        {"created_after": "2026-03-01", "created_before": "2026-03-08T00:00:00Z"},
        {"assignee": "rita-reviewer"},
        {"assignee": "none"},
        {"assignee": "me"},
        {"needs_attention": "true"},
        {"assignee": "nobody-by-that-name"},
        {"status": "completed", "tag": "vip", "provider": "onfido-eu"},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "no-filter",
)
def test_sessions_csv_rows_equal_the_queue_for_the_same_filters(
    params, queue, exporter, exporter_client, rf
):
    response = exporter_client.get(SESSIONS_URL, params)
    assert response.status_code == 200
    header, rows = _read(response)
    request = rf.get("/sessions/", params)
    request.user = exporter  # `assignee=me` means the exporter, as on the page
    expected = [s.pk for s in filters.session_list(params=request.GET, request=request)]
    assert _ids(header, rows) == expected
    # The queue's own order: newest first, ties broken by the higher id.
    assert expected == [
        s.pk
        for s in sorted(
            queue, key=lambda s: (s.provider_created_at, s.pk), reverse=True
        )
        if s.pk in expected
    ]


def test_sessions_csv_header_and_one_full_row(queue, exporter_client):
    session = queue[0]
    header, rows = _read(
        exporter_client.get(
            SESSIONS_URL, {"tag": "vip", "provider": "onfido-eu", "status": "completed"}
        )
    )
    assert header == [c.header for c in exports.SESSION_COLUMNS] + [
        "Tags",
        "Verity URL",
    ]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    client = session.provider_client.client
    assert row == {
        "Verity id": str(session.pk),
        "Provider": "onfido-eu",
        "Provider kind": "onfido",
        "External id": session.external_id,
        "Client": client.display_name,
        "Client id": str(client.pk),
        "Provider client name": session.provider_client.name,
        "Workflow id": "kyc",
        "Workflow name": "KYC standard",
        "Workflow version": "3",
        "Status": "completed",
        "Raw status": "approved",
        "Outcome": "clear",
        "Raw outcome": "approved",
        "Checks clear": "2",
        "Checks attention": "1",
        "Checks rejected": "0",
        "Checks without outcome": "0",
        "Created (UTC)": "2026-03-09T12:00:00Z",
        "Updated (UTC)": "2026-03-09T12:05:00Z",
        "Started (UTC)": "",
        "Completed (UTC)": "",
        "Last synced (UTC)": csv_datetime(session.last_synced_at),
        "Assignee": "rita-reviewer",
        "Last decision": "",
        "Last decision at (UTC)": "",
        "Tags": "vip",
        "Verity URL": f"http://testserver/sessions/{session.pk}/",
    }


def test_sessions_csv_tags_are_joined_in_page_order(queue, exporter_client):
    header, rows = _read(exporter_client.get(SESSIONS_URL, {"status": "in_progress"}))
    on_page = selectors.session_queryset().get(pk=queue[2].pk).tags.all()
    assert [t.name for t in on_page] == ["manual", "vip"]
    assert _column(header, rows, "Tags") == ["manual; vip"]


def test_session_without_provider_client_exports_empty_cells(exporter_client):
    session = WorkflowSessionFactory(provider_client=None)
    header, rows = _read(exporter_client.get(SESSIONS_URL))
    row = dict(zip(header, rows[0], strict=True))
    assert row["Verity id"] == str(session.pk)
    assert row["Client"] == row["Client id"] == row["Provider client name"] == ""


def test_checks_csv_rows_follow_the_queue_and_the_check_filters(queue, exporter_client):
    header, rows = _read(exporter_client.get(CHECKS_URL))
    ids = _ids(header, rows, "Verity check id")
    expected = list(
        filters.check_filterset(params={}).qs.order_by(*selectors.CHECK_QUEUE_ORDERING)
    )
    assert ids == [c.pk for c in expected]
    # Sessions appear newest first, as in the queue.
    session_ids = _ids(header, rows, "Verity session id")
    assert session_ids == [queue[0].pk] * 3 + [queue[1].pk, queue[2].pk]

    header, rows = _read(
        exporter_client.get(CHECKS_URL, {"outcome": "clear", "session": queue[0].pk})
    )
    assert _column(header, rows, "Outcome") == ["clear", "clear"]
    row = dict(zip(header, rows[0], strict=True))
    assert row["Provider"] == "onfido-eu"
    assert row["Session external id"] == queue[0].external_id
    assert row["Client"] == queue[0].provider_client.client.display_name
    assert row["Verity session URL"] == f"http://testserver/sessions/{queue[0].pk}/"


# --- Hostile cells -------------------------------------------------------------------


def test_injection_payloads_come_out_neutralised_and_readable(exporter_client):
    hostile_client = ClientFactory(display_name='=HYPERLINK("http://x")')
    pc = ProviderClientFactory(client=hostile_client, name="@SUM(A1)")
    sessions = []
    for i, payload in enumerate([*FORMULA_PAYLOADS, AWKWARD_TEXT]):
        sessions.append(
            WorkflowSessionFactory(
                connection=pc.connection,
                provider_client=pc,
                external_id=payload,
                workflow_name=payload,
                raw_status=payload,
                tags=[TagFactory(name=payload)],
                provider_created_at=NOW - dt.timedelta(minutes=i),
            )
        )
    header, rows = _read(exporter_client.get(SESSIONS_URL))
    assert len(rows) == len(sessions)
    by_id = {int(row[0]): dict(zip(header, row, strict=True)) for row in rows}
    for session in sessions:
        row = by_id[session.pk]
        payload = session.workflow_name
        expected = payload if payload == AWKWARD_TEXT else "'" + payload
        assert row["Workflow name"] == expected
        assert row["Raw status"] == expected
        assert row["Tags"] == expected
        assert row["Client"] == '\'=HYPERLINK("http://x")'
        assert row["Provider client name"] == "'@SUM(A1)"
        # Numbers and dates are untouched by the guard.
        assert row["Verity id"] == str(session.pk)
        assert row["Created (UTC)"] == csv_datetime(session.provider_created_at)
        assert row["External id"] == expected
        assert row["Checks clear"] == "0"


def test_every_cell_is_quoted(queue, exporter_client):
    body = b"".join(exporter_client.get(SESSIONS_URL).streaming_content).decode(
        "utf-8-sig"
    )
    first_line = body.split("\r\n", 1)[0]
    assert first_line.startswith('"Verity id","Provider",')
    data_line = body.split("\r\n")[1]
    assert data_line.startswith(f'"{queue[0].pk}","onfido-eu",')


def test_negative_number_in_a_numeric_column_stays_a_number(exporter_client):
    # Ids are never negative in practice; one made by hand proves the point.
    client = ClientFactory(pk=-5, display_name="-5 Negative Ltd")
    session = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(client=client)
    )
    header, rows = _read(exporter_client.get(SESSIONS_URL))
    row = dict(zip(header, rows[0], strict=True))
    assert row["Verity id"] == str(session.pk)
    assert row["Client id"] == "-5"
    assert row["Client"] == "'-5 Negative Ltd"


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
    # Session and user, permissions, the audit row, the rows (on PostgreSQL one
    # COPY in a savepoint, elsewhere the rows and the chunk's tags), completing
    # the audit row, the search's two, the tag's id: nothing per row.
    with django_assert_max_num_queries(16) as small:
        b"".join(exporter_client.get(url, params).streaming_content)
    grow(45)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = exporter_client.get(url, params)
        assert len(b"".join(response.streaming_content).splitlines()) == 51


# --- Permissions -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [SESSIONS_URL, CHECKS_URL])
@pytest.mark.parametrize(
    ("client_fixture", "expected"),
    [
        ("viewer_client", 403),
        ("reviewer_client", 403),
        ("exporter_client", 200),
        ("admin_client_verity", 200),
    ],
)
def test_only_exporters_and_admins_may_export(url, client_fixture, expected, request):
    WorkflowSessionFactory()
    response = request.getfixturevalue(client_fixture).get(url)
    assert response.status_code == expected
    if expected == 403:
        assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_superuser_may_export(superuser, client):
    client.force_login(superuser)
    assert client.get(SESSIONS_URL).status_code == 200


@pytest.mark.parametrize("url", [SESSIONS_URL, CHECKS_URL])
def test_anonymous_is_sent_to_login(url, client):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_export_is_get_only(exporter_client):
    assert exporter_client.post(SESSIONS_URL).status_code == 405


# --- Invalid filters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (SESSIONS_URL, {"status": "nonsense"}, "status"),
        (SESSIONS_URL, {"created_after": "yesterday"}, "created_after"),
        (SESSIONS_URL, {"created_after": "100%"}, "created_after"),
        (SESSIONS_URL, {"client": "abc"}, "client"),
        (SESSIONS_URL, {"client": "99999999999999999999999"}, "client"),
        (CHECKS_URL, {"outcome": "maybe"}, "outcome"),
        (CHECKS_URL, {"session": "1e400"}, "session"),
    ],
)
def test_invalid_filter_is_a_plain_text_400_and_exports_nothing(
    url, params, field, exporter_client
):
    response = exporter_client.get(url, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "nothing was exported" in text
    assert f"{field}: " in text
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


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
    assert event.after["filters"] == {"status": "completed", "provider": "onfido-eu"}
    assert event.after["row_count"] is None
    assert event.after["completed"] is False
    _, rows = _read(response)
    event.refresh_from_db()
    assert event.after["row_count"] == len(rows) == 3
    assert event.after["completed"] is True
    assert event.after["filename"].startswith("verity-sessions-")
    assert event.object_repr == event.after["filename"]


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
    event = AuditEvent.objects.get(action="export.sessions_csv")
    assert event.after["row_count"] == 2
    assert event.after["completed"] is False
    assert "finished_at" in event.after
    # On PostgreSQL the COPY was cancelled; the test's transaction survived it.
    assert WorkflowSession.objects.count() == 5


def test_checks_export_is_audited(queue, exporter_client):
    _, rows = _read(exporter_client.get(CHECKS_URL, {"outcome": "clear"}))
    event = AuditEvent.objects.get(action="export.checks_csv")
    assert event.object_type == "sessions_app.check"
    assert event.after["filters"] == {"outcome": "clear"}
    assert event.after["row_count"] == len(rows) == 2


# --- Admin action ------------------------------------------------------------------------


def test_admin_action_exports_the_selection_with_the_same_exporter(
    queue, admin_user, admin_client_verity
):
    chosen = [queue[5], queue[0], queue[3]]
    response = admin_client_verity.post(
        reverse("admin:sessions_app_workflowsession_changelist"),
        {"action": "export_selected_csv", "_selected_action": [s.pk for s in chosen]},
    )
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    header, rows = _read(response)
    # Queue order, whatever the selection order.
    assert _ids(header, rows) == [queue[0].pk, queue[3].pk, queue[5].pk]
    assert header == [c.header for c in exports.SESSION_COLUMNS] + [
        "Tags",
        "Verity URL",
    ]
    event = AuditEvent.objects.get(action="export.sessions_csv")
    assert event.source == "admin"
    assert event.actor == admin_user
    assert event.after["filters"] == {
        "selected": "3",
        "selected_ids": sorted(s.pk for s in chosen),
    }
    assert event.after["row_count"] == 3
    assert "-selected-3.csv" in response["Content-Disposition"]


def test_admin_check_action_exports_checks(queue, admin_client_verity):
    check = queue[1].checks.get()
    response = admin_client_verity.post(
        reverse("admin:sessions_app_check_changelist"),
        {"action": "export_selected_csv", "_selected_action": [check.pk]},
    )
    header, rows = _read(response)
    assert _ids(header, rows, "Verity check id") == [check.pk]
    assert AuditEvent.objects.get(action="export.checks_csv").source == "admin"


def test_admin_export_action_needs_the_export_permission(queue, admin_client_verity):
    """The action is offered to admins (all permissions) and hidden from others."""
    model_admin = django_admin.site._registry[WorkflowSession]
    no_export = UserFactory(username="no-export", roles=["viewer", "reviewer"])
    assert not model_admin.has_export_permission(SimpleNamespace(user=no_export))
    page = admin_client_verity.get(
        reverse("admin:sessions_app_workflowsession_changelist")
    )
    assert b"Export selected as CSV" in page.content


# --- Unknown parameters, the checks list's queue filters, the queue's sort -------------


@pytest.mark.parametrize(
    ("url", "params", "unknown"),
    [
        (SESSIONS_URL, {"tags": "vip"}, ["tags"]),
        (SESSIONS_URL, {"status": "completed", "page": "3"}, ["page"]),
        (SESSIONS_URL, {"cursor": "abc", "Status": "failed"}, ["cursor", "Status"]),
        (CHECKS_URL, {"sort": "-created"}, ["sort"]),
        (CHECKS_URL, {"check": "document"}, ["check"]),
    ],
)
def test_unknown_parameter_is_a_400_naming_the_allowed_ones(
    url, params, unknown, queue, exporter_client
):
    response = exporter_client.get(url, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "nothing was exported" in text
    filterset_class = (
        filters.SessionFilterSet if url == SESSIONS_URL else filters.CheckFilterSet
    )
    allowed = list(filterset_class.base_filters) + (
        ["sort"] if url == SESSIONS_URL else []
    )
    for name in unknown:
        assert f"{name}: Unknown parameter. Allowed parameters: " in text
    assert ", ".join(allowed) in text
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_checks_csv_tag_filter_exports_only_tagged_sessions_checks(
    queue, exporter_client
):
    # The audited gap: `?tag=vip` used to export every check, audited `{}`.
    header, rows = _read(exporter_client.get(CHECKS_URL, {"tag": "vip"}))
    assert set(_ids(header, rows, "Verity session id")) == {queue[0].pk, queue[2].pk}
    event = AuditEvent.objects.get(action="export.checks_csv")
    assert event.after["filters"] == {"tag": "vip"}


# The queue's filters on the checks list: check parameter -> queue parameter.
CHECK_QUEUE_PARAMS = [
    {"tag": "vip"},
    {"tag": "manual"},
    {"workflow": "kyc"},
    {"q": "acme"},
    {"q": "nothing matches this"},
    {"assignee": "rita-reviewer"},
    {"assignee": "none"},
    {"assignee": "me"},
    {"needs_attention": "true"},
    {"needs_attention": "false"},
    {"provider_kind": "complycube"},
    {"session_status": "in_progress"},
    {"session_outcome": "clear,rejected"},
    {"session_outcome": "none"},
    {"tag": "vip", "session_status": "completed", "outcome": "clear"},
]


@pytest.mark.parametrize(
    "params",
    CHECK_QUEUE_PARAMS,
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
def test_checks_csv_applies_the_queue_filters_through_the_session(
    params, queue, exporter, exporter_client, rf
):
    queue_params = {
        name.removeprefix("session_"): value
        for name, value in params.items()
        if name not in {"outcome"}
    }
    request = rf.get("/sessions/", queue_params)
    request.user = exporter
    sessions = {s.pk for s in filters.session_list(params=request.GET, request=request)}
    expected = list(
        selectors.check_queryset()
        .filter(session_id__in=sessions)
        .filter(**({"outcome": params["outcome"]} if "outcome" in params else {}))
        .order_by(*selectors.CHECK_QUEUE_ORDERING)
        .values_list("pk", flat=True)
    )
    header, rows = _read(exporter_client.get(CHECKS_URL, params))
    assert _ids(header, rows, "Verity check id") == expected
    event = AuditEvent.objects.get(action="export.checks_csv")
    assert event.after["filters"] == params


@pytest.mark.parametrize("sort", selectors.SESSION_SORT_VALUES)
def test_sessions_csv_lists_rows_in_the_queue_order_for_every_sort(
    sort, queue, exporter_client
):
    # Ties on every sort key, so the id tie-break is exercised both ways.
    page = selectors.session_page(
        queryset=selectors.session_queryset(), sort=sort, page_size=100
    )
    header, rows = _read(exporter_client.get(SESSIONS_URL, {"sort": sort}))
    assert _ids(header, rows) == [s.pk for s in page.items]
    assert AuditEvent.objects.get(action="export.sessions_csv").after["sort"] == sort


def test_queue_export_link_downloads_the_rows_in_the_order_on_screen(
    queue, exporter_client
):
    WorkflowSessionFactory(provider_created_at=NOW - dt.timedelta(days=2))
    params = {"status": "completed", "sort": "provider", "page_size": 50}
    page = exporter_client.get(reverse("session-list"), params)
    assert page.status_code == 200
    on_screen = [s.pk for s in page.context["sessions"]]
    default_order = [
        s.pk
        for s in filters.session_list(params={"status": "completed"}).order_by(
            *selectors.SESSION_QUEUE_ORDERING
        )
    ]
    assert on_screen != default_order, "the sort must change the order here"
    export_url = page.context["export_url"]
    assert "sort=provider" in export_url
    header, rows = _read(exporter_client.get(export_url))
    assert _ids(header, rows) == on_screen


@pytest.mark.parametrize("sort", ["newest", "-", "created,id", "--created"])
def test_unknown_sort_is_a_400_and_exports_nothing(sort, queue, exporter_client):
    response = exporter_client.get(SESSIONS_URL, {"sort": sort})
    assert response.status_code == 400
    text = response.content.decode()
    assert "sort: Unknown sort" in text
    assert "-created" in text
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_blank_sort_is_the_default_order(queue, exporter_client):
    header, rows = _read(exporter_client.get(SESSIONS_URL, {"sort": ""}))
    assert _ids(header, rows) == [
        s.pk
        for s in selectors.session_queryset().order_by(
            *selectors.SESSION_QUEUE_ORDERING
        )
    ]


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
    header, rows = _read(exporter_client.get(SESSIONS_URL, params))
    ids = _ids(header, rows)
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
        cell for column in COUNT_COLUMNS for cell in _column(header, rows, column)
    }
    assert {"0", "3"} <= counts


def test_export_counts_checks_in_the_single_query_without_subqueries():
    sql = str(
        selectors.session_export_queryset(queryset=selectors.session_queryset()).query
    )
    assert sql.count("SELECT") == 1
    assert "GROUP BY" in sql
    assert "COUNT(" in sql
    assert "workflowsession_tags" not in sql, "tags are read per chunk, never joined"


# --- PostgreSQL writes the CSV itself (COPY): the same bytes -------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="COPY is PostgreSQL's (CI runs this suite there)",
)

# Cells that tell two CSV writers apart: every trigger, quotes, separators,
# line breaks, accents, a leading quote or blank, the empty string.
AWKWARD_CELLS = [
    *FORMULA_PAYLOADS,
    AWKWARD_TEXT,
    "Zoë Ångström — 東京 ✓",
    "'already quoted",
    " =leading blank",
    "",
    'a"\n"b',
    "tail\r\n",
]


@pytest.fixture
def awkward_data(queue, reviewer):
    """The queue plus sessions and checks whose every text cell is hard to write."""
    connection_ = ProviderConnectionFactory(slug="-dash-slug", kind=ProviderKind.ICA)
    negative = ClientFactory(pk=-7, display_name="-7 Negative Ltd")
    tags = [
        TagFactory(name="B"),
        TagFactory(name="a"),
        TagFactory(name="=tag", kind=TagKind.TECHNICAL),
    ]
    for i, text in enumerate(AWKWARD_CELLS):
        created = NOW.replace(microsecond=999_999) - dt.timedelta(hours=i)
        session = WorkflowSessionFactory(
            connection=connection_,
            provider_client=(
                None
                if i % 4 == 3
                else ProviderClientFactory(
                    connection=connection_,
                    client=negative if i % 4 == 1 else None,
                    name=text,
                )
            ),
            external_id=f"{text}-{i}",
            workflow_id=text,
            workflow_name=text,
            workflow_version=text,
            raw_status=text,
            raw_outcome=text,
            tags=tags[: i % 4],
            assignee=reviewer if i % 2 else None,
            provider_created_at=created,
            provider_updated_at=created + dt.timedelta(microseconds=1),
            started_at=None if i % 3 else created,
            completed_at=created.astimezone(dt.timezone(dt.timedelta(hours=-5))),
        )
        if i % 2:
            ReviewFactory(session=session, reviewer=reviewer)
        CheckFactory(session=session, check_type=text, raw_status=text, task_id="")
        CheckFactory(session=session, outcome=Outcome.ATTENTION, task_id=text)


def _body(client, url, params) -> bytes:
    return b"".join(client.get(url, params).streaming_content)


@postgres_only
@pytest.mark.parametrize(
    ("url", "params"),
    [
        (SESSIONS_URL, {}),
        *[(SESSIONS_URL, {"sort": sort}) for sort in selectors.SESSION_SORT_VALUES],
        (SESSIONS_URL, {"q": "Zoë", "tag": "B"}),
        (SESSIONS_URL, {"provider": "-dash-slug", "assignee": "none"}),
        (SESSIONS_URL, {"assignee": "nobody-by-that-name"}),
        (CHECKS_URL, {}),
        (CHECKS_URL, {"outcome": "attention", "provider": "-dash-slug"}),
    ],
)
def test_copy_writes_the_same_bytes_as_the_python_writer(
    url, params, awkward_data, exporter_client, settings
):
    settings.VERITY_EXPORT_POSTGRES_COPY = False
    python_body = _body(exporter_client, url, params)
    settings.VERITY_EXPORT_POSTGRES_COPY = True
    with CaptureQueriesContext(connection) as queries:
        copy_body = _body(exporter_client, url, params)
    copies = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("COPY (")
    ]
    assert len(copies) == (0 if params.get("assignee") == "nobody-by-that-name" else 1)
    assert copy_body == python_body
    # Not two identical empty files: the data made it through.
    if not copies:
        assert copy_body.count(b"\r\n") == 1
    else:
        assert _parse(copy_body)[1]


@postgres_only
def test_copy_export_streams_in_batches_with_exact_row_counts(
    exporter_client, monkeypatch
):
    monkeypatch.setattr(exports.stream, "WRITE_BATCH", 4)
    connection_ = ProviderConnectionFactory()
    for i in range(25):
        WorkflowSessionFactory(
            connection=connection_,
            provider_created_at=NOW - dt.timedelta(minutes=i),
            # A line break in a cell must not count as a row.
            workflow_name="two\nlines",
        )
    with CaptureQueriesContext(connection) as before:
        response = exporter_client.get(SESSIONS_URL)
    assert response.streaming
    assert not hasattr(response, "content")
    assert not any(q["sql"].startswith("COPY") for q in before.captured_queries)
    with CaptureQueriesContext(connection) as during:
        pieces = list(response.streaming_content)
    assert sum(q["sql"].startswith("COPY (") for q in during.captured_queries) == 1
    assert not any(
        "workflowsession_tags" in q["sql"] and not q["sql"].startswith("COPY")
        for q in during.captured_queries
    ), "tags are read inside the COPY"
    # BOM + header, then 25 rows in batches of 4.
    assert len(pieces) == 1 + 7
    assert all(isinstance(piece, bytes) for piece in pieces)
    _, rows = _parse(b"".join(pieces))
    assert len(rows) == 25
    assert {row[8] for row in rows} == {"two\nlines"}
    event = AuditEvent.objects.get(action="export.sessions_csv")
    assert event.after["row_count"] == 25
    assert event.after["completed"] is True
