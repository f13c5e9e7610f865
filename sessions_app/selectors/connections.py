"""Provider connection and sync reads: filter choices, sync health (the
overview's and the sync page's), recent runs, quarantine, webhook deliveries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

from django.db.models import F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import Length, RowNumber, Substr
from django.utils import timezone

from ..models import (
    ProviderConnection,
    QuarantinedRecord,
    SyncRun,
    SyncRunState,
    WebhookDelivery,
)

# A sync connection is stale when its last success is older than this many
# sync intervals (one missed run is noise, three is an outage).
STALE_AFTER_INTERVALS = 3
SUCCESSFUL_RUN_STATES = (SyncRunState.SUCCEEDED, SyncRunState.PARTIAL)


def provider_connection_choices() -> list[tuple[str, str]]:
    """Return (slug, display name) of every connection, for filter selects."""
    return list(
        ProviderConnection.objects.order_by("slug").values_list("slug", "display_name")
    )


@dataclasses.dataclass(frozen=True)
class ProviderHealth:
    connection: ProviderConnection
    last_run: SyncRun | None
    last_success_at: dt.datetime | None
    stale: bool

    @property
    def state(self) -> str:
        """Return one word for the badge: disabled, stale, failing, running, ok, never."""
        if not self.connection.enabled:
            return "disabled"
        if self.last_run is None:
            return "never"
        if self.last_run.state in (SyncRunState.FAILED, SyncRunState.RATE_LIMITED):
            return "failing"
        if self.stale:
            return "stale"
        if self.last_run.state == SyncRunState.RUNNING:
            return "running"
        return "ok"


def provider_health_list(*, now: dt.datetime | None = None) -> list[ProviderHealth]:
    """Return each connection's last sync run, last success and staleness.

    Stale: enabled and no success within STALE_AFTER_INTERVALS x its sync
    interval (or never). The last success is the newer of the connection's own
    `last_success_at` and the newest succeeded/partial run. Two queries.
    """
    now = now or timezone.now()
    runs = SyncRun.objects.filter(connection=OuterRef("pk")).order_by(
        "-started_at", "-id"
    )
    connections = list(
        ProviderConnection.objects.order_by("slug").annotate(
            last_run_id=Subquery(runs.values("id")[:1]),
            last_run_success_at=Subquery(
                runs.filter(state__in=SUCCESSFUL_RUN_STATES, finished_at__isnull=False)
                .order_by("-finished_at", "-id")
                .values("finished_at")[:1]
            ),
        )
    )
    run_ids = [c.last_run_id for c in connections if c.last_run_id]
    last_runs = {run.pk: run for run in SyncRun.objects.filter(pk__in=run_ids)}
    health = []
    for conn in connections:
        successes = [t for t in (conn.last_success_at, conn.last_run_success_at) if t]
        last_success = max(successes) if successes else None
        limit = dt.timedelta(seconds=conn.sync_interval_seconds * STALE_AFTER_INTERVALS)
        stale = conn.enabled and (last_success is None or now - last_success > limit)
        health.append(
            ProviderHealth(
                connection=conn,
                last_run=last_runs.get(conn.last_run_id),
                last_success_at=last_success,
                stale=stale,
            )
        )
    return health


@dataclasses.dataclass(frozen=True)
class ConnectionSyncStatus:
    health: ProviderHealth
    recent_runs: list[SyncRun]
    unknown_values: list[tuple[str, int]]


@dataclasses.dataclass(frozen=True)
class SyncStatus:
    connections: list[ConnectionSyncStatus]
    quarantined: list[QuarantinedRecord]
    webhooks: list[WebhookDelivery]


QUARANTINE_EXCERPT_CHARS = 2000


def sync_status_get(
    *,
    runs_per_connection: int = 10,
    quarantine_limit: int = 50,
    webhook_limit: int = 20,
    unknown_window_runs: int = 200,
    now: dt.datetime | None = None,
) -> SyncStatus:
    """Return what the sync page shows, in a constant number of queries.

    Recent runs come from one windowed query (ROW_NUMBER per connection).
    Unknown provider values are summed over the newest `unknown_window_runs`
    runs of all connections. Raw quarantined bodies are cut to an excerpt in
    the database so a huge record never travels to the page.
    """
    health = provider_health_list(now=now)
    ranked = SyncRun.objects.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("connection_id")],
            order_by=[F("started_at").desc(), F("id").desc()],
        )
    ).filter(rank__lte=runs_per_connection)
    runs_by_connection: dict[int, list[SyncRun]] = {}
    for run in ranked.order_by("connection_id", "-started_at", "-id"):
        runs_by_connection.setdefault(run.connection_id, []).append(run)
    unknown: dict[int, Counter[str]] = {}
    recent_unknown = SyncRun.objects.order_by("-started_at", "-id").values_list(
        "connection_id", "unknown_values"
    )[:unknown_window_runs]
    for connection_id, values in recent_unknown:
        if isinstance(values, dict):
            counter = unknown.setdefault(connection_id, Counter())
            for raw, n in values.items():
                counter[str(raw)] += n if isinstance(n, int) else 1
    quarantined = list(
        QuarantinedRecord.objects.select_related("connection")
        .defer("raw")
        .annotate(
            raw_excerpt=Substr("raw", 1, QUARANTINE_EXCERPT_CHARS),
            raw_length=Length("raw"),
        )
        .order_by("-created_at", "-id")[:quarantine_limit]
    )
    webhooks = list(
        WebhookDelivery.objects.select_related("connection")
        .defer("body")
        .order_by("-received_at", "-id")[:webhook_limit]
    )
    return SyncStatus(
        connections=[
            ConnectionSyncStatus(
                health=h,
                recent_runs=runs_by_connection.get(h.connection.pk, []),
                unknown_values=unknown.get(h.connection.pk, Counter()).most_common(),
            )
            for h in health
        ],
        quarantined=quarantined,
        webhooks=webhooks,
    )


def sync_run_queryset() -> QuerySet[SyncRun]:
    """Sync runs with their connection, newest first."""
    return SyncRun.objects.select_related("connection").order_by("-started_at", "-id")
