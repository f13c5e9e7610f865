"""Free-text search of sessions and checks, through indexes.

The review queue's, the API's and the CSV's `q` filter (filters.py) and the
admin's search boxes call these, so every surface finds the same rows.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ..models import Check, Client, ProviderClient, ProviderConnection, WorkflowSession

# How many provider clients a search term may match before `q` stops
# narrowing to them first. Below it, the matching provider clients are
# collected (one index scan per branch) and sessions are read by their
# indexed foreign key: a rare name costs milliseconds instead of a scan of
# every session. Above it, matches are everywhere, so walking the queue's
# own index finds a page of them after a few rows, while collecting them all
# would not (measured by bench/ at a million sessions on PostgreSQL).
SEARCH_NARROW_LIMIT = 5000


def sessions_search(*, queryset: QuerySet, term: str) -> QuerySet:
    """Keep the sessions of `queryset` whose client names contain `term`, or
    whose session id, user reference (ICA `userReference`), provider client
    or external reference id is exactly `term`.

    The queue's, the API's, the CSV's and the admin's free-text search. Runs
    one or two small queries first (the matching provider clients, then the
    sessions with that exact id or user reference) unless the term matches more than
    SEARCH_NARROW_LIMIT provider clients; the rows are the same either way.
    """
    value = term.strip()
    if not value:
        return queryset
    connections = ProviderConnection.objects.values("pk")
    # One index per branch, a UNION of index scans: an OR across joined
    # tables can use no index and scans every session when the name is
    # rare. `connection_id IN (...)` lets the (connection, external_id)
    # unique indexes answer the exact ids.
    matching = (
        ProviderClient.objects.order_by()
        .filter(name__icontains=value)
        .values_list("pk", flat=True)
        .union(
            ProviderClient.objects.order_by()
            .filter(
                client_id__in=Client.objects.filter(
                    display_name__icontains=value
                ).values("pk")
            )
            .values_list("pk", flat=True),
            ProviderClient.objects.order_by()
            .filter(connection_id__in=connections, external_id=value)
            .values_list("pk", flat=True),
            ProviderClient.objects.order_by()
            .filter(external_reference=value)
            .values_list("pk", flat=True),
            # ALL: no de-duplication, so the LIMIT stops the scans early.
            all=True,
        )
        .order_by()
    )
    # Rows, not distinct ids, decide: with UNION ALL a provider client
    # matching two branches counts twice, and a cut-off list of rows may
    # hold fewer distinct ids than the limit while others are left out.
    rows = list(matching[: SEARCH_NARROW_LIMIT + 1])
    if len(rows) > SEARCH_NARROW_LIMIT:
        return queryset.filter(
            Q(provider_client__name__icontains=value)
            | Q(provider_client__client__display_name__icontains=value)
            | Q(external_id=value)
            | Q(user_reference=value)
            | Q(provider_client__external_id=value)
            | Q(provider_client__external_reference=value)
        )
    # Both lists are literal so the planner sees two index conditions it
    # can OR together (a bitmap), not a subquery it would hash against a
    # scan.
    # Two indexed conditions the planner ORs in a bitmap: the (connection,
    # external_id) unique index and the partial user-reference index.
    exact_ids = list(
        WorkflowSession.objects.order_by()
        .filter(
            Q(connection_id__in=connections, external_id=value)
            | Q(user_reference=value)
        )
        .values_list("pk", flat=True)
    )
    return queryset.filter(Q(provider_client_id__in=set(rows)) | Q(pk__in=exact_ids))


def checks_search(*, queryset: QuerySet, term: str) -> QuerySet:
    """Keep the checks of `queryset` whose own id, or whose session's id, is
    exactly `term`.

    The check admin's search. Two small queries first, each answered by a
    (connection, external_id) unique index, then two literal id lists the
    planner ORs in a bitmap: Django's OR across the session join scans every
    check (5 to 6 s at 3,000,000 checks).
    """
    value = term.strip()
    if not value:
        return queryset
    connections = ProviderConnection.objects.values("pk")
    check_ids = list(
        Check.objects.order_by()
        .filter(connection_id__in=connections, external_id=value)
        .values_list("pk", flat=True)
    )
    session_ids = list(
        WorkflowSession.objects.order_by()
        .filter(connection_id__in=connections, external_id=value)
        .values_list("pk", flat=True)
    )
    return queryset.filter(Q(pk__in=check_ids) | Q(session_id__in=session_ids))
