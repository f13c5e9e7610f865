"""Sessions, their checks, policy assurance, tags and reviews.

The session and check lists search like the review queue (through indexes)
and export their selection with the same audited CSV writer as the pages.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..exports import check_csv_response, session_csv_response
from ..models import (
    Approval,
    Check,
    OutcomeOverride,
    PolicyAssurance,
    Review,
    Tag,
    WorkflowSession,
)
from ..roles import user_can_decide
from ..selectors import SESSION_QUEUE_ORDERING, checks_search, sessions_search
from ..services import session_assign
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


class SessionAdminForm(forms.ModelForm):
    """Only the assignee is editable; it must be a reviewer (as on the desk)."""

    class Meta:
        model = WorkflowSession
        fields = ("assignee",)

    def clean_assignee(self) -> Any:
        assignee = self.cleaned_data.get("assignee")
        if assignee is not None and not user_can_decide(assignee):
            raise forms.ValidationError(f"{assignee.get_username()} is not a reviewer.")
        return assignee


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
    raw_id_fields = ("assignee",)
    # The review queue's default order (selectors.sorting), like the CSV.
    ordering = SESSION_QUEUE_ORDERING
    # Provider-owned fields are the sync's, decisions and the case state the
    # case services': all read-only here (docs/case-work.md). The assignee is
    # the one editable field, and it goes through `services.session_assign`
    # (audited, the case moved into review or back), as on the desk.
    form = SessionAdminForm
    readonly_fields = (
        *(
            field.name
            for field in WorkflowSession._meta.concrete_fields
            if field.name not in {"id", "assignee", "raw_payload", "payload_hash"}
        ),
        "tag_list",
        "raw_payload_pretty",
    )
    exclude = ("raw_payload", "payload_hash", "tags")
    inlines = [PolicyAssuranceInline, CheckInline]
    # The same exporter as /sessions/export.csv.
    csv_response = session_csv_response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sessions come from the providers, through the sync

    def save_model(
        self, request: HttpRequest, obj: WorkflowSession, form: Any, change: bool
    ) -> None:
        # Nothing but the assignee reaches here (every other field is
        # read-only), and it is written by the desk's own service.
        if "assignee" in form.changed_data:
            session_assign(
                session=obj,
                assignee=form.cleaned_data["assignee"],
                actor=request.user,
                source="admin",
            )

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


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    """Four-eyes requests: written by the case services only, never here."""

    list_display = (
        "id",
        "session",
        "decision",
        "reason_code",
        "maker",
        "made_at",
        "result",
        "checker",
    )
    list_filter = ("decision", "result")
    list_select_related = ["session", "maker", "checker"]
    search_fields = ("=session__external_id", "maker__username")
    ordering = ("-made_at", "-id")


@admin.register(OutcomeOverride)
class OutcomeOverrideAdmin(ReadOnlyAdmin):
    """Outcome overrides: requested, approved and withdrawn through the case
    services only (the session page and the API), never written here."""

    list_display = (
        "id",
        "session",
        "outcome",
        "provider_outcome",
        "provider_outcome_now",
        "state",
        "maker",
        "approver",
        "effective_at",
    )
    list_filter = ("state", "outcome")
    list_select_related = ["session", "maker", "approver"]
    search_fields = ("=session__external_id", "maker__username")
    ordering = ("-effective_at", "-id")
