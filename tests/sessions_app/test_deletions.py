"""Deletion is audited with what it takes along (deletions.deletion_cascade,
object_delete_audited): the admin's single and bulk deletes of a session, a
client and a provider connection. (The admin refuses a delete that would take
rows it shows read-only, such as reviews and sync runs; the service records
them all the same.)"""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app import deletions
from sessions_app.models import (
    AuditEvent,
    Check,
    PolicyAssurance,
    ProviderClient,
    Tag,
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
    WebhookDeliveryFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db


def _session_with_children(*, reviewed: bool = False):
    session = WorkflowSessionFactory(
        tags=[TagFactory(name="vip"), TagFactory(name="pep")]
    )
    checks = [CheckFactory(session=session) for _ in range(3)]
    policies = [PolicyAssuranceFactory(session=session) for _ in range(2)]
    review = ReviewFactory(session=session) if reviewed else None
    return session, checks, policies, review


def _assert_session_cascade(cascade, checks, policies, review=None):
    deleted = cascade["deleted"]
    assert deleted["sessions_app.check"] == {
        "count": 3,
        "ids": sorted(c.pk for c in checks),
    }
    assert deleted["sessions_app.policyassurance"] == {
        "count": 2,
        "ids": sorted(p.pk for p in policies),
    }
    if review is not None:
        assert deleted["sessions_app.review"] == {"count": 1, "ids": [review.pk]}
    assert "sessions_app.workflowsession" not in deleted  # the object itself
    assert cascade["detached"] == {"tags": ["pep", "vip"]}


def test_the_admin_delete_of_a_session_records_its_children(admin_client_verity):
    session, checks, policies, review = _session_with_children()
    url = reverse("admin:sessions_app_workflowsession_delete", args=[session.pk])

    assert admin_client_verity.post(url, {"post": "yes"}).status_code == 302

    event = AuditEvent.objects.get(action="admin.delete")
    assert event.object_id == str(session.pk)
    _assert_session_cascade(event.before["cascade"], checks, policies, review)
    assert not Check.objects.exists()
    assert not PolicyAssurance.objects.exists()
    assert set(Tag.objects.values_list("name", flat=True)) == {"vip", "pep"}


def test_the_bulk_delete_records_each_sessions_children(admin_client_verity):
    first, checks, policies, review = _session_with_children()
    second = WorkflowSessionFactory(connection=first.connection)
    lone_check = CheckFactory(session=second)
    url = reverse("admin:sessions_app_workflowsession_changelist")

    response = admin_client_verity.post(
        url,
        {
            "action": "delete_selected",
            "_selected_action": [first.pk, second.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    events = {
        e.object_id: e.before["cascade"]
        for e in AuditEvent.objects.filter(action="admin.delete")
    }
    _assert_session_cascade(events[str(first.pk)], checks, policies, review)
    assert events[str(second.pk)]["deleted"] == {
        "sessions_app.check": {"count": 1, "ids": [lone_check.pk]}
    }
    assert not WorkflowSession.objects.exists()


def test_a_connection_delete_records_its_quarantined_records(admin_client_verity):
    connection = ProviderConnectionFactory()
    records = [QuarantinedRecordFactory(connection=connection) for _ in range(2)]
    url = reverse("admin:sessions_app_providerconnection_delete", args=[connection.pk])

    assert admin_client_verity.post(url, {"post": "yes"}).status_code == 302

    cascade = AuditEvent.objects.get(action="admin.delete").before["cascade"]
    assert cascade["deleted"] == {
        "sessions_app.quarantinedrecord": {
            "count": 2,
            "ids": sorted(r.pk for r in records),
        }
    }


def test_the_service_records_reviews_runs_and_deliveries_too(admin_user):
    session, checks, policies, review = _session_with_children(reviewed=True)
    event = deletions.object_delete_audited(
        obj=session, actor=admin_user, source="command", action="session.delete"
    )
    _assert_session_cascade(event.before["cascade"], checks, policies, review)

    connection = ProviderConnectionFactory(slug="other")
    runs = [SyncRunFactory(connection=connection) for _ in range(2)]
    delivery = WebhookDeliveryFactory(connection=connection)
    event = deletions.object_delete_audited(
        obj=connection, actor=admin_user, source="command", action="x.delete"
    )
    deleted = event.before["cascade"]["deleted"]
    assert deleted["sessions_app.syncrun"] == {
        "count": 2,
        "ids": sorted(r.pk for r in runs),
    }
    assert deleted["sessions_app.webhookdelivery"]["ids"] == [delivery.pk]


def test_a_client_delete_records_the_identities_it_unlinks(admin_client_verity):
    client = ClientFactory()
    identities = [ProviderClientFactory(client=client) for _ in range(2)]
    url = reverse("admin:sessions_app_client_delete", args=[client.pk])

    assert admin_client_verity.post(url, {"post": "yes"}).status_code == 302

    event = AuditEvent.objects.get(action="admin.delete")
    assert event.before["cascade"]["unlinked"][
        "sessions_app.providerclient.client"
    ] == {
        "count": 2,
        "ids": sorted(i.pk for i in identities),
    }
    assert ProviderClient.objects.filter(client__isnull=True).count() == 2


def test_a_delete_without_children_records_no_cascade(admin_user):
    tag = TagFactory(name="lonely")
    event = deletions.object_delete_audited(
        obj=tag, actor=admin_user, source="admin", action="admin.delete"
    )
    assert "cascade" not in event.before
    assert event.before["name"] == "lonely"


def test_ids_are_capped_and_counts_kept(monkeypatch):
    monkeypatch.setattr(deletions, "AUDITED_CASCADE_IDS", 2)
    session = WorkflowSessionFactory()
    checks = [CheckFactory(session=session) for _ in range(3)]
    cascade = deletions.deletion_cascade(session)
    assert cascade["deleted"]["sessions_app.check"] == {
        "count": 3,
        "ids": sorted(c.pk for c in checks)[:2],
    }
