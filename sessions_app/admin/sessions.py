"""Sessions, their checks, policy assurance, tags and reviews.

The session and check lists search like the review queue (through indexes)
and export their selection with the same audited CSV writer as the pages.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..exports import check_csv_response, session_csv_response
from ..models import Check, PolicyAssurance, Review, Tag, WorkflowSession
from ..selectors import SESSION_QUEUE_ORDERING, checks_search, sessions_search
from .base import (
    AuditedModelAdmin,
    CsvExportActionMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    pretty_json_field,
)
from .display import date_column, text_column
from .paging import KeysetPagedAdminMixin


class CheckInline(ReadOnlyInline):
    model = Check
    fields = (
        "external_id",
        "check_type",
        "kind",
        "status",
        "raw_status",
        "outcome",
        "raw_outcome",
    )


class PolicyAssuranceInline(ReadOnlyInline):
    model = PolicyAssurance
    fields = ("policy_name", "policy_id", "outcome", "raw_outcome")
    show_change_link = False


@admin.register(WorkflowSession)
class WorkflowSessionAdmin(
    KeysetPagedAdminMixin, CsvExportActionMixin, AuditedModelAdmin
):
    # The essentials, short labels, long values cut (the full value in a
    # tooltip), ISO UTC dates: the list fits 1440 px. The rest is on the
    # session's own page.
    list_display = (
        "session_column",
        "provider_column",
        "client_column",
        "status",
        "outcome",
        "assignee",
        "created_column",
    )
    session_column = text_column(
        "external_id", "Session", limit=24, ordering="external_id"
    )
    provider_column = text_column(
        "connection__slug", "Provider", limit=14, ordering="connection__slug"
    )
    client_column = text_column("provider_client", "Client", limit=28)
    created_column = date_column("provider_created_at", "Created")
    # Keyset pages in the default order (admin/paging.py): no OFFSET, no COUNT.
    keyset_sort = ("provider_created_at", True)
    list_filter = ("connection", "status", "outcome")
    list_select_related = ["connection", "provider_client", "assignee"]
    # Searched like the review queue's `q` (`get_search_results`); declared so
    # the admin shows its search box.
    search_fields = ("=external_id",)
    search_help_text = (
        "Client or provider client name (contains), or an exact session, "
        "provider client or reference id: the review queue's search."
    )
    raw_id_fields = ("provider_client", "assignee")
    # The review queue's default order (selectors.sorting), like the CSV.
    ordering = SESSION_QUEUE_ORDERING
    readonly_fields = (
        "connection",
        "external_id",
        "raw_status",
        "raw_outcome",
        "tag_list",
        "raw_payload_pretty",
        "first_seen_at",
        "last_synced_at",
        "last_decision",
        "last_decision_at",
    )
    exclude = ("raw_payload", "payload_hash", "tags")
    inlines = [PolicyAssuranceInline, CheckInline]
    # The same exporter as /sessions/export.csv.
    csv_response = session_csv_response

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # The queue's search, not Django's OR over joined columns: the same
        # rows as /sessions/?q=, through indexes (an OR across the joins
        # scans every session: 4.2 s at a million for a rare name).
        return sessions_search(queryset=queryset, term=search_term), False

    @admin.display(description="Tags")
    def tag_list(self, obj: WorkflowSession) -> str:
        return ", ".join(str(tag) for tag in obj.tags.all()) or "—"

    raw_payload_pretty = pretty_json_field("raw_payload", "Raw payload")


@admin.register(Check)
class CheckAdmin(CsvExportActionMixin, AuditedModelAdmin):
    list_display = (
        "external_id",
        "check_type",
        "kind",
        "connection",
        "session",
        "status",
        "outcome",
        "provider_created_at",
    )
    list_filter = ("connection", "kind", "status", "outcome")
    list_select_related = ["connection", "session"]
    # Searched by `get_search_results`; declared so the admin shows its box.
    search_fields = ("=external_id",)
    search_help_text = "An exact check id, or a session id for all its checks."
    raw_id_fields = ("session",)
    ordering = ("-id",)
    readonly_fields = (
        "connection",
        "external_id",
        "raw_status",
        "raw_outcome",
        "breakdown_pretty",
        "raw_payload_pretty",
    )
    exclude = ("raw_payload", "payload_hash", "breakdown")
    # The same exporter as /checks/export.csv.
    csv_response = check_csv_response

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # Index look-ups of both ids, not Django's OR across the session join
        # (which scans every check).
        return checks_search(queryset=queryset, term=search_term), False

    breakdown_pretty = pretty_json_field("breakdown", "Breakdown")
    raw_payload_pretty = pretty_json_field("raw_payload", "Raw payload")


@admin.register(PolicyAssurance)
class PolicyAssuranceAdmin(AuditedModelAdmin):
    list_display = ("policy_name", "policy_id", "session", "outcome", "raw_outcome")
    list_filter = ("outcome",)
    list_select_related = ["session"]
    search_fields = ("policy_name", "=policy_id")
    raw_id_fields = ("session",)
    ordering = ("-id",)
    readonly_fields = ("details_pretty",)
    exclude = ("details",)

    details_pretty = pretty_json_field("details", "Details")


@admin.register(Tag)
class TagAdmin(AuditedModelAdmin):
    list_display = ("name", "kind")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "session",
        "decision",
        "reason_code",
        "reviewer",
        "created_at",
    )
    list_filter = ("decision", "reason_code")
    list_select_related = ["session", "reviewer"]
    search_fields = ("=session__external_id", "reviewer__username")
    ordering = ("-created_at", "-id")
