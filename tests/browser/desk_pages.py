"""The pages the layout and accessibility tests walk, and the data they show.

Not a test module: `desk_pages_create` builds the desk's usual data
(tests/sessions_app/desk_data.py) plus the long values that used to overprint
their neighbours (an ICA session with many long technical tags, a client with
a very long name), and returns every page's path by name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.conf import settings
from django.test import Client as DjangoClient

from sessions_app.cases.notes import note_add
from sessions_app.cases.overrides import (
    outcome_override_request,
    outcome_overrides_provider_changed,
)
from sessions_app.cases.services import approval_approve, case_decision_record
from sessions_app.models import (
    CaseState,
    ErasureRequest,
    ErasureRequestState,
    ProviderErasure,
    ProviderErasureOutcome,
    ProviderKind,
    TagKind,
    WorkflowSession,
)
from sessions_app.privacy.reveals import personal_data_reveal
from sessions_app.saved_views.services import saved_view_create
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    TagFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.sessions_app.desk_data import desk_data_create

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}

LONG_CLIENT_NAME = (
    "Aurelia Konstantinopoulou-Vandenberghe-Szczepańska Holdings International "
    "Limited Liability Partnership"
)
LONG_TECHNICAL_TAGS = [
    f"ica:pipeline:dragen-germline-enrichment-4.2.{n}:analysis-{n}" for n in range(7)
]
SHOWN_TAGS = 3  # the queue shows the first three tags, then "+N more"


@dataclasses.dataclass
class DeskPages:
    """Paths of the desk pages (signed in) and of the admin's main pages."""

    desk: dict[str, str]
    admin: dict[str, str]
    signed_out: dict[str, str]
    long_session: WorkflowSession
    officer: object
    stranger: object


def desk_pages_create() -> DeskPages:
    data = desk_data_create(sessions=24)
    ica = next(c for c in data.connections if c.kind == ProviderKind.ICA)
    client = ClientFactory(
        display_name=LONG_CLIENT_NAME, reference="REF-LONG-0001", has_gaps=True
    )
    identity = ProviderClientFactory(
        connection=ica, client=client, name=LONG_CLIENT_NAME
    )
    tags = [TagFactory(name="vip")] + [
        TagFactory(name=name, kind=TagKind.TECHNICAL) for name in LONG_TECHNICAL_TAGS
    ]
    long_session = WorkflowSessionFactory(
        connection=ica,
        external_id="ica-lab-analysis-7f3c2a9e-41b8-4d0c-9a77-c0ffee000001",
        provider_client=identity,
        workflow_name="DRAGEN Germline Whole Genome Enrichment Pipeline",
        raw_status="SUCCEEDED",
        raw_outcome="PASSED_WITH_WARNINGS",
        status="completed",
        outcome="attention",
        tags=tags,
    )
    officer = UserFactory(
        username="rita-reviewer-with-a-long-name",
        roles=["viewer", "reviewer", "exporter", "admin"],
        is_staff=True,
    )
    stranger = UserFactory(username="no-roles-yet", roles=[])
    # Personal data: the long client's session revealed (the card's revealed
    # state); every other session and client page shows the reveal form.
    personal_data_reveal(
        user=officer,
        object_type="session",
        object_id=long_session.pk,
        object_label=long_session.external_id,
        client_id=client.pk,
        reason="layout test",
        source="web",
    )

    held, erased = _retention_clients(data, officer)

    # Notes: a long unbroken one on the long session and one on its client
    # (the thread's layout at 390 px).
    note_add(
        session=long_session,
        author=officer,
        text="Reference " + "x" * 120 + "\nSecond line of the note.",
    )
    note_add(client=client, author=officer, text="The board changed in March.")

    # A reject waiting for a second reviewer: the session page's case card
    # with the maker's decision and the checker's form (the officer is not
    # the maker, so the form shows).
    maker = UserFactory(username="mia-maker", roles=["reviewer"])
    pending = next(s for s in data.sessions if s.case_state == CaseState.OPEN)
    case_decision_record(
        session=pending,
        reviewer=maker,
        decision="reject",
        reason_code="document_issue",
        comment="The passport expired in 2019; the selfie does not match it.",
    )

    # Saved views on the queue: one current (the filtered queue below), one
    # with a long name, and (the maker's decision above) the overview's team
    # view has a reviewer to chart.
    saved_view_create(
        user=officer,
        name="VIP attention, unassigned",
        query="assignee=none&created_after=2020-01-01&outcome=attention"
        "&provider=ica-lab&status=completed&tag=vip",
    )
    saved_view_create(
        user=officer,
        name="Escalated cases waiting for the compliance officer's second look",
        query="case_state=escalated&sort=created",
    )
    overridden = _override_with_provider_change(data, maker, exclude=pending)

    def first_of(kind: str) -> int:
        return next(s.pk for s in data.sessions if s.connection.kind == kind)

    desk = {
        "overview": "/",
        "queue": "/sessions/",
        "queue-filtered": (
            "/sessions/?provider=ica-lab&status=completed&outcome=attention"
            "&assignee=none&tag=vip&created_after=2020-01-01"
        ),
        "queue-long": f"/sessions/?q=REF-LONG-0001&provider={ica.slug}",
        "queue-invalid": "/sessions/?created_after=yesterday",
        "session-onfido": f"/sessions/{first_of(ProviderKind.ONFIDO)}/",
        "session-complycube": f"/sessions/{first_of(ProviderKind.COMPLYCUBE)}/",
        "session-ica": f"/sessions/{first_of(ProviderKind.ICA)}/",
        "session-ica-long": f"/sessions/{long_session.pk}/",
        "session-pending-approval": f"/sessions/{pending.pk}/",
        "session-override": f"/sessions/{overridden.pk}/",
        "client": f"/clients/{data.clients[0].pk}/",
        "client-long": f"/clients/{client.pk}/",
        "client-retention-held": f"/clients/{held.pk}/",
        "client-erased": f"/clients/{erased.pk}/",
        # The identity link search, listed without script (issue 18).
        "client-identity-search": f"/clients/{data.clients[0].pk}/?identity_q=Client",
        "queue-reason": "/sessions/?reason=document_rejected,pep_match",
        "clients": "/clients/",
        "clients-filtered": (
            f"/clients/?q=Aurelia&provider={ica.slug}&risk_tier=high,none"
            "&has_gaps=true&review=due,overdue,unverified"
        ),
        "sync": "/sync/",
        "not-found": "/sessions/999999999/",
    }
    admin = {
        "admin-index": "/admin/",
        "admin-sessions": "/admin/sessions_app/workflowsession/",
        "admin-session": f"/admin/sessions_app/workflowsession/{long_session.pk}/change/",
        "admin-audit": "/admin/sessions_app/auditevent/",
    }
    signed_out = {"login": "/login/"}
    return DeskPages(
        desk=desk,
        admin=admin,
        signed_out=signed_out,
        long_session=long_session,
        officer=officer,
        stranger=stranger,
    )


