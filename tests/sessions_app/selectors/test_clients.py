"""Client reads (selectors/clients.py): the client page, across providers, bounded."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app import selectors, services
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def test_client_detail_spans_providers_and_is_bounded(
    django_assert_num_queries, reviewer
):
    client = ClientFactory()
    stranger = WorkflowSessionFactory()
    identities = [
        ProviderClientFactory(
            client=client, connection=ProviderConnectionFactory(slug=slug, kind=kind)
        )
        for slug, kind in (("onfido-x", "onfido"), ("cc-x", "complycube"))
    ]
    sessions = [
        WorkflowSessionFactory(
            connection=pc.connection,
            provider_client=pc,
            provider_created_at=NOW - dt.timedelta(hours=i),
        )
        for i, pc in enumerate(identities * 3)
    ]
    for s in sessions:
        CheckFactory(session=s)
    services.session_assign(session=sessions[0], assignee=reviewer, actor=reviewer)
    services.session_assign(session=stranger, assignee=reviewer, actor=reviewer)
    # The client, its sessions, their reasons, checks, audit events, identities.
    with django_assert_num_queries(6):
        detail = selectors.client_detail_get(pk=client.pk, limit=4)
    assert {pc.connection.slug for pc in detail.provider_clients} == {
        "onfido-x",
        "cc-x",
    }
    assert [s.pk for s in detail.sessions] == [s.pk for s in sessions[:4]]
    assert detail.sessions_truncated
    assert len(detail.checks) == 4
    assert detail.checks_truncated
    own = {pc.pk for pc in identities}
    assert all(c.session.provider_client_id in own for c in detail.checks)
    assert [e.object_id for e in detail.audit_events] == [str(sessions[0].pk)]
    assert not detail.audit_truncated
    full = selectors.client_detail_get(pk=client.pk, limit=200)
    assert len(full.sessions) == 6
    assert not full.sessions_truncated
