"""The audit history in an officer's words (views/audit_history.py), as the
session page shows it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app import services, views
from sessions_app.models import AuditEvent
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    UserFactory,
    WorkflowSessionFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]

QUEUE = reverse("session-list")


def _history(page: str) -> str:
    return page.split('id="history"')[1]


def test_audit_history_reads_as_words_not_keys(reviewer_client, assigned):
    history = _history(
        reviewer_client.get(assigned.get_absolute_url()).content.decode()
    )
    for raw in ("assignee_id", "review_id", "reason_code", "last_decision_at", "→ 3<"):
        assert raw not in history
    assert ">Assignee</th>" in history
    assert "olga-officer" in history
    assert re.search(
        r'olga-officer</span> <span aria-hidden="true">→</span>'
        r'<span class="visually-hidden">changed to</span> <span class="after">colin<',
        history,
    )
    assert ">Reason</th>" in history
    assert "Watchlist / PEP / sanctions match" in history
    assert "Decision: Escalate" in history
    assert ">Released<" in history or "Released<br>" in history
    # The raw action stays beside the words, for auditors who search by it.
    assert '<code class="muted small">review.escalate</code>' in history


def test_audit_timestamps_have_no_microseconds(reviewer_client, assigned):
    history = _history(
        reviewer_client.get(assigned.get_absolute_url()).content.decode()
    )
    visible = re.sub(r'datetime="[^"]*"', "", history)
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", visible)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", visible)
    event = AuditEvent.objects.filter(action="session.assign").first()
    stamp = timezone.localtime(
        dt.datetime.fromisoformat(event.after["assigned_at"])
    ).strftime("%Y-%m-%d %H:%M")
    assert stamp in visible


def test_a_deactivated_assignee_keeps_the_name_the_event_recorded(
    reviewer_client, assigned
):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="olga-officer").update(is_active=False)
    history = _history(
        reviewer_client.get(assigned.get_absolute_url()).content.decode()
    )
    assert "olga-officer" in history
    assert "user #" not in history


def test_the_audit_object_links_to_its_page(reviewer_client, assigned):
    session_page = reviewer_client.get(assigned.get_absolute_url()).content.decode()
    # No link from a page to itself; the session shows as its provider id.
    assert f'href="{assigned.get_absolute_url()}"' not in _history(session_page)
    assert '<span class="mono">run-audit-1</span>' in _history(session_page)
    client = assigned.provider_client.client
    client_page = reviewer_client.get(client.get_absolute_url()).content.decode()
    audit = client_page.split('id="client-audit-title"')[1]
    assert (
        f'<a class="mono" href="{assigned.get_absolute_url()}">run-audit-1</a>' in audit
    )


def test_a_link_event_names_and_links_the_client(reviewer_client, admin_user):
    old = ClientFactory(display_name="Old Client Ltd")
    new = ClientFactory(display_name="New Client Ltd")
    identity = ProviderClientFactory(client=old, name="N. Client")
    services.provider_client_link(
        provider_client=identity, client=new, actor=admin_user, reason="test"
    )
    masked = reviewer_client.get(new.get_absolute_url()).content.decode()
    audit = masked.split('id="client-audit-title"')[1]
    assert "Old Client Ltd" not in audit
    assert "New Client Ltd" not in audit
    assert f'<a class="before" href="{old.get_absolute_url()}">O. C. L.</a>' in audit
    reviewer_client.post(
        reverse("client-reveal", args=[new.pk]), {"reason": "link check"}
    )
    page = reviewer_client.get(new.get_absolute_url()).content.decode()
    audit = page.split('id="client-audit-title"')[1]
    assert "Identity linked" in audit
    assert (
        f'<a class="before" href="{old.get_absolute_url()}">Old Client Ltd</a>' in audit
    )
    assert ">New Client Ltd</span>" in audit  # this page: named, not linked
    assert "Manual" in audit  # the link source's label, not its key
    assert "client_id" not in audit


@pytest.mark.parametrize(("events", "truncated"), [(3, True), (2, False)])
def test_a_cut_history_says_so(
    reviewer_client, reviewer, monkeypatch, events, truncated
):
    monkeypatch.setattr(views.session, "SESSION_HISTORY_LIMIT", 2)
    session = WorkflowSessionFactory()
    colleagues = [
        UserFactory(username=f"colleague-{i}", roles=["reviewer"])
        for i in range(events)
    ]
    for colleague in colleagues:
        services.session_assign(session=session, assignee=colleague, actor=reviewer)
    response = reviewer_client.get(session.get_absolute_url())
    history = _history(response.content.decode())
    assert len(response.context["audit_rows"]) == 2
    assert ("(newest 2 shown)" in history) is truncated
    assert ("Only the newest 2 changes" in history) is truncated
    assert response.context["audit_truncated"] is truncated
