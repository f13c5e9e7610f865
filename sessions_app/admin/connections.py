"""Provider connections and what their syncs leave: runs, quarantined
records, webhook deliveries."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ..models import ProviderConnection, QuarantinedRecord, SyncRun, WebhookDelivery
from ..providers import connection_rate_limit
from .base import AuditedModelAdmin, ReadOnlyAdmin, pretty_json_field


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(AuditedModelAdmin):
    list_display = (
        "slug",
        "display_name",
        "kind",
        "enabled",
        "sync_interval_seconds",
        "effective_rate_limit",
        "last_sync_finished_at",
        "last_success_at",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("slug", "display_name")
    # What the sync and the lease write: shown, never edited.
    readonly_fields = (
        "effective_rate_limit",
        "sync_cursor_pretty",
        "last_sync_started_at",
        "last_sync_finished_at",
        "last_success_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": ("slug", "kind", "display_name", "base_url", "enabled"),
                "description": "The base URL must be one of the provider's "
                "documented API hosts (https), or a host the operator allowed in "
                "VERITY_PROVIDER_ALLOWED_HOSTS.",
            },
        ),
        (
            "Credentials (names of environment variables, never the secrets)",
            {
                "fields": ("credential_env", "webhook_secret_env"),
                "description": "Only variables starting with the provider prefix "
                "(setting VERITY_PROVIDER_ENV_PREFIX, VERITY_PROVIDER_ by default) "
                "may be named: the server's own secrets cannot be.",
            },
        ),
        (
            "Sync",
            {
                "fields": (
                    "sync_interval_seconds",
                    "rate_limit_per_second",
                    "effective_rate_limit",
                    "options",
                )
            },
        ),
        ("State", {"fields": readonly_fields[1:]}),
    )

    sync_cursor_pretty = pretty_json_field("sync_cursor", "Sync cursor")

    @admin.display(description="Effective rate limit")
    def effective_rate_limit(self, obj: ProviderConnection) -> str:
        """The requests/s the connection is paced to, and where that comes from."""
        if obj.pk is None and not obj.kind:
            return "-"
        limit = connection_rate_limit(obj)
        if limit.per_second <= 0:
            return limit.source  # an invalid option, said in words
        return f"{limit.per_second:.3g}/s ({limit.per_minute:.0f}/min): {limit.source}"


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "connection",
        "trigger",
        "state",
        "started_at",
        "finished_at",
        "seen",
        "created",
        "updated",
        "unchanged",
        "quarantined",
    )
    list_filter = ("connection", "state", "trigger")
    list_select_related = ["connection"]
    ordering = ("-started_at", "-id")
    exclude = ("cursor_before", "cursor_after", "unknown_values")
    readonly_fields = (
        "cursor_before_pretty",
        "cursor_after_pretty",
        "unknown_values_pretty",
    )

    cursor_before_pretty = pretty_json_field("cursor_before", "Cursor before")
    cursor_after_pretty = pretty_json_field("cursor_after", "Cursor after")
    unknown_values_pretty = pretty_json_field(
        "unknown_values", "Unknown provider values"
    )


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(AuditedModelAdmin):
    # One row per bad record (the sync counts repeats): how often and when.
    list_display = (
        "id",
        "connection",
        "record_type",
        "external_id",
        "reason_short",
        "seen_count",
        "created_at",
        "last_seen_at",
        "resolved_at",
    )
    list_filter = ("connection", "record_type")
    list_select_related = ["connection"]
    search_fields = ("=external_id",)
    raw_id_fields = ("sync_run",)
    ordering = ("-last_seen_at", "-id")
    readonly_fields = (
        "connection",
        "sync_run",
        "record_type",
        "external_id",
        "reason",
        "raw_pretty",
        "seen_count",
        "created_at",
        "last_seen_at",
    )
    exclude = ("raw",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    raw_pretty = pretty_json_field("raw", "Raw record", stored_as_text=True)

    @admin.display(description="Reason")
    def reason_short(self, obj: QuarantinedRecord) -> str:
        return obj.reason[:80]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "delivery_id",
        "connection",
        "event_type",
        "resource_id",
        "received_at",
        "processed_at",
    )
    list_filter = ("connection", "event_type")
    list_select_related = ["connection"]
    search_fields = ("=delivery_id", "=resource_id")
    ordering = ("-received_at", "-id")
    exclude = ("body",)
    readonly_fields = ("body_pretty",)

    body_pretty = pretty_json_field("body", "Body", stored_as_text=True)
