"""Bulk work: one request, each row through its single-row service (audited
as alone), refused rows reported while the others proceed, four-eyes rows
becoming pending approvals, one audit event for the request."""

from __future__ import annotations

import pytest

from sessions_app.cases import bulk
from sessions_app.cases.bulk import (
    BULK_MAX_SESSIONS,
    BulkAction,
    RowOutcome,
    sessions_bulk_apply,
)
from sessions_app.cases.services import case_decision_record
from sessions_app.exceptions import ApplicationError
from sessions_app.models import (
    Approval,
    AuditEvent,
    CaseState,
    Note,
    Review,
    WorkflowSession,
)
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


def _closed(reviewer) -> WorkflowSession:
    session = WorkflowSessionFactory(outcome="clear", external_id="closed-1")
    case_decision_record(
        session=session, reviewer=reviewer, decision="approve", reason_code="verified"
    )
    return session


def _bulk_events():
    return AuditEvent.objects.filter(action="sessions.bulk")


def test_assigning_to_me_assigns_each_row_audited_and_refuses_closed_cases(reviewer):
    open_rows = WorkflowSessionFactory.create_batch(3, outcome="attention")
    closed = _closed(reviewer)
    before = AuditEvent.objects.count()
    result = sessions_bulk_apply(
        actor=reviewer,
        session_ids=[s.pk for s in open_rows] + [closed.pk],
        action=BulkAction.ASSIGN_ME,
    )
    assert result.ids(RowOutcome.DONE) == [s.pk for s in open_rows]
    assert result.ids(RowOutcome.REFUSED) == [closed.pk]
    assert result.summary == (
        "3 assigned to you; 1 not: closed cases (reopen them first) (closed-1)."
    )
    for session in open_rows:
        session.refresh_from_db()
        assert session.assignee == reviewer
        assert session.case_state == CaseState.IN_REVIEW
    assert WorkflowSession.objects.get(pk=closed.pk).assignee is None
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [e.action for e in events] == ["session.assign"] * 3 + ["sessions.bulk"]
    bulk = events[-1]
    assert bulk.actor == reviewer
    assert bulk.after["session_ids"] == [s.pk for s in open_rows] + [closed.pk]
    assert bulk.after["done"] == [s.pk for s in open_rows]
    assert bulk.after["refused"] == [closed.pk]
    assert bulk.after["assignee"] == reviewer.username


def test_assigning_to_a_named_reviewer_and_unassigning(reviewer):
    other = UserFactory(username="rita", roles=["viewer", "reviewer"])
    rows = WorkflowSessionFactory.create_batch(2)
    result = sessions_bulk_apply(
        actor=reviewer,
        session_ids=[r.pk for r in rows],
        action="assign",
        assignee=other,
    )
    assert result.summary == "2 assigned to rita."
    assert set(
        WorkflowSession.objects.values_list("assignee__username", flat=True)
    ) == {"rita"}
    result = sessions_bulk_apply(
        actor=reviewer, session_ids=[rows[0].pk], action="unassign"
    )
    assert result.summary == "1 unassigned."
    again = sessions_bulk_apply(
        actor=reviewer, session_ids=[r.pk for r in rows], action="unassign"
    )
    assert again.ids(RowOutcome.UNCHANGED) == [rows[0].pk]
    assert "1 not: already unassigned" in again.summary
    assert AuditEvent.objects.filter(action="session.unassign").count() == 2


def test_a_named_assignee_must_be_a_reviewer(reviewer, viewer):
    with pytest.raises(ApplicationError, match="is not a reviewer"):
        sessions_bulk_apply(
            actor=reviewer,
            session_ids=[WorkflowSessionFactory().pk],
            action="assign",
            assignee=viewer,
        )
    with pytest.raises(ApplicationError, match="Choose the reviewer"):
        sessions_bulk_apply(
            actor=reviewer, session_ids=[WorkflowSessionFactory().pk], action="assign"
        )
    assert not AuditEvent.objects.exists()


def test_a_note_on_each_row(reviewer):
    rows = WorkflowSessionFactory.create_batch(2)
    result = sessions_bulk_apply(
        actor=reviewer,
        session_ids=[r.pk for r in rows],
        action="note",
        text=" Batch from the March audit. ",
    )
    assert result.summary == "2 noted."
    assert {(n.session_id, n.text) for n in Note.objects.all()} == {
        (r.pk, "Batch from the March audit.") for r in rows
    }
    assert AuditEvent.objects.filter(action="note.add").count() == 2
    assert _bulk_events().get().after["text"] == "Batch from the March audit."


def test_bulk_decisions_take_effect_become_pending_or_are_refused_per_row(reviewer):
    clear = WorkflowSessionFactory(outcome="clear", external_id="clear-1")
    attention = WorkflowSessionFactory(outcome="attention", external_id="att-1")
    closed = _closed(reviewer)
    result = sessions_bulk_apply(
        actor=reviewer,
        session_ids=[clear.pk, attention.pk, closed.pk],
        action="decide",
        decision="approve",
        reason_code="verified",
        comment="Checked the batch.",
    )
    assert result.ids(RowOutcome.DONE) == [clear.pk]
    # The four-eyes rule (approving an "attention" outcome) holds per row.
    assert result.ids(RowOutcome.PENDING) == [attention.pk]
    assert result.ids(RowOutcome.REFUSED) == [closed.pk]
    assert result.summary.startswith(
        "1 decided; 1 awaiting a second reviewer's approval; 1 not: "
    )
    assert "(closed-1)" in result.summary
    assert Review.objects.filter(session=clear, comment="Checked the batch.").exists()
    approval = Approval.objects.get(session=attention)
    assert approval.pending
    assert approval.maker == reviewer
    assert WorkflowSession.objects.get(pk=attention.pk).case_state == (
        CaseState.AWAITING_APPROVAL
    )
    assert AuditEvent.objects.filter(action="review.approve").count() == 2  # + closed
    assert AuditEvent.objects.filter(action="approval.request").count() == 1
    bulk = _bulk_events().get()
    assert bulk.after["pending"] == [attention.pk]
    assert bulk.after["decision"] == "approve"
    assert bulk.after["reasons"][str(closed.pk)]


