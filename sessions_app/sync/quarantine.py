"""Quarantine without noise: the same bad record is one row, counted.

A record that cannot be understood is kept verbatim (`QuarantinedRecord`),
keyed by its fingerprint (connection, record type, external id or raw
hash, reason), with when it was first and last seen and how often. Used by
the write service (`upsert.session_upsert_batch`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.db.models import F

from ..models import ProviderConnection, QuarantinedRecord, SyncRun
from ..models.connections import quarantine_fingerprint
from .values import chunks


def quarantine_row(
    *,
    connection: ProviderConnection,
    record_type: str,
    external_id: str,
    reason: str,
    raw: str,
) -> QuarantinedRecord:
    """An unsaved QuarantinedRecord with its fingerprint (what makes it "the same bad record")."""
    return QuarantinedRecord(
        connection=connection,
        record_type=record_type,
        external_id=external_id,
        reason=reason,
        raw=raw,
        fingerprint=quarantine_fingerprint(
            record_type=record_type, external_id=external_id, reason=reason, raw=raw
        ),
    )


def quarantine_upsert(
    *,
    connection: ProviderConnection,
    rows: Sequence[QuarantinedRecord],
    sync_run: SyncRun | None,
    now: dt.datetime,
) -> None:
    """Store quarantined records: one row per (connection, fingerprint).

    A record already quarantined is counted (`seen_count` += how often it came
    in this batch), stamped `last_seen_at = now`, moved to this `sync_run`,
    given the latest raw text and reopened; a new one is inserted. Three
    statements per batch (find, update, insert) on SQLite and PostgreSQL
    alike: `bulk_create(update_conflicts=…)` alone cannot add to a count.
    A row inserted by a concurrent writer between the find and the insert is
    updated by the insert's ON CONFLICT instead of failing the page (that
    one sighting is then not counted).
    """
    batch = settings.VERITY_SYNC_BATCH_SIZE
    latest: dict[str, tuple[QuarantinedRecord, int]] = {}
    for row in rows:  # the last copy's raw text wins, every copy is counted
        seen = latest.get(row.fingerprint)
        latest[row.fingerprint] = (row, (seen[1] if seen else 0) + 1)
    existing: dict[str, int] = {}
    for chunk in chunks(list(latest)):
        existing.update(
            QuarantinedRecord.objects.filter(
                connection=connection, fingerprint__in=chunk
            ).values_list("fingerprint", "pk")
        )
    updates: list[QuarantinedRecord] = []
    inserts: list[QuarantinedRecord] = []
    for fingerprint, (row, times) in latest.items():
        row.sync_run = sync_run
        row.last_seen_at = now
        row.resolved_at = None
        if fingerprint in existing:
            row.pk = existing[fingerprint]
            row.seen_count = F("seen_count") + times
            updates.append(row)
        else:
            row.created_at = now
            row.seen_count = times
            inserts.append(row)
    reseen_fields = ["raw", "last_seen_at", "sync_run", "resolved_at"]
    if updates:
        QuarantinedRecord.objects.bulk_update(
            updates, [*reseen_fields, "seen_count"], batch_size=batch
        )
    if inserts:
        QuarantinedRecord.objects.bulk_create(
            inserts,
            batch_size=batch,
            update_conflicts=True,
            unique_fields=["connection", "fingerprint"],
            update_fields=reseen_fields,
        )
