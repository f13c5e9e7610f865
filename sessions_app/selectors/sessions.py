"""Session reads: the querysets every list, page, export and API row starts
from, their keyset pages, and the sessions CSV's shape.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db.models import (
    Case,
    Count,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)

from ..cases.selectors import (
    OVERRIDE_OUTCOME_ATTR,
    active_overrides_prefetch_queryset,
    override_outcome_subquery,
)
from ..models import (
    Approval,
    AuditEvent,
    Check,
    Outcome,
    OutcomeOverride,
    OverrideState,
    PolicyAssurance,
    Review,
    SessionReason,
    Tag,
    TagKind,
    WorkflowSession,
    needs_attention_reason,
)
from ..pagination import KeysetPage, KeysetPaginator, table_row_estimate
from .audit import audit_event_list_for_object
from .sorting import (
    SESSION_DEFAULT_SORT,
    SESSION_SORTS,
    SESSION_TIE_FIELD,
    session_sort_filter,
    session_sort_ordering,
)

# How a session's tags are listed everywhere: pages, API, both CSV writers.
TAG_ORDERING = ("kind", "name", "id")
SESSION_OBJECT_TYPE = WorkflowSession._meta.label_lower


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


def session_get(*, pk: int) -> WorkflowSession:
    """Return the session `pk` alone (one query); raise WorkflowSession.DoesNotExist."""
    return WorkflowSession.objects.get(pk=pk)


def session_page(
    *,
    queryset: QuerySet[WorkflowSession],
    sort: str = SESSION_DEFAULT_SORT,
    cursor: str | None = None,
    page_size: int = 25,
) -> KeysetPage:
    """Return one keyset page of `queryset` sorted by a SESSION_SORTS key.

    `sort` is a key of SESSION_SORTS, prefixed with "-" for descending; ties
    break by creation date, then id. Raise KeyError for an unknown sort and InvalidCursor for
    a cursor that does not belong to this sort. Runs one query (plus the
    queryset's prefetches), never a COUNT.
    """
    descending = sort.startswith("-")
    field = SESSION_SORTS[sort.removeprefix("-")]
    paginator = KeysetPaginator(
        queryset,
        sort_field=field,
        descending=descending,
        page_size=page_size,
        tie_field=SESSION_TIE_FIELD,
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
    "case_state",
    "case_state_changed_at",
    "attention_since",
    "case_due_at",
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
    each session's tags as a list (`row_tags_prefetch`), and the outcome of
    its active override, if any (`OVERRIDE_OUTCOME_ATTR`; no extra query).
    """
    return session_page(
        queryset=queryset.only(*QUEUE_ROW_FIELDS)
        .annotate(**{OVERRIDE_OUTCOME_ATTR: override_outcome_subquery()})
        .prefetch_related(None)
        .prefetch_related(row_tags_prefetch()),
        sort=sort,
        cursor=cursor,
        page_size=page_size,
    )


def session_next_in_queue(
    *,
    queryset: QuerySet[WorkflowSession],
    sort: str,
    session: WorkflowSession,
) -> WorkflowSession | None:
    """Return the session after `session` in `queryset` sorted by `sort`, or None.

    One keyset step from the session's own (sort value, id), so it agrees with
    the queue's pages: one query (besides whatever the queryset's filters read
    first), however long the queue. `sort` as for `session_page`.
    """
    field = SESSION_SORTS[sort.removeprefix("-")]
    value: Any = session
    for part in field.split("__"):
        value = getattr(value, part)
    queryset = queryset.prefetch_related(None)  # the link needs no tags
    if value is None:  # no due time, so not in a list sorted by it: its first
        page = session_page(queryset=queryset, sort=sort, page_size=1)
        return page.items[0] if page.items else None
    cursor = KeysetPaginator(
        queryset,
        sort_field=field,
        descending=sort.startswith("-"),
        tie_field=SESSION_TIE_FIELD,
    ).encode_cursor(
        value=value,
        tie=session.provider_created_at,
        pk=session.pk,
        backwards=False,
    )
    page = session_page(queryset=queryset, sort=sort, cursor=cursor, page_size=1)
    return page.items[0] if page.items else None


# What an API session row (`serializers.SessionSerializer`) reads, the same
# way: the queue row's columns and the few more the API returns.
SESSION_API_ROW_FIELDS = (
    *QUEUE_ROW_FIELDS,
    "connection__kind",
    "started_at",
    "completed_at",
    "last_synced_at",
    "dashboard_url",
    "user_reference",
    "decision",
    "risk_score",
    "link_expires_at",
    "case_state_changed_at",
    "case_waiting_until",
)


# Where a session's active outcome override is prefetched (a list of at most
# one: a constraint holds one active override per session).
ACTIVE_OVERRIDES_ATTR = "active_overrides"


def active_override_outcomes_prefetch() -> Prefetch:
    """Each session's active override, its outcome only, for an API row's
    `effective_outcome`: one `session_id IN (...)` query per page, answered by
    the partial unique index `override_one_active_per_session`."""
    return Prefetch(
        "outcome_overrides",
        queryset=OutcomeOverride.objects.filter(state=OverrideState.ACTIVE).only(
            "id", "session", "outcome"
        ),
        to_attr=ACTIVE_OVERRIDES_ATTR,
    )


def session_api_list_queryset() -> QuerySet[WorkflowSession]:
    """`session_list_queryset` with only the columns an API list row returns,
    tags as a list (`row_tags_prefetch`), the active override's outcome
    (`active_override_outcomes_prefetch`)."""
    return (
        session_list_queryset()
        .only(*SESSION_API_ROW_FIELDS)
        .prefetch_related(None)
        .prefetch_related(row_tags_prefetch(), active_override_outcomes_prefetch())
    )


def session_total_estimate() -> int | None:
    """Return the planner's estimate of all sessions (PostgreSQL), else None."""
    return table_row_estimate(WorkflowSession)


@dataclasses.dataclass(frozen=True)
class SessionDetail:
    session: WorkflowSession
    checks: list[Check]
    policies: list[PolicyAssurance]
    reasons: list[SessionReason]
    reviews: list[Review]
    audit_events: list[AuditEvent]
    user_tags: list[Tag]
    technical_tags: list[Tag]


def session_detail_get(*, pk: int, history_limit: int = 200) -> SessionDetail:
    """Return a session with everything its page shows, evaluated (seven queries).

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
        reasons=list(session.reason_rows.order_by("position", "id")),
        reviews=list(
            session.reviews.select_related("reviewer", "approval__checker").order_by(
                "-created_at", "-id"
            )[:history_limit]
        ),
        audit_events=audit_event_list_for_object(
            object_type=SESSION_OBJECT_TYPE, object_id=session.pk, limit=history_limit
        ),
        user_tags=[t for t in tags if t.kind == TagKind.USER],
        technical_tags=[t for t in tags if t.kind != TagKind.USER],
    )


# Where a detail row (the API's) finds its active override, as a list of 0 or 1.
def session_detail_queryset() -> QuerySet[WorkflowSession]:
    """Sessions with their checks, policies, reviews, approvals, active
    override (`ACTIVE_OVERRIDES_ATTR`) and tags prefetched.

    Serialising one session costs a constant eight queries whatever it holds.
    """
    checks = Check.objects.order_by("provider_created_at", "id").defer("raw_payload")
    policies = PolicyAssurance.objects.order_by("position", "id")
    approvals = Approval.objects.select_related("maker", "checker").order_by(
        "-made_at", "-id"
    )
    reviews = Review.objects.select_related("reviewer", "approval__checker").order_by(
        "-created_at", "-id"
    )
    return (
        session_queryset()
        .select_related("provider_client__connection")
        .prefetch_related(
            Prefetch("checks", queryset=checks),
            Prefetch("policy_assurances", queryset=policies),
            Prefetch("reviews", queryset=reviews),
            Prefetch(
                "reason_rows", queryset=SessionReason.objects.order_by("position", "id")
            ),
            Prefetch("approvals", queryset=approvals),
            Prefetch(
                "outcome_overrides",
                queryset=active_overrides_prefetch_queryset(),
                to_attr=ACTIVE_OVERRIDES_ATTR,
            ),
        )
    )


# --- The sessions CSV -----------------------------------------------------------------
# The CSV exports and the API's session pages follow the queue's `sort`
# (`sorting.session_sort_ordering`), so all three list the same rows in the
# same order for the same query string.


def _check_count(outcome: str) -> Count:
    return Count("checks", filter=Q(checks__outcome=outcome))


def _last_review(field: str) -> Case:
    """A field of the session's newest review. Only sessions with a decision
    look (CASE stops first), so the undecided majority costs no probe."""
    newest = (
        Review.objects.filter(session_id=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values(field)[:1]
    )
    return Case(
        When(last_decision="", then=Value("")),
        default=Subquery(newest),
        output_field=TextField(),
    )


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
            attention_reason=needs_attention_reason(),
            last_reason_code=_last_review("reason_code"),
            last_comment=_last_review("comment"),
            last_reviewer=_last_review("reviewer__username"),
        )
        .filter(session_sort_filter(sort))
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
