"""Provider connection and sync reads: filter choices, sync health (the
overview's and the sync page's), recent runs, quarantine, webhook deliveries,
and the words a failed run is shown in (`sync_error_summary`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import Length, RowNumber, Substr
from django.utils import formats, timezone

from ..models import (
    ProviderConnection,
    QuarantinedRecord,
    SyncRun,
    SyncRunState,
    WebhookDelivery,
)
from ..models.connections import SyncErrorKind
from ..providers import connection_rate_limit
from ..providers.pacing import EffectiveRateLimit

# A sync connection is stale when its last success is older than this many
# sync intervals (one missed run is noise, three is an outage).
STALE_AFTER_INTERVALS = 3
SUCCESSFUL_RUN_STATES = (SyncRunState.SUCCEEDED, SyncRunState.PARTIAL)
FAILING_RUN_STATES = (SyncRunState.FAILED, SyncRunState.RATE_LIMITED)

# What a run's error_kind says, in words; {p} is the connection's name and
# {status} " (HTTP 401)" when the stored error names a status.
_KIND_WORDS: dict[str, str] = {
    SyncErrorKind.REFUSED: "{p} could not be reached (connection refused)",
    SyncErrorKind.DNS: "{p} could not be reached (host name not found)",
    SyncErrorKind.TIMEOUT: "{p} did not answer in time (timed out)",
    SyncErrorKind.TLS: "{p} could not be reached securely (TLS certificate or handshake failed)",
    SyncErrorKind.DROPPED: "{p} dropped the connection",
    SyncErrorKind.UNREACHABLE: "{p} could not be reached (network error)",
    SyncErrorKind.SERVER_ERROR: "{p} had a server error{status}",
    SyncErrorKind.AUTH: "{p} refused the credentials{status}",
    SyncErrorKind.RATE_LIMITED: "{p} is limiting Verity's requests{status}",
    SyncErrorKind.QUOTA: "{p}'s request quota is used up{status}",
    SyncErrorKind.NOT_FOUND: "{p} answered “not found”{status}",
    SyncErrorKind.BAD_REQUEST: "{p} rejected a request{status}",
    SyncErrorKind.INVALID_RESPONSE: "{p} sent an answer Verity could not read{status}",
    SyncErrorKind.PROVIDER: "{p} answered with an error{status}",
    SyncErrorKind.CONFIGURATION: "The {p} connection is misconfigured",
    SyncErrorKind.LEASE_LOST: "The {p} sync lost its lease to another run",
    SyncErrorKind.INTERRUPTED: "The {p} sync was interrupted before it finished",
    SyncErrorKind.INTERNAL: "The {p} sync stopped on an error inside Verity",
}
_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def sync_error_summary(*, provider: str, kind: str, error: str) -> str:
    """Say in words what ended a run: "ComplyCube refused the credentials (HTTP 401)".

    `kind` is the run's `error_kind`; a run without one (older than the field)
    or with a kind this page does not know reads as a plain failure. The
    technical text (`error`) is only read for its HTTP status: it may quote
    what the provider (or whatever answered at its base URL) sent, so no page
    shows it to viewers; admins read it on the run's admin page. A
    configuration error is the exception: Verity wrote all of it.
    """
    words = _KIND_WORDS.get(kind, "The {p} sync failed{status}")
    found = _HTTP_STATUS.search(error)
    status = f" (HTTP {found.group(1)})" if found else ""
    summary = words.format(p=provider, status=status)
    if kind == SyncErrorKind.CONFIGURATION and error:
        # Verity's own words about its own settings (a variable not set or
        # refused, an invalid option), never a provider's answer.
        return f"{summary}: {error}"
    return summary


def since_label(when: dt.datetime, *, now: dt.datetime) -> str:
    """Local time of day when `when` is today, else the date too ("3 Jun 06:21")."""
    local, today = timezone.localtime(when), timezone.localtime(now).date()
    if local.date() == today:
        return formats.date_format(local, "H:i")
    if local.year == today.year:
        return formats.date_format(local, "j M H:i")
    return formats.date_format(local, "j M Y H:i")


@dataclasses.dataclass(frozen=True)
class SyncProblem:
    """Why a connection is failing, in words, since when, with the raw detail."""

    summary: str  # "ComplyCube could not be reached (connection refused)"
    since: dt.datetime  # the start of the first failing run of the streak
    since_label: str  # "06:21", or "3 Jun 06:21" on another day
    # The latest failing run's stored error, as it is: for the admin only (it
    # may quote a provider's answer); pages show `summary`.
    detail: str
    run: SyncRun  # the latest failing run

    @property
    def text(self) -> str:
        return f"{self.summary} since {self.since_label}"


def provider_connection_get(*, pk: int) -> ProviderConnection | None:
    """Return one connection by id (None if there is none)."""
    return ProviderConnection.objects.filter(pk=pk).first()


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
    # Set while the connection fails: no successful run since its first failing one.
    problem: SyncProblem | None = None
    # Until when a live run holds the connection's sync lease (None: free or expired).
    lease_until: dt.datetime | None = None
    # The last run's error in words (sync_run_error_summary), "" without one.
    last_run_error: str = ""

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
    `last_success_at` and the newest succeeded/partial run. A connection whose
    failed or rate-limited runs have had no successful run after them has a
    `problem`: the latest failure in words, since the first failing run of
    that streak (running and skipped runs neither break nor start one). Two
    queries.
    """
    now = now or timezone.now()
    runs = SyncRun.objects.filter(connection=OuterRef("pk")).order_by(
        "-started_at", "-id"
    )
    # Failing runs with no success started after them: the current streak.
    streak = SyncRun.objects.filter(
        connection=OuterRef("pk"), state__in=FAILING_RUN_STATES
    ).filter(
        ~Exists(
            SyncRun.objects.filter(
                connection=OuterRef("connection"),
                state__in=SUCCESSFUL_RUN_STATES,
                started_at__gt=OuterRef("started_at"),
            )
        )
    )
    connections = list(
        ProviderConnection.objects.order_by("slug").annotate(
            last_run_id=Subquery(runs.values("id")[:1]),
            last_run_success_at=Subquery(
                runs.filter(state__in=SUCCESSFUL_RUN_STATES, finished_at__isnull=False)
                .order_by("-finished_at", "-id")
                .values("finished_at")[:1]
            ),
            failing_since=Subquery(
                streak.order_by("started_at", "id").values("started_at")[:1]
            ),
            last_failure_id=Subquery(
                streak.order_by("-started_at", "-id").values("id")[:1]
            ),
        )
    )
    run_ids = [
        pk for c in connections for pk in (c.last_run_id, c.last_failure_id) if pk
    ]
    last_runs = {run.pk: run for run in SyncRun.objects.filter(pk__in=run_ids)}
    health = []
    for conn in connections:
        successes = [t for t in (conn.last_success_at, conn.last_run_success_at) if t]
        last_success = max(successes) if successes else None
        limit = dt.timedelta(seconds=conn.sync_interval_seconds * STALE_AFTER_INTERVALS)
        stale = conn.enabled and (last_success is None or now - last_success > limit)
        failure = last_runs.get(conn.last_failure_id)
        problem = None
        if failure is not None and conn.failing_since is not None:
            problem = SyncProblem(
                summary=sync_error_summary(
                    provider=conn.display_name or conn.slug,
                    kind=failure.error_kind,
                    error=failure.error,
                ),
                since=conn.failing_since,
                since_label=since_label(conn.failing_since, now=now),
                detail=failure.error,
                run=failure,
            )
        last_run = last_runs.get(conn.last_run_id)
        health.append(
            ProviderHealth(
                connection=conn,
                last_run=last_run,
                last_success_at=last_success,
                stale=stale,
                problem=problem,
                lease_until=conn.lock_expires_at
                if conn.lock_token
                and conn.lock_expires_at is not None
                and conn.lock_expires_at > now
                else None,
                last_run_error=sync_run_error_summary(
                    run=last_run, provider=conn.display_name or conn.slug
                )
                if last_run is not None
                else "",
            )
        )
    return health


