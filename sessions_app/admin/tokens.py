"""API tokens: every user's, to look at and revoke; never to mint or read.

No add permission (even for a superuser): a token is minted by its owner on
their account page, so an admin can never hold a secret that acts as someone
else. No change permission: a token's name, owner and expiry are fixed when it
is minted. The digest (the primary key, a hash of the secret) is not shown. A
delete is a revocation, written by the tokens service with its audit event.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from ..access.tokens.services import api_token_revoke
from ..models import ApiToken
from .base import AuditedModelAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    list_display = (
        "name",
        "user",
        "token_key",
        "created",
        "expiry",
        "last_used_at",
        "state",
    )
    list_select_related = ["user"]
    search_fields = ("name", "user__username", "=token_key")
    ordering = ("-created",)
    fields = ("name", "user", "token_key", "created", "expiry", "last_used_at")
    readonly_fields = fields

    @admin.display(description="State")
    def state(self, obj: ApiToken) -> str:
        return "expired" if obj.expiry and obj.expiry <= timezone.now() else "active"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        api_token_revoke(token=obj, actor=request.user, source="admin")
