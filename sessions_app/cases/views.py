"""The session page's case actions: a second reviewer approves or sends back
a pending decision; a reviewer reopens a closed case or resumes a waiting
one, requests or withdraws an outcome override. POST only, reviewers only; each redirects (PRG) with the service's
message, and a refused action says why on the page it returns to."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import selectors
from ..exceptions import ApplicationError
from ..forms import CaseCommentForm
from ..models import Approval, WorkflowSession
from ..roles import user_can_decide, user_can_view
from ..views.queue import QUEUE_RETURN_PARAM, queue_return_url
from . import overrides as override_services
from . import selectors as case_selectors
from . import services as case_services
from .forms import OverrideForm


def _reviewer_required(request: HttpRequest) -> None:
    if not (user_can_view(request.user) and user_can_decide(request.user)):
        raise PermissionDenied("Only reviewers may work on cases.")


def _session_page(session: WorkflowSession, back: str, anchor: str = "case") -> str:
    query = f"?{urlencode({QUEUE_RETURN_PARAM: back})}" if back else ""
    return f"{session.get_absolute_url()}{query}#{anchor}"


def _comment(request: HttpRequest) -> str:
    form = CaseCommentForm(request.POST)
    form.is_valid()
    # Too long is the service's message too; keep the raw text for it.
    return form.cleaned_data.get("comment") or request.POST.get("comment", "")


def _approval_or_404(pk: int) -> Approval:
    try:
        return case_selectors.approval_get(pk=pk)
    except Approval.DoesNotExist as exc:
        raise Http404("No such approval.") from exc


def _session_or_404(pk: int) -> WorkflowSession:
    try:
        return selectors.session_get(pk=pk)
    except WorkflowSession.DoesNotExist as exc:
        raise Http404("No such session.") from exc


def _run(
    request: HttpRequest,
    session: WorkflowSession,
    action: Callable[[], object],
    done: str | list[str],
    *,
    leave_to_queue: bool = False,
    anchor: str = "case",
) -> HttpResponse:
    """Run `action`; `done` is the success message (or a list the action
    appends it to, when the words depend on what it did)."""
    back = queue_return_url(request.POST.get(QUEUE_RETURN_PARAM))
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_session_page(session, back, anchor))
    messages.success(request, done if isinstance(done, str) else " ".join(done))
    if leave_to_queue and back:
        return redirect(back)
    return redirect(_session_page(session, back, anchor))


@require_POST
def approval_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve a pending decision (a reviewer other than its maker)."""
    _reviewer_required(request)
    approval = _approval_or_404(pk)
    return _run(
        request,
        approval.session,
        lambda: case_services.approval_approve(
            approval=approval, checker=request.user, comment=_comment(request)
        ),
        f"Decision approved on session {approval.session.external_id}: "
        f"{approval.get_decision_display()} by {approval.maker.get_username()} "
        "takes effect.",
        leave_to_queue=True,
    )


@require_POST
def approval_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a pending decision back to its maker, with a comment."""
    _reviewer_required(request)
    approval = _approval_or_404(pk)
    return _run(
        request,
        approval.session,
        lambda: case_services.approval_send_back(
            approval=approval, checker=request.user, comment=_comment(request)
        ),
        f"Decision sent back to {approval.maker.get_username()}: the case is "
        "open for a new decision.",
        leave_to_queue=True,
    )


@require_POST
def case_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Reopen a closed case, with a reason."""
    _reviewer_required(request)
    session = _session_or_404(pk)
    return _run(
        request,
        session,
        lambda: case_services.case_reopen(
            session=session, actor=request.user, comment=_comment(request)
        ),
        "Case reopened: record a new decision when ready.",
    )


@require_POST
def case_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Bring a case waiting for information back to work now."""
    _reviewer_required(request)
    session = _session_or_404(pk)
    return _run(
        request,
        session,
        lambda: case_services.case_resume(
            session=session, actor=request.user, comment=_comment(request)
        ),
        "Case back to work: the information arrived.",
    )


@require_POST
def outcome_override_request(request: HttpRequest, pk: int) -> HttpResponse:
    """Request an outcome override (a second reviewer approves it)."""
    _reviewer_required(request)
    session = _session_or_404(pk)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        back = queue_return_url(request.POST.get(QUEUE_RETURN_PARAM))
        problems = "; ".join(
            f"{form.fields[field].label or field}: {' '.join(errors)}"
            for field, errors in form.errors.items()
        )
        messages.error(request, f"The override was not requested. {problems}")
        return redirect(_session_page(session, back, anchor="override"))
    data = form.cleaned_data

    def request_override() -> None:
        result = override_services.outcome_override_request(
            session=session,
            maker=request.user,
            outcome=data["outcome"],
            reason_code=data["reason_code"],
            comment=data["comment"],
        )
        done.append(
            "Override requested: another reviewer must approve it before it "
            "takes effect."
            if result.pending
            else f"Override recorded: {result.override.summary()}."
        )

    done: list[str] = []
    return _run(request, session, request_override, done, anchor="override")


@require_POST
def outcome_override_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw the active outcome override, saying why."""
    _reviewer_required(request)
    session = _session_or_404(pk)
    return _run(
        request,
        session,
        lambda: override_services.outcome_override_withdraw(
            session=session, actor=request.user, comment=_comment(request)
        ),
        "Override withdrawn: the provider's outcome shows again.",
        anchor="override",
    )
