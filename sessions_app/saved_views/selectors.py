"""Saved views' reads: a user's own views, and how many sessions each lists."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from ..models import WorkflowSession
from .models import SavedView

# The most sessions a view's count reads: beyond it the queue shows "1,000+".
SAVED_VIEW_COUNT_CAP = 1000


def saved_views_for_user(*, user: Any) -> list[SavedView]:
    """`user`'s views, A→Z (case ignored). The cap per user bounds the list."""
    return list(SavedView.objects.filter(user=user))


def saved_view_get(*, user: Any, pk: int) -> SavedView:
    """`user`'s view `pk`; SavedView.DoesNotExist for a missing one or another's."""
    return SavedView.objects.get(user=user, pk=pk)


def saved_view_queryset(*, user: Any) -> QuerySet[SavedView]:
    """The API's base: only `user`'s views."""
    return SavedView.objects.filter(user=user)


def session_counts_capped(
    *, querysets: list[QuerySet[WorkflowSession]], cap: int = SAVED_VIEW_COUNT_CAP
) -> list[int]:
    """Count each queryset's sessions up to `cap` + 1, in ONE query for all.

    Each count reads at most `cap` + 1 ids (a LIMITed subquery), so a view
    listing half the million sessions costs what one listing a thousand
    does; a result above `cap` means "more than `cap`". No query when there
    is nothing to count.
    """
    if not querysets:
        return []
    parts, params = [], []
    for queryset in querysets:
        ids = queryset.order_by().values("pk")[: cap + 1]
        try:
            sql, sql_params = ids.query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (`.none()`)
            parts.append("0")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped)")  # noqa: S608
        params.extend(sql_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        return [int(n) for n in cursor.fetchone()]