@dataclasses.dataclass(frozen=True)
class RunRow:
    """A recent run as the sync page lists it: its error in words beside the raw text."""

    run: SyncRun
    error_summary: str  # "" when the run has no error


@dataclasses.dataclass(frozen=True)
class ConnectionSyncStatus:
    health: ProviderHealth
    recent_runs: list[RunRow]
    unknown_values: list[tuple[str, int]]
    # The requests/s it is paced to and where that comes from (override or default).
    rate_limit: EffectiveRateLimit | None = None


@dataclasses.dataclass(frozen=True)
class SyncStatus:
    connections: list[ConnectionSyncStatus]
    quarantined: list[QuarantinedRecord]
    webhooks: list[WebhookDelivery]


QUARANTINE_EXCERPT_CHARS = 2000


def sync_run_error_summary(*, run: SyncRun, provider: str) -> str:
    """What a run's error may show to anyone who can see the sync: its words.

    A skipped run's note or a refresh's "not found at the provider" are
    Verity's words already; a failure is said by `sync_error_summary`, never
    with the stored text (which may quote a provider's answer).
    """
    if not run.error:
        return ""
    if run.state not in (*FAILING_RUN_STATES, SyncRunState.INTERRUPTED):
        return run.error
    return sync_error_summary(provider=provider, kind=run.error_kind, error=run.error)