def test_a_decision_that_does_not_fit_its_reason_is_refused_whole(reviewer):
    rows = WorkflowSessionFactory.create_batch(2)
    with pytest.raises(ApplicationError):
        sessions_bulk_apply(
            actor=reviewer,
            session_ids=[r.pk for r in rows],
            action="decide",
            decision="approve",
            reason_code="fraud_suspected",
        )
    assert not Review.objects.exists()
    assert not AuditEvent.objects.exists()


def test_unknown_and_missing_ids_are_reported(reviewer):
    row = WorkflowSessionFactory(external_id="real")
    result = sessions_bulk_apply(
        actor=reviewer, session_ids=[str(row.pk), row.pk, 999999], action="assign_me"
    )
    assert [r.session_id for r in result.rows] == [row.pk, 999999]  # deduplicated
    assert result.summary == "1 assigned to you; 1 not: no such session (999999)."


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([], "at least one"),
        (["abc"], "not a session id"),
        ([0], "not a session id"),
        (list(range(1, BULK_MAX_SESSIONS + 2)), "at most 100"),
    ],
)
def test_bad_selections_are_refused_whole(reviewer, ids, message):
    with pytest.raises(ApplicationError, match=message):
        sessions_bulk_apply(actor=reviewer, session_ids=ids, action="assign_me")


def test_unknown_actions_and_blank_notes_are_refused(reviewer):
    row = WorkflowSessionFactory()
    with pytest.raises(ApplicationError, match="Unknown bulk action"):
        sessions_bulk_apply(actor=reviewer, session_ids=[row.pk], action="delete")
    with pytest.raises(ApplicationError, match="cannot be empty"):
        sessions_bulk_apply(actor=reviewer, session_ids=[row.pk], action="note")


@pytest.mark.parametrize("role", ["viewer", "exporter"])
def test_viewers_and_exporters_cannot_work_in_bulk(role):
    user = UserFactory(roles=[role])
    with pytest.raises(ApplicationError, match="Only reviewers and admins"):
        sessions_bulk_apply(
            actor=user, session_ids=[WorkflowSessionFactory().pk], action="assign_me"
        )


def test_admins_can_work_in_bulk(admin_user):
    row = WorkflowSessionFactory()
    result = sessions_bulk_apply(
        actor=admin_user, session_ids=[row.pk], action="note", text="x"
    )
    assert result.ids(RowOutcome.DONE) == [row.pk]


def test_the_summary_names_five_ids_then_counts(reviewer):
    rows = [WorkflowSessionFactory(external_id=f"s-{n}") for n in range(7)]
    sessions_bulk_apply(
        actor=reviewer, session_ids=[r.pk for r in rows], action="assign_me"
    )
    again = sessions_bulk_apply(
        actor=reviewer, session_ids=[r.pk for r in rows], action="assign_me"
    )
    assert again.summary == (
        "0 assigned to you; 7 not: already assigned "
        "(s-0, s-1, s-2, s-3, s-4 and 2 more)."
    )


def test_a_row_refused_after_it_wrote_leaves_nothing_behind(reviewer, monkeypatch):
    # Each row runs in its own savepoint: a service that refuses after a
    # write (a rule checked late) rolls that row back, and only that row.
    real = bulk.note_add
    rows = WorkflowSessionFactory.create_batch(2)

    def refuse_the_second(*, session, **kwargs):
        real(session=session, **kwargs)
        if session.pk == rows[1].pk:
            raise ApplicationError("Refused late.")

    monkeypatch.setattr(bulk, "note_add", refuse_the_second)
    result = sessions_bulk_apply(
        actor=reviewer, session_ids=[r.pk for r in rows], action="note", text="x"
    )
    assert result.ids(RowOutcome.REFUSED) == [rows[1].pk]
    assert list(Note.objects.values_list("session_id", flat=True)) == [rows[0].pk]
    assert AuditEvent.objects.filter(action="note.add").count() == 1


@pytest.mark.postgres
def test_a_bulk_decision_locks_every_client_before_the_audit_chain(reviewer):
    """The lock order of a single decision (session, client, chain): taking a
    later row's client after the first row's audit event would deadlock
    against a single decision on another session of that client."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ClientFactory, ProviderClientFactory

    sessions = []
    for n in range(2):
        identity = ProviderClientFactory(client=ClientFactory())
        sessions.append(
            WorkflowSessionFactory(
                outcome="clear", provider_client=identity, external_id=f"lock-{n}"
            )
        )
    with CaptureQueriesContext(connection) as captured:
        sessions_bulk_apply(
            actor=reviewer,
            session_ids=[s.pk for s in sessions],
            action="decide",
            decision="escalate",
            reason_code="needs_senior_review",
            comment="",
        )
    sql = [q["sql"] for q in captured.captured_queries]
    client_lock = next(
        i
        for i, q in enumerate(sql)
        if '"sessions_app_client"' in q and "FOR UPDATE" in q
    )
    first_audit = next(
        i for i, q in enumerate(sql) if 'INTO "sessions_app_auditevent"' in q
    )
    assert client_lock < first_audit
