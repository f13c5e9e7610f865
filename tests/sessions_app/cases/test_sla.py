"""Due times (cases/sla.py): the rules as settings, the attention clock kept
by the sync and the case services, a decision's due time on its Review, the
set-based rebuild; dates under a frozen clock, over weekends and holidays."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from sessions_app.cases import services as case_services
from sessions_app.cases.sla import (
    sla_rebuild,
    sla_rules,
    sla_rules_parse,
)
from sessions_app.cases.waiting import cases_waiting_return
from sessions_app.models import CaseState, WorkflowSession
from sessions_app.normalization import Normalised
from sessions_app.providers.base import SessionRecord
from sessions_app.sync import upsert
from tests.factories import UserFactory, WorkflowSessionFactory
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db

UTC = dt.UTC
FRIDAY_3PM = dt.datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
TUESDAY_3PM = dt.datetime(2026, 12, 8, 15, 0, tzinfo=UTC)


def _record(external_id: str, status: str, outcome: str, **raw) -> SessionRecord:
    return SessionRecord(
        external_id=external_id,
        raw_status=status,
        normalised=Normalised(status, outcome, True),
        raw={"id": external_id, "outcome": outcome, **raw},
    )


def _sync(connection, *records, now):
    with transaction.atomic():
        upsert.session_upsert_batch(connection=connection, records=records, now=now)


# --- The rules as settings --------------------------------------------------------


def test_the_defaults_and_a_partial_override(settings):
    assert sla_rules().business_days == {
        "needs_attention": 2,
        "waiting": 0,
        "escalated": 5,
        "awaiting_approval": 1,
    }
    settings.VERITY_SLA_RULES = {"escalated": 3}
    settings.VERITY_SLA_HOLIDAYS = ["2026-12-25"]
    rules = sla_rules()
    assert rules.business_days["escalated"] == 3
    assert rules.business_days["needs_attention"] == 2
    assert rules.holidays == {dt.date(2026, 12, 25)}


@pytest.mark.parametrize(
    ("rules", "holidays", "message"),
    [
        ({"urgent": 1}, [], "unknown rule"),
        ({"escalated": "3"}, [], "must be a number"),
        ({"escalated": -1}, [], "0 to 60"),
        ({}, ["25/12/2026"], "not a date"),
        ([], [], "must map"),
    ],
)
def test_bad_rules_are_refused_in_words(rules, holidays, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        sla_rules_parse(rules, holidays)


def test_the_start_up_check_reports_bad_rules(settings):
    from sessions_app.checks import sla_rules_check

    settings.VERITY_SLA_RULES = {"urgent": 1}
    errors = sla_rules_check(None)
    assert [e.id for e in errors] == ["verity.E030"]
    assert "unknown rule" in errors[0].msg


# --- The sync starts and stops the attention clock ------------------------------------


def test_the_sync_starts_the_clock_over_a_weekend_and_keeps_it(monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    _sync(connection, _record("s1", "completed", "attention"), now=FRIDAY_3PM)
    stored = WorkflowSession.objects.get(external_id="s1")
    assert stored.attention_since == FRIDAY_3PM
    assert stored.case_due_at == TUESDAY_3PM  # Friday + 2 business days

    # Still needing attention a day later: the clock keeps its start.
    later = FRIDAY_3PM + dt.timedelta(days=1)
    _sync(connection, _record("s1", "completed", "rejected", v=2), now=later)
    stored.refresh_from_db()
    assert (stored.attention_since, stored.case_due_at) == (FRIDAY_3PM, TUESDAY_3PM)

    # Clear now: the clock stops.
    _sync(connection, _record("s1", "completed", "clear", v=3), now=later)
    stored.refresh_from_db()
    assert (stored.attention_since, stored.case_due_at) == (None, None)


def test_a_new_session_is_inserted_with_its_clock_not_rewritten_after(monkeypatch):
    """A first sync writes a session needing attention once: its due time is
    in the inserted row, so the follow-up UPDATE finds nothing to change."""
    from sessions_app.sync import follow

    _, connection = fake_provider_install(monkeypatch)
    followed = []
    original = follow.sessions_sla_follow

    def counting(**kwargs):
        followed.append(original(**kwargs))
        return followed[-1]

    monkeypatch.setattr(follow, "sessions_sla_follow", counting)
    _sync(
        connection,
        _record("s1", "failed", ""),
        _record("s2", "completed", "rejected"),
        _record("s3", "completed", "clear"),
        now=FRIDAY_3PM,
    )
    assert followed == [0]  # asked over the batch; no row rewritten
    due = dict(WorkflowSession.objects.values_list("external_id", "case_due_at"))
    assert due == {"s1": TUESDAY_3PM, "s2": TUESDAY_3PM, "s3": None}
    assert set(
        WorkflowSession.objects.values_list("external_id", "attention_since")
    ) == {("s1", FRIDAY_3PM), ("s2", FRIDAY_3PM), ("s3", None)}

    # The same sessions changed: the rewritten ones follow in the UPDATE.
    _sync(
        connection,
        _record("s1", "completed", "clear", v=2),
        _record("s3", "failed", "", v=2),
        now=FRIDAY_3PM,
    )
    assert followed == [0, 2]
    assert dict(WorkflowSession.objects.values_list("external_id", "case_due_at")) == {
        "s1": None,
        "s2": TUESDAY_3PM,
        "s3": TUESDAY_3PM,
    }


def test_a_holiday_moves_the_due_date(monkeypatch, settings):
    settings.VERITY_SLA_HOLIDAYS = ["2026-12-07"]  # the Monday
    _, connection = fake_provider_install(monkeypatch)
    _sync(connection, _record("s1", "failed", ""), now=FRIDAY_3PM)
    stored = WorkflowSession.objects.get(external_id="s1")
    assert stored.case_due_at == TUESDAY_3PM + dt.timedelta(days=1)  # Wednesday


def test_the_sync_leaves_a_case_state_rule_alone(monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    _sync(connection, _record("s1", "completed", "clear"), now=FRIDAY_3PM)
    escalated_due = FRIDAY_3PM + dt.timedelta(days=10)
    WorkflowSession.objects.update(
        case_state=CaseState.ESCALATED, case_due_at=escalated_due
    )
    _sync(connection, _record("s1", "failed", "clear", v=2), now=FRIDAY_3PM)
    stored = WorkflowSession.objects.get()
    assert stored.attention_since == FRIDAY_3PM  # failed: needs attention
    assert stored.case_due_at == escalated_due  # but the escalation's clock rules


def test_the_sync_follows_with_one_query_whatever_the_page(
    monkeypatch, django_assert_num_queries
):
    from sessions_app.cases.sla import sessions_sla_follow

    sessions = WorkflowSessionFactory.create_batch(5, outcome="rejected")
    with django_assert_num_queries(1):
        sessions_sla_follow(session_ids=[s.pk for s in sessions], now=FRIDAY_3PM)
    assert set(WorkflowSession.objects.values_list("case_due_at", flat=True)) == {
        TUESDAY_3PM
    }


# --- The case services ------------------------------------------------------------------


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["viewer", "reviewer"])


@time_machine.travel(FRIDAY_3PM, tick=False)
def test_an_escalation_gets_five_business_days_and_its_review_the_due_before(
    reviewer,
):
    session = WorkflowSessionFactory(
        outcome="attention", attention_since=FRIDAY_3PM, case_due_at=TUESDAY_3PM
    )
    result = case_services.case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="escalate",
        reason_code="watchlist_match",
    )
    assert result.review.due_at == TUESDAY_3PM
    session.refresh_from_db()
    assert session.attention_since is None  # escalated: its own queue
    assert session.case_due_at == FRIDAY_3PM + dt.timedelta(days=7)


@time_machine.travel(FRIDAY_3PM, tick=False)
def test_four_eyes_keeps_the_makers_due_time_for_the_review(reviewer, checker):
    session = WorkflowSessionFactory(
        outcome="attention", attention_since=FRIDAY_3PM, case_due_at=TUESDAY_3PM
    )
    pending = case_services.case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="reject",
        reason_code="document_issue",
    )
    assert pending.approval.due_at == TUESDAY_3PM
    session.refresh_from_db()
    # Awaiting approval: one business day for the checker (Friday -> Monday).
    assert session.case_due_at == FRIDAY_3PM + dt.timedelta(days=3)
    with time_machine.travel(TUESDAY_3PM + dt.timedelta(hours=1), tick=False):
        review = case_services.approval_approve(
            approval=pending.approval, checker=checker
        )
    assert review.due_at == TUESDAY_3PM
    assert review.created_at > review.due_at  # decided late
    session.refresh_from_db()
    assert (session.attention_since, session.case_due_at) == (None, None)


@time_machine.travel(FRIDAY_3PM, tick=False)
def test_send_back_restarts_the_attention_clock(reviewer, checker):
    session = WorkflowSessionFactory(outcome="attention")
    pending = case_services.case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="reject",
        reason_code="document_issue",
    )
    case_services.approval_send_back(
        approval=pending.approval, checker=checker, comment="Look again."
    )
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN
    assert (session.attention_since, session.case_due_at) == (FRIDAY_3PM, TUESDAY_3PM)


@time_machine.travel(FRIDAY_3PM, tick=False)
def test_a_waiting_case_is_due_at_its_date_then_back_in_the_queue(reviewer):
    session = WorkflowSessionFactory(outcome="attention")
    until = FRIDAY_3PM + dt.timedelta(days=4)
    case_services.case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="request_information",
        reason_code="document_issue",
        waiting_until=until,
    )
    session.refresh_from_db()
    assert session.case_due_at == until
    back = until + dt.timedelta(minutes=5)
    with time_machine.travel(back, tick=False):
        cases_waiting_return(now=back)
    session.refresh_from_db()
    assert session.case_state == CaseState.OPEN
    assert session.attention_since == back
    # Wednesday 15:05 + 2 business days: Friday 15:05.
    assert session.case_due_at == back + dt.timedelta(days=2)


# --- The rebuild (migration 0026's backfill) ----------------------------------------


def test_the_rebuild_repairs_and_the_check_counts(settings):
    settings.VERITY_SLA_HOLIDAYS = ["2026-12-07"]
    updated = FRIDAY_3PM - dt.timedelta(days=1)
    missing = WorkflowSessionFactory(outcome="rejected", provider_updated_at=updated)
    stale = WorkflowSessionFactory(outcome="clear", attention_since=FRIDAY_3PM)
    escalated = WorkflowSessionFactory(
        outcome="clear",
        case_state=CaseState.ESCALATED,
        case_state_changed_at=FRIDAY_3PM,
    )
    # The check counts the due times wrong now (the escalation's); the
    # rebuild also writes the due time of the clock it starts.
    assert sla_rebuild(check=True) == {"attention_since": 2, "case_due_at": 1}
    assert sla_rebuild() == {"sessions": 3}
    assert sla_rebuild(check=True) == {"attention_since": 0, "case_due_at": 0}
    missing.refresh_from_db()
    stale.refresh_from_db()
    escalated.refresh_from_db()
    assert missing.attention_since == updated  # Thursday: Friday, (Monday off) Tuesday
    assert missing.case_due_at == updated + dt.timedelta(days=5)
    assert (stale.attention_since, stale.case_due_at) == (None, None)
    # Friday + 5 business days, the Monday off: the Monday after next.
    assert escalated.case_due_at == FRIDAY_3PM + dt.timedelta(days=10)


def test_the_sql_due_time_equals_the_python_one_every_day_of_a_year(settings):
    """The expression the rebuild writes and the function the services call
    agree on every start date, holidays included."""
    from sessions_app.cases.sla import RULE_NEEDS_ATTENTION

    settings.VERITY_SLA_HOLIDAYS = ["2026-12-24", "2026-12-25", "2027-01-01"]
    rules = sla_rules()
    start = dt.datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    sessions = [
        WorkflowSessionFactory(
            outcome="rejected", attention_since=start + dt.timedelta(days=d)
        )
        for d in range(0, 240, 1)
    ]
    sla_rebuild()
    stored = dict(WorkflowSession.objects.values_list("attention_since", "case_due_at"))
    for session in sessions:
        since = session.attention_since
        assert stored[since] == rules.due(RULE_NEEDS_ATTENTION, since), since


def test_rules_are_a_frozen_dataclass():
    rules = sla_rules()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.holidays = frozenset()