def _override_with_provider_change(data, maker, *, exclude) -> WorkflowSession:
    """An outcome override approved by a second reviewer, then changed under
    it by the provider: the session page shows both values."""
    session = next(
        s
        for s in data.sessions
        if s.case_state == CaseState.OPEN and s.outcome != "rejected" and s != exclude
    )
    result = outcome_override_request(
        session=session,
        maker=maker,
        outcome="rejected",
        reason_code="fraud_suspected",
        comment="The document check found a forged passport the provider missed.",
    )
    approval_approve(
        approval=result.approval,
        checker=UserFactory(username="carla-checker", roles=["reviewer"]),
    )
    new_outcome = "attention" if session.outcome != "attention" else "clear"
    WorkflowSession.objects.filter(pk=session.pk).update(outcome=new_outcome)
    outcome_overrides_provider_changed(session_ids=[session.pk])
    return session


def _retention_clients(data, officer) -> tuple[object, object]:
    """A client on legal hold with a refused erasure request, and an erased
    client whose providers answered (deleted, failed, not asked)."""
    held = ClientFactory(
        relationship_ended_on=dt.date(2024, 3, 31),
        legal_hold=True,
        legal_hold_reason=(
            "Production order from the National Crime Agency, reference "
            "NCA/2026/0007781-B, until the investigation closes"
        ),
    )
    ErasureRequest.objects.create(
        client=held,
        requested_by="the data subject, by e-mail to the data protection officer",
        requested_on=dt.date(2026, 5, 2),
        verification="matched e-mail address and date of birth held on file",
        entered_by=officer,
        state=ErasureRequestState.REFUSED,
        keep_until=dt.date(2029, 3, 31),
        state_reason="On legal hold: production order. GDPR Art. 17(3)(b).",
    )
    erased = ClientFactory(
        display_name="", reference="", relationship_ended_on=dt.date(2019, 1, 31)
    )
    erased.erased_at = dt.datetime(2026, 2, 1, 4, 37, tzinfo=dt.UTC)
    erased.save()
    outcomes = (
        (ProviderErasureOutcome.DELETED, 204, "Request id 7f3c2a9e-41b8-4d0c-9a77."),
        (ProviderErasureOutcome.FAILED, 503, ""),
        (
            ProviderErasureOutcome.NOT_SUPPORTED,
            None,
            "Not asked: ICA's API cannot "
            "delete a workflow session, an analysis or a project.",
        ),
    )
    for connection, (outcome, status, excerpt) in zip(
        data.connections, outcomes, strict=False
    ):
        ProviderErasure.objects.create(
            connection=connection,
            client=erased,
            external_id=f"{connection.kind}-applicant-5c1d9a77-0b3e-4f7a-a1c2-000000000042",
            requested_at=erased.erased_at,
            answered_at=erased.erased_at if status != 503 else None,
            status_code=status,
            outcome=outcome,
            attempts=6 if status == 503 else 1,
            response_excerpt=excerpt,
            last_error="HTTP 503 Service Unavailable (DELETE /applicants/...)"
            if status == 503
            else "",
        )
    return held, erased


def signed_in(context, live_server, user) -> None:
    """Sign `user` in to the browser context by a session cookie (no login form:
    django-axes and the form are tested elsewhere)."""
    client = DjangoClient()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": cookie.value,
                "url": live_server.url,
            }
        ]
    )
