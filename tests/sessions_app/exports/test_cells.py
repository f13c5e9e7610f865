"""CSV cells (exports/cells.py): the formula-injection guard, numbers and dates
written as-is, each column's format and the header, hostile cells end to end."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app import exports
from sessions_app.exports import csv_datetime, csv_number, csv_safe_cell
from sessions_app.exports.cells import csv_list
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    TagFactory,
    WorkflowSessionFactory,
)
from tests.helpers.exports import (
    AWKWARD_TEXT,
    FORMULA_PAYLOADS,
    NOW,
    SESSIONS_URL,
    csv_read,
)

pytestmark = pytest.mark.django_db


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
        "risk_score",
    }
    for column in (*exports.SESSION_COLUMNS, *exports.CHECK_COLUMNS):
        if column.field in numeric:
            assert column.format is csv_number, column.header
        elif "(UTC)" in column.header:
            assert column.format is csv_datetime, column.header
        elif column.field == "reasons":  # a list of words, joined then guarded
            assert column.format is csv_list, column.header
        else:
            assert column.format is csv_safe_cell, column.header


# --- Columns: the header and every cell of a row -----------------------------------


def test_sessions_csv_header_and_one_full_row(queue, personal_exporter_client):
    session = queue[0]
    header, rows = csv_read(
        personal_exporter_client.get(
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
        "Case state": "open",
        "Waiting until (UTC)": "",
        "User reference": "",
        "Provider decision": "",
        "Risk score": "",
        "Applicant link expires (UTC)": "",
        "Reasons": "",
        "Needs attention because": "",
        "Last decision reason": "",
        "Last decision comment": "",
        "Last decision reviewer": "",
        "Tags": "vip",
        "Verity URL": f"http://testserver/sessions/{session.pk}/",
    }


def test_sessions_csv_carries_user_reference_decision_score_and_link_expiry(
    exporter_client,
):
    WorkflowSessionFactory(
        user_reference="=ws_250603_1",
        decision="review",
        risk_score=-0.25,
        link_expires_at=dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC),
    )
    header, rows = csv_read(exporter_client.get(SESSIONS_URL))
    row = dict(zip(header, rows[0], strict=True))
    assert row["User reference"] == "'=ws_250603_1"  # a provider's text: guarded
    assert row["Provider decision"] == "review"
    assert row["Risk score"] == "-0.25"  # a number: as it is
    assert row["Applicant link expires (UTC)"] == "2026-07-01T12:00:00Z"


def test_session_without_provider_client_exports_empty_cells(exporter_client):
    session = WorkflowSessionFactory(provider_client=None)
    header, rows = csv_read(exporter_client.get(SESSIONS_URL))
    row = dict(zip(header, rows[0], strict=True))
    assert row["Verity id"] == str(session.pk)
    assert row["Client"] == row["Client id"] == row["Provider client name"] == ""


# --- Hostile cells -------------------------------------------------------------------


def test_injection_payloads_come_out_neutralised_and_readable(personal_exporter_client):
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
    header, rows = csv_read(personal_exporter_client.get(SESSIONS_URL))
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


def test_negative_number_in_a_numeric_column_stays_a_number(personal_exporter_client):
    # Ids are never negative in practice; one made by hand proves the point.
    client = ClientFactory(pk=-5, display_name="-5 Negative Ltd")
    session = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(client=client)
    )
    header, rows = csv_read(personal_exporter_client.get(SESSIONS_URL))
    row = dict(zip(header, rows[0], strict=True))
    assert row["Verity id"] == str(session.pk)
    assert row["Client id"] == "-5"
    assert row["Client"] == "'-5 Negative Ltd"
