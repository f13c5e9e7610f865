"""Recompute the stored review summary of many clients, set-based.

Per batch of clients, five queries whatever their number of sessions and
checks: the clients, their sessions aggregated, their checks aggregated per
kind, the newest completed check per (client, kind) of the kinds some tier
requires (a window query, the matrix's own rule), and one bulk UPDATE. So the
daily task over 400,000 clients is a few hundred batches (docs/PERFORMANCE.md).

Resumable: the daily pass takes the clients not refreshed since the day began,
in id order, so a pass cut short (a deploy, a time budget) is finished by the
next run instead of starting over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Window
from django.db.models.functions import Coalesce, RowNumber

from ..models import Check, Client, Decision, Outcome, Status, WorkflowSession
from .rules import (
    SCREENING_KINDS,
    TierSignals,
    Verified,
    all_required_kinds,
    next_review_due,
    required_kinds_for_tier,
    tier_derive,
    tier_effective,
)

REFRESHED_FIELDS = [
    "risk_tier",
    "risk_tier_derived",
    "next_review_due",
    "has_gaps",
    "last_activity_at",
    "assurance_refreshed_at",
]


@dataclasses.dataclass
class RefreshResult:
    clients: int = 0
    batches: int = 0
    finished: bool = True  # False: stopped by the time budget, more to do


def _session_signals(ids: Sequence[int]) -> dict[int, dict]:
    rows = (
        WorkflowSession.objects.filter(provider_client__client_id__in=ids)
        .order_by()
        .values(client=F("provider_client__client_id"))
        .annotate(
            sessions=Count("id"),
            rejected=Count(
                "id",
                filter=Q(outcome=Outcome.REJECTED) | Q(last_decision=Decision.REJECT),
            ),
            max_risk_score=Max("risk_score"),
            last_activity=Max("provider_updated_at"),
        )
    )
    return {row["client"]: row for row in rows}


def _check_kinds(ids: Sequence[int]) -> dict[int, dict[str, dict]]:
    """Per client, per kind it has a check of: outcome counts of screening kinds."""
    rows = (
        Check.objects.filter(session__provider_client__client_id__in=ids)
        .order_by()
        .values("kind", client=F("session__provider_client__client_id"))
        .annotate(
            rejected=Count("id", filter=Q(outcome=Outcome.REJECTED)),
            attention=Count("id", filter=Q(outcome=Outcome.ATTENTION)),
        )
    )
    kinds: dict[int, dict[str, dict]] = {}
    for row in rows:
        kinds.setdefault(row["client"], {})[row["kind"]] = row
    return kinds


def _latest_completed(ids: Sequence[int]) -> dict[int, dict[str, Verified]]:
    """Per client, per required kind: its newest completed check with a result
    (by the assurance matrix's date: provider updated, else created, else the
    session's creation)."""
    checked_at = Coalesce(
        "provider_updated_at", "provider_created_at", "session__provider_created_at"
    )
    rows = (
        Check.objects.filter(
            session__provider_client__client_id__in=ids,
            kind__in=sorted(all_required_kinds()),
            status=Status.COMPLETED,
        )
        .exclude(outcome="")
        .annotate(
            client=F("session__provider_client__client_id"),
            checked_at=checked_at,
            rank=Window(
                RowNumber(),
                partition_by=[F("session__provider_client__client_id"), F("kind")],
                order_by=[checked_at.desc(nulls_last=True), F("id").desc()],
            ),
        )
        .filter(rank=1)
        .values_list("client", "kind", "checked_at", "document_expires_on")
    )
    latest: dict[int, dict[str, Verified]] = {}
    for client, kind, checked, expires in rows:
        if checked is None:
            continue
        latest.setdefault(client, {})[kind] = Verified(
            on=checked.date(), document_expires_on=expires
        )
    return latest


def clients_review_refresh_batch(*, client_ids: Sequence[int], now: dt.datetime) -> int:
    """Recompute and store the review summary of `client_ids`; return how many
    exist. Clears their `assurance_stale` first, in the same transaction, so a
    sync committing meanwhile marks them again rather than being lost."""
    if not client_ids:
        return 0
    with transaction.atomic():
        Client.objects.filter(pk__in=client_ids, assurance_stale=True).update(
            assurance_stale=False
        )
        clients = list(
            Client.objects.filter(pk__in=client_ids).only(
                "pk", "risk_tier", "risk_tier_source", *REFRESHED_FIELDS
            )
        )
        ids = [client.pk for client in clients]
        sessions = _session_signals(ids)
        kinds = _check_kinds(ids)
        verified = _latest_completed(ids)
        for client in clients:
            own = sessions.get(client.pk, {})
            checked = kinds.get(client.pk, {})
            screening = [checked[k] for k in SCREENING_KINDS if k in checked]
            derived = tier_derive(
                TierSignals(
                    sessions=own.get("sessions", 0),
                    sessions_rejected=own.get("rejected", 0),
                    screening_rejected=sum(row["rejected"] for row in screening),
                    screening_attention=sum(row["attention"] for row in screening),
                    max_risk_score=own.get("max_risk_score"),
                )
            )
            tier = tier_effective(
                source=client.risk_tier_source,
                reviewer_tier=client.risk_tier,
                derived=derived,
            )
            required = required_kinds_for_tier(tier)
            client.risk_tier_derived = derived
            client.risk_tier = tier
            # A gap is what the matrix calls one: a required kind never checked.
            client.has_gaps = any(kind not in checked for kind in required)
            client.next_review_due = next_review_due(
                tier=tier, verified=verified.get(client.pk, {}), required=required
            )
            client.last_activity_at = own.get("last_activity")
            client.assurance_refreshed_at = now
        _summaries_write(clients)
    return len(clients)


# The PostgreSQL type of each refreshed column, for the arrays of the UPDATE.
_PG_TYPES = {
    "risk_tier": "text",
    "risk_tier_derived": "text",
    "next_review_due": "date",
    "has_gaps": "boolean",
    "last_activity_at": "timestamptz",
    "assurance_refreshed_at": "timestamptz",
}


def _summaries_write(clients: list[Client]) -> None:
    """Store the batch's summaries: on PostgreSQL one UPDATE from arrays (one
    parameter per column), elsewhere Django's bulk_update. bulk_update builds a
    CASE per column and row: 2,000 clients cost seconds of Python, the
    arrays milliseconds (docs/PERFORMANCE.md)."""
    if connection.vendor != "postgresql":
        Client.objects.bulk_update(clients, REFRESHED_FIELDS, batch_size=500)
        return
    meta, quote = Client._meta, connection.ops.quote_name
    columns = [quote(meta.get_field(name).column) for name in REFRESHED_FIELDS]
    unnest = ", ".join(f"%s::{_PG_TYPES[name]}[]" for name in REFRESHED_FIELDS)
    assignments = ", ".join(f"{column} = v.{column}" for column in columns)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS c SET {assignments} "  # noqa: S608
        f"FROM unnest(%s::bigint[], {unnest}) AS v(id, {', '.join(columns)}) "
        "WHERE c.id = v.id"
    )
    params = [[client.pk for client in clients]] + [
        [getattr(client, name) for client in clients] for name in REFRESHED_FIELDS
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def clients_review_refresh_all(
    *,
    now: dt.datetime,
    since: dt.datetime,
    batch_size: int | None = None,
    deadline: float | None = None,
    clock: object = None,
) -> RefreshResult:
    """Refresh every client not refreshed since `since` (the day's start), in
    id order, a batch per transaction; stop early once `clock()` passes
    `deadline` (the result says it did not finish)."""
    size = batch_size or settings.VERITY_REVIEW_REFRESH_BATCH
    result = RefreshResult()
    after = 0
    pending = Q(assurance_refreshed_at__isnull=True) | Q(
        assurance_refreshed_at__lt=since
    )
    while True:
        ids = list(
            Client.objects.filter(pending, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return result
        result.clients += clients_review_refresh_batch(client_ids=ids, now=now)
        result.batches += 1
        after = ids[-1]
        if deadline is not None and clock is not None and clock() >= deadline:
            result.finished = False
            return result


def clients_review_refresh_stale(
    *, now: dt.datetime, batch_size: int | None = None, max_batches: int = 50
) -> RefreshResult:
    """Refresh the clients the sync marked stale (their sessions changed), a
    batch at a time, at most `max_batches` per call."""
    size = batch_size or settings.VERITY_REVIEW_REFRESH_BATCH
    result = RefreshResult()
    for _ in range(max_batches):
        ids = list(
            Client.objects.filter(assurance_stale=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return result
        result.clients += clients_review_refresh_batch(client_ids=ids, now=now)
        result.batches += 1
    result.finished = not Client.objects.filter(assurance_stale=True).exists()
    return result


def clients_mark_stale(*, provider_client_ids: Sequence[int]) -> int:
    """Mark the clients of these provider identities for the follow-up refresh
    (one UPDATE; the sync calls it for the sessions a batch changed)."""
    if not provider_client_ids:
        return 0
    return Client.objects.filter(
        provider_clients__in=list(provider_client_ids), assurance_stale=False
    ).update(assurance_stale=True)
