"""The client page's retention section: relationship end, legal hold and
erasure requests (reviewers and admins; privacy/retention.py does the work).

Each form posts here, calls one service and redirects back to the client
page (PRG) with what happened, or with the refusal in words.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from ..exceptions import ApplicationError
from ..models import Client, ErasureRequestState
from ..privacy import retention
from ..roles import user_can_manage_retention, user_can_view
from ..tasks_retention import provider_erasures_enqueue


class RelationshipEndForm(forms.Form):
    ended_on = forms.DateField(
        required=False,
        label="Relationship ended on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Blank clears it (the relationship goes on).",
    )


class LegalHoldForm(forms.Form):
    hold = forms.BooleanField(required=False, label="On legal hold")
    reason = forms.CharField(
        required=False, max_length=retention.LEGAL_HOLD_REASON_MAX, label="Reason"
    )


class ErasureRequestForm(forms.Form):
    requested_by = forms.CharField(
        max_length=200,
        label="Requested by",
        help_text="Who asked and how, in words, not a name "
        "(\u201cthe data subject, by e-mail\u201d).",
    )
    requested_on = forms.DateField(
        label="Requested on", widget=forms.DateInput(attrs={"type": "date"})
    )
    verification = forms.CharField(
        max_length=500,
        label="Identity verified by",
        help_text="How the requester's identity was checked.",
    )


def _client_or_404(request: HttpRequest, pk: int) -> Client:
    if not (user_can_view(request.user) and user_can_manage_retention(request.user)):
        raise PermissionDenied("Only reviewers and admins may change retention.")
    client = Client.objects.filter(pk=pk).first()
    if client is None:
        raise Http404("No such client.")
    return client


def _back(client: Client) -> HttpResponse:
    return redirect(f"{client.get_absolute_url()}#retention-title")


def _refused(request: HttpRequest, client: Client, form: forms.Form) -> HttpResponse:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)
    return _back(client)


@require_POST
def client_relationship_end(request: HttpRequest, pk: int) -> HttpResponse:
    client = _client_or_404(request, pk)
    form = RelationshipEndForm(request.POST)
    if not form.is_valid():
        return _refused(request, client, form)
    try:
        retention.client_relationship_end_set(
            client=client,
            ended_on=form.cleaned_data["ended_on"],
            actor=request.user,
            today=timezone.localdate(),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(client)
    ended = form.cleaned_data["ended_on"]
    messages.success(
        request,
        f"Relationship end recorded: {ended.isoformat()}."
        if ended
        else "Relationship end cleared.",
    )
    return _back(client)


@require_POST
def client_legal_hold(request: HttpRequest, pk: int) -> HttpResponse:
    client = _client_or_404(request, pk)
    form = LegalHoldForm(request.POST)
    if not form.is_valid():
        return _refused(request, client, form)
    try:
        retention.client_legal_hold_set(
            client=client,
            hold=form.cleaned_data["hold"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(client)
    messages.success(
        request,
        "Legal hold placed." if form.cleaned_data["hold"] else "Legal hold lifted.",
    )
    return _back(client)


@require_POST
def client_erasure_request(request: HttpRequest, pk: int) -> HttpResponse:
    client = _client_or_404(request, pk)
    form = ErasureRequestForm(request.POST)
    if not form.is_valid():
        return _refused(request, client, form)
    try:
        result = retention.erasure_request_record(
            client=client,
            actor=request.user,
            today=timezone.localdate(),
            **form.cleaned_data,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(client)
    if result.request.state == ErasureRequestState.REFUSED:
        messages.warning(
            request,
            f"Erasure request recorded and refused: {result.request.state_reason}",
        )
    else:
        if result.erasure is not None:
            provider_erasures_enqueue(erasure_ids=result.erasure.pending_erasure_ids)
        messages.success(
            request,
            "Erasure request recorded and accepted: the client's personal data "
            "is erased; the providers are asked to delete theirs.",
        )
    return _back(client)
