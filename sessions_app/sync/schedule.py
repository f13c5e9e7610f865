"""What the sync should do next: which connections are due, which pass is a
full one, which stored sessions to re-poll and which change markers Verity holds.

Contract (reads only; nothing here writes):

- A connection is due when it is enabled, its `sync_interval_seconds` have
  passed since its last sync started, and no live lease holds it
  (`connections_due`).
- Incremental passes cannot see everything (a client renamed while its
  sessions stayed the same, clock skew, a change a provider's window missed),
  so every VERITY_FULL_SYNC_INTERVAL_DAYS the scheduled pass is a full one
  (`connections_full_sync_due`; 0 turns this off). A full pass ignores every
  stored change marker (the engine hands the adapter `no_known_versions`).
- The re-poll rotation: sessions that can still change ("in rotation":
  unfinished, or a final-looking raw status a person at the provider may
  still change, `normalization.in_rotation`) are handed to the adapter by id,
  least recently synced first and bounded by VERITY_SYNC_REFRESH_LIMIT
  (`refresh_ids`). Every sync that sees such a session bumps its
  `last_synced_at`, which moves the rotation along.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence

from django.conf import settings
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from ..models import (
    FINAL_STATUSES,
    ProviderConnection,
    Status,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    WorkflowSession,
)
from ..normalization import reopenable_raw_statuses
from .values import chunks

NON_FINAL_STATUSES = [s for s in Status.values if s not in FINAL_STATUSES]


def connections_due(*, now: dt.datetime | None = None) -> list[int]:
    """Return ids of enabled connections whose interval has elapsed and that are not leased."""
    now = now or timezone.now()
    due: list[int] = []
    rows = ProviderConnection.objects.filter(enabled=True).values_list(
        "pk", "last_sync_started_at", "sync_interval_seconds", "lock_expires_at"
    )
    for pk, started, interval, lock_expires in rows:
        if lock_expires is not None and lock_expires >= now:
            continue
        if started is None or started + dt.timedelta(seconds=interval) <= now:
            due.append(pk)
    return due


def connections_full_sync_due(
    *, connection_ids: Iterable[int], now: dt.datetime | None = None
) -> set[int]:
    """Return those of `connection_ids` whose scheduled pass should be a full one.

    Due when VERITY_FULL_SYNC_INTERVAL_DAYS have passed since the last full
    pass started (or, if there never was one, since the first finished pass
    started). A connection that never finished a sync is not due: its first
    pass reads everything anyway. Webhook refreshes are not passes. One query
    whatever the number of connections.
    """
    days = settings.VERITY_FULL_SYNC_INTERVAL_DAYS
    ids = list(connection_ids)
    if days <= 0 or not ids:
        return set()
    now = now or timezone.now()
    rows = (
        SyncRun.objects.filter(connection_id__in=ids, state=SyncRunState.SUCCEEDED)
        .exclude(trigger=SyncTrigger.WEBHOOK)
        .order_by()
        .values("connection_id")
        .annotate(
            first=Min("started_at"),
            last_full=Max("started_at", filter=Q(trigger=SyncTrigger.FULL)),
        )
        .values_list("connection_id", "first", "last_full")
    )
    return {
        connection_id
        for connection_id, first, last_full in rows
        if (last_full or first) + dt.timedelta(days=days) <= now
    }


def connection_is_due(
    connection: ProviderConnection, *, now: dt.datetime | None = None
) -> bool:
    """Return True if the connection's interval has passed since its last sync started."""
    now = now or timezone.now()
    started = connection.last_sync_started_at
    return (
        started is None
        or started + dt.timedelta(seconds=connection.sync_interval_seconds) <= now
    )


def in_rotation_q(kind: str) -> Q:
    """Sessions that can still change, so the sync re-polls them
    (`normalization.in_rotation` as a query).

    "Unfinished" includes final-looking raw statuses a person at the provider
    may still change (Onfido `review`, see REOPENABLE_RAW_STATUSES).
    """
    return Q(status__in=NON_FINAL_STATUSES) | Q(
        raw_status__in=sorted(reopenable_raw_statuses(kind))
    )


def refresh_ids(connection: ProviderConnection) -> list[str]:
    """Unfinished sessions to re-poll by id: least recently synced first, bounded."""
    return list(
        WorkflowSession.objects.filter(
            in_rotation_q(connection.kind), connection=connection
        )
        .order_by(F("last_synced_at").asc(nulls_first=True), "id")
        .values_list("external_id", flat=True)[: settings.VERITY_SYNC_REFRESH_LIMIT]
    )


def known_versions_for(
    connection: ProviderConnection,
) -> Callable[[Sequence[str]], Mapping[str, str]]:
    """Return the adapter's `known_versions`: {external_id: stored change marker}
    for those of the given ids Verity holds with a marker."""

    def known_versions(ids: Sequence[str]) -> Mapping[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(ids))):
            found.update(
                WorkflowSession.objects.filter(
                    connection=connection, external_id__in=chunk
                )
                .exclude(source_version="")
                .order_by()  # one call per provider page: no sort
                .values_list("external_id", "source_version")
            )
        return found

    return known_versions
