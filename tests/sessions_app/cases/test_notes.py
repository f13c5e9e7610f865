"""Notes: append-only plain text on sessions and clients, written by
reviewers and admins, each in the same transaction as its audit event."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.cases.models import NOTE_MAX_LENGTH
from sessions_app.cases.notes import (
    client_evidence_notes_get,
    client_notes_get,
    note_add,
    session_notes_get,
)
from sessions_app.exceptions import ApplicationError
from sessions_app.models import AuditEvent, Note
from tests.factories import ClientFactory, UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


def test_a_note_on_a_session_is_stripped_and_audited_with_its_client(reviewer):
    session = WorkflowSessionFactory()
    note = note_add(session=session, author=reviewer, text="  Called the bank.  ")
    assert note.text == "Called the bank."
    assert note.author == reviewer
    assert note.client is None
    event = AuditEvent.objects.get()
    assert event.action == "note.add"
    assert event.object_id == str(session.pk)
    assert event.client_id == session.provider_client.client_id
    assert event.after == {"note_id": note.pk, "text": "Called the bank."}


def test_a_note_on_a_client_is_audited_on_the_client(admin_user):
    client = ClientFactory()
    note = note_add(
        client=client, author=admin_user, text="Board changed.", source="api"
    )
    event = AuditEvent.objects.get()
    assert (event.object_type, event.object_id) == (
        "sessions_app.client",
        str(client.pk),
    )
    assert event.client_id == client.pk
    assert event.source == "api"
    assert note.session is None


@pytest.mark.parametrize("role", ["viewer", "exporter"])
def test_viewers_and_exporters_only_read(role):
    user = UserFactory(roles=[role])
    with pytest.raises(ApplicationError, match="Only reviewers and admins"):
        note_add(session=WorkflowSessionFactory(), author=user, text="x")
    assert not Note.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", "cannot be empty"), ("x" * (NOTE_MAX_LENGTH + 1), "at most 2,000")],
)
def test_blank_and_too_long_notes_are_refused(reviewer, text, message):
    with pytest.raises(ApplicationError, match=message):
        note_add(session=WorkflowSessionFactory(), author=reviewer, text=text)
    assert not Note.objects.exists()


def test_a_note_belongs_to_exactly_one_object(reviewer):
    with pytest.raises(ApplicationError, match="one session or one client"):
        note_add(author=reviewer, text="x")
    with pytest.raises(ApplicationError, match="one session or one client"):
        note_add(
            session=WorkflowSessionFactory(),
            client=ClientFactory(),
            author=reviewer,
            text="x",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Note.objects.create(author=reviewer, text="x", created_at=timezone.now())


def test_threads_are_newest_first_and_say_when_cut(reviewer):
    session = WorkflowSessionFactory()
    for n in range(4):
        note_add(session=session, author=reviewer, text=f"note {n}")
    thread = session_notes_get(session_id=session.pk, limit=3)
    assert [n.text for n in thread.notes] == ["note 3", "note 2", "note 1"]
    assert thread.truncated
    assert not session_notes_get(session_id=session.pk, limit=4).truncated
    assert client_notes_get(client_id=ClientFactory().pk).notes == []


def test_the_evidence_reads_the_clients_notes_and_its_sessions(reviewer):
    session = WorkflowSessionFactory()
    client = session.provider_client.client
    note_add(session=session, author=reviewer, text="on the session")
    note_add(client=client, author=reviewer, text="on the client")
    note_add(session=WorkflowSessionFactory(), author=reviewer, text="elsewhere")
    thread = client_evidence_notes_get(client_id=client.pk, limit=10)
    assert [n.text for n in thread.notes] == ["on the client", "on the session"]


def test_no_note_is_added_about_an_erased_client(reviewer):
    """Free text may name the person: after an erasure, none comes back in."""
    from tests.factories import ProviderClientFactory

    erased = ClientFactory(display_name="", erased_at=timezone.now())
    session = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(client=erased)
    )
    for target in ({"client": erased}, {"session": session}):
        with pytest.raises(ApplicationError, match="erased"):
            note_add(author=reviewer, text="Called her at home", **target)
    assert not Note.objects.exists()
    kept = WorkflowSessionFactory(provider_client=ProviderClientFactory())
    note_add(author=reviewer, text="Still fine", session=kept)
