"""Reads of API tokens: a user's own, one of theirs, all of them (the admin)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ...models import ApiToken


def api_tokens_of_user(*, user: Any) -> list[ApiToken]:
    """The user's tokens, newest first, expired ones included until knox
    deletes them (at the next request that presents one of their tokens)."""
    return list(ApiToken.objects.filter(user=user).order_by("-created"))


def api_token_of_user_get(*, user: Any, digest: str) -> ApiToken:
    """The user's token with this digest; raise ApiToken.DoesNotExist for
    another user's token, so nobody can revoke what is not theirs."""
    return ApiToken.objects.select_related("user").get(user=user, digest=digest)


def api_token_queryset() -> QuerySet:
    """Every token with its owner (the admin's list)."""
    return ApiToken.objects.select_related("user")
