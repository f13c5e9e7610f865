"""Reads. Every list, detail, export and API queryset is built here, so the
pages, the API, the admin and the CSV exports all see the same rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, QueryDict

from .filters import CheckFilterSet, SessionFilterSet
from .models import Check, Tag, WorkflowSession
from .roles import ADMIN, REVIEWER


def session_queryset() -> QuerySet[WorkflowSession]:
    """Sessions with what every list row shows, joined once (no N+1)."""
    return WorkflowSession.objects.select_related(
        "connection", "provider_client", "provider_client__client", "assignee"
    ).prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("kind", "name")))


def session_filterset(
    *, params: QueryDict | dict[str, Any], request: HttpRequest | None = None
) -> SessionFilterSet:
    """Return the bound (not yet evaluated) FilterSet of the review queue."""
    return SessionFilterSet(data=params, queryset=session_queryset(), request=request)


def session_list(
    *, params: QueryDict | dict[str, Any], request: HttpRequest | None = None
) -> QuerySet[WorkflowSession]:
    """Filtered sessions, or none when a filter value is invalid (check the FilterSet)."""
    filterset = session_filterset(params=params, request=request)
    if not filterset.is_valid():
        return WorkflowSession.objects.none()
    return filterset.qs


def check_queryset() -> QuerySet[Check]:
    return Check.objects.select_related(
        "connection", "session", "session__provider_client", "session__provider_client__client"
    )


def check_filterset(
    *, params: QueryDict | dict[str, Any], request: HttpRequest | None = None
) -> CheckFilterSet:
    return CheckFilterSet(data=params, queryset=check_queryset(), request=request)


def user_reviewers() -> QuerySet:
    """Active users who may be assigned sessions (reviewers and admins)."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[REVIEWER, ADMIN]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )
