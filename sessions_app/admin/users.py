"""Users and roles are edited here too, so their changes are audited the same way."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.hashers import is_password_usable
from django.contrib.auth.models import Group
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..access.mfa import mfa_reset
from ..services import audit_event_record
from .base import AuditedModelAdmin

User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)
# django-otp's own device admins would show TOTP secrets and recovery codes and
# edit them unaudited; a second factor is only ever reset (the user action below).
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.register(User)
class AuditedUserAdmin(AuditedModelAdmin, UserAdmin):
    list_filter = ("is_active", "is_superuser", "groups")
    # Group and permission edits read as role changes in the history.
    audit_m2m_action = "admin.roles"
    actions = ["reset_mfa"]

    @admin.action(description="Reset multi-factor (the user sets it up again)")
    def reset_mfa(self, request: HttpRequest, queryset: QuerySet) -> None:
        reset = [
            user.get_username()
            for user in queryset
            if mfa_reset(user=user, actor=request.user, source="admin")
        ]
        if reset:
            self.message_user(
                request,
                f"Multi-factor reset for {', '.join(reset)}: they set up a new "
                "authenticator app at their next sign-in.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, "None of them had a second factor to reset.", messages.INFO
            )

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
