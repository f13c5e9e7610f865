"""The pages the layout and accessibility tests walk, and the data they show.

Not a test module: `desk_pages_create` builds the desk's usual data
(tests/sessions_app/desk_data.py) plus the long values that used to overprint
their neighbours (an ICA session with many long technical tags, a client with
a very long name), and returns every page's path by name.
"""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.test import Client as DjangoClient

from sessions_app.cases.services import case_decision_record
from sessions_app.models import CaseState, ProviderKind, TagKind, WorkflowSession
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
    client = ClientFactory(display_name=LONG_CLIENT_NAME, reference="REF-LONG-0001")
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
        "client": f"/clients/{data.clients[0].pk}/",
        "client-long": f"/clients/{client.pk}/",
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
