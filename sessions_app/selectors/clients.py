"""Client reads: the clients list, a client's page, and its names."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from django.db.models import F, Prefetch, Q, QuerySet

from ..cases.selectors import OVERRIDE_OUTCOME_ATTR, override_outcome_subquery
from ..models import (
    AuditEvent,
    Check,
    CheckKind,
    Client,
    ProviderClient,
    ProviderConnection,
    SessionReason,
    WorkflowSession,
)
from ..privacy.personal_fields import name_initials
from .sessions import active_override_outcomes_prefetch, session_list_queryset
from .sorting import SESSION_QUEUE_ORDERING


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


def client_label_get(*, pk: int, masked: bool = False) -> str | None:
    """Return how a chip names client `pk` (its display name, as initials when
    `masked`, else its reference, else "#<id>"), or None when there is no such
    client. One query."""
    name = (
        client_queryset().filter(pk=pk).values_list("display_name", "reference").first()
    )
    if name is None:
        return None
    display = name_initials(name[0]) if masked else name[0]
    return display or name[1] or f"#{pk}"


def client_names(*, client_ids: Iterable[int]) -> dict[int, str]:
    """Return how the audit history names each client: its display name, else
    its reference, else "Client <id>". One query."""
    return {
        pk: name or reference or f"Client {pk}"
        for pk, name, reference in client_queryset()
        .filter(pk__in=list(client_ids))
        .values_list("pk", "display_name", "reference")
    }


def client_recent_sessions(
    *, client_id: int, limit: int
) -> tuple[list[WorkflowSession], bool]:
    """Return a client's newest sessions in queue order (at most `limit`), and
    whether it has more. Three queries (sessions, their tags, their active
    overrides' outcomes: the API's rows)."""
    rows = list(
        session_list_queryset()
        .prefetch_related(active_override_outcomes_prefetch())
        .filter(provider_client__client_id=client_id)
        .order_by(*SESSION_QUEUE_ORDERING)[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


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

    @property
    def checks_by_kind(self) -> list[tuple[str, list[Check]]]:
        """The checks grouped by kind (taxonomy order), newest first in each."""
        groups: dict[str, list[Check]] = {kind: [] for kind in CheckKind.values}
        for check in sorted(
            self.checks,
            key=lambda c: c.provider_created_at or c.session.provider_created_at,
            reverse=True,
        ):
            groups.setdefault(check.kind, []).append(check)
        labels = dict(CheckKind.choices)
        return [
            (str(labels.get(kind, kind)), checks)
            for kind, checks in groups.items()
            if checks
        ]


def _bounded(qs: QuerySet, limit: int) -> tuple[list, bool]:
    rows = list(qs[: limit + 1])
    return rows[:limit], len(rows) > limit


# What the client page and the evidence pack show of a session row and of a
# check row (templatetags.client_rows, evidence/client.html and _checks.html);
# no other column, and no other joined row, is loaded. The page used to load
# every column of a session and its identity, client, assignee and tags, and of
# a check its session's identity and client: at 50 sessions and 150 checks,
# building those model instances was a third of the page.
CLIENT_SESSION_FIELDS = (
    "connection__display_name",
    "external_id",
    "provider_client_id",
    "workflow_id",
    "workflow_name",
    "status",
    "raw_status",
    "outcome",
    "raw_outcome",
    "provider_created_at",
    "last_decision",
)
CLIENT_CHECK_FIELDS = (
    "connection__display_name",
    "connection__kind",
    "session__external_id",
    "session__provider_created_at",
    "session__provider_client_id",
    "external_id",
    "check_type",
    "kind",
    "status",
    "raw_status",
    "outcome",
    "raw_outcome",
    "provider_created_at",
)


def client_detail_get(
    *, pk: int, limit: int = 200, breakdowns: bool = False
) -> ClientDetail:
    """Return a client, its provider identities, and its newest sessions, checks
    and audit events (at most `limit` of each; the flags say whether more exist).

    Sessions and checks carry only CLIENT_SESSION_FIELDS and CLIENT_CHECK_FIELDS
    (and each check its `breakdown` when `breakdowns`, as the evidence pack
    shows them). Each session carries its reasons as `reason_list` and its
    active override's outcome as `override_outcome` (None without one). Raise
    Client.DoesNotExist when there is no such client. Six queries.
    """
    client = Client.objects.get(pk=pk)
    sessions, sessions_truncated = _bounded(
        WorkflowSession.objects.filter(provider_client__client_id=client.pk)
        .select_related("connection")
        .only(*CLIENT_SESSION_FIELDS)
        .annotate(**{OVERRIDE_OUTCOME_ATTR: override_outcome_subquery()})
        .prefetch_related(
            Prefetch(
                "reason_rows",
                queryset=SessionReason.objects.order_by("position", "id"),
                to_attr="reason_list",
            )
        )
        .order_by("-provider_created_at", "-id"),
        limit,
    )
    check_fields = (
        (*CLIENT_CHECK_FIELDS, "breakdown") if breakdowns else CLIENT_CHECK_FIELDS
    )
    checks, checks_truncated = _bounded(
        Check.objects.filter(session__provider_client__client_id=client.pk)
        .select_related("connection", "session")
        .only(*check_fields)
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
            client.provider_clients.select_related("connection")
            .defer("raw_payload")
            .order_by("connection__slug", "external_id")
        ),
        sessions=sessions,
        sessions_truncated=sessions_truncated,
        checks=checks,
        checks_truncated=checks_truncated,
        audit_events=events,
        audit_truncated=audit_truncated,
    )


# How many identities the link search offers at most.
IDENTITY_SEARCH_LIMIT = 20
IDENTITY_SEARCH_MIN_LENGTH = 2


def provider_clients_search(
    *, term: str, client_id: int, limit: int = IDENTITY_SEARCH_LIMIT
) -> list[ProviderClient]:
    """Provider identities a reviewer may link to client `client_id`: those
    unlinked or linked to another client whose name contains `term`, or whose
    provider id or external reference is exactly `term`; unlinked first, then
    by name (at most `limit`; none for a term shorter than
    IDENTITY_SEARCH_MIN_LENGTH).

    One query. The name branch uses the trigram index on the name
    (migration 0003) on PostgreSQL; `connection_id IN (...)` lets the
    (connection, external_id) unique index answer the exact id.
    """
    value = term.strip()
    if len(value) < IDENTITY_SEARCH_MIN_LENGTH:
        return []
    connections = ProviderConnection.objects.values("pk")
    matching = (
        Q(name__icontains=value)
        | Q(connection_id__in=connections, external_id=value)
        | Q(external_reference=value)
    )
    return list(
        ProviderClient.objects.filter(matching)
        .exclude(client_id=client_id)
        .select_related("connection", "client")
        .defer("raw_payload")
        .order_by(F("client_id").asc(nulls_first=True), "name", "id")[:limit]
    )
