"""The assurance matrix of many clients at once, for the clients CSV: per
client, per check kind, the latest result, its provider word, its date and
its freshness, by the same rules as the client page (`assurance.py`).

Two window queries per batch of clients (newest check per client and kind;
newest completed one), whatever their number of checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.db.models import F, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber

from ..models import Check, CheckKind, Status
from .assurance import Freshness, _freshness, _valid_until


@dataclasses.dataclass(frozen=True)
class KindSummary:
    outcome: str
    raw_outcome: str
    provider: str
    completed_at: dt.datetime | None
    freshness: str  # a Freshness word, or "" (neither checked nor required)


def _latest_by_client_kind(qs: QuerySet[Check]) -> dict[tuple[int, str], Check]:
    checked_at = Coalesce(
        "provider_updated_at", "provider_created_at", "session__provider_created_at"
    )
    client = F("session__provider_client__client_id")
    ranked = (
        qs.select_related("connection")
        .only(
            "id",
            "kind",
            "status",
            "outcome",
            "raw_outcome",
            "document_expires_on",
            "connection__slug",
            "connection__display_name",
        )
        .annotate(
            client_id=client,
            checked_at=checked_at,
            rank=Window(
                RowNumber(),
                partition_by=[client, F("kind")],
                order_by=[checked_at.desc(nulls_last=True), F("id").desc()],
            ),
        )
        .filter(rank=1)
    )
    return {(check.client_id, check.kind): check for check in ranked}


def client_assurance_summaries(
    *,
    client_ids: Sequence[int],
    required: Mapping[int, Sequence[str]],
    today: dt.date,
) -> dict[int, dict[str, KindSummary]]:
    """Return, per client of `client_ids`, per check kind, its summary; the
    kinds in `required[client]` without any check are gaps. Two queries."""
    checks = Check.objects.filter(session__provider_client__client_id__in=client_ids)
    latest = _latest_by_client_kind(checks)
    completed = _latest_by_client_kind(
        checks.filter(status=Status.COMPLETED).exclude(outcome="")
    )
    validity = settings.VERITY_ASSURANCE_VALIDITY_DAYS
    summaries: dict[int, dict[str, KindSummary]] = {}
    for client_id in client_ids:
        rows: dict[str, KindSummary] = {}
        needed = set(required.get(client_id, ()))
        for kind in CheckKind.values:
            newest = latest.get((client_id, kind))
            done = completed.get((client_id, kind))
            if newest is None:
                freshness = Freshness.GAP if kind in needed else ""
                rows[kind] = KindSummary("", "", "", None, freshness)
                continue
            completed_at = getattr(done, "checked_at", None)
            valid_until = (
                _valid_until(kind, done, completed_at, validity) if done else None
            )
            source = done or newest
            rows[kind] = KindSummary(
                outcome=done.outcome if done else "",
                raw_outcome=done.raw_outcome if done else "",
                provider=source.connection.display_name or source.connection.slug,
                completed_at=completed_at,
                freshness=_freshness(newest, done, valid_until, today),
            )
        summaries[client_id] = rows
    return summaries
