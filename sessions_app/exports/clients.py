"""The clients CSV (/clients/export.csv): the directory's rows with their
review schedule and, per check kind, the assurance summary (latest outcome,
the provider's word, its date, its freshness; `selectors.assurance_batch`).

Written by the Python writer on every database, PostgreSQL too: the per-kind
summary follows the client page's rules (latest by date across providers,
freshness against the validity per kind), which live in Python; COPY could
only repeat them in SQL. A chunk of clients costs three queries (the clients
with their identities, two window queries over their checks).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from .. import selectors
from ..client_review.rules import required_kinds_for_tier, review_state
from ..models import CheckKind, Client
from ..roles import user_can_export_personal
from .cells import csv_datetime, csv_initials, csv_number, csv_safe_cell
from .stream import _csv_response

# Clients per chunk (each chunk: the clients, their identities, two window
# queries over their checks).
CLIENT_CHUNK = 500

CLIENT_HEADERS = (
    "Verity client id",
    "Client",
    "Reference",
    "Providers",
    "Risk tier",
    "Risk tier set by",
    "Next review due",
    "Re-verification",
    "Has gaps",
    "Last activity (UTC)",
)
KIND_HEADERS = ("outcome", "provider word", "date (UTC)", "freshness")


def client_csv_header() -> list[str]:
    kinds = [
        f"{label}: {part}" for _, label in CheckKind.choices for part in KIND_HEADERS
    ]
    return [*CLIENT_HEADERS, *kinds, "Verity URL"]


def _client_rows(
    queryset: QuerySet[Client], request: HttpRequest, *, personal: bool
) -> Iterator[list[str]]:
    # The name in full only for `export_personal_data`, else its initials, as
    # in the sessions CSV (docs/data-protection.md).
    name_cell = csv_safe_cell if personal else csv_initials
    today = timezone.localdate()
    for chunk in itertools.batched(
        queryset.iterator(chunk_size=CLIENT_CHUNK), CLIENT_CHUNK
    ):
        summaries = selectors.client_assurance_summaries(
            client_ids=[client.pk for client in chunk],
            required={
                client.pk: required_kinds_for_tier(client.risk_tier) for client in chunk
            },
            today=today,
        )
        for client in chunk:
            cells = [
                csv_number(client.pk),
                name_cell(client.display_name),
                csv_safe_cell(client.reference),
                csv_safe_cell("; ".join(selectors.client_providers(client))),
                client.risk_tier or "not set",
                client.risk_tier_source,
                client.next_review_due.isoformat() if client.next_review_due else "",
                review_state(next_review=client.next_review_due, today=today),
                "yes" if client.has_gaps else "no",
                csv_datetime(client.last_activity_at),
            ]
            for kind in CheckKind.values:
                row = summaries[client.pk][kind]
                cells += [
                    row.outcome,
                    csv_safe_cell(row.raw_outcome),
                    csv_datetime(row.completed_at),
                    row.freshness,
                ]
            cells.append(request.build_absolute_uri(client.get_absolute_url()))
            yield cells


def client_csv_response(
    *,
    request: HttpRequest,
    queryset: QuerySet[Client],
    filters: Mapping[str, Any],
    source: str = "web",
) -> StreamingHttpResponse:
    """Stream `queryset` (the directory's order) as the clients CSV, audited
    as `export.clients_csv`. Names are initials unless the user may export
    personal data."""
    personal = user_can_export_personal(request.user)
    return _csv_response(
        request=request,
        kind="clients",
        header=client_csv_header(),
        rows=_client_rows(queryset, request, personal=personal),
        model=Client,
        filters=filters,
        source=source,
        personal=personal,
    )
