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
- The children rotation: a session's change marker says nothing about its
  checks (ComplyCube `updatedAt`, an Onfido run's `updated_at` and ICA's
  search item hold still while checks progress), so sessions in rotation are
  also re-read in full, checks included, least recently read in full first
  (`detail_read_at`, never read first), at most
  VERITY_SYNC_CHILDREN_LIMIT per run (`children_due`): an unfinished session
  always (a new check may appear), a final-looking one still in rotation
  (Onfido `review`) only while one of its checks is not final. A session
  read in full since the pass began, or within one sync interval, is not
  due (`children.children_read_before`). The
  engine treats these ids as unknown (`known_versions_for(...,
  not_known=...)`), so a listing that returns them reads them in full, and
  reads the rest by id once the pass is done (`children_unread`, see
  `sync/children.py`). Final sessions are never due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from ..models import (
    FINAL_STATUSES,
    Check,
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


def least_recent_first(
    sessions: QuerySet[WorkflowSession],
    *,
    field: str,
    limit: int,
    before: dt.datetime | None = None,
) -> list[str]:
    """External ids of `sessions`: those whose `field` is empty (never) first,
    then the oldest `field` (older than `before`, if given), at most `limit`.

    Two queries, each a range of a rotation index (`session_rotation_read`,
    `session_rotation_synced`: connection, `field`, id) read in order, instead
    of one "NULLS FIRST" order that the index could not serve (SQLite cannot
    declare it in an index), which at a million sessions sorted every session
    in rotation on every run.
    """
    if limit <= 0:
        return []
    ids = sessions.values_list("external_id", flat=True)
    never = list(ids.filter(**{f"{field}__isnull": True}).order_by("id")[:limit])
    if len(never) >= limit:
        return never
    read = ids.filter(**{f"{field}__isnull": False})
    if before is not None:
        read = read.filter(**{f"{field}__lt": before})
    return never + list(read.order_by(field, "id")[: limit - len(never)])


def refresh_ids(connection: ProviderConnection) -> list[str]:
    """Unfinished sessions to re-poll by id: least recently synced first, bounded."""
    return least_recent_first(
        WorkflowSession.objects.filter(
            in_rotation_q(connection.kind), connection=connection
        ),
        field="last_synced_at",
        limit=settings.VERITY_SYNC_REFRESH_LIMIT,
    )


def children_due(
    *,
    connection: ProviderConnection,
    read_before: dt.datetime,
    limit: int | None = None,
) -> list[str]:
    """Sessions in rotation whose checks are due to be re-read: not read in full
    since `read_before` (the pass's start), least recently read first (never
    read first), at most `limit` (VERITY_SYNC_CHILDREN_LIMIT). Two queries
    (`least_recent_first`)."""
    limit = settings.VERITY_SYNC_CHILDREN_LIMIT if limit is None else limit
    return least_recent_first(
        WorkflowSession.objects.filter(
            _children_in_rotation_q(connection.kind), connection=connection
        ),
        field="detail_read_at",
        limit=limit,
        before=read_before,
    )


def children_unread(
    *,
    connection: ProviderConnection,
    external_ids: Sequence[str],
    read_before: dt.datetime,
) -> list[tuple[str, dict[str, Any]]]:
    """Of `external_ids` (in that order), those still in rotation and still not
    read in full since `read_before`, each with its stored payload (what the
    adapter needs to find it again, `ProviderAdapter.refresh_hint`).

    A session that became final, or was read in full, since it was chosen is
    left out. One query per chunk of ids (`values.chunks`).
    """
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(list(dict.fromkeys(external_ids))):
        found.update(
            WorkflowSession.objects.filter(
                _children_due_q(connection.kind, read_before)
            )
            .filter(connection=connection, external_id__in=chunk)
            .order_by()
            .values_list("external_id", "raw_payload")
        )
    return [(ident, found[ident]) for ident in external_ids if ident in found]


def _children_in_rotation_q(kind: str) -> Q:
    """In rotation, and unfinished or holding a check that is not final."""
    open_check = Check.objects.filter(session=OuterRef("pk")).exclude(
        status__in=FINAL_STATUSES
    )
    return in_rotation_q(kind) & (Q(status__in=NON_FINAL_STATUSES) | Exists(open_check))


def _children_due_q(kind: str, read_before: dt.datetime) -> Q:
    """In rotation, not read in full since `read_before`, and unfinished or
    holding a check that is not final."""
    return _children_in_rotation_q(kind) & (
        Q(detail_read_at__isnull=True) | Q(detail_read_at__lt=read_before)
    )


def known_versions_for(
    connection: ProviderConnection, *, not_known: Collection[str] = ()
) -> Callable[[Sequence[str]], Mapping[str, str]]:
    """Return the adapter's `known_versions`: {external_id: stored change marker}
    for those of the given ids Verity holds with a marker, except `not_known`
    (sessions due to be read in full whatever their marker, `children_due`)."""
    skip = frozenset(not_known)
    db = router.db_for_read(WorkflowSession)
    quote = connections[db].ops.quote_name
    opts = WorkflowSession._meta
    # Asked once per provider page (124 times in a first sync of 1,350
    # sessions): the statement is written here once, not compiled by the ORM
    # on every call (about 1 ms each; docs/PERFORMANCE.md section 1g).
    # WorkflowSession.objects.filter(connection=connection,
    # external_id__in=ids).exclude(source_version="") as plain SQL.
    select = (
        f"SELECT {quote('external_id')}, {quote('source_version')} "  # noqa: S608 - names, not values
        f"FROM {quote(opts.db_table)} "
        f"WHERE {quote(opts.get_field('connection').column)} = %s "
        f"AND {quote('source_version')} <> '' AND {quote('external_id')} IN "
    )

    def known_versions(ids: Sequence[str]) -> Mapping[str, str]:
        found: dict[str, str] = {}
        # As text, as the ORM binds a CharField look-up. None and ids with a
        # NUL character are never stored (the upsert quarantines them), and
        # PostgreSQL refuses a NUL in a look-up: it would fail every pass.
        wanted = [
            i
            for i in dict.fromkeys(str(i) for i in ids if i is not None)
            if i not in skip and "\x00" not in i
        ]
        with connections[db].cursor() as cursor:
            for chunk in chunks(wanted):
                cursor.execute(
                    select + "(" + ", ".join(["%s"] * len(chunk)) + ")",
                    [connection.pk, *chunk],
                )
                found.update(cursor.fetchall())
        return found

    return known_versions
