"""PostgreSQL writes the CSV itself (exports/postgres.py, COPY): the same
bytes as the Python writer, streamed in batches. PostgreSQL-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app import exports, selectors
from sessions_app.models import AuditEvent, Outcome, ProviderKind, TagKind
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    ReviewFactory,
    TagFactory,
    WorkflowSessionFactory,
)
from tests.helpers.exports import (
    AWKWARD_TEXT,
    CHECKS_URL,
    FORMULA_PAYLOADS,
    NOW,
    SESSIONS_URL,
    csv_parse,
)

pytestmark = pytest.mark.django_db


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
            # Reasons, the needs-attention words and the last decision's cells.
            reasons=[text, "document_rejected"] if i % 2 else [],
            status=("completed", "failed", "awaiting_input")[i % 3],
            outcome=("clear", "attention", "rejected")[i % 3],
            last_decision="reject" if i % 2 else "",
        )
        if i % 2:
            ReviewFactory(session=session, reviewer=reviewer, comment=text)
        if i % 3:
            # A due time (ties included) for the sort by due, which lists
            # only the sessions that have one.
            session.case_due_at = NOW + dt.timedelta(hours=i // 3)
            session.save(update_fields=["case_due_at"])
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
        (CHECKS_URL, {}),
        (CHECKS_URL, {"outcome": "attention", "provider": "-dash-slug"}),
    ],
)
# An exporter allowed full personal data: masked exports take the Python
# writer on every database (docs/data-protection.md), full ones COPY.
def test_copy_writes_the_same_bytes_as_the_python_writer(
    url, params, awkward_data, personal_exporter_client, settings
):
    settings.VERITY_EXPORT_POSTGRES_COPY = False
    python_body = _body(personal_exporter_client, url, params)
    settings.VERITY_EXPORT_POSTGRES_COPY = True
    with CaptureQueriesContext(connection) as queries:
        copy_body = _body(personal_exporter_client, url, params)
    copies = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("COPY (")
    ]
    assert len(copies) == 1
    assert copy_body == python_body
    # Not two identical empty files: the data made it through.
    assert csv_parse(copy_body)[1]


@postgres_only
def test_copy_export_streams_in_batches_with_exact_row_counts(
    personal_exporter_client, monkeypatch
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
        response = personal_exporter_client.get(SESSIONS_URL)
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
    _, rows = csv_parse(b"".join(pieces))
    assert len(rows) == 25
    assert {row[8] for row in rows} == {"two\nlines"}
    event = AuditEvent.objects.get(action="export.sessions_csv.finished")
    assert event.after["row_count"] == 25
    assert event.after["completed"] is True
