"""Reads of the retention clock and erasures, for the client page and the API."""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..models import Client, ErasureRequest, ProviderErasure
from .retention import RetentionState, client_retention_state, retention_years

# How many erasure requests and provider deletions the client page lists.
RETENTION_ROWS_LIMIT = 50


@dataclasses.dataclass(frozen=True, slots=True)
class ClientRetention:
    state: RetentionState
    erasure_requests: list[ErasureRequest]
    provider_erasures: list[ProviderErasure]
    retention_years: int


def client_retention_get(*, client: Client, today: dt.date) -> ClientRetention:
    """The client's retention state, erasure requests and provider deletions
    (newest first, evaluated: two queries)."""
    return ClientRetention(
        state=client_retention_state(client=client, today=today),
        erasure_requests=list(
            ErasureRequest.objects.filter(client=client)
            .select_related("entered_by")
            .order_by("-entered_at", "-id")[:RETENTION_ROWS_LIMIT]
        ),
        provider_erasures=list(
            ProviderErasure.objects.filter(client=client)
            .select_related("connection")
            .order_by("-requested_at", "-id")[:RETENTION_ROWS_LIMIT]
        ),
        retention_years=retention_years(),
    )
