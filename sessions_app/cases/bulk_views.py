"""The queue's bulk bar: one POST applies one action to the ticked rows,
then back to the same queue (PRG) with what happened in words."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import selectors
from ..exceptions import ApplicationError
from ..roles import user_can_assign, user_can_decide, user_can_view
from ..views.queue import QUEUE_RETURN_PARAM, queue_return_url
from .bulk import BulkAction, RowOutcome, sessions_bulk_apply
from .forms import BulkForm


def user_can_work_in_bulk(user: object) -> bool:
    return user_can_view(user) and user_can_assign(user) and user_can_decide(user)


@require_POST
def sessions_bulk(request: HttpRequest) -> HttpResponse:
    """Assign, unassign, note or decide the selected rows (reviewers and
    admins); viewers get a 403."""
    if not user_can_work_in_bulk(request.user):
        raise PermissionDenied("Only reviewers and admins may work in bulk.")
    back = queue_return_url(request.POST.get(QUEUE_RETURN_PARAM)) or reverse(
        "session-list"
    )
    form = BulkForm(request.POST, reviewers=selectors.reviewer_usernames())
    if not form.is_valid():
        errors = " ".join(e for errors in form.errors.values() for e in errors)
        messages.error(request, f"Nothing changed: {errors}")
        return redirect(back)
    data = form.cleaned_data
    assignee = None
    if data["action"] == BulkAction.ASSIGN:
        assignee = get_user_model().objects.filter(username=data["assignee"]).first()
    try:
        result = sessions_bulk_apply(
            actor=request.user,
            session_ids=form.selected_ids(),
            action=data["action"],
            assignee=assignee,
            text=data["text"],
            decision=data["decision"],
            reason_code=data["reason_code"],
            comment=data["comment"],
            source="web",
        )
    except ApplicationError as exc:
        messages.error(request, f"Nothing changed: {exc.message}")
        return redirect(back)
    refused = result.ids(RowOutcome.REFUSED) or result.ids(RowOutcome.UNCHANGED)
    (messages.warning if refused else messages.success)(request, result.summary)
    return redirect(back)
