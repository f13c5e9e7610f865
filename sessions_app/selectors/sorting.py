"""The session sort options, defined once for the review queue, the REST API,
the CSV exports and the admin.

A sort is a query parameter value: a key of SESSION_SORTS, prefixed with "-"
for descending. Ties break by date, in the same direction: the session's
creation date (`SESSION_TIE_FIELD`), then the id, last, only to make every
key unique; so the queue's keyset pages, the API's cursor pages, the CSV rows
and the admin's default list order agree row for row. Each sort has an index
ending in (created, id). The due time is the one nullable key: sorted by it,
a list holds only the sessions that have one (NULLs do not compare; the
keyset paginator and `session_sort_filter` leave them out alike).
"""

from __future__ import annotations

import dataclasses

from django.db.models import Q


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
    SessionSort("due", "case_due_at", "Age / due"),
)
# Query parameter value -> non-null model field.
SESSION_SORTS: dict[str, str] = {sort.key: sort.field for sort in SESSION_SORT_OPTIONS}
SESSION_DEFAULT_SORT = "-created"
# Every value the `sort` parameter accepts, ascending keys first.
SESSION_SORT_VALUES: tuple[str, ...] = (
    *SESSION_SORTS,
    *(f"-{key}" for key in SESSION_SORTS),
)


# What breaks ties in every session sort, before the id.
SESSION_TIE_FIELD = "provider_created_at"


def session_sort_ordering(sort: str = SESSION_DEFAULT_SORT) -> tuple[str, ...]:
    """Return the `order_by()` of a queue sort: its field, then the creation
    date, then id, same direction (the creation date once when it is the sort).

    `sort` is a key of SESSION_SORTS, prefixed with "-" for descending, as the
    queue's `sort` parameter; ties break exactly as the queue's keyset pages
    do. Raise KeyError for an unknown sort.
    """
    sign = "-" if sort.startswith("-") else ""
    field = SESSION_SORTS[sort.removeprefix("-")]
    fields = dict.fromkeys((field, SESSION_TIE_FIELD, "id"))
    return tuple(f"{sign}{name}" for name in fields)


def session_sort_filter(sort: str = SESSION_DEFAULT_SORT) -> Q:
    """The rows a sort can place: those whose sort key is not NULL (the due
    time), as the keyset paginator keeps them; every row for the others."""
    field = SESSION_SORTS[sort.removeprefix("-")]
    return Q(**{f"{field}__isnull": False}) if field in NULLABLE_SORT_FIELDS else Q()


NULLABLE_SORT_FIELDS = ("case_due_at",)
# The `sort` keys that leave out the rows their field is NULL in.
SESSION_NULLABLE_SORTS = tuple(
    sort.key for sort in SESSION_SORT_OPTIONS if sort.field in NULLABLE_SORT_FIELDS
)


# The review queue's default order (its keyset sort "-created" breaks ties by
# id): the admin's session list and a client's recent sessions use it too.
SESSION_QUEUE_ORDERING = session_sort_ordering(SESSION_DEFAULT_SORT)
# Checks follow their session's place in the queue (newest check first within
# it); the checks CSV and the API's check pages share this order.
CHECK_QUEUE_ORDERING = ("-session__provider_created_at", "-id")
