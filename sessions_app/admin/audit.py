"""The audit trail: read-only."""

from __future__ import annotations

from django.contrib import admin

from ..models import AuditEvent
from .base import ReadOnlyAdmin, pretty_json_field
from .display import date_column, text_column, truncated
from .paging import KeysetPagedAdminMixin


@admin.register(AuditEvent)
class AuditEventAdmin(KeysetPagedAdminMixin, ReadOnlyAdmin):
    # Short labels, long values cut with the full value in a tooltip, ISO UTC
    # dates: the list fits 1440 px (the event's page has everything).
    list_display = (
        "when_column",
        "actor_column",
        "source",
        "action_column",
        "object_column",
        "summary_column",
    )
    when_column = date_column("created_at", "When")
    actor_column = text_column("actor_label", "Actor", limit=20, ordering="actor_label")
    action_column = text_column("action", "Action", limit=28, ordering="action")
    summary_column = text_column("object_repr", "Summary", limit=40)
    # Keyset pages in the default order (admin/paging.py): no OFFSET, no COUNT.
    keyset_sort = ("created_at", True)
    list_filter = ("source", "object_type")
    # The list shows actor_label (the name at the time), so no join to users.
    list_select_related: list[str] = []
    search_fields = ("=object_id", "actor_label", "action")
    ordering = ("-created_at", "-id")
    exclude = ("before", "after")
    readonly_fields = ("before_pretty", "after_pretty")

    @admin.display(description="Object", ordering="object_type")
    def object_column(self, obj: AuditEvent) -> str:
        return truncated(f"{obj.object_type} {obj.object_id}".strip(), 32)

    before_pretty = pretty_json_field("before", "Before")
    after_pretty = pretty_json_field("after", "After")
