"""CSV formula-injection guard, pinned where mutation testing found gaps.

Each test killed a mutant the rest of the suite let live (docs/testing.md):
the NUL trigger of the guard (a cell starting with NUL, which a spreadsheet
drops before reading the formula after it), and the per-cell guard of the
checks export's Python writer (the one SQLite uses; on PostgreSQL the test
turns COPY off to reach the same writer). Only the export URLs are called.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.urls import reverse

from sessions_app.models import Outcome, ProviderKind
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db

SESSIONS_URL = reverse("sessions-export")
CHECKS_URL = reverse("checks-export")


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def python_writer(settings):
    """The Python CSV writer on every database (PostgreSQL would use COPY)."""
    settings.VERITY_EXPORT_POSTGRES_COPY = False


nul_storable = pytest.mark.skipif(
    connection.vendor == "postgresql", reason="PostgreSQL text cannot hold NUL"
)


@nul_storable
@pytest.mark.parametrize("text", ["\0=1+1", "\0", "\0plain", "\0\0@SUM(A1)"])
def test_a_cell_starting_with_nul_is_neutralised(exporter_client, python_writer, text):
    session = WorkflowSessionFactory(workflow_name=text, raw_status=text)
    CheckFactory(session=session, check_type=text)
    (row,) = _rows(exporter_client.get(SESSIONS_URL))
    assert row["Workflow name"] == "'" + text
    assert row["Raw status"] == "'" + text
    (check_row,) = _rows(exporter_client.get(CHECKS_URL))
    assert check_row["Check type"] == "'" + text


@nul_storable
def test_nul_inside_a_cell_is_not_a_trigger(exporter_client, python_writer):
    WorkflowSessionFactory(workflow_name="a\0=1")
    (row,) = _rows(exporter_client.get(SESSIONS_URL))
    assert row["Workflow name"] == "a\0=1"


HOSTILE = {
    "slug": "-dash-slug",
    "client": '=HYPERLINK("http://x")',
    "provider_client": "@SUM(A1)",
    "session_external_id": "=ext",
    "check_external_id": "+chk",
    "check_type": "-2+3",
    "raw_status": "\t=1",
    "raw_outcome": "\r=1",
    "task_id": "\n=1",
}


def test_checks_export_guards_every_text_cell(personal_exporter_client, python_writer):
    conn = ProviderConnectionFactory(slug=HOSTILE["slug"], kind=ProviderKind.ICA)
    client = ClientFactory(display_name=HOSTILE["client"])
    pc = ProviderClientFactory(
        connection=conn, client=client, name=HOSTILE["provider_client"]
    )
    session = WorkflowSessionFactory(
        connection=conn, provider_client=pc, external_id=HOSTILE["session_external_id"]
    )
    check = CheckFactory(
        session=session,
        external_id=HOSTILE["check_external_id"],
        check_type=HOSTILE["check_type"],
        raw_status=HOSTILE["raw_status"],
        outcome=Outcome.ATTENTION,
        raw_outcome=HOSTILE["raw_outcome"],
        task_id=HOSTILE["task_id"],
    )

    (row,) = _rows(personal_exporter_client.get(CHECKS_URL))

    expected_text = {
        "Provider": HOSTILE["slug"],
        "Client": HOSTILE["client"],
        "Provider client name": HOSTILE["provider_client"],
        "Session external id": HOSTILE["session_external_id"],
        "Check external id": HOSTILE["check_external_id"],
        "Check type": HOSTILE["check_type"],
        "Raw status": HOSTILE["raw_status"],
        "Raw outcome": HOSTILE["raw_outcome"],
        "Task id": HOSTILE["task_id"],
    }
    for header, text in expected_text.items():
        assert row[header] == "'" + text, header
    # Numbers stay numbers; plain words stay as they are.
    assert row["Verity check id"] == str(check.pk)
    assert row["Verity session id"] == str(session.pk)
    assert row["Client id"] == str(client.pk)
    assert row["Outcome"] == "attention"
    assert row["Verity session URL"] == f"http://testserver/sessions/{session.pk}/"


def test_checks_export_keeps_plain_cells_exactly(exporter_client, python_writer):
    awkward = 'Smith, "Jo"\nsecond line; 50% = half'
    session = WorkflowSessionFactory(external_id=" =leading blank")
    CheckFactory(session=session, check_type=awkward, raw_status="'quoted")
    (row,) = _rows(exporter_client.get(CHECKS_URL))
    assert row["Check type"] == awkward
    assert row["Raw status"] == "'quoted"
    assert row["Session external id"] == " =leading blank"
