"""Fixtures of the page tests (the template guard is `no_queries_in_templates`,
in tests/conftest.py)."""

from __future__ import annotations

import pytest

from sessions_app import services
from sessions_app.cases import services as case_services
from tests.factories import UserFactory, WorkflowSessionFactory
from tests.sessions_app.desk_data import desk_data_create


@pytest.fixture
def data():
    """A realistic desk: 12 sessions of 4 checks across providers and clients."""
    return desk_data_create(sessions=12, checks_per_session=4)


@pytest.fixture
def assigned(reviewer):
    """A session assigned to Olga, then to Colin, escalated, then released."""
    olga = UserFactory(username="olga-officer", roles=["reviewer"])
    colin = UserFactory(username="colin", roles=["reviewer"])
    session = WorkflowSessionFactory(external_id="run-audit-1")
    services.session_assign(session=session, assignee=olga, actor=reviewer)
    services.session_assign(session=session, assignee=colin, actor=reviewer)
    case_services.case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="escalate",
        reason_code="watchlist_match",
        comment="PEP match.",
    )
    services.session_assign(session=session, assignee=None, actor=reviewer)
    return session
