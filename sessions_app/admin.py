"""Django admin: the compliance leads' tool for fixing data and configuration.

Built for big tables: no full counts, explicit joins, no foreign-key dropdowns,
no facets. Raw payloads are read-only and pretty-printed. Every add, change,
many-to-many edit, password change and delete made here writes an AuditEvent
with before and after (AuditedModelAdmin), in the transaction of the change.
An existing row is saved with only the fields its form changed, so an edit
never writes back stale values of fields the sync owns.
Secrets never appear: connections hold only the names of environment variables.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import router, transaction
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from .exports import check_csv_response, session_csv_response
from .filters import checks_search, sessions_search
from .models import (
    AuditEvent,
    Check,
    Client,
    PolicyAssurance,
    ProviderClient,
    ProviderConnection,
    QuarantinedRecord,
    Review,
    SyncRun,
    Tag,
    WebhookDelivery,
    WorkflowSession,
)
from .pagination import EstimatedCountPaginator
from .roles import user_can_export
from .services import (
    audit_event_record,
    client_for_object,
    model_snapshot,
    provider_client_link,
    snapshot_diff,
)


def pretty_json(value: Any) -> str:
    if value in (None, "", {}, []):
        return "—"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="verity-json">{}</pre>', text)


def pretty_json_text(text: str) -> str:
    """Render stored text as pretty JSON when it parses, else as the escaped text."""
    if not text:
        return "—"
    try:
        value = json.loads(text)
    except ValueError:
        return format_html('<pre class="verity-json">{}</pre>', text)
    if value in (None, "", {}, []):
        # Show what was received, not "—": an empty body is still a fact.
        return format_html('<pre class="verity-json">{}</pre>', text)
    return pretty_json(value)


def _m2m_label(related: Model) -> str:
    if isinstance(related, Permission):
        # The name `has_perm` checks, readable without the content type's id.
        return f"{related.content_type.app_label}.{related.codename}"
    return str(related)


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every write is audited, tuned for large tables.

    Field edits are recorded by `save_model`, many-to-many edits by
    `save_related` (they are saved there), deletions one event per object. The
    admin's change view runs all of it in one transaction; `delete_queryset`
    opens its own.
    """

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50
    # Joins are named per admin; an admin with a foreign key in list_display
    # lists it here (tests/sessions_app/test_admin.py checks that).
    list_select_related: list[str] = []
    # The action of the event that records a many-to-many edit.
    audit_m2m_action = "admin.change"

    def _stored_snapshot(self, obj: Any, fields: list[str]) -> dict[str, Any]:
        fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
        return _snapshot_only(model_snapshot(fresh), obj, fields)

    def changed_fields(self, form: ModelForm, obj: Any) -> list[str]:
        """Return the concrete fields of `obj` that the form changed."""
        concrete = {field.name for field in obj._meta.concrete_fields}
        return [name for name in form.changed_data if name in concrete]

    def save_model(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            self._audit_fields(request, obj, "admin.add", {}, model_snapshot(obj))
            return
        # Write only what the form changed: the instance was read when the
        # request began, and the sync may have moved its own fields since
        # (a lease renewed, a cursor advanced); a full save would undo that.
        fields = self.changed_fields(form, obj)
        if not fields:
            return
        before = self._stored_snapshot(obj, fields)
        obj.save(update_fields=list(dict.fromkeys([*fields, *_auto_now_fields(obj)])))
        after = _snapshot_only(model_snapshot(obj), obj, fields)
        before, after = snapshot_diff(before, after)
        if before or after:
            self._audit_fields(request, obj, "admin.change", before, after)

    def _audit_fields(
        self, request: HttpRequest, obj: Any, action: str, before: dict, after: dict
    ) -> None:
        audit_event_record(
            actor=request.user,
            source="admin",
            action=action,
            obj=obj,
            client=client_for_object(obj),
            before=before,
            after=after,
        )

    def _m2m_snapshot(self, form: ModelForm) -> dict[str, list[str]]:
        obj = form.instance
        snapshot: dict[str, list[str]] = {}
        if obj.pk is None:
            return snapshot
        for field in obj._meta.many_to_many:
            if field.name not in form.fields:
                continue
            related = getattr(obj, field.name).all()
            if field.related_model is Permission:
                related = related.select_related("content_type")
            snapshot[field.name] = sorted(_m2m_label(item) for item in related)
        return snapshot

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        before = self._m2m_snapshot(form)
        super().save_related(request, form, formsets, change)
        after = self._m2m_snapshot(form)
        changed = [name for name in after if before.get(name) != after[name]]
        if changed:
            audit_event_record(
                actor=request.user,
                source="admin",
                action=self.audit_m2m_action,
                obj=form.instance,
                client=client_for_object(form.instance),
                before={name: before.get(name, []) for name in changed},
                after={name: after[name] for name in changed},
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = model_snapshot(obj)
        client = client_for_object(obj)
        object_id, label, text = str(obj.pk), obj._meta.label_lower, str(obj)
        super().delete_model(request, obj)
        audit_event_record(
            actor=request.user,
            source="admin",
            action="admin.delete",
            object_type=label,
            object_id=object_id,
            object_repr=text,
            client=client,
            before=before,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Delete the selection and write one audit row per object: all or nothing.

        Django's "delete selected" action does not open a transaction itself.
        """
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            for obj in queryset:
                self.delete_model(request, obj)


def _auto_now_fields(obj: Model) -> list[str]:
    return [
        field.name
        for field in obj._meta.concrete_fields
        if getattr(field, "auto_now", False)
    ]


def _snapshot_only(
    snapshot: dict[str, Any], obj: Any, fields: list[str]
) -> dict[str, Any]:
    """Keep the snapshot keys of the named fields."""
    attnames = {obj._meta.get_field(name).attname for name in fields}
    return {key: value for key, value in snapshot.items() if key in attnames}


class ReadOnlyAdmin(AuditedModelAdmin):
    """For records Verity writes itself (sync runs, audit rows): look, never touch."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(AuditedModelAdmin):
    list_display = (
        "slug",
        "display_name",
        "kind",
        "enabled",
        "sync_interval_seconds",
        "rate_limit_per_second",
        "last_sync_finished_at",
        "last_success_at",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("slug", "display_name")
    readonly_fields = (
        "sync_cursor_pretty",
        "last_sync_started_at",
        "last_sync_finished_at",
        "last_success_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("slug", "kind", "display_name", "base_url", "enabled")}),
        (
            "Credentials (names of environment variables, never the secrets)",
            {"fields": ("credential_env", "webhook_secret_env")},
        ),
        (
            "Sync",
            {"fields": ("sync_interval_seconds", "rate_limit_per_second", "options")},
        ),
        (
            "State",
            {
                "fields": (
                    "sync_cursor_pretty",
                    "last_sync_started_at",
                    "last_sync_finished_at",
                    "last_success_at",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    @admin.display(description="Sync cursor")
    def sync_cursor_pretty(self, obj: ProviderConnection) -> str:
        return pretty_json(obj.sync_cursor)


class ProviderClientInline(admin.TabularInline):
    model = ProviderClient
    fields = ("connection", "external_id", "name", "external_reference", "link_source")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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

    @admin.display(description="Raw payload")
    def raw_payload_pretty(self, obj: ProviderClient) -> str:
        return pretty_json(obj.raw_payload)

    def save_model(
        self, request: HttpRequest, obj: ProviderClient, form: ModelForm, change: bool
    ) -> None:
        if change and "client" in form.changed_data:
            # Linking by hand goes through the audited service, and sticks.
            provider_client_link(
                provider_client=obj,
                client=obj.client,
                actor=request.user,
                source="admin",
            )
            form.changed_data.remove("client")
            if not form.changed_data:
                return
            obj.refresh_from_db(fields=["client", "link_source"])
        super().save_model(request, obj, form, change)


# How many selected ids an export's audit event lists (the count is always kept).
AUDITED_SELECTION_IDS = 500


def _admin_selection(queryset: QuerySet) -> dict[str, Any]:
    """Describe an admin selection for the export's audit event and file name."""
    ids = list(
        queryset.order_by("pk").values_list("pk", flat=True)[:AUDITED_SELECTION_IDS]
    )
    count = len(ids) if len(ids) < AUDITED_SELECTION_IDS else queryset.count()
    return {"selected": str(count), "selected_ids": ids}


class CheckInline(admin.TabularInline):
    model = Check
    fields = (
        "external_id",
        "check_type",
        "status",
        "raw_status",
        "outcome",
        "raw_outcome",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PolicyAssuranceInline(admin.TabularInline):
    model = PolicyAssurance
    fields = ("policy_name", "policy_id", "outcome", "raw_outcome")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkflowSession)
class WorkflowSessionAdmin(AuditedModelAdmin):
    list_display = (
        "external_id",
        "connection",
        "provider_client",
        "workflow_name",
        "status",
        "outcome",
        "assignee",
        "provider_created_at",
        "last_synced_at",
    )
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
    ordering = ("-provider_created_at", "-id")
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
    actions = ["export_selected_csv"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # The queue's search, not Django's OR over joined columns: the same
        # rows as /sessions/?q=, through indexes (an OR across the joins
        # scans every session: 4.2 s at a million for a rare name).
        return sessions_search(queryset, search_term), False

    def has_export_permission(self, request: HttpRequest) -> bool:
        return user_can_export(request.user)

    @admin.action(description="Export selected as CSV", permissions=["export"])
    def export_selected_csv(self, request: HttpRequest, queryset: QuerySet) -> Any:
        # The same exporter (columns, injection guard, audit) as /sessions/export.csv.
        return session_csv_response(
            request=request,
            queryset=queryset,
            filters=_admin_selection(queryset),
            source="admin",
        )

    @admin.display(description="Tags")
    def tag_list(self, obj: WorkflowSession) -> str:
        return ", ".join(str(tag) for tag in obj.tags.all()) or "—"

    @admin.display(description="Raw payload")
    def raw_payload_pretty(self, obj: WorkflowSession) -> str:
        return pretty_json(obj.raw_payload)


@admin.register(Check)
class CheckAdmin(AuditedModelAdmin):
    list_display = (
        "external_id",
        "check_type",
        "connection",
        "session",
        "status",
        "outcome",
        "provider_created_at",
    )
    list_filter = ("connection", "status", "outcome")
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
    actions = ["export_selected_csv"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # Index look-ups of both ids, not Django's OR across the session join
        # (which scans every check).
        return checks_search(queryset, search_term), False

    def has_export_permission(self, request: HttpRequest) -> bool:
        return user_can_export(request.user)

    @admin.action(description="Export selected as CSV", permissions=["export"])
    def export_selected_csv(self, request: HttpRequest, queryset: QuerySet) -> Any:
        # The same exporter (columns, injection guard, audit) as /checks/export.csv.
        return check_csv_response(
            request=request,
            queryset=queryset,
            filters=_admin_selection(queryset),
            source="admin",
        )

    @admin.display(description="Breakdown")
    def breakdown_pretty(self, obj: Check) -> str:
        return pretty_json(obj.breakdown)

    @admin.display(description="Raw payload")
    def raw_payload_pretty(self, obj: Check) -> str:
        return pretty_json(obj.raw_payload)


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

    @admin.display(description="Details")
    def details_pretty(self, obj: PolicyAssurance) -> str:
        return pretty_json(obj.details)


@admin.register(Tag)
class TagAdmin(AuditedModelAdmin):
    list_display = ("name", "kind")
    list_filter = ("kind",)
    search_fields = ("name",)


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

    @admin.display(description="Cursor before")
    def cursor_before_pretty(self, obj: SyncRun) -> str:
        return pretty_json(obj.cursor_before)

    @admin.display(description="Cursor after")
    def cursor_after_pretty(self, obj: SyncRun) -> str:
        return pretty_json(obj.cursor_after)

    @admin.display(description="Unknown provider values")
    def unknown_values_pretty(self, obj: SyncRun) -> str:
        return pretty_json(obj.unknown_values)


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(AuditedModelAdmin):
    list_display = (
        "id",
        "connection",
        "record_type",
        "external_id",
        "reason_short",
        "created_at",
        "resolved_at",
    )
    list_filter = ("connection", "record_type")
    list_select_related = ["connection"]
    search_fields = ("=external_id",)
    raw_id_fields = ("sync_run",)
    ordering = ("-created_at", "-id")
    readonly_fields = (
        "connection",
        "sync_run",
        "record_type",
        "external_id",
        "reason",
        "raw_pretty",
        "created_at",
    )
    exclude = ("raw",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Raw record")
    def raw_pretty(self, obj: QuarantinedRecord) -> str:
        return pretty_json_text(obj.raw)

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

    @admin.display(description="Body")
    def body_pretty(self, obj: WebhookDelivery) -> str:
        return pretty_json_text(obj.body)


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

    @admin.display(description="Before")
    def before_pretty(self, obj: AuditEvent) -> str:
        return pretty_json(obj.before)

    @admin.display(description="After")
    def after_pretty(self, obj: AuditEvent) -> str:
        return pretty_json(obj.after)


# Users and roles are edited here too, so their changes are audited the same way.
from django.contrib.admin.utils import unquote  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.admin import GroupAdmin, UserAdmin  # noqa: E402
from django.contrib.auth.hashers import is_password_usable  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402

User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedModelAdmin, UserAdmin):
    list_filter = ("is_active", "is_superuser", "groups")
    # Group and permission edits read as role changes in the history.
    audit_m2m_action = "admin.roles"

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> Any:
        """Change a password and audit it in one transaction, never with the hash.

        Django's view is not atomic. The event records only whether the account
        can log in with a password, before and after.
        """
        with transaction.atomic(using=router.db_for_write(self.model)):
            user = self.get_object(request, unquote(id))
            before = user.password if user is not None else None
            response = super().user_change_password(request, id, form_url)
            if user is not None and request.method == "POST":
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    audit_event_record(
                        actor=request.user,
                        source="admin",
                        action="admin.password",
                        obj=user,
                        before={"usable_password": is_password_usable(before)},
                        after={"usable_password": user.has_usable_password()},
                    )
        return response


@admin.register(Group)
class AuditedGroupAdmin(AuditedModelAdmin, GroupAdmin):
    audit_m2m_action = "admin.roles"