def _run_error_summary(run: SyncRun, names: dict[int, str]) -> str:
    return sync_run_error_summary(run=run, provider=names.get(run.connection_id, ""))


def webhook_delivery_error_words(delivery: WebhookDelivery) -> str:
    """What a delivery's error may show on the sync page.

    A failed refresh stores the provider's error on a delivery it handed to
    the broker and that is not processed: that stays in the admin and the page
    points at the webhook run, whose words say what happened. Notes (a
    processed delivery: out of scope, not found) and body problems (never
    handed to the broker) are Verity's words.
    """
    if not delivery.error:
        return ""
    if delivery.processed_at is None and delivery.enqueue_attempts:
        return "The refresh failed; the webhook run above says why."
    return delivery.error


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
    runs of all connections. Quarantined records come most recently seen
    first; their raw bodies are cut to an excerpt in the database so a huge
    record never travels to the page.
    """
    health = provider_health_list(now=now)
    ranked = SyncRun.objects.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("connection_id")],
            order_by=[F("started_at").desc(), F("id").desc()],
        )
    ).filter(rank__lte=runs_per_connection)
    names = {h.connection.pk: h.connection.display_name for h in health}
    runs_by_connection: dict[int, list[RunRow]] = {}
    for run in ranked.order_by("connection_id", "-started_at", "-id"):
        runs_by_connection.setdefault(run.connection_id, []).append(
            RunRow(run=run, error_summary=_run_error_summary(run, names))
        )
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
        .order_by("-last_seen_at", "-id")[:quarantine_limit]
    )
    webhooks = list(
        WebhookDelivery.objects.select_related("connection")
        .defer("body")
        .order_by("-received_at", "-id")[:webhook_limit]
    )
    for delivery in webhooks:
        delivery.error_words = webhook_delivery_error_words(delivery)
    return SyncStatus(
        connections=[
            ConnectionSyncStatus(
                health=h,
                recent_runs=runs_by_connection.get(h.connection.pk, []),
                unknown_values=unknown.get(h.connection.pk, Counter()).most_common(),
                rate_limit=connection_rate_limit(h.connection),
            )
            for h in health
        ],
        quarantined=quarantined,
        webhooks=webhooks,
    )


def sync_run_queryset() -> QuerySet[SyncRun]:
    """Sync runs with their connection, newest first."""
    return SyncRun.objects.select_related("connection").order_by("-started_at", "-id")


@dataclasses.dataclass(frozen=True)
class SyncNotice:
    """What an officer should know about the freshness of the data on a page:
    "Onfido data last synced 06:21, failing since 06:25"."""

    connection: ProviderConnection
    text: str
    failing: bool  # False: only stale (no success for too long)


def sync_notices(
    *, connection_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> list[SyncNotice]:
    """Return a notice for each enabled connection (of `connection_ids`, or all)
    whose data may no longer be true: it is failing, or stale. Two queries.

    The queue, session and client pages show them above what they list, so
    an officer is not shown old provider state as if it were current.
    """
    now = now or timezone.now()
    wanted = None if connection_ids is None else set(connection_ids)
    notices = []
    for health in provider_health_list(now=now):
        connection = health.connection
        if not connection.enabled or (
            wanted is not None and connection.pk not in wanted
        ):
            continue
        if health.problem is None and not health.stale:
            continue
        name = connection.display_name or connection.slug
        synced = (
            f"last synced {since_label(health.last_success_at, now=now)}"
            if health.last_success_at
            else "never synced"
        )
        if health.problem is not None:
            text = f"{name} data {synced}, failing since {health.problem.since_label}."
        else:
            text = f"{name} data {synced}: it may be out of date."
        notices.append(
            SyncNotice(
                connection=connection, text=text, failing=health.problem is not None
            )
        )
    return notices
