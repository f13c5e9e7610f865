"""The Django admin cannot bypass overrides: the session's provider-owned
outcome stays read-only there, and overrides are look-only."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import OutcomeOverride, WorkflowSession
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def override(reviewer):
    now = timezone.now()
    return OutcomeOverride.objects.create(
        session=WorkflowSessionFactory(outcome="clear"),
        outcome="rejected",
        provider_outcome="clear",
        provider_outcome_now="clear",
        reason_code="other",
        maker=reviewer,
        approver=UserFactory(roles=["reviewer"]),
        requested_at=now,
        effective_at=now,
    )


def test_overrides_are_listed_but_cannot_be_added_changed_or_deleted(
    superuser, client, override
):
    client.force_login(superuser)
    listing = client.get(reverse("admin:sessions_app_outcomeoverride_changelist"))
    assert listing.status_code == 200
    assert (
        client.get(reverse("admin:sessions_app_outcomeoverride_add")).status_code == 403
    )
    change = reverse("admin:sessions_app_outcomeoverride_change", args=[override.pk])
    assert client.post(change, {"outcome": "clear"}).status_code == 403
    delete = reverse("admin:sessions_app_outcomeoverride_delete", args=[override.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    override.refresh_from_db()
    assert override.outcome == "rejected"


def test_the_session_outcome_cannot_be_edited_in_the_admin(superuser, client, override):
    client.force_login(superuser)
    session = override.session
    url = reverse("admin:sessions_app_workflowsession_change", args=[session.pk])
    client.post(url, {"outcome": "rejected", "assignee": ""})
    assert WorkflowSession.objects.get(pk=session.pk).outcome == "clear"
