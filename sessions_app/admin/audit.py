"""The audit trail: read-only."""

from __future__ import annotations

from django.contrib import admin

from ..models import AuditEvent
from .base import ReadOnlyAdmin, pretty_json_field


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "source",
        "action",
        "object_type",
        "object_id",
        "object_repr",
    )
    list_filter = ("source", "object_type")
    # The list shows actor_label (the name at the time), so no join to users.
    list_select_related: list[str] = []
    search_fields = ("=object_id", "actor_label", "action")
    ordering = ("-created_at", "-id")
    exclude = ("before", "after")
    readonly_fields = ("before_pretty", "after_pretty")

    before_pretty = pretty_json_field("before", "Before")
    after_pretty = pretty_json_field("after", "After")
