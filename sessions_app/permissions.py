"""DRF permission classes mirroring the roles (enforced on the server)."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .roles import (
    user_can_decide,
    user_can_export,
    user_can_manage_retention,
    user_can_reveal,
    user_can_view,
)


class CanViewSessions(BasePermission):
    message = "You need the viewer role (or higher) to read Verity data."

    def has_permission(self, request: Request, view: Any) -> bool:
        return user_can_view(request.user)


class CanDecide(BasePermission):
    message = "Only reviewers may record decisions."

    def has_permission(self, request: Request, view: Any) -> bool:
        return user_can_view(request.user) and user_can_decide(request.user)


class CanExport(BasePermission):
    message = "Only exporters may export."

    def has_permission(self, request: Request, view: Any) -> bool:
        return user_can_export(request.user)


class CanManageRetention(BasePermission):
    """Reading is for viewers; changing retention for reviewers and admins."""

    message = "Only reviewers and admins may change a client's retention."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not user_can_view(request.user):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return user_can_manage_retention(request.user)


class CanReveal(BasePermission):
    message = "Only reviewers may reveal personal data."

    def has_permission(self, request: Request, view: Any) -> bool:
        return user_can_view(request.user) and user_can_reveal(request.user)
