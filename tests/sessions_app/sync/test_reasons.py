"""Reasons in the mirror: the sync stores each session's reasons in Verity's
words, counts an unlisted word like an unknown status, and
`reclassify_reasons` (the migration's backfill) rebuilds them from what each
session keeps."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from sessions_app.models import ReasonKind, SessionReason, SyncTrigger, WorkflowSession
from sessions_app.sync import engine as sync
from sessions_app.sync.reasons import session_reasons_reapply
from tests.factories import (
    CheckFactory,
    ProviderConnectionFactory,
    WorkflowSessionFactory,
)
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def _reasons(session: WorkflowSession) -> list[tuple[str, str]]:
    return list(session.reason_rows.order_by("position").values_list("code", "raw"))


def test_the_sync_stores_reasons_and_counts_unlisted_words(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, kind="onfido")
    provider.add(
        "wr-1",
        status="declined",
        reasons=["document_rejected", "crypto_wallet_flagged", "document_rejected"],
    )
    provider.add("wr-2", status="approved")

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert _reasons(WorkflowSession.objects.get(external_id="wr-1")) == [
        (ReasonKind.DOCUMENT_REJECTED, "document_rejected"),
        (ReasonKind.OTHER, "crypto_wallet_flagged"),
    ]
    assert not WorkflowSession.objects.get(external_id="wr-2").reason_rows.exists()
    run = connection.sync_runs.latest("started_at")
    assert run.unknown_values == {"crypto_wallet_flagged": 1}


def test_a_changed_session_replaces_its_reasons(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, kind="onfido")
    provider.add("wr-1", status="review", reasons=["manual_review_required"])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    provider.change("wr-1", status="approved", reasons=[])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert not SessionReason.objects.exists()


def test_reapply_rebuilds_reasons_from_what_sessions_keep():
    onfido = WorkflowSessionFactory(reasons=["watchlist_hit"], outcome="rejected")
    cc = WorkflowSessionFactory(
        connection=ProviderConnectionFactory(kind="complycube"),
        outcome="attention",
        raw_payload={
            "session": {},
            "checks": [{"type": "document_check", "result": {"outcome": "attention"}}],
        },
    )
    ica = WorkflowSessionFactory(
        connection=ProviderConnectionFactory(kind="ica"),
        status="failed",
        outcome="attention",
        raw_payload={"session": {"status": "FAILED", "summary": "Out of memory"}},
    )
    clear = WorkflowSessionFactory()
    # A stale row on a session that no longer has reasons goes.
    SessionReason.objects.create(session=clear, code=ReasonKind.OTHER, raw="old")
    CheckFactory(session=clear)

    assert session_reasons_reapply() == 4

    assert _reasons(onfido) == [(ReasonKind.WATCHLIST_MATCH, "watchlist_hit")]
    assert _reasons(cc) == [(ReasonKind.DOCUMENT_REJECTED, "document_check")]
    assert _reasons(ica) == [(ReasonKind.PIPELINE_FAILED, "Out of memory")]
    assert _reasons(clear) == []
    cc.refresh_from_db()
    assert cc.reasons == ["document_check"]  # the stored words follow


def test_reapply_reads_in_batches(monkeypatch):
    monkeypatch.setattr("sessions_app.sync.reasons.REAPPLY_BATCH", 2)
    sessions = [WorkflowSessionFactory(reasons=["pep_match"]) for _ in range(5)]

    assert session_reasons_reapply() == 5
    assert all(_reasons(s) == [(ReasonKind.PEP_MATCH, "pep_match")] for s in sessions)


def test_the_command_reapplies_the_tables():
    session = WorkflowSessionFactory(reasons=["document_expired"])
    out = []
    call_command("reclassify_reasons", stdout=type("W", (), {"write": out.append})())
    assert _reasons(session) == [(ReasonKind.DOCUMENT_EXPIRED, "document_expired")]
    assert "1 session(s)" in out[0]
