"""Revealing a session's or a client's masked personal data, with a reason
(reviewers and admins; audited): the page's form and the API's endpoint.

Both call `privacy.reveals.personal_data_reveal`; the reveal is kept
server-side for `VERITY_PERSONAL_DATA_REVEAL_SECONDS` and covers the pages
and the API answers of that user only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors
from ..apis import (
    AUTHENTICATION,
    DETAIL_ERRORS,
    ERROR_400,
    ERROR_415,
    BoundedIdLookupMixin,
)
from ..exceptions import ApplicationError
from ..models import Client, PersonalDataReveal, WorkflowSession
from ..permissions import CanReveal
from ..privacy.reveals import personal_data_reveal
from ..roles import user_can_reveal, user_can_view
from .queue import QUEUE_RETURN_PARAM, queue_return_url


def _target(object_type: str, pk: int) -> tuple[str, int | None, str]:
    """(label without personal data, client id, page URL) of the revealed object."""
    if object_type == PersonalDataReveal.SESSION:
        try:
            session = selectors.session_get(pk=pk)
        except WorkflowSession.DoesNotExist as exc:
            raise Http404("No such session.") from exc
        pc = session.provider_client
        return (
            session.external_id,
            (pc.client_id if pc else None),
            session.get_absolute_url(),
        )
    if not Client.objects.filter(pk=pk).exists():
        raise Http404("No such client.")
    return f"Client {pk}", pk, reverse("client-detail", args=[pk])


def _reveal(
    request: Any, object_type: str, pk: int, *, reason: str, source: str
) -> Any:
    if not (user_can_view(request.user) and user_can_reveal(request.user)):
        raise PermissionDenied("Only reviewers may reveal personal data.")
    label, client_id, url = _target(object_type, pk)
    reveal = personal_data_reveal(
        user=request.user,
        object_type=object_type,
        object_id=pk,
        object_label=label,
        client_id=client_id,
        reason=reason,
        source=source,
    )
    return reveal, url


def _web_reveal(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    back = queue_return_url(request.POST.get(QUEUE_RETURN_PARAM))
    try:
        reveal, url = _reveal(
            request,
            object_type,
            pk,
            reason=request.POST.get("reason", ""),
            source="web",
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        _, _, url = _target(object_type, pk)
    else:
        messages.success(
            request,
            f"Personal data revealed until {reveal.expires_at:%H:%M} UTC; "
            "the reveal is in the audit trail.",
        )
    if back:
        url = f"{url}?{urlencode({QUEUE_RETURN_PARAM: back})}"
    return redirect(f"{url}#personal-title")


@require_POST
def session_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Reveal a session's personal data (and its client's) for a while; PRG."""
    return _web_reveal(request, PersonalDataReveal.SESSION, pk)


@require_POST
def client_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Reveal a client's personal data (and its sessions') for a while; PRG."""
    return _web_reveal(request, PersonalDataReveal.CLIENT, pk)


class RevealInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500, help_text="Why you need to see the personal data (audited)."
    )


_REVEAL_ANSWER = inline_serializer(
    "PersonalDataRevealed",
    fields={"expires_at": serializers.DateTimeField()},
)


class _RevealApi(BoundedIdLookupMixin, generics.GenericAPIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [CanReveal]
    serializer_class = RevealInputSerializer
    filter_backends: list = []
    object_type = ""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = self.get_object()
        data = RevealInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            reveal, _ = _reveal(
                request,
                self.object_type,
                target.pk,
                reason=data.validated_data["reason"],
                source="api",
            )
        except ApplicationError as exc:
            raise serializers.ValidationError({"reason": [exc.message]}) from exc
        return Response(
            {
                "expires_at": serializers.DateTimeField().to_representation(
                    reveal.expires_at
                )
            },
            status=status.HTTP_201_CREATED,
        )


_REVEAL_RESPONSES = {
    201: _REVEAL_ANSWER,
    400: ERROR_400,
    **DETAIL_ERRORS,
    415: ERROR_415,
}


class SessionRevealApi(_RevealApi):
    """Reveal a session's personal data (and its client's) in your API answers
    for a while, with a reason (reviewers; audited)."""

    object_type = PersonalDataReveal.SESSION

    def get_queryset(self) -> Any:
        return selectors.session_queryset()

    @extend_schema(
        tags=["sessions"],
        operation_id="sessions_reveal_create",
        request=RevealInputSerializer,
        responses=_REVEAL_RESPONSES,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class ClientRevealApi(_RevealApi):
    """Reveal a client's personal data (and its sessions') in your API answers
    for a while, with a reason (reviewers; audited)."""

    object_type = PersonalDataReveal.CLIENT

    def get_queryset(self) -> Any:
        return selectors.client_queryset()

    @extend_schema(
        tags=["clients"],
        operation_id="clients_reveal_create",
        request=RevealInputSerializer,
        responses=_REVEAL_RESPONSES,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)
