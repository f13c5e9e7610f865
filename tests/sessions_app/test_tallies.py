"""The session tally: the database keeps it equal to a real count whatever
writes the sessions (models/tallies.py, tallies.py)."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from sessions_app.cases.services import approval_approve, case_decision_record
from sessions_app.models import (
    Outcome,
    SessionTally,
    Status,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.sync import engine as sync
from sessions_app.tallies import session_tally_differences, session_tally_rebuild
from tests.factories import (
    ProviderConnectionFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def _attention_total() -> int:
    return sum(
        SessionTally.objects.filter(needs_attention=True).values_list(
            "sessions", flat=True
        )
    )


def test_every_kind_of_write_keeps_the_tally_exact():
    onfido = ProviderConnectionFactory(kind="onfido")
    cube = ProviderConnectionFactory(kind="complycube")
    made = [
        WorkflowSessionFactory(connection=onfido, status=Status.COMPLETED, outcome=o)
        for o in (Outcome.CLEAR, Outcome.ATTENTION, Outcome.REJECTED)
    ] + [WorkflowSessionFactory(connection=cube, status=Status.FAILED, outcome="")]
    assert session_tally_differences() == {}
    assert _attention_total() == 3

    # One row saved, a queryset update, a decision recorded, deletes.
    made[0].outcome = Outcome.ATTENTION
    made[0].save()
    WorkflowSession.objects.filter(connection=cube).update(status=Status.COMPLETED)
    WorkflowSession.objects.filter(pk=made[1].pk).update(case_state="approved")
    assert session_tally_differences() == {}
    assert _attention_total() == 2
    made[2].delete()
    WorkflowSession.objects.filter(connection=cube).delete()
    assert session_tally_differences() == {}
    assert _attention_total() == 1


def test_a_recorded_decision_moves_the_session_out_of_attention():
    reviewer = UserFactory(roles=["reviewer"])
    session = WorkflowSessionFactory(status=Status.COMPLETED, outcome=Outcome.ATTENTION)
    assert _attention_total() == 1

    # An approve of an attention outcome waits for a second reviewer (its
    # case leaves "needs attention" for "awaiting approval" at once).
    made = case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="approve",
        reason_code="verified",
    )
    assert made.pending
    assert _attention_total() == 0
    approval_approve(approval=made.approval, checker=UserFactory(roles=["reviewer"]))

    assert _attention_total() == 0
    assert session_tally_differences() == {}


def test_the_syncs_bulk_upserts_keep_it_exact(monkeypatch):
    provider, conn = fake_provider_install(monkeypatch)
    for n in range(7):
        provider.add(f"wr-{n}", status="review" if n % 2 else "approved")
    sync.provider_sync(connection=conn, trigger=SyncTrigger.SCHEDULE)
    assert session_tally_differences() == {}
    attention_before = _attention_total()

    for n in range(0, 7, 2):
        provider.change(f"wr-{n}", status="declined")
    sync.provider_sync(connection=conn, trigger=SyncTrigger.SCHEDULE)

    assert session_tally_differences() == {}
    assert _attention_total() == attention_before + 4


def test_rebuild_repairs_a_damaged_tally_and_check_says_so(capsys):
    WorkflowSessionFactory.create_batch(3, status=Status.FAILED)
    SessionTally.objects.update(sessions=99)
    with pytest.raises(CommandError, match="differs"):
        call_command("tally_rebuild", "--check")

    call_command("tally_rebuild")

    assert session_tally_differences() == {}
    call_command("tally_rebuild", "--check")
    assert "agrees with the sessions" in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_it_exact_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL-only: `make test` runs it when a PostgreSQL is reachable"
        )
    conn = ProviderConnectionFactory(kind="onfido")
    sessions = WorkflowSessionFactory.create_batch(
        40, connection=conn, status=Status.COMPLETED, outcome=Outcome.CLEAR
    )
    errors: list[BaseException] = []

    def flip(ids: list[int]) -> None:
        try:
            for pk in ids:
                WorkflowSession.objects.filter(pk=pk).update(outcome=Outcome.REJECTED)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    ids = [s.pk for s in sessions]
    threads = [threading.Thread(target=flip, args=(ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert session_tally_differences() == {}
    assert _attention_total() == 40
    session_tally_rebuild()
    assert _attention_total() == 40
