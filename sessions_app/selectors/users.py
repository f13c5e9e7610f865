"""User reads: who may be assigned sessions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from ..roles import ADMIN, REVIEWER


def user_reviewers() -> QuerySet:
    """Active users who may be assigned sessions (reviewers and admins)."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[REVIEWER, ADMIN]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


def reviewer_usernames() -> list[str]:
    """Return the usernames of `user_reviewers`, A→Z, for the assignee selects."""
    return list(user_reviewers().values_list("username", flat=True))


def user_get_by_username(*, username: str) -> Any:
    """Return the user named `username`; raise the user model's DoesNotExist."""
    return get_user_model().objects.get(username=username)


def user_role_names(*, user: Any) -> list[str]:
    """Return the user's roles (group names), A→Z."""
    return sorted(user.groups.values_list("name", flat=True))
