"""Adding a note on the session page and the client page: POST only,
reviewers and admins only, then back to the page (PRG). A refused note keeps
its text for the form after the redirect, so nothing typed is lost."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import selectors
from ..exceptions import ApplicationError
from ..models import Client, WorkflowSession
from ..roles import user_can_view, user_can_write_notes
from ..views.queue import QUEUE_RETURN_PARAM, queue_return_url
from .forms import NoteForm
from .notes import note_add

NOTE_RETRY_KEY = "verity.note_retry"


def _writer_required(request: HttpRequest) -> None:
    if not (user_can_view(request.user) and user_can_write_notes(request.user)):
        raise PermissionDenied("Only reviewers and admins may write notes.")


def note_form_for(request: HttpRequest, *, target: str) -> NoteForm:
    """The page's note form: empty, or the text refused by the last POST on
    this `target` ("session:<pk>", "client:<pk>") with its error (once)."""
    retry = request.session.get(NOTE_RETRY_KEY)
    if not isinstance(retry, dict) or retry.get("target") != target:
        return NoteForm()
    del request.session[NOTE_RETRY_KEY]
    form = NoteForm({"text": retry.get("text", "")})
    form.is_valid()
    if retry.get("error") and not form.errors:
        form.add_error("text", retry["error"])
    return form


def _add(request: HttpRequest, *, target: str, page: str, **obj: Any) -> HttpResponse:
    form = NoteForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            note_add(author=request.user, text=form.cleaned_data["text"], **obj)
        except ApplicationError as exc:
            error = exc.message
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
    if error:
        request.session[NOTE_RETRY_KEY] = {
            "target": target,
            "text": request.POST.get("text", ""),
            "error": error,
        }
        messages.error(request, f"Note not added: {error}")
        return redirect(f"{page}#note-form")
    messages.success(request, "Note added.")
    return redirect(f"{page}#notes")


@require_POST
def session_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    _writer_required(request)
    try:
        session = selectors.session_get(pk=pk)
    except WorkflowSession.DoesNotExist as exc:
        raise Http404("No such session.") from exc
    back = queue_return_url(request.POST.get(QUEUE_RETURN_PARAM))
    query = f"?{urlencode({QUEUE_RETURN_PARAM: back})}" if back else ""
    return _add(
        request,
        target=f"session:{session.pk}",
        page=f"{session.get_absolute_url()}{query}",
        session=session,
    )


@require_POST
def client_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    _writer_required(request)
    try:
        client = Client.objects.get(pk=pk)
    except Client.DoesNotExist as exc:
        raise Http404("No such client.") from exc
    return _add(
        request,
        target=f"client:{client.pk}",
        page=client.get_absolute_url(),
        client=client,
    )
