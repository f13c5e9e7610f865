"""What every Verity admin shares: audited writes, big-table defaults, and
read-only pretty JSON for raw payloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import router, transaction
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from ..deletions import object_delete_audited
from ..pagination import EstimatedCountPaginator
from ..roles import user_can_export
from ..services import (
    audit_event_record,
    client_for_object,
    model_snapshot,
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
        if value in (None, "", {}, []):
            # Show what was received, not "—": an empty body is still a fact.
            return format_html('<pre class="verity-json">{}</pre>', text)
        return pretty_json(value)
    except (ValueError, RecursionError):
        # Not JSON, or nested too deeply to parse or indent (a hostile
        # webhook body is stored as received): the text itself.
        return format_html('<pre class="verity-json">{}</pre>', text)


def pretty_json_field(
    attname: str, description: str, *, stored_as_text: bool = False
) -> Callable[[Any, Model], str]:
    """Return a read-only admin field showing `attname` as pretty JSON.

    `stored_as_text`: the field is text that should hold JSON (a quarantined
    record, a webhook body), shown as received when it does not parse.
    """
    render = pretty_json_text if stored_as_text else pretty_json

    @admin.display(description=description)
    def display(model_admin: Any, obj: Model) -> str:
        return render(getattr(obj, attname))

    return display


class ReadOnlyInline(admin.TabularInline):
    """A child list on its parent's page, read only: rows the sync owns."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    # lists it here (tests/sessions_app/admin/test_base.py checks that).
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
        # The event lists what the delete takes along (a session's checks,
        # policies, reviews and tag links; a connection's runs).
        object_delete_audited(
            obj=obj, actor=request.user, source="admin", action="admin.delete"
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


# How many selected ids an export's audit event lists (the count is always kept).
AUDITED_SELECTION_IDS = 500


def admin_selection(queryset: QuerySet) -> dict[str, Any]:
    """Describe an admin selection for the export's audit event and file name."""
    ids = list(
        queryset.order_by("pk").values_list("pk", flat=True)[:AUDITED_SELECTION_IDS]
    )
    count = len(ids) if len(ids) < AUDITED_SELECTION_IDS else queryset.count()
    return {"selected": str(count), "selected_ids": ids}


class CsvExportActionMixin:
    """The "Export selected as CSV" action: the desk's exporter (columns,
    formula guard, audit) over the admin's selection, for exporters only."""

    actions = ["export_selected_csv"]
    # (request=, queryset=, filters=, source=) -> HttpResponse, from exports/.
    csv_response: Callable[..., Any]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return user_can_export(request.user)

    @admin.action(description="Export selected as CSV", permissions=["export"])
    def export_selected_csv(self, request: HttpRequest, queryset: QuerySet) -> Any:
        return type(self).csv_response(
            request=request,
            queryset=queryset,
            filters=admin_selection(queryset),
            source="admin",
        )
