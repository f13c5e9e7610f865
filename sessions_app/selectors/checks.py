"""Check reads: the checks list's queryset and the checks CSV's order."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import Check
from .sorting import CHECK_QUEUE_ORDERING


def check_queryset() -> QuerySet[Check]:
    return Check.objects.select_related(
        "connection",
        "session",
        "session__provider_client",
        "session__provider_client__client",
    )


def check_export_queryset(*, queryset: QuerySet[Check]) -> QuerySet[Check]:
    """Return `queryset` in the order of the checks export and API pages."""
    return queryset.prefetch_related(None).order_by(*CHECK_QUEUE_ORDERING)
