"""Audit reads: an object's history, and the users its events mention."""

from __future__ import annotations

from collections.abc import Iterable

from ..models import AuditEvent
from .users import user_reviewers


def audit_event_list_for_object(
    *, object_type: str, object_id: str | int, limit: int = 200
) -> list[AuditEvent]:
    """Return the newest audit events of one object (at most `limit`)."""
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id))
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def audit_user_names(*, user_ids: Iterable[int]) -> dict[int, str]:
    """Return the usernames of the reviewers among `user_ids` (one query).

    The audit history names only the users who could act on sessions.
    """
    return dict(
        user_reviewers().filter(pk__in=list(user_ids)).values_list("pk", "username")
    )
