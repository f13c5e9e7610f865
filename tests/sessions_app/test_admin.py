"""The admin: audited edits, only the admin role gets in, and every page stays
within a query budget that does not grow with the table."""

import pytest
from django.contrib import admin
from django.urls import reverse

from sessions_app.models import AuditEvent, ClientLinkSource, ProviderConnection
from sessions_app.services import audit_event_record
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

pytestmark = pytest.mark.django_db


def _populate(n: int) -> None:
    tag = TagFactory(name="vip")
    for _ in range(n):
        session = WorkflowSessionFactory(tags=[tag])
        CheckFactory(session=session)
        PolicyAssuranceFactory(session=session)
        ReviewFactory(session=session)
        SyncRunFactory(connection=session.connection)
        QuarantinedRecordFactory(connection=session.connection)
        WebhookDeliveryFactory(connection=session.connection)
        audit_event_record(
            actor=None, source="test", action="test.populate", obj=session
        )


MODELS = [
    model
    for model in admin.site._registry
    if model._meta.app_label in {"sessions_app", "auth"}
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_changelist_renders_within_a_constant_query_budget(
    model, admin_client_verity, django_assert_max_num_queries
):
    _populate(3)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with django_assert_max_num_queries(14) as small:
        assert admin_client_verity.get(url).status_code == 200
    _populate(25)
    with django_assert_max_num_queries(len(small.captured_queries) + 1):
        assert admin_client_verity.get(url).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_change_page_renders_within_budget(
    model, admin_client_verity, django_assert_max_num_queries
):
    _populate(2)
    obj = model._default_manager.order_by("pk").first()
    url = reverse(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]
    )
    with django_assert_max_num_queries(30):
        assert admin_client_verity.get(url).status_code == 200


def test_admin_pages_never_show_secret_values(admin_client_verity, monkeypatch):
    monkeypatch.setenv("ONFIDO_TEST_TOKEN", "super-secret-token-value")
    connection = ProviderConnectionFactory()
    url = reverse("admin:sessions_app_providerconnection_change", args=[connection.pk])
    body = admin_client_verity.get(url).content.decode()
    assert "ONFIDO_TEST_TOKEN" in body
    assert "super-secret-token-value" not in body


def test_admin_edit_writes_an_audit_event_with_before_and_after(
    admin_client_verity, admin_user
):
    connection = ProviderConnectionFactory(sync_interval_seconds=300)
    url = reverse("admin:sessions_app_providerconnection_change", args=[connection.pk])
    form = {
        "slug": connection.slug,
        "kind": connection.kind,
        "display_name": connection.display_name,
        "base_url": connection.base_url,
        "enabled": "on",
        "credential_env": connection.credential_env,
        "webhook_secret_env": "",
        "sync_interval_seconds": "600",
        "rate_limit_per_second": "5.0",
        "options": "{}",
    }
    response = admin_client_verity.post(url, form)
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="admin.change")
    assert event.actor == admin_user
    assert event.source == "admin"
    assert event.object_type == "sessions_app.providerconnection"
    assert event.object_id == str(connection.pk)
    assert event.before == {"sync_interval_seconds": 300}
    assert event.after == {"sync_interval_seconds": 600}
    assert ProviderConnection.objects.get(pk=connection.pk).sync_interval_seconds == 600


def test_admin_delete_is_audited(admin_client_verity):
    tag = TagFactory(name="obsolete")
    url = reverse("admin:sessions_app_tag_delete", args=[tag.pk])
    assert admin_client_verity.post(url, {"post": "yes"}).status_code == 302
    event = AuditEvent.objects.get(action="admin.delete")
    assert event.before["name"] == "obsolete"
    assert event.object_id == str(tag.pk)


def test_linking_a_provider_client_by_hand_is_audited_and_sticks(admin_client_verity):
    pc = ProviderClientFactory(client=None, external_reference="")
    target = ClientFactory()
    url = reverse("admin:sessions_app_providerclient_change", args=[pc.pk])
    form = {
        "name": pc.name,
        "external_reference": "",
        "client": str(target.pk),
        "link_source": "automatic",
    }
    response = admin_client_verity.post(url, form)
    assert response.status_code == 302, response.content
    pc.refresh_from_db()
    assert pc.client == target
    assert pc.link_source == ClientLinkSource.MANUAL
    event = AuditEvent.objects.get(action="provider_client.link")
    assert event.client_id == target.pk
    assert event.before["client_id"] is None


def test_role_changes_in_the_admin_are_audited(admin_client_verity):
    from django.contrib.auth.models import Group

    officer = UserFactory(username="newcomer")
    url = reverse("admin:auth_user_change", args=[officer.pk])
    page = admin_client_verity.get(url)
    assert page.status_code == 200
    reviewer_group = Group.objects.get(name="reviewer")
    form = {
        "username": "newcomer",
        "email": officer.email,
        "is_active": "on",
        "groups": [str(reviewer_group.pk)],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "10:00:00",
    }
    response = admin_client_verity.post(url, form)
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="admin.roles")
    assert event.before == {"groups": []}
    assert event.after == {"groups": ["reviewer"]}


@pytest.mark.parametrize("role", ["viewer", "reviewer", "exporter"])
def test_only_the_admin_role_reaches_the_admin(client, role):
    client.force_login(UserFactory(roles=[role]))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_role_without_staff_flag_reaches_the_admin(
    admin_client_verity, admin_user
):
    assert not admin_user.is_staff
    assert admin_client_verity.get("/admin/").status_code == 200
