"""Verity's admin site: reachable by the `admin` role only."""

from django.contrib import admin
from django.http import HttpRequest


class VerityAdminSite(admin.AdminSite):
    site_header = "Verity administration"
    site_title = "Verity admin"
    index_title = "Data, clients, users and provider connections"

    def has_permission(self, request: HttpRequest) -> bool:
        from sessions_app.roles import user_is_admin

        user = request.user
        return bool(user.is_active and user_is_admin(user))
