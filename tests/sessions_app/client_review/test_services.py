"""A reviewer sets or clears a client's risk tier: audited, reason required."""

from __future__ import annotations

import pytest

from sessions_app.client_review.services import client_risk_tier_set
from sessions_app.exceptions import ApplicationError
from sessions_app.models import AuditEvent, Outcome
from tests.factories import ClientFactory, ProviderClientFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


def test_a_reviewer_sets_a_tier_with_a_reason_and_it_is_audited(reviewer):
    client = ClientFactory()
    client = client_risk_tier_set(
        client=client, tier="high", reason="PEP by our own research", actor=reviewer
    )
    assert (client.risk_tier, client.risk_tier_source) == ("high", "reviewer")
    assert client.risk_tier_reason == "PEP by our own research"
    event = AuditEvent.objects.get(action="client.risk_tier_set")
    assert event.client_id == client.pk
    assert event.actor == reviewer
    assert event.before["risk_tier"] == ""
    assert event.after["risk_tier"] == "high"
    assert event.after["risk_tier_source"] == "reviewer"


def test_clearing_returns_to_the_derived_tier(reviewer):
    identity = ProviderClientFactory()
    WorkflowSessionFactory(provider_client=identity, outcome=Outcome.REJECTED)
    client = client_risk_tier_set(
        client=identity.client, tier="low", reason="False match", actor=reviewer
    )
    assert client.risk_tier == "low"
    assert client.risk_tier_derived == "high"
    client = client_risk_tier_set(
        client=client, tier="", reason="New evidence", actor=reviewer
    )
    assert (client.risk_tier, client.risk_tier_source) == ("high", "derived")
    event = AuditEvent.objects.get(action="client.risk_tier_cleared")
    assert event.before["risk_tier"] == "low"
    assert event.after["risk_tier"] == "high"


@pytest.mark.parametrize(
    ("tier", "reason", "message"),
    [
        ("high", "  ", "reason is required"),
        ("extreme", "why", "Unknown risk tier"),
        ("", "why", "No reviewer's tier"),
        ("high", "x" * 2001, "at most"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(reviewer, tier, reason, message):
    client = ClientFactory()
    with pytest.raises(ApplicationError, match=message):
        client_risk_tier_set(client=client, tier=tier, reason=reason, actor=reviewer)
    client.refresh_from_db()
    assert client.risk_tier_source == "derived"
    assert not AuditEvent.objects.filter(action__startswith="client.risk").exists()


def test_a_viewer_may_not_set_a_tier(viewer):
    with pytest.raises(ApplicationError, match="not allowed"):
        client_risk_tier_set(
            client=ClientFactory(), tier="high", reason="why", actor=viewer
        )
