"""Notes on the session and client pages: shown newest first to every role,
bounded with "Show all notes", written by reviewers and admins (PRG), never
rendered as HTML, a refused note's text kept for the form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.cases.notes import NOTE_PAGE_LIMIT, note_add
from sessions_app.models import AuditEvent, Note
from tests.factories import ClientFactory, WorkflowSessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]


@pytest.fixture
def session():
    return WorkflowSessionFactory(external_id="noted-1")


def test_a_reviewer_adds_a_note_and_returns_to_the_thread(reviewer_client, session):
    response = reviewer_client.post(
        reverse("session-note-add", args=[session.pk]),
        {"text": "Phoned the client <b>today</b>."},
    )
    assert response.status_code == 302
    assert response.url == f"{session.get_absolute_url()}#notes"
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert "Note added." in page
    assert "Phoned the client &lt;b&gt;today&lt;/b&gt;." in page  # text, not HTML
    assert "<b>today</b>" not in page
    assert AuditEvent.objects.filter(action="note.add").count() == 1


def test_a_note_keeps_the_queue_it_was_opened_from(reviewer_client, session):
    back = reverse("session-list") + "?status=completed"
    response = reviewer_client.post(
        reverse("session-note-add", args=[session.pk]), {"text": "x", "back": back}
    )
    assert response.url.startswith(f"{session.get_absolute_url()}?back=")


def test_a_refused_note_keeps_its_text_and_says_why(reviewer_client, session):
    response = reviewer_client.post(
        reverse("session-note-add", args=[session.pk]), {"text": "   "}
    )
    assert response.url.endswith("#note-form")
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert "Note not added:" in page
    assert not Note.objects.exists()
    too_long = "y" * 2001
    reviewer_client.post(
        reverse("session-note-add", args=[session.pk]), {"text": too_long}
    )
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert too_long in page  # back in the textarea, nothing lost


def test_viewers_read_notes_but_cannot_write(viewer_client, reviewer, session):
    note_add(session=session, author=reviewer, text="For the file.")
    page = viewer_client.get(session.get_absolute_url()).content.decode()
    assert "For the file." in page
    assert reverse("session-note-add", args=[session.pk]) not in page
    response = viewer_client.post(
        reverse("session-note-add", args=[session.pk]), {"text": "sneaky"}
    )
    assert response.status_code == 403
    assert Note.objects.count() == 1


def test_exporters_cannot_write_client_notes(exporter_client):
    client = ClientFactory()
    response = exporter_client.post(
        reverse("client-note-add", args=[client.pk]), {"text": "x"}
    )
    assert response.status_code == 403


def _thread(response) -> str:
    return response.content.decode().split('id="notes"')[1].split("</section>")[0]


def test_the_thread_is_bounded_with_show_all(reviewer_client, reviewer, session):
    for n in range(NOTE_PAGE_LIMIT + 2):
        note_add(session=session, author=reviewer, text=f"note number {n:02d}")
    page = _thread(reviewer_client.get(session.get_absolute_url()))
    assert "note number 11" in page
    assert "note number 01" not in page  # (the audit history has every note)
    assert page.index("note number 11") < page.index("note number 10")
    assert "Show all notes" in page
    everything = _thread(reviewer_client.get(session.get_absolute_url() + "?notes=all"))
    assert "note number 00" in everything
    assert "Show all notes" not in everything


def test_client_page_notes(reviewer_client, admin_client_verity):
    client = ClientFactory()
    response = admin_client_verity.post(
        reverse("client-note-add", args=[client.pk]), {"text": "KYC refresh agreed."}
    )
    assert response.url == f"{client.get_absolute_url()}#notes"
    page = reviewer_client.get(client.get_absolute_url()).content.decode()
    assert "KYC refresh agreed." in page
    event = AuditEvent.objects.get(action="note.add")
    assert event.client_id == client.pk


def test_notes_on_missing_objects_are_404(reviewer_client):
    assert (
        reviewer_client.post(reverse("session-note-add", args=[999999]), {"text": "x"})
    ).status_code == 404
    assert (
        reviewer_client.post(reverse("client-note-add", args=[999999]), {"text": "x"})
    ).status_code == 404
