"""Login lockouts (django-axes' records) in Verity's audited admin.

Axes' own admin is switched off (AXES_ENABLE_ADMIN = False): it would delete
lockouts without an audit event. Here an admin reads attempts and failures,
and clears a lockout by deleting its attempt (one or a selection); each
deletion is a `lockout.clear` AuditEvent (sessions_app/lockouts.py).
"""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.db import router, transaction
from django.http import HttpRequest

from ..lockouts import lockout_active, lockout_clearing
from .base import AuditedModelAdmin, ReadOnlyAdmin


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AuditedModelAdmin):
    list_display = (
        "username",
        "ip_address",
        "failures_since_start",
        "attempt_time",
        "locked_out",
    )
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    exclude = ("get_data", "post_data", "http_accept")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            field.name
            for field in AccessAttempt._meta.concrete_fields
            if field.name not in self.exclude
        ]

    @admin.display(boolean=True, description="Locked out now")
    def locked_out(self, obj: AccessAttempt) -> bool:
        return lockout_active(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        """Clear the lockout: the deletion's receiver writes the audit event."""
        with (
            transaction.atomic(using=router.db_for_write(AccessAttempt)),
            lockout_clearing(actor=request.user, source="admin"),
        ):
            obj.delete()


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ("username", "ip_address", "attempt_time", "logout_time")
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(ReadOnlyAdmin):
    list_display = ("username", "ip_address", "attempt_time", "locked_out")
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
