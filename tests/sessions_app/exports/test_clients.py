"""The clients CSV (/clients/export.csv) and the sessions CSV's new columns:
reasons, why a session needs attention, the last decision's reason, comment
and reviewer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.exports.clients import client_csv_header
from sessions_app.models import AuditEvent, Outcome, Status, WorkflowSession
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    ReviewFactory,
    WorkflowSessionFactory,
)
from tests.helpers.exports import FORMULA_PAYLOADS, SESSIONS_URL, csv_read

pytestmark = pytest.mark.django_db
CLIENTS_URL = reverse("clients-export")
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _today(monkeypatch, settings):
    settings.VERITY_REQUIRED_CHECK_KINDS = ["document", "screening"]
    settings.VERITY_REQUIRED_CHECK_KINDS_BY_TIER = {}
    noon = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: noon)


@pytest.fixture
def client_rows():
    onfido = ProviderConnectionFactory(kind="onfido", slug="onfido-eu")
    ada = ClientFactory(
        display_name="Ada",
        reference="=HYPERLINK(1)",
        risk_tier="high",
        has_gaps=True,
        next_review_due=TODAY - dt.timedelta(days=2),
    )
    identity = ProviderClientFactory(client=ada, connection=onfido)
    session = WorkflowSessionFactory(provider_client=identity, connection=onfido)
    CheckFactory(
        session=session,
        kind="document",
        outcome=Outcome.ATTENTION,
        raw_outcome="=consider",
        provider_updated_at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
    )
    ben = ClientFactory(display_name="Ben", risk_tier="low")
    return ada, ben


def test_clients_csv_header_and_rows(exporter_client, client_rows):
    header, rows = csv_read(exporter_client.get(CLIENTS_URL))
    assert header == client_csv_header()
    assert header[:4] == ["Verity client id", "Client", "Reference", "Providers"]
    assert "Watchlist / sanctions / PEP screening: freshness" in header
    ada = dict(zip(header, rows[0], strict=True))
    assert ada["Client"] == "A."  # initials without export_personal_data
    assert ada["Reference"] == "'=HYPERLINK(1)"  # guarded
    assert ada["Providers"] == "Onfido Eu"
    assert ada["Risk tier"] == "high"
    assert ada["Next review due"] == "2026-05-30"
    assert ada["Re-verification"] == "overdue"
    assert ada["Has gaps"] == "yes"
    assert ada["Document: outcome"] == "attention"
    assert ada["Document: provider word"] == "'=consider"  # guarded
    assert ada["Document: date (UTC)"] == "2026-01-05T09:00:00Z"
    # An attention result verifies nothing until reviewed (docs/assurance.md).
    assert ada["Document: freshness"] == "needs_review"
    assert ada["Watchlist / sanctions / PEP screening: freshness"] == "gap"
    assert ada["Liveness: freshness"] == ""  # neither checked nor required
    assert ada["Verity URL"] == f"http://testserver/clients/{client_rows[0].pk}/"
    ben = dict(zip(header, rows[1], strict=True))
    assert ben["Risk tier"] == "low"
    assert ben["Re-verification"] == "unverified"
    assert ben["Document: freshness"] == "gap"


def test_clients_csv_takes_the_directory_filters(exporter_client, client_rows):
    _, rows = csv_read(exporter_client.get(CLIENTS_URL, {"risk_tier": "low"}))
    assert [row[1] for row in rows] == ["B."]
    _, rows = csv_read(exporter_client.get(CLIENTS_URL, {"review": "overdue"}))
    assert [row[1] for row in rows] == ["A."]


def test_clients_csv_names_in_full_only_with_export_personal_data(
    exporter_client, personal_exporter_client, client_rows
):
    ClientFactory(display_name="Carla Maria Diaz")
    _, masked = csv_read(exporter_client.get(CLIENTS_URL))
    _, full = csv_read(personal_exporter_client.get(CLIENTS_URL))

    assert sorted(row[1] for row in masked) == ["A.", "B.", "C. M. D."]
    assert sorted(row[1] for row in full) == ["Ada", "Ben", "Carla Maria Diaz"]
    starts = AuditEvent.objects.filter(action="export.clients_csv").order_by("id")
    assert [e.after["personal_data"] for e in starts] == ["masked", "full"]


def test_clients_csv_refuses_bad_or_unknown_filters(exporter_client, client_rows):
    response = exporter_client.get(CLIENTS_URL, {"risk_tier": "extreme"})
    assert response.status_code == 400
    assert b"nothing was exported" in response.content
    assert exporter_client.get(CLIENTS_URL, {"tier": "x"}).status_code == 400


def test_clients_csv_is_for_exporters_and_audited(
    viewer_client, reviewer_client, exporter_client, admin_client_verity, client_rows
):
    assert viewer_client.get(CLIENTS_URL).status_code == 403
    assert reviewer_client.get(CLIENTS_URL).status_code == 403
    response = admin_client_verity.get(CLIENTS_URL)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert AuditEvent.objects.filter(action="export.clients_csv").count() == 1
    response = exporter_client.get(CLIENTS_URL, {"has_gaps": "true"})
    b"".join(response.streaming_content)
    start = AuditEvent.objects.filter(action="export.clients_csv").latest("id")
    assert start.after["filters"] == {"has_gaps": "true"}
    finished = AuditEvent.objects.filter(action="export.clients_csv.finished").latest(
        "id"
    )
    assert finished.after["row_count"] == 1


def test_clients_csv_guards_hostile_names(personal_exporter_client):
    for n, payload in enumerate(FORMULA_PAYLOADS):
        ClientFactory(display_name=payload, reference=f"r{n}")
    _, rows = csv_read(personal_exporter_client.get(CLIENTS_URL))
    assert sorted(row[1] for row in rows) == sorted("'" + p for p in FORMULA_PAYLOADS)


def test_clients_csv_queries_per_chunk_not_per_client(exporter_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            b"".join(exporter_client.get(CLIENTS_URL).streaming_content)
        return len(captured)

    identity = ProviderClientFactory()
    CheckFactory(session=WorkflowSessionFactory(provider_client=identity))
    one = queries()
    for _ in range(15):
        identity = ProviderClientFactory()
        CheckFactory(session=WorkflowSessionFactory(provider_client=identity))
    assert queries() == one


# --- The sessions CSV's new columns ----------------------------------------------------


def test_sessions_csv_carries_reasons_attention_and_the_last_decision(
    exporter_client, reviewer
):
    failed = WorkflowSessionFactory(
        status=Status.FAILED, outcome="", reasons=["=document_rejected", "blurry"]
    )
    pending = WorkflowSessionFactory(outcome=Outcome.REJECTED)
    decided = WorkflowSessionFactory(outcome=Outcome.REJECTED, last_decision="reject")
    ReviewFactory(session=decided, decision="approve", comment="old", reviewer=reviewer)
    newest = ReviewFactory(
        session=decided,
        decision="reject",
        reason_code="fraud_suspected",
        comment="=evil()",
        reviewer=reviewer,
    )
    WorkflowSession.objects.filter(pk=decided.pk).update(
        last_decision_at=newest.created_at
    )
    header, rows = csv_read(exporter_client.get(SESSIONS_URL))
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    row = by_id[str(failed.pk)]
    assert row["Reasons"] == "'=document_rejected; blurry"
    assert row["Needs attention because"] == "status failed"
    assert row["Last decision reason"] == ""
    assert by_id[str(pending.pk)]["Needs attention because"] == (
        "outcome rejected, case open"
    )
    row = by_id[str(decided.pk)]
    assert row["Needs attention because"] == ""
    assert row["Last decision reason"] == "fraud_suspected"
    assert row["Last decision comment"] == "'=evil()"
    assert row["Last decision reviewer"] == reviewer.username


def test_the_attention_words_follow_the_needs_attention_rule():
    from sessions_app.models import needs_attention_q, needs_attention_reason

    for status in Status.values:
        for outcome in Outcome.values:
            for decision in ("", "approve"):
                WorkflowSessionFactory(
                    status=status, outcome=outcome, last_decision=decision
                )
    annotated = WorkflowSession.objects.annotate(why=needs_attention_reason())
    flagged = set(annotated.filter(needs_attention_q()).values_list("pk", flat=True))
    for pk, why in annotated.values_list("pk", "why"):
        assert bool(why) == (pk in flagged), (pk, why)
