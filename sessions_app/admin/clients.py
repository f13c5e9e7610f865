"""Clients and their provider identities; linking by hand is audited."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from ..models import Client, ProviderClient
from ..services import provider_client_link
from .base import AuditedModelAdmin, ReadOnlyInline, pretty_json_field

# The admin's change form asks no reason; the client page's link form does.
ADMIN_LINK_REASON = "Changed in the Django admin's provider client form."


class ProviderClientInline(ReadOnlyInline):
    model = ProviderClient
    fields = ("connection", "external_id", "name", "external_reference", "link_source")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("connection")


@admin.register(Client)
class ClientAdmin(AuditedModelAdmin):
    list_display = ("id", "display_name", "reference", "created_at")
    search_fields = ("display_name", "=reference")
    ordering = ("-id",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [ProviderClientInline]


@admin.register(ProviderClient)
class ProviderClientAdmin(AuditedModelAdmin):
    list_display = (
        "name",
        "connection",
        "external_id",
        "external_reference",
        "client",
        "link_source",
    )
    list_filter = ("connection", "link_source")
    list_select_related = ["connection", "client"]
    search_fields = ("name", "=external_id", "=external_reference")
    raw_id_fields = ("client",)
    readonly_fields = (
        "connection",
        "external_id",
        "raw_payload_pretty",
        "created_at",
        "updated_at",
    )
    exclude = ("raw_payload", "payload_hash")
    ordering = ("-id",)

    raw_payload_pretty = pretty_json_field("raw_payload", "Raw payload")

    def save_model(
        self, request: HttpRequest, obj: ProviderClient, form: ModelForm, change: bool
    ) -> None:
        if change and "client" in form.changed_data:
            # Linking by hand goes through the audited service, and sticks.
            provider_client_link(
                provider_client=obj,
                client=obj.client,
                actor=request.user,
                reason=ADMIN_LINK_REASON,
                source="admin",
            )
            form.changed_data.remove("client")
            if not form.changed_data:
                return
            obj.refresh_from_db(fields=["client", "link_source"])
        super().save_model(request, obj, form, change)
