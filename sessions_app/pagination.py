"""Pagination that stays fast on a million rows.

`EstimatedCountPaginator` is for the Django admin, whose changelist always asks
for a count: on PostgreSQL an unfiltered count comes from the planner's
statistics and a filtered one is cut off after a short statement timeout.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.utils import OperationalError
from django.utils.functional import cached_property

# What a timed-out count reports: large enough to page through, clearly a cap.
COUNT_CAP = 1_000_000
COUNT_TIMEOUT_MS = 200


def table_row_estimate(model: type, using: str = "default") -> int | None:
    """Return PostgreSQL's row estimate for a model's table, or None elsewhere."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row and row[0] is not None and row[0] >= 0 else None


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        using = getattr(queryset, "db", "default")
        connection = connections[using]
        if connection.vendor != "postgresql":
            return super().count
        query = getattr(queryset, "query", None)
        if query is not None and not query.where:
            estimate = table_row_estimate(queryset.model, using)
            if estimate is not None and estimate > 10_000:
                return estimate
        try:
            with transaction.atomic(using=using), connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = %s", [COUNT_TIMEOUT_MS])
                return queryset.count()
        except OperationalError:
            return COUNT_CAP
