"""The retention clock over the API, for the company's own systems: a client's
relationship end and legal hold, and data subjects' erasure requests.

`GET /api/v1/clients/{id}/retention/` (viewers) returns where the client stands;
`PATCH` (reviewers and admins, or their API tokens) sets `relationship_ended_on`
and/or `legal_hold` with `legal_hold_reason`. `POST
/api/v1/clients/{id}/erasure-requests/` records a request and answers it:
`refused` with `keep_until` and the reason while the records must be kept,
else `erased`. Each change is one audited service call (privacy/retention.py).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .apis import (
    AUTHENTICATION,
    DETAIL_ERRORS,
    ERROR_400,
    ERROR_415,
    BoundedIdLookupMixin,
)
from .models import Client, ErasureRequest, ProviderErasure
from .permissions import CanManageRetention
from .privacy import retention
from .privacy.selectors import client_retention_get
from .tasks_retention import provider_erasures_enqueue


class ErasureRequestSerializer(serializers.ModelSerializer):
    entered_by = serializers.CharField(
        source="entered_by.get_username", read_only=True, default=None
    )

    class Meta:
        model = ErasureRequest
        fields = [
            "id",
            "requested_by",
            "requested_on",
            "verification",
            "entered_by",
            "entered_at",
            "state",
            "keep_until",
            "state_reason",
        ]
        read_only_fields = fields


class ProviderErasureSerializer(serializers.ModelSerializer):
    connection = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ProviderErasure
        fields = [
            "id",
            "connection",
            "external_id",
            "requested_at",
            "answered_at",
            "status_code",
            "outcome",
            "attempts",
            "response_excerpt",
            "last_error",
        ]
        read_only_fields = fields


class RetentionSerializer(serializers.Serializer):
    """Where a client stands on the retention clock (the PATCH accepts the
    three writable fields; any may be left out)."""

    relationship_ended_on = serializers.DateField(allow_null=True, required=False)
    legal_hold = serializers.BooleanField(required=False)
    legal_hold_reason = serializers.CharField(
        allow_blank=True, required=False, max_length=retention.LEGAL_HOLD_REASON_MAX
    )
    keep_until = serializers.DateField(read_only=True, allow_null=True)
    erasable = serializers.BooleanField(read_only=True)
    kept_because = serializers.CharField(read_only=True)
    erased_at = serializers.DateTimeField(read_only=True, allow_null=True)
    retention_years = serializers.IntegerField(read_only=True)
    erasure_requests = ErasureRequestSerializer(many=True, read_only=True)
    provider_erasures = ProviderErasureSerializer(many=True, read_only=True)


class ErasureRequestInputSerializer(serializers.Serializer):
    requested_by = serializers.CharField(max_length=200)
    requested_on = serializers.DateField()
    verification = serializers.CharField(max_length=500)


def _retention_data(client: Client) -> dict[str, Any]:
    found = client_retention_get(client=client, today=timezone.localdate())
    state = found.state
    return RetentionSerializer(
        {
            "relationship_ended_on": state.relationship_ended_on,
            "legal_hold": state.legal_hold,
            "legal_hold_reason": state.legal_hold_reason,
            "keep_until": state.keep_until,
            "erasable": state.erasable,
            "kept_because": state.kept_because,
            "erased_at": state.erased_at,
            "retention_years": found.retention_years,
            "erasure_requests": found.erasure_requests,
            "provider_erasures": found.provider_erasures,
        }
    ).data


class ClientRetentionApi(BoundedIdLookupMixin, generics.GenericAPIView):
    """A client's retention clock: read it, or set its relationship end and legal hold."""

    authentication_classes = AUTHENTICATION
    permission_classes = [CanManageRetention]
    serializer_class = RetentionSerializer
    filter_backends: list = []
    queryset = Client.objects.all()

    @extend_schema(
        tags=["clients"], responses={200: RetentionSerializer, **DETAIL_ERRORS}
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(_retention_data(self.get_object()))

    @extend_schema(
        tags=["clients"],
        request=RetentionSerializer,
        responses={
            200: RetentionSerializer,
            400: ERROR_400,
            **DETAIL_ERRORS,
            415: ERROR_415,
        },
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        client = self.get_object()
        data = RetentionSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # Both services check the client again under its row lock; an
        # ApplicationError is the API's 400 `{detail}`, and undoes both.
        with transaction.atomic():
            self._apply(client, values, request.user)
        client.refresh_from_db()
        return Response(_retention_data(client))

    @staticmethod
    def _apply(client: Client, values: dict[str, Any], actor: Any) -> None:
        if "relationship_ended_on" in values:
            retention.client_relationship_end_set(
                client=client,
                ended_on=values["relationship_ended_on"],
                actor=actor,
                today=timezone.localdate(),
                source="api",
            )
        if "legal_hold" in values or "legal_hold_reason" in values:
            hold = values.get("legal_hold", client.legal_hold)
            retention.client_legal_hold_set(
                client=client,
                hold=hold,
                reason=values.get("legal_hold_reason", client.legal_hold_reason),
                actor=actor,
                source="api",
            )


class ClientErasureRequestApi(BoundedIdLookupMixin, generics.GenericAPIView):
    """Record a data subject's erasure request and answer it (reviewers and admins)."""

    authentication_classes = AUTHENTICATION
    permission_classes = [CanManageRetention]
    serializer_class = ErasureRequestInputSerializer
    filter_backends: list = []
    queryset = Client.objects.all()

    @extend_schema(
        tags=["clients"],
        request=ErasureRequestInputSerializer,
        responses={
            201: ErasureRequestSerializer,
            400: ERROR_400,
            **DETAIL_ERRORS,
            415: ERROR_415,
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        client = self.get_object()
        data = ErasureRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = retention.erasure_request_record(
            client=client,
            actor=request.user,
            today=timezone.localdate(),
            source="api",
            **data.validated_data,
        )
        if result.erasure is not None:
            provider_erasures_enqueue(erasure_ids=result.erasure.pending_erasure_ids)
        return Response(
            ErasureRequestSerializer(result.request).data,
            status=status.HTTP_201_CREATED,
        )
