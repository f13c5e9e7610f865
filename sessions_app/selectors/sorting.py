"""The session sort options, defined once for the review queue, the REST API,
the CSV exports and the admin.

A sort is a query parameter value: a key of SESSION_SORTS, prefixed with "-"
for descending. Each key names a non-null model field (keyset pagination
needs non-null keys; these are all NOT NULL columns), and the id breaks ties
in the same direction, so the queue's keyset pages, the API's cursor pages,
the CSV rows and the admin's default list order agree row for row.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SessionSort:
    """One sortable column of the session lists.

    `key` is the `sort` parameter's value, `field` the model field it orders
    by, `label` the queue's column header, and `first_descending` whether the
    queue's first click on the column sorts newest / highest first (dates)
    rather than A→Z (words).
    """

    key: str
    field: str
    label: str
    first_descending: bool = False


SESSION_SORT_OPTIONS: tuple[SessionSort, ...] = (
    SessionSort("created", "provider_created_at", "Created", first_descending=True),
    SessionSort("updated", "provider_updated_at", "Updated", first_descending=True),
    SessionSort("status", "status", "Status"),
    SessionSort("outcome", "outcome", "Outcome"),
    SessionSort("provider", "connection__slug", "Provider"),
)
# Query parameter value -> non-null model field.
SESSION_SORTS: dict[str, str] = {sort.key: sort.field for sort in SESSION_SORT_OPTIONS}
SESSION_DEFAULT_SORT = "-created"
# Every value the `sort` parameter accepts, ascending keys first.
SESSION_SORT_VALUES: tuple[str, ...] = (
    *SESSION_SORTS,
    *(f"-{key}" for key in SESSION_SORTS),
)


def session_sort_ordering(sort: str = SESSION_DEFAULT_SORT) -> tuple[str, str]:
    """Return the `order_by()` of a queue sort: its field, then id, same direction.

    `sort` is a key of SESSION_SORTS, prefixed with "-" for descending, as the
    queue's `sort` parameter; the id breaks ties exactly as the queue's keyset
    pages do. Raise KeyError for an unknown sort.
    """
    sign = "-" if sort.startswith("-") else ""
    return f"{sign}{SESSION_SORTS[sort.removeprefix('-')]}", f"{sign}id"


# The review queue's default order (its keyset sort "-created" breaks ties by
# id): the admin's session list and a client's recent sessions use it too.
SESSION_QUEUE_ORDERING = session_sort_ordering(SESSION_DEFAULT_SORT)
# Checks follow their session's place in the queue (newest check first within
# it); the checks CSV and the API's check pages share this order.
CHECK_QUEUE_ORDERING = ("-session__provider_created_at", "-id")
