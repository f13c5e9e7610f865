"""Reads. Every list, detail, export and API queryset is built here, so the
pages, the API, the admin and the CSV exports all see the same rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import Length, RowNumber, Substr, TruncDate
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from .filters import CheckFilterSet, SessionFilterSet
from .models import (
    AuditEvent,
    Check,
    Client,
    Outcome,
    PolicyAssurance,
    ProviderClient,
    ProviderConnection,
    QuarantinedRecord,
    Review,
    Status,
    SyncRun,
    SyncRunState,
    Tag,
    TagKind,
    WebhookDelivery,
    WorkflowSession,
    needs_attention_q,
)
from .pagination import KeysetPage, KeysetPaginator, table_row_estimate
from .roles import ADMIN, REVIEWER

# How a session's tags are listed everywhere: pages, API, both CSV writers.
TAG_ORDERING = ("kind", "name", "id")


def session_queryset() -> QuerySet[WorkflowSession]:
    """Sessions with what every list row shows, joined once (no N+1)."""
    return WorkflowSession.objects.select_related(
        "connection", "provider_client", "provider_client__client", "assignee"
    ).prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by(*TAG_ORDERING)))


def session_list_queryset() -> QuerySet[WorkflowSession]:
    """Sessions for list rows: `session_queryset` without the raw payloads.

    No list shows them, and they are most of a row's bytes (about 2 kB of JSON
    for a session and its provider client) to transfer and decode.
    """
    return session_queryset().defer("raw_payload", "provider_client__raw_payload")


def session_filterset(
    *, params: QueryDict | dict[str, Any], request: HttpRequest | None = None
) -> SessionFilterSet:
    """Return the bound (not yet evaluated) FilterSet of the review queue."""
    return SessionFilterSet(
        data=params, queryset=session_list_queryset(), request=request
    )


def session_list(
    *, params: QueryDict | dict[str, Any], request: HttpRequest | None = None
) -> QuerySet[WorkflowSession]:
    """Filtered sessions, or none when a filter value is invalid (check the FilterSet)."""
    filterset = session_filterset(params=params, request=request)
    if not filterset.is_valid():
        return WorkflowSession.objects.none()
    return filterset.qs


def check_queryset() -> QuerySet[Check]:
    return Check.objects.select_related(
        "connection",
        "session",
        "session__provider_client",
        "session__provider_client__client",
    )


def check_filterset(
    *, params: QueryDict | dict[str, Any], request: HttpRequest | None = None
) -> CheckFilterSet:
    return CheckFilterSet(data=params, queryset=check_queryset(), request=request)


def user_reviewers() -> QuerySet:
    """Active users who may be assigned sessions (reviewers and admins)."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[REVIEWER, ADMIN]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


# --- The compliance officer's desk (overview, queue, session, client, sync) --------

# "Needs attention" is defined once, beside the model and its partial index
# (models.needs_attention_q): the overview, the queue, the API and the CSV use it.

# The queue's sortable columns: query parameter value -> non-null model field
# (keyset pagination needs non-null keys; these are all NOT NULL columns).
SESSION_SORTS: dict[str, str] = {
    "created": "provider_created_at",
    "updated": "provider_updated_at",
    "status": "status",
    "outcome": "outcome",
    "provider": "connection__slug",
}
SESSION_DEFAULT_SORT = "-created"

# A sync connection is stale when its last success is older than this many
# sync intervals (one missed run is noise, three is an outage).
STALE_AFTER_INTERVALS = 3
SUCCESSFUL_RUN_STATES = (SyncRunState.SUCCEEDED, SyncRunState.PARTIAL)
SESSION_OBJECT_TYPE = WorkflowSession._meta.label_lower


def session_needs_attention_q() -> Q:
    """Return the condition selecting sessions that need attention."""
    return needs_attention_q()


def session_page(
    *,
    queryset: QuerySet[WorkflowSession],
    sort: str = SESSION_DEFAULT_SORT,
    cursor: str | None = None,
    page_size: int = 25,
) -> KeysetPage:
    """Return one keyset page of `queryset` sorted by a SESSION_SORTS key.

    `sort` is a key of SESSION_SORTS, prefixed with "-" for descending; ties
    are broken by id. Raise KeyError for an unknown sort and InvalidCursor for
    a cursor that does not belong to this sort. Runs one query (plus the
    queryset's prefetches), never a COUNT.
    """
    descending = sort.startswith("-")
    field = SESSION_SORTS[sort.removeprefix("-")]
    paginator = KeysetPaginator(
        queryset, sort_field=field, descending=descending, page_size=page_size
    )
    return paginator.page(cursor)


# What a review-queue row shows (`templatetags.verity.queue_cells`) and what
# its sorts read; no other column of a session or of its joined rows is
# loaded: at 100 rows, building and decoding unused columns (JSON reasons,
# the connection's cursor, user records) was a fifth of the page.
QUEUE_ROW_FIELDS = (
    "connection__slug",
    "connection__display_name",
    "external_id",
    "provider_client__name",
    "provider_client__external_id",
    "provider_client__client__display_name",
    "provider_client__client__reference",
    "workflow_id",
    "workflow_name",
    "workflow_version",
    "status",
    "raw_status",
    "outcome",
    "raw_outcome",
    "provider_created_at",
    "provider_updated_at",
    "assignee__username",
    "last_decision",
    "last_decision_at",
)


# Where list rows (queue and API) find their session's tags.
ROW_TAGS_ATTR = "row_tags"


def row_tags_prefetch() -> Prefetch:
    """Each session's tags, in `TAG_ORDERING`, as a plain list in `ROW_TAGS_ATTR`.

    A `to_attr` prefetch builds no related manager and no queryset per row,
    as the `tags` prefetch (read through `tags.all()`) does.
    """
    return Prefetch(
        "tags",
        queryset=Tag.objects.order_by(*TAG_ORDERING).only("name", "kind"),
        to_attr=ROW_TAGS_ATTR,
    )


def session_queue_page(
    *,
    queryset: QuerySet[WorkflowSession],
    sort: str = SESSION_DEFAULT_SORT,
    cursor: str | None = None,
    page_size: int = 25,
) -> KeysetPage:
    """`session_page` for the review queue's rows: only `QUEUE_ROW_FIELDS`,
    and each session's tags as a list (`row_tags_prefetch`).
    """
    return session_page(
        queryset=queryset.only(*QUEUE_ROW_FIELDS)
        .prefetch_related(None)
        .prefetch_related(row_tags_prefetch()),
        sort=sort,
        cursor=cursor,
        page_size=page_size,
    )


# What an API session row (`serializers.SessionSerializer`) reads, the same
# way: the queue row's columns and the few more the API returns.
SESSION_API_ROW_FIELDS = (
    *QUEUE_ROW_FIELDS,
    "connection__kind",
    "started_at",
    "completed_at",
    "last_synced_at",
    "dashboard_url",
)


def session_api_list_queryset() -> QuerySet[WorkflowSession]:
    """`session_list_queryset` with only the columns an API list row returns,
    tags as a list (`row_tags_prefetch`)."""
    return (
        session_list_queryset()
        .only(*SESSION_API_ROW_FIELDS)
        .prefetch_related(None)
        .prefetch_related(row_tags_prefetch())
    )


def session_total_estimate() -> int | None:
    """Return the planner's estimate of all sessions (PostgreSQL), else None."""
    return table_row_estimate(WorkflowSession)


def provider_connection_choices() -> list[tuple[str, str]]:
    """Return (slug, display name) of every connection, for filter selects."""
    return list(
        ProviderConnection.objects.order_by("slug").values_list("slug", "display_name")
    )


@dataclasses.dataclass(frozen=True)
class CountRow:
    value: str
    label: str
    count: int


@dataclasses.dataclass(frozen=True)
class SessionBreakdown:
    total: int
    by_status: list[CountRow]
    by_outcome: list[CountRow]
    by_provider: list[CountRow]


def session_breakdown() -> SessionBreakdown:
    """Count sessions by status, outcome and provider: one GROUP BY query, then
    one for the connections' names.

    The grouped rows are few (statuses x outcomes x connections), so the
    marginal counts are summed in Python rather than with three scans.
    """
    # Grouped on the (connection, status, outcome) index alone, so PostgreSQL
    # answers with an index-only scan; the few connections are named after.
    rows = (
        WorkflowSession.objects.order_by()
        .values("connection_id", "status", "outcome")
        .annotate(n=Count("*"))
    )
    connections = {
        pk: (slug, name)
        for pk, slug, name in ProviderConnection.objects.values_list(
            "pk", "slug", "display_name"
        )
    }
    status: Counter[str] = Counter()
    outcome: Counter[str] = Counter()
    provider: Counter[str] = Counter()
    provider_names: dict[str, str] = {}
    for row in rows:
        slug, name = connections[row["connection_id"]]
        status[row["status"]] += row["n"]
        outcome[row["outcome"]] += row["n"]
        provider[slug] += row["n"]
        provider_names[slug] = name
    status_labels = dict(Status.choices)
    outcome_labels = dict(Outcome.choices)
    return SessionBreakdown(
        total=sum(status.values()),
        by_status=[
            CountRow(value, status_labels[value], status[value])
            for value in Status.values
            if status[value]
        ]
        + [
            CountRow(value, value, n)
            for value, n in status.items()
            if value not in status_labels
        ],
        by_outcome=[
            CountRow(value or "none", outcome_labels[value], outcome[value])
            for value in Outcome.values
            if outcome[value]
        ],
        by_provider=[
            CountRow(slug, provider_names[slug] or slug, provider[slug])
            for slug in sorted(provider)
        ],
    )


@dataclasses.dataclass(frozen=True)
class AttentionSummary:
    total: int
    under_1_day: int
    days_1_to_7: int
    over_7_days: int
    oldest_created_at: dt.datetime | None


def session_attention_summary(*, now: dt.datetime | None = None) -> AttentionSummary:
    """Count sessions needing attention by age since the provider created them.

    One aggregate query. Buckets: younger than a day, one to seven days, older.
    """
    now = now or timezone.now()
    day_ago, week_ago = now - dt.timedelta(days=1), now - dt.timedelta(days=7)
    created = "provider_created_at"
    totals = WorkflowSession.objects.filter(session_needs_attention_q()).aggregate(
        total=Count("id"),
        under_1_day=Count("id", filter=Q(**{f"{created}__gt": day_ago})),
        days_1_to_7=Count(
            "id", filter=Q(**{f"{created}__lte": day_ago, f"{created}__gt": week_ago})
        ),
        over_7_days=Count("id", filter=Q(**{f"{created}__lte": week_ago})),
        oldest=Min(created),
    )
    return AttentionSummary(
        total=totals["total"],
        under_1_day=totals["under_1_day"],
        days_1_to_7=totals["days_1_to_7"],
        over_7_days=totals["over_7_days"],
        oldest_created_at=totals["oldest"],
    )


@dataclasses.dataclass(frozen=True)
class DailyActivity:
    days: list[dt.date]
    created: list[int]
    completed: list[int]

    def as_chart_data(self) -> dict[str, list]:
        return {
            "labels": [day.isoformat() for day in self.days],
            "created": self.created,
            "completed": self.completed,
        }


def session_daily_activity(
    *, days: int = 30, now: dt.datetime | None = None
) -> DailyActivity:
    """Count sessions created and completed per UTC day over the last `days` days.

    Two GROUP BY queries over indexed date ranges; days without sessions are 0.
    """
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    first_day = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=dt.UTC)

    def per_day(field: str) -> dict[dt.date, int]:
        rows = (
            WorkflowSession.objects.filter(**{f"{field}__gte": start})
            .order_by()
            .annotate(day=TruncDate(field, tzinfo=dt.UTC))
            .values("day")
            .annotate(n=Count("id"))
        )
        return {row["day"]: row["n"] for row in rows}

    created, completed = per_day("provider_created_at"), per_day("completed_at")
    all_days = [first_day + dt.timedelta(days=i) for i in range(days)]
    return DailyActivity(
        days=all_days,
        created=[created.get(day, 0) for day in all_days],
        completed=[completed.get(day, 0) for day in all_days],
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


def audit_event_list_for_object(
    *, object_type: str, object_id: str | int, limit: int = 200
) -> list[AuditEvent]:
    """Return the newest audit events of one object (at most `limit`)."""
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id))
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclasses.dataclass(frozen=True)
class SessionDetail:
    session: WorkflowSession
    checks: list[Check]
    policies: list[PolicyAssurance]
    reviews: list[Review]
    audit_events: list[AuditEvent]
    user_tags: list[Tag]
    technical_tags: list[Tag]


def session_detail_get(*, pk: int, history_limit: int = 200) -> SessionDetail:
    """Return a session with everything its page shows, evaluated (six queries).

    Raise WorkflowSession.DoesNotExist when there is no such session.
    """
    session = session_queryset().get(pk=pk)
    tags = list(session.tags.all())
    return SessionDetail(
        session=session,
        checks=list(
            session.checks.order_by("provider_created_at", "id").defer("raw_payload")
        ),
        policies=list(session.policy_assurances.order_by("position", "id")),
        reviews=list(
            session.reviews.select_related("reviewer").order_by("-created_at", "-id")[
                :history_limit
            ]
        ),
        audit_events=audit_event_list_for_object(
            object_type=SESSION_OBJECT_TYPE, object_id=session.pk, limit=history_limit
        ),
        user_tags=[t for t in tags if t.kind == TagKind.USER],
        technical_tags=[t for t in tags if t.kind != TagKind.USER],
    )


@dataclasses.dataclass(frozen=True)
class ClientDetail:
    client: Client
    provider_clients: list[ProviderClient]
    sessions: list[WorkflowSession]
    sessions_truncated: bool
    checks: list[Check]
    checks_truncated: bool
    audit_events: list[AuditEvent]
    audit_truncated: bool


def _bounded(qs: QuerySet, limit: int) -> tuple[list, bool]:
    rows = list(qs[: limit + 1])
    return rows[:limit], len(rows) > limit


def client_detail_get(*, pk: int, limit: int = 200) -> ClientDetail:
    """Return a client, its provider identities, and its newest sessions, checks
    and audit events (at most `limit` of each; the flags say whether more exist).

    Raise Client.DoesNotExist when there is no such client. Six queries.
    """
    client = Client.objects.get(pk=pk)
    sessions, sessions_truncated = _bounded(
        session_list_queryset()
        .filter(provider_client__client_id=client.pk)
        .order_by("-provider_created_at", "-id"),
        limit,
    )
    checks, checks_truncated = _bounded(
        check_queryset()
        .filter(session__provider_client__client_id=client.pk)
        .defer(
            "raw_payload",
            "session__raw_payload",
            "session__provider_client__raw_payload",
        )
        .order_by(
            "-session__provider_created_at", "-session_id", "provider_created_at", "id"
        ),
        limit,
    )
    events, audit_truncated = _bounded(
        AuditEvent.objects.filter(client_id=client.pk)
        .select_related("actor")
        .order_by("-created_at", "-id"),
        limit,
    )
    return ClientDetail(
        client=client,
        provider_clients=list(
            client.provider_clients.select_related("connection").order_by(
                "connection__slug", "external_id"
            )
        ),
        sessions=sessions,
        sessions_truncated=sessions_truncated,
        checks=checks,
        checks_truncated=checks_truncated,
        audit_events=events,
        audit_truncated=audit_truncated,
    )


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


# --- CSV exports and the REST API ---------------------------------------------------

# The review queue's default order (its keyset sort "-created" breaks ties by id).
# The CSV exports and the API's session pages follow the queue's `sort` the
# same way (`session_sort_ordering`), so all three list the same rows in the
# same order for the same query string.
SESSION_QUEUE_ORDERING = ("-provider_created_at", "-id")
# Checks follow their session's place in the queue (newest check first within
# it); the checks CSV and the API's check pages share this order.
CHECK_QUEUE_ORDERING = ("-session__provider_created_at", "-id")


def session_sort_ordering(sort: str = SESSION_DEFAULT_SORT) -> tuple[str, str]:
    """Return the `order_by()` of a queue sort: its field, then id, same direction.

    `sort` is a key of SESSION_SORTS, prefixed with "-" for descending, as the
    queue's `sort` parameter; the id breaks ties exactly as the queue's keyset
    pages do. Raise KeyError for an unknown sort.
    """
    sign = "-" if sort.startswith("-") else ""
    return f"{sign}{SESSION_SORTS[sort.removeprefix('-')]}", f"{sign}id"


# Every value the queue's `sort` parameter accepts, ascending keys first.
SESSION_SORT_VALUES: tuple[str, ...] = (
    *SESSION_SORTS,
    *(f"-{key}" for key in SESSION_SORTS),
)


def _check_count(outcome: str) -> Count:
    return Count("checks", filter=Q(checks__outcome=outcome))


def session_export_queryset(
    *, queryset: QuerySet[WorkflowSession], sort: str = SESSION_DEFAULT_SORT
) -> QuerySet[WorkflowSession]:
    """Return `queryset` in the queue's order for `sort`, with its check counts.

    The counts per outcome (`checks_clear`, `checks_attention`,
    `checks_rejected`, `checks_none`) come from one join on the checks,
    grouped by session, in the export's single query: four correlated
    subqueries per row cost a million index probes each at scale. The join
    needs `queryset` free of other multi-valued joins (the FilterSets test
    tags and the like with EXISTS), or the counts would multiply; tags are
    read per chunk by `session_tag_names`, never joined. Prefetches are
    dropped: exports read `values_list()`. Raise KeyError for an unknown
    sort (see `session_sort_ordering`).
    """
    return (
        queryset.prefetch_related(None)
        .annotate(
            checks_clear=_check_count(Outcome.CLEAR),
            checks_attention=_check_count(Outcome.ATTENTION),
            checks_rejected=_check_count(Outcome.REJECTED),
            checks_none=_check_count(Outcome.NONE),
        )
        .order_by(*session_sort_ordering(sort))
    )


def session_tag_names(*, session_ids: list[int]) -> dict[int, list[str]]:
    """Return the tag names of each session, ordered like the pages (kind, name).

    One query per call; the exports call it once per chunk of rows, so memory
    stays flat and the database dialects never need an ordered string aggregate
    (SQLite before 3.44 has none).
    """
    through = WorkflowSession.tags.through
    names: dict[int, list[str]] = {}
    rows = (
        through.objects.filter(workflowsession_id__in=session_ids)
        .order_by("workflowsession_id", *(f"tag__{field}" for field in TAG_ORDERING))
        .values_list("workflowsession_id", "tag__name")
    )
    for session_id, name in rows:
        names.setdefault(session_id, []).append(name)
    return names


def check_export_queryset(*, queryset: QuerySet[Check]) -> QuerySet[Check]:
    """Return `queryset` in the order of the checks export and API pages."""
    return queryset.prefetch_related(None).order_by(*CHECK_QUEUE_ORDERING)


def session_detail_queryset() -> QuerySet[WorkflowSession]:
    """Sessions with their checks, policies, reviews and tags prefetched.

    Serialising one session costs a constant five queries whatever it holds.
    """
    checks = Check.objects.order_by("provider_created_at", "id").defer("raw_payload")
    policies = PolicyAssurance.objects.order_by("position", "id")
    reviews = Review.objects.select_related("reviewer").order_by("-created_at", "-id")
    return (
        session_queryset()
        .select_related("provider_client__connection")
        .prefetch_related(
            Prefetch("checks", queryset=checks),
            Prefetch("policy_assurances", queryset=policies),
            Prefetch("reviews", queryset=reviews),
        )
    )


def client_queryset() -> QuerySet[Client]:
    """Clients in the order of their model (display name, id)."""
    return Client.objects.order_by("display_name", "id")


def client_with_identities_queryset() -> QuerySet[Client]:
    """Clients with their provider identities (and those identities' connection)."""
    return client_queryset().prefetch_related(
        Prefetch(
            "provider_clients",
            queryset=ProviderClient.objects.select_related("connection")
            .defer("raw_payload")
            .order_by("connection__slug", "external_id"),
        )
    )


def client_recent_sessions(
    *, client_id: int, limit: int
) -> tuple[list[WorkflowSession], bool]:
    """Return a client's newest sessions in queue order (at most `limit`), and
    whether it has more. Two queries (sessions, then their tags)."""
    rows = list(
        session_list_queryset()
        .filter(provider_client__client_id=client_id)
        .order_by(*SESSION_QUEUE_ORDERING)[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def sync_run_queryset() -> QuerySet[SyncRun]:
    """Sync runs with their connection, newest first."""
    return SyncRun.objects.select_related("connection").order_by("-started_at", "-id")
