"""Shared helpers of the CSV export tests (`tests/sessions_app/exports/`, and the
admin's "Export selected" actions in `tests/sessions_app/admin/test_sessions.py`):
the export URLs, hostile cells, reading a CSV body, and the small queue that
exercises every filter. (The `queue` fixture using it is in
tests/sessions_app/exports/conftest.py.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.urls import reverse

from sessions_app.models import Outcome, ProviderKind, Status, TagKind
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    TagFactory,
    WorkflowSessionFactory,
)

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


def csv_parse(body: bytes) -> tuple[list[str], list[list[str]]]:
    """Return (header, rows) of a CSV body as csv.reader sees them."""
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel"
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def csv_read(response: Any) -> tuple[list[str], list[list[str]]]:
    """Consume a CSV response; return (header, rows)."""
    return csv_parse(b"".join(response.streaming_content))


def csv_column(header: list[str], rows: list[list[str]], name: str) -> list[str]:
    index = header.index(name)
    return [row[index] for row in rows]


def csv_ids(
    header: list[str], rows: list[list[str]], name: str = "Verity id"
) -> list[int]:
    return [int(v) for v in csv_column(header, rows, name)]


def export_queue_create(*, exporter: Any, reviewer: Any) -> list[Any]:
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
