"""The client API's serializers: a client in lists, and its detail with its
provider identities and newest sessions (the session and identity
serializers are the session API's, `serializers.py`)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Client
from .serializers import ProviderClientSerializer, SessionSerializer, _absolute


class ClientSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-client-detail")
    page_url = serializers.SerializerMethodField(help_text="The client's Verity page.")
    providers = serializers.SerializerMethodField(
        help_text="The slugs of the provider connections that know the client."
    )

    class Meta:
        model = Client
        fields = [
            "id",
            "url",
            "page_url",
            "display_name",
            "reference",
            "providers",
            "risk_tier",
            "risk_tier_source",
            "has_gaps",
            "next_review_due",
            "last_activity_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_providers(self, obj: Client) -> list[str]:
        return sorted({pc.connection.slug for pc in obj.provider_clients.all()})

    @extend_schema_field(OpenApiTypes.URI)
    def get_page_url(self, obj: Client) -> str:
        return _absolute(self.context, obj.get_absolute_url())


class ClientDetailSerializer(ClientSerializer):
    """A client with its provider identities and its newest sessions.

    `sessions` is bounded (see `sessions_truncated`); `sessions_url` pages
    through all of them.
    """

    provider_clients = ProviderClientSerializer(many=True, read_only=True)
    sessions = SessionSerializer(source="recent_sessions", many=True, read_only=True)
    sessions_truncated = serializers.BooleanField(
        source="recent_sessions_truncated",
        read_only=True,
        help_text="True when the client has more sessions than listed here.",
    )
    sessions_url = serializers.SerializerMethodField(
        help_text="All of the client's sessions, paginated."
    )

    class Meta(ClientSerializer.Meta):
        fields = [
            *ClientSerializer.Meta.fields,
            "provider_clients",
            "sessions",
            "sessions_truncated",
            "sessions_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_sessions_url(self, obj: Client) -> str:
        return _absolute(self.context, f"{reverse('api-session-list')}?client={obj.pk}")
