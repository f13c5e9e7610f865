"""Notes: a plain-text thread on each session and each client.

Append-only: `note_add` is the one write (audited in the same transaction);
a correction is a new note. Everyone who can see the object reads its notes;
reviewers and admins write them (`roles.user_can_write_notes`). The text is
stripped and bounded here, and rendered as text everywhere (templates escape
it; the PDF too).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..exceptions import ApplicationError
from ..models import Client, WorkflowSession
from ..roles import user_can_write_notes
from ..services import audit_event_record, client_for_object
from .models import NOTE_MAX_LENGTH, Note

# How many notes a page shows before "Show all notes"; all means at most
# NOTE_ALL_LIMIT (a thread longer than that is read in the API, paged).
NOTE_PAGE_LIMIT = 10
NOTE_ALL_LIMIT = 1000
# Newest first: by when a note was written, then by id (notes written in the
# same instant keep the order they were added). The pages, the evidence pack
# and the API's keyset pages all list notes in this order.
NOTE_ORDER = ("-created_at", "-id")


def note_text_clean(text: str) -> str:
    """The note's text stripped; ApplicationError when blank or too long."""
    text = (text or "").strip()
    if not text:
        raise ApplicationError("A note cannot be empty.")
    if len(text) > NOTE_MAX_LENGTH:
        raise ApplicationError(
            f"A note may hold at most {NOTE_MAX_LENGTH:,} characters "
            f"(this one has {len(text):,})."
        )
    return text


@transaction.atomic
def note_add(
    *,
    author: Any,
    text: str,
    session: WorkflowSession | None = None,
    client: Client | None = None,
    source: str = "web",
) -> Note:
    """Add a note to a session or a client (exactly one); audited.

    Raise ApplicationError for a user who may not write notes, a blank or
    too long text, or not exactly one object.
    """
    if not user_can_write_notes(author):
        raise ApplicationError("Only reviewers and admins may write notes.")
    if (session is None) == (client is None):
        raise ApplicationError("A note belongs to one session or one client.")
    if client is not None:
        erased = client.erased_at is not None
    else:
        owner_id = client_for_object(session)
        erased = (
            owner_id is not None
            and Client.objects.filter(pk=owner_id, erased_at__isnull=False).exists()
        )
    if erased:
        # Free text may name the person: none is added after an erasure.
        raise ApplicationError(
            "This client's personal data was erased: no note can be added."
        )
    text = note_text_clean(text)
    note = Note.objects.create(
        session=session,
        client=client,
        author=author,
        text=text,
        created_at=timezone.now(),
    )
    obj: WorkflowSession | Client = session if session is not None else client  # type: ignore[assignment]
    audit_event_record(
        actor=author,
        source=source,
        action="note.add",
        obj=obj,
        client=client_for_object(obj),
        after={"note_id": note.pk, "text": text},
    )
    return note


@dataclasses.dataclass(frozen=True)
class NoteThread:
    """The newest notes of one object, and whether older ones exist."""

    notes: list[Note]
    truncated: bool


def _thread(queryset: Any, limit: int) -> NoteThread:
    rows = list(queryset.select_related("author").order_by(*NOTE_ORDER)[: limit + 1])
    return NoteThread(notes=rows[:limit], truncated=len(rows) > limit)


def session_notes_get(*, session_id: int, limit: int = NOTE_PAGE_LIMIT) -> NoteThread:
    """A session's newest notes with their authors, newest first (one query)."""
    return _thread(Note.objects.filter(session_id=session_id), limit)


def client_notes_get(*, client_id: int, limit: int = NOTE_PAGE_LIMIT) -> NoteThread:
    """A client's newest notes with their authors, newest first (one query)."""
    return _thread(Note.objects.filter(client_id=client_id), limit)


def client_evidence_notes_get(*, client_id: int, limit: int) -> NoteThread:
    """The evidence pack's notes: the client's and its sessions' (one query)."""
    return _thread(
        Note.objects.filter(
            Q(client_id=client_id) | Q(session__provider_client__client_id=client_id)
        )
        .select_related("session")
        .defer("session__raw_payload"),
        limit,
    )


def notes_queryset(
    *, session_id: int | None = None, client_id: int | None = None
) -> Any:
    """The API's list: one object's notes, newest first, with their authors."""
    queryset = Note.objects.select_related("author").order_by(*NOTE_ORDER)
    if session_id is not None:
        return queryset.filter(session_id=session_id)
    return queryset.filter(client_id=client_id)
