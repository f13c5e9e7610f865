"""Overrides and the sync: the sync never writes an override, and a provider
that later changes the outcome under one sends the case back to review
(`cases.overrides.outcome_overrides_provider_changed`, from `sync/upsert.py`,
which the webhook refresh shares)."""

from __future__ import annotations

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.cases import services as case_services
from sessions_app.cases.overrides import outcome_override_request
from sessions_app.models import (
    AuditEvent,
    CaseState,
    OutcomeOverride,
    OverrideState,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.sync import engine as sync
from sessions_app.sync import refresh
from sessions_app.sync.upsert import session_upsert_batch
from tests.factories import UserFactory
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db

OVERRIDE_TABLE = OutcomeOverride._meta.db_table


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["viewer", "reviewer"])


@pytest.fixture
def provider_and_connection(monkeypatch):
    provider, connection = fake_provider_install(
        monkeypatch, slug="cube-main", kind="complycube"
    )
    provider.add("cs-1", status="complete", outcome="clear", tags=[("vip", "user")])
    provider.add("cs-2", status="complete", outcome="clear")
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    return provider, connection


def _session(external_id="cs-1") -> WorkflowSession:
    return WorkflowSession.objects.get(external_id=external_id)


def _override_in_force(reviewer, checker, *, close: bool) -> OutcomeOverride:
    """Override cs-1 from the provider's clear to attention, approved by a
    second reviewer; then, with `close`, approve the case (closed)."""
    session = _session()
    result = outcome_override_request(
        session=session,
        maker=reviewer,
        outcome="attention",
        reason_code="needs_senior_review",
        comment="Address does not match the utility bill.",
    )
    case_services.approval_approve(approval=result.approval, checker=checker)
    if close:
        case_services.case_decision_record(
            session=_session(),
            reviewer=reviewer,
            decision="approve",
            reason_code="verified",
        )
        assert _session().case_state == CaseState.APPROVED
    return OutcomeOverride.objects.get()


def _snapshot(override: OutcomeOverride) -> dict:
    override.refresh_from_db()
    return {
        field.attname: getattr(override, field.attname)
        for field in OutcomeOverride._meta.concrete_fields
    }


def test_an_override_survives_a_sync_and_a_resync_unchanged(
    provider_and_connection, reviewer, checker
):
    provider, connection = provider_and_connection
    override = _override_in_force(reviewer, checker, close=True)
    before = _snapshot(override)
    events = AuditEvent.objects.count()

    # The provider rewrites the session (a new tag), outcome unchanged.
    provider.change("cs-1", tags=[("vip", "user"), ("eu", "technical")])
    first = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    second = sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert (first.updated, second.updated) == (1, 0)
    assert _snapshot(override) == before
    session = _session()
    assert (session.outcome, session.case_state) == ("clear", CaseState.APPROVED)
    assert not AuditEvent.objects.filter(action="override.provider_changed").exists()
    assert AuditEvent.objects.count() == events + 2  # the two runs' own events


def test_a_provider_change_reopens_the_closed_case_with_both_values_shown(
    provider_and_connection, reviewer, checker, reviewer_client
):
    provider, connection = provider_and_connection
    override = _override_in_force(reviewer, checker, close=True)

    provider.change("cs-1", outcome="rejected")
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    override.refresh_from_db()
    assert override.state == OverrideState.ACTIVE  # still layered on top
    assert (override.provider_outcome, override.provider_outcome_now) == (
        "clear",
        "rejected",
    )
    assert override.provider_changed_at is not None
    session = _session()
    assert (session.outcome, session.case_state) == ("rejected", CaseState.OPEN)
    # Reopened on a rejected outcome, it needs attention again: its SLA clock
    # starts at the reopening (cases/sla.py).
    assert session.attention_since is not None
    assert session.case_due_at is not None
    assert session.case_due_at > session.attention_since
    event = AuditEvent.objects.get(action="override.provider_changed")
    assert (event.actor, event.source) == (None, "sync")
    assert event.before["case_state"] == CaseState.APPROVED
    assert event.before["provider_outcome"] == "clear"
    assert event.after["provider_outcome"] == "rejected"
    assert event.after["case_state"] == CaseState.OPEN

    page = reviewer_client.get(reverse("session-detail", args=[session.pk]))
    text = page.content.decode()
    assert "Provider changed clear → rejected after the override" in text
    assert (
        "Attention — override by rita-reviewer, approved by carla-checker "
        "(provider: clear)" in text
    )

    # Seen again unchanged: no second reopening.
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)
    assert AuditEvent.objects.filter(action="override.provider_changed").count() == 1


def test_a_case_already_in_work_stays_where_it_is_and_the_change_is_audited(
    provider_and_connection, reviewer, checker
):
    provider, connection = provider_and_connection
    _override_in_force(reviewer, checker, close=False)
    case_services.case_decision_record(
        session=_session(),
        reviewer=reviewer,
        decision="escalate",
        reason_code="needs_senior_review",
    )

    provider.change("cs-1", outcome="rejected")
    sync.provider_sync(connection=connection, trigger=SyncTrigger.MANUAL)

    assert _session().case_state == CaseState.ESCALATED
    assert AuditEvent.objects.filter(action="override.provider_changed").exists()


def test_the_webhook_refresh_path_reopens_too(
    provider_and_connection, reviewer, checker
):
    provider, connection = provider_and_connection
    _override_in_force(reviewer, checker, close=True)

    provider.change("cs-1", outcome="rejected")
    refresh.session_refresh_from_provider(connection=connection, external_id="cs-1")

    assert _session().case_state == CaseState.OPEN
    assert OutcomeOverride.objects.get().provider_outcome_now == "rejected"


def _override_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if OVERRIDE_TABLE in q["sql"]]


def test_the_check_costs_one_query_per_written_batch_and_none_without_writes(
    provider_and_connection, reviewer, checker
):
    provider, connection = provider_and_connection
    _override_in_force(reviewer, checker, close=False)
    for n in range(3, 13):
        provider.add(f"cs-{n}", status="complete", outcome="clear")

    def upsert(ids):
        records = [provider.record(provider.sessions[i]) for i in ids]
        with CaptureQueriesContext(db_connection) as captured, transaction.atomic():
            session_upsert_batch(connection=connection, records=records)
        return _override_queries(captured)

    everything = sorted(provider.sessions)
    # New sessions (cs-1, cs-2 unchanged): none of them can have an override.
    assert upsert(everything) == []
    # Twelve rewritten sessions, one with an override: one query.
    for external_id in everything:
        provider.change(external_id, tags=[("batch", "technical")])
    [query] = upsert(everything)
    assert query.lstrip().upper().startswith("SELECT")
    # Unchanged: nothing written, no query.
    assert upsert(everything) == []
