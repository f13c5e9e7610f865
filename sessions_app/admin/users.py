"""Users and roles are edited here too, so their changes are audited the same way."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.hashers import is_password_usable
from django.contrib.auth.models import Group
from django.db import router, transaction
from django.http import HttpRequest

from ..services import audit_event_record
from .base import AuditedModelAdmin

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
