"""Realistic data for the desk's page tests (views, selectors, browser).

Not a test module: `desk_data_create` builds providers, clients known to
several providers, sessions in every status and outcome, checks of every
outcome, user and technical tags, policies, reviews, audit events, sync runs,
quarantined records and webhook deliveries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

from django.utils import timezone

from sessions_app import services
from sessions_app.cases.states import DECISION_TARGETS
from sessions_app.models import (
    Client,
    Outcome,
    ProviderConnection,
    ProviderKind,
    Status,
    SyncRunState,
    TagKind,
    WorkflowSession,
)
from tests.factories import (
    CheckFactory,
    ClientFactory,
    PolicyAssuranceFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    QuarantinedRecordFactory,
    ReviewFactory,
    SyncRunFactory,
    TagFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WorkflowSessionFactory,
)

STATUS_OUTCOMES = [
    (Status.COMPLETED, Outcome.CLEAR, "approved", "approved"),
    (Status.COMPLETED, Outcome.ATTENTION, "review", "review"),
    (Status.COMPLETED, Outcome.REJECTED, "declined", "declined"),
    (Status.IN_PROGRESS, Outcome.NONE, "processing", ""),
    (Status.AWAITING_INPUT, Outcome.NONE, "awaiting_input", ""),
    (Status.FAILED, Outcome.ATTENTION, "FAILED", "FAILED"),
    (Status.PENDING, Outcome.NONE, "QUEUED", ""),
    (Status.UNKNOWN, Outcome.NONE, "SOMETHING_NEW", ""),
    (Status.ABANDONED, Outcome.NONE, "abandoned", ""),
    (Status.CANCELLED, Outcome.NONE, "cancelled", ""),
]
CHECK_OUTCOMES = [
    (Outcome.CLEAR, "clear"),
    (Outcome.ATTENTION, "consider"),
    (Outcome.REJECTED, "rejected"),
    (Outcome.NONE, ""),
]


@dataclasses.dataclass
class DeskData:
    connections: list[ProviderConnection]
    clients: list[Client]
    sessions: list[WorkflowSession]


def connections_create() -> list[ProviderConnection]:
    return [
        ProviderConnectionFactory(
            kind=ProviderKind.ONFIDO, slug="onfido-eu", display_name="Onfido EU"
        ),
        ProviderConnectionFactory(
            kind=ProviderKind.COMPLYCUBE, slug="complycube", display_name="ComplyCube"
        ),
        ProviderConnectionFactory(
            kind=ProviderKind.ICA, slug="ica-lab", display_name="Illumina ICA lab"
        ),
    ]


def desk_data_create(
    *,
    sessions: int = 12,
    checks_per_session: int = 2,
    now: dt.datetime | None = None,
    prefix: str = "",
) -> DeskData:
    """Create `sessions` sessions spread over three providers and a few clients.

    Call again with another `prefix` to add more sessions to the same providers.
    """
    now = now or timezone.now()
    connections = connections_create()
    officer = UserFactory(username="olga-officer", roles=["reviewer"])
    clients = [
        ClientFactory(display_name=f"Client {name}")
        for name in ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    ]
    # Each client is known to every provider (one identity per provider).
    identities = {
        (client.pk, conn.pk): ProviderClientFactory(
            connection=conn, client=client, name=client.display_name
        )
        for client in clients
        for conn in connections
    }
    user_tags = [TagFactory(name="vip"), TagFactory(name="manual-review")]
    tech_tags = [TagFactory(name="sandbox", kind=TagKind.TECHNICAL)]
    rows = []
    combos = itertools.cycle(STATUS_OUTCOMES)
    for i in range(sessions):
        conn = connections[i % len(connections)]
        client = clients[(i // len(connections)) % len(clients)]
        status, outcome, raw_status, raw_outcome = next(combos)
        created = now - dt.timedelta(hours=7 * i + 1)
        tags = [user_tags[i % 2]] + (tech_tags if i % 3 == 0 else [])
        session = WorkflowSessionFactory(
            connection=conn,
            external_id=f"{prefix}{conn.slug}-run-{i:04d}",
            provider_client=identities[(client.pk, conn.pk)],
            status=status,
            outcome=outcome,
            raw_status=raw_status,
            raw_outcome=raw_outcome,
            provider_created_at=created,
            provider_updated_at=created + dt.timedelta(minutes=30),
            started_at=created + dt.timedelta(minutes=1),
            completed_at=created + dt.timedelta(minutes=20)
            if status == Status.COMPLETED
            else None,
            reasons=["document_expired", {"code": "face_mismatch", "score": 0.41}]
            if outcome == Outcome.REJECTED
            else [],
            summary="Automated summary from the provider." if i % 4 == 0 else "",
            error="Provider task crashed" if status == Status.FAILED else "",
            dashboard_url=f"https://dashboard.example.test/runs/{i}"
            if i % 2 == 0
            else "",
            tags=tags,
        )
        for j in range(checks_per_session):
            check_outcome, raw = CHECK_OUTCOMES[(i + j) % len(CHECK_OUTCOMES)]
            CheckFactory(
                session=session,
                external_id=f"{session.external_id}-check-{j}",
                check_type=["document", "facial_similarity", "watchlist", "analysis"][
                    j % 4
                ],
                outcome=check_outcome,
                raw_outcome=raw,
                provider_created_at=created + dt.timedelta(minutes=j),
                breakdown={
                    "visual_authenticity": {"result": raw or "pending"},
                    "score": j / 10,
                },
            )
        PolicyAssuranceFactory(
            session=session,
            position=0,
            policy_name="Standard KYC policy",
            outcome=outcome,
            raw_outcome=raw_outcome,
            details={
                "requirements": ["document", "selfie"],
                "satisfied": outcome == Outcome.CLEAR,
            },
        )
        if i % 5 == 1:
            review = ReviewFactory(
                session=session,
                reviewer=officer,
                comment="Looked at the document again.",
            )
            session.last_decision, session.last_decision_at = (
                review.decision,
                review.created_at,
            )
            session.case_state = DECISION_TARGETS[review.decision]
            session.save(
                update_fields=["last_decision", "last_decision_at", "case_state"]
            )
        if i % 4 == 2:
            services.session_assign(session=session, assignee=officer, actor=officer)
        rows.append(session)
    for conn in connections:
        for k in range(3):
            SyncRunFactory(
                connection=conn,
                state=[
                    SyncRunState.SUCCEEDED,
                    SyncRunState.PARTIAL,
                    SyncRunState.FAILED,
                ][k],
                seen=100 + k,
                created=10,
                updated=5,
                unchanged=85,
                error="HTTP 503 from provider" if k == 2 else "",
                unknown_values={"SOMETHING_NEW": 2}
                if conn.kind == ProviderKind.ICA
                else {},
            )
        QuarantinedRecordFactory(
            connection=conn, raw='{"id": "x", "status": {"bad": true}}' + " " * 3000
        )
        WebhookDeliveryFactory(connection=conn, resource_id=f"{conn.slug}-run-0000")
    return DeskData(connections=connections, clients=clients, sessions=rows)


def desk_session_with(data: DeskData, **attrs: object) -> WorkflowSession:
    """Return the first session of `data` whose attributes equal `attrs`."""
    return next(
        s for s in data.sessions if all(getattr(s, k) == v for k, v in attrs.items())
    )
