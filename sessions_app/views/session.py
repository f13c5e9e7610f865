"""The session page, and the decisions and assignments made on it.

A session opened from the queue carries the queue's query string in `back`
(`queue.queue_return_url` says what it may hold): it drives the breadcrumb,
the "next in queue" link and where the forms return to.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from .. import selectors, services
from ..cases import selectors as case_selectors
from ..cases import services as case_services
from ..cases.forms import OverrideForm
from ..cases.note_views import note_form_for
from ..cases.notes import NOTE_ALL_LIMIT, NOTE_PAGE_LIMIT, session_notes_get
from ..cases.states import CLOSED_STATES, DECIDABLE_STATES, CaseState
from ..exceptions import ApplicationError
from ..filters import session_filterset
from ..forms import AssignmentForm, CaseCommentForm, DecisionForm, QueueOptionsForm
from ..models import WorkflowSession
from ..privacy.personal_fields import name_initials, payload_masked
from ..privacy.reveals import PersonalDataAccess, personal_data_access
from ..roles import (
    user_can_assign,
    user_can_decide,
    user_can_view,
    user_can_write_notes,
)
from .access import viewer_required
from .audit_history import audit_rows
from .queue import QUEUE_RETURN_PARAM, queue_return_url
from .rendering import render_page

# How much of a raw payload the session page prints; the rest is in the admin.
RAW_PAYLOAD_MAX_CHARS = 200_000
SESSION_HISTORY_LIMIT = 200


def _pretty_json(value: Any, *, limit: int = RAW_PAYLOAD_MAX_CHARS) -> tuple[str, bool]:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return (text[:limit], True) if len(text) > limit else (text, False)


def _as_list(value: Any) -> list[Any]:
    # Providers send reasons as a list, one string or an object; render any.
    if isinstance(value, list):
        return value
    return [value] if value else []


def _next_in_queue(
    request: HttpRequest, session: WorkflowSession, back: str
) -> WorkflowSession | None:
    """Return the session after `session` in the queue `back` links to, or None.

    One keyset step from the session's own (sort value, id) with the queue's
    FilterSet and sort, so it agrees with the queue's pages: a constant two
    queries at most (the assignee filter's username look-up, then one row),
    however long the queue. None when the queue's filters are not valid.
    """
    params = QueryDict(urlsplit(back).query)
    filterset = session_filterset(params=params, request=request)
    if not filterset.is_valid():
        return None
    sort = QueueOptionsForm(params).options()[0]
    return selectors.session_next_in_queue(
        queryset=filterset.qs, sort=sort, session=session
    )


# --- A form with errors survives one redirect (post/redirect/get) ---------------------
#
# A decision or assignment the form or the service refused is not rendered in
# answer to the POST: the browser would stay on the POST URL, and a reload
# would post it again. Its input and the errors the service gave are kept in
# the user's session, the browser is redirected to the session page, and that
# GET takes them back (once) and shows the form as it was, with its errors.

FORM_RETRY_KEY = "verity.session_form_retry"
RETRY_FORMS = {"decision": "decide-title", "assignment": "assign-title"}


def _form_retry_keep(
    request: HttpRequest, *, pk: int, name: str, form: DecisionForm | AssignmentForm
) -> None:
    """Keep the refused form's input and its form-wide errors for the next GET."""
    request.session[FORM_RETRY_KEY] = {
        "session": pk,
        "form": name,
        "data": {field: form.data.get(field, "") for field in form.fields},
        # The field errors come back by validating the input again; only
        # what the service said (form-wide) has to be carried.
        "errors": [str(message) for message in form.non_field_errors()],
    }


def _form_retry_take(request: HttpRequest, pk: int) -> dict[str, Any] | None:
    """Return the form kept for this session's page and forget it, or None."""
    retry = request.session.get(FORM_RETRY_KEY)
    if not isinstance(retry, dict) or retry.get("session") != pk:
        return None
    del request.session[FORM_RETRY_KEY]
    return retry if retry.get("form") in RETRY_FORMS else None


def _form_retry_redirect(
    request: HttpRequest,
    session: WorkflowSession,
    *,
    back: str,
    name: str,
    form: DecisionForm | AssignmentForm,
) -> HttpResponse:
    _form_retry_keep(request, pk=session.pk, name=name, form=form)
    query = f"?{urlencode({QUEUE_RETURN_PARAM: back})}" if back else ""
    return redirect(f"{session.get_absolute_url()}{query}#{RETRY_FORMS[name]}")


def _retried_forms(
    request: HttpRequest, pk: int
) -> dict[str, DecisionForm | AssignmentForm]:
    """The refused form kept for this page, bound to its input, with its errors."""
    retry = _form_retry_take(request, pk)
    if retry is None:
        return {}
    form: DecisionForm | AssignmentForm
    if retry["form"] == "decision":
        form = DecisionForm(retry["data"])
    else:
        form = AssignmentForm(retry["data"], reviewers=selectors.reviewer_usernames())
    form.is_valid()  # the field errors, as the POST found them
    for message in retry["errors"]:
        form.add_error(None, message)
    return {f"{retry['form']}_form": form}


# `?notes=all` lifts the page's cut of the note thread (to NOTE_ALL_LIMIT).
NOTES_PARAM = "notes"


def _notes_limit(request: HttpRequest) -> int:
    return NOTE_ALL_LIMIT if request.GET.get(NOTES_PARAM) == "all" else NOTE_PAGE_LIMIT


def _notes_all_query(back: str) -> str:
    params = {NOTES_PARAM: "all", **({QUEUE_RETURN_PARAM: back} if back else {})}
    return urlencode(params)


def _session_or_404(pk: int) -> WorkflowSession:
    try:
        return selectors.session_get(pk=pk)
    except WorkflowSession.DoesNotExist as exc:
        raise Http404("No WorkflowSession matches the given query.") from exc


def _session_masked(detail: Any, session: WorkflowSession, client: Any) -> None:
    """Mask the personal data of the fetched rows in place, for this render
    only (nothing is saved): names to initials, payload paths to MASK."""
    kind = session.connection.kind
    if client is not None:
        client.display_name = name_initials(client.display_name)
    if session.provider_client is not None:
        session.provider_client.name = name_initials(session.provider_client.name)
    for check in detail.checks:
        check.breakdown = payload_masked(kind, "breakdown", check.breakdown)


def _session_page(
    request: HttpRequest,
    pk: int,
    *,
    back: str = "",
    decision_form: DecisionForm | None = None,
    assignment_form: AssignmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        # One row more than shown tells whether the history was cut.
        detail = selectors.session_detail_get(
            pk=pk, history_limit=SESSION_HISTORY_LIMIT + 1
        )
    except WorkflowSession.DoesNotExist as exc:
        raise Http404("No such session.") from exc
    audit_truncated = len(detail.audit_events) > SESSION_HISTORY_LIMIT
    reviews_truncated = len(detail.reviews) > SESSION_HISTORY_LIMIT
    detail = dataclasses.replace(
        detail,
        audit_events=detail.audit_events[:SESSION_HISTORY_LIMIT],
        reviews=detail.reviews[:SESSION_HISTORY_LIMIT],
    )
    can_assign = user_can_assign(request.user)
    reviewers = selectors.reviewer_usernames() if can_assign else []
    session = detail.session
    client = session.provider_client.client if session.provider_client else None
    personal: PersonalDataAccess = personal_data_access(
        user=request.user,
        session_id=session.pk,
        client_id=client.pk if client else None,
    )
    shown_payload = session.raw_payload
    if personal.masked:
        _session_masked(detail, session, client)
        shown_payload = payload_masked(
            session.connection.kind, "session", session.raw_payload
        )
    raw_payload, raw_truncated = _pretty_json(shown_payload)
    next_session = _next_in_queue(request, session, back) if back else None
    back_query = f"?{urlencode({QUEUE_RETURN_PARAM: back})}" if back else ""
    approvals = case_selectors.session_approvals_get(session_id=session.pk)
    pending = approvals.pending
    return render_page(
        request,
        "sessions_app/session_detail.html",
        {
            "detail": detail,
            "session": session,
            "client": client,
            "sync_notices": selectors.sync_notices(
                connection_ids=[session.connection_id]
            ),
            "raw_payload": raw_payload,
            "personal": personal,
            "reveal_minutes": settings.VERITY_PERSONAL_DATA_REVEAL_SECONDS // 60,
            "reveal_url": reverse("session-reveal", args=[session.pk]),
            "raw_truncated": raw_truncated,
            "raw_max_chars": RAW_PAYLOAD_MAX_CHARS,
            "reasons": _as_list(session.reasons),
            "decision_form": decision_form or DecisionForm(),
            "assignment_form": assignment_form or AssignmentForm(reviewers=reviewers),
            "assigned_to_me": session.assignee_id == request.user.pk,
            "approvals": approvals,
            "overrides": case_selectors.session_overrides_get(session_id=session.pk),
            "override_form": OverrideForm(),
            "pending_approval": pending,
            # An override request returns its case to the escalation or wait
            # it interrupted: the checker reads where before deciding.
            "pending_return_words": case_selectors.approval_return_words(
                approval=pending, now=timezone.now()
            )
            if pending
            else "",
            "my_own_pending": pending is not None
            and pending.maker_id == request.user.pk,
            "case_decidable": session.case_state in DECIDABLE_STATES,
            "case_closed": session.case_state in CLOSED_STATES,
            "case_waiting": session.case_state == CaseState.WAITING,
            "case_form": CaseCommentForm(),
            "queue_url": back or reverse("session-list"),
            "queue_base_url": reverse("session-list"),
            "back": back,
            "back_param": QUEUE_RETURN_PARAM,
            "next_session_url": f"{next_session.get_absolute_url()}{back_query}"
            if next_session
            else "",
            "next_session": next_session,
            "audit_rows": audit_rows(
                detail.audit_events,
                current_url=session.get_absolute_url(),
                sessions={session.pk: session.external_id},
                clients={client.pk: str(client)} if client else {},
                mask=personal.masked,
            ),
            "audit_truncated": audit_truncated,
            "reviews_truncated": reviews_truncated,
            "notes": session_notes_get(
                session_id=session.pk, limit=_notes_limit(request)
            ),
            "note_form": note_form_for(request, target=f"session:{session.pk}"),
            "note_action": reverse("session-note-add", args=[session.pk]),
            "show_all_url": f"?{_notes_all_query(back)}",
            "can_write_notes": user_can_write_notes(request.user),
            "history_limit": SESSION_HISTORY_LIMIT,
        },
        status=status,
    )


@require_safe
@viewer_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one session, its history, and (for reviewers) the forms.

    `?back=/sessions/?…` (the queue it was opened from) drives the breadcrumb,
    the "next in queue" link and where the forms return to.
    """
    return _session_page(
        request,
        pk,
        back=queue_return_url(request.GET.get(QUEUE_RETURN_PARAM)),
        **_retried_forms(request, pk),
    )


@require_POST
def session_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a decision (reviewers only), then redirect (PRG), also when the
    input is refused: the session page shows it again with its errors.

    Back to the filtered queue the session was opened from, where the officer
    picks the next one; to the session's review history otherwise.
    """
    if not (user_can_view(request.user) and user_can_decide(request.user)):
        raise PermissionDenied("Only reviewers may record decisions.")
    session = _session_or_404(pk)
    back = queue_return_url(request.POST.get(QUEUE_RETURN_PARAM))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _form_retry_redirect(
            request, session, back=back, name="decision", form=form
        )
    try:
        result = case_services.case_decision_record(
            session=session,
            reviewer=request.user,
            decision=form.cleaned_data["decision"],
            reason_code=form.cleaned_data["reason_code"],
            comment=form.cleaned_data["comment"],
            waiting_until=form.waiting_until_moment(),
            source="web",
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _form_retry_redirect(
            request, session, back=back, name="decision", form=form
        )
    made = result.review or result.approval
    what = f"{made.get_decision_display()} ({made.get_reason_code_display()})"
    if result.pending:
        messages.success(
            request,
            f"Decision submitted on session {session.external_id}: {what}. "
            "A second reviewer must approve it before it takes effect.",
        )
    else:
        messages.success(
            request, f"Decision recorded on session {session.external_id}: {what}."
        )
    if back:
        return redirect(back)
    return redirect(f"{session.get_absolute_url()}#reviews")


@require_POST
def session_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign to me / to a reviewer, or release (reviewers only); PRG.

    Returns to the session page (assigning starts the work, it does not end
    it), keeping the queue it was opened from for its breadcrumb and forms.
    """
    if not (user_can_view(request.user) and user_can_assign(request.user)):
        raise PermissionDenied("Only reviewers may assign sessions.")
    session = _session_or_404(pk)
    back = queue_return_url(request.POST.get(QUEUE_RETURN_PARAM))
    reviewers = selectors.reviewer_usernames()
    form = AssignmentForm(request.POST, reviewers=reviewers)
    if not form.is_valid():
        return _form_retry_redirect(
            request, session, back=back, name="assignment", form=form
        )
    action = form.cleaned_data["action"]
    if action == AssignmentForm.ME:
        assignee = request.user
    elif action == AssignmentForm.RELEASE:
        assignee = None
    else:
        assignee = selectors.user_get_by_username(
            username=form.cleaned_data["assignee"]
        )
    try:
        services.session_assign(
            session=session, assignee=assignee, actor=request.user, source="web"
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _form_retry_redirect(
            request, session, back=back, name="assignment", form=form
        )
    if assignee is None:
        messages.success(request, "Session released: it is unassigned now.")
    elif assignee.pk == request.user.pk:
        messages.success(request, "Session assigned to you.")
    else:
        messages.success(request, f"Session assigned to {assignee.get_username()}.")
    query = f"?{urlencode({QUEUE_RETURN_PARAM: back})}" if back else ""
    return redirect(f"{session.get_absolute_url()}{query}")
