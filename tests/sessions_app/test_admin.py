"""The admin: audited edits, only the admin role gets in, and every page stays
within a query budget that does not grow with the table."""

import datetime as dt
import json

import pytest
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connection
from django.db.models.signals import pre_save
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sessions_app import filters
from sessions_app.models import AuditEvent, ClientLinkSource, ProviderConnection, Tag
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


# --- Audit of many-to-many edits, passwords and bulk deletions ----------------------


def _user_form(user, **extra):
    form = {
        "username": user.username,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "10:00:00",
    }
    form.update(extra)
    return form


def test_group_permission_edits_are_audited_with_before_and_after(
    admin_client_verity, admin_user
):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="auditors")
    keep = Permission.objects.get(codename="view_review")
    group.permissions.add(keep)
    added = Permission.objects.get(codename="decide_session")
    url = reverse("admin:auth_group_change", args=[group.pk])
    response = admin_client_verity.post(
        url, {"name": "auditors", "permissions": [str(keep.pk), str(added.pk)]}
    )
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(object_type="auth.group", object_id=str(group.pk))
    assert event.action == "admin.roles"
    assert event.actor == admin_user
    assert event.before == {"permissions": ["sessions_app.view_review"]}
    assert event.after == {
        "permissions": ["sessions_app.decide_session", "sessions_app.view_review"]
    }
    assert set(group.permissions.all()) == {keep, added}


def test_user_permission_and_group_edits_are_audited_together(admin_client_verity):
    from django.contrib.auth.models import Group, Permission

    officer = UserFactory(username="perm-officer", roles=["viewer"])
    perm = Permission.objects.get(codename="export_sessions")
    reviewer_group = Group.objects.get(name="reviewer")
    url = reverse("admin:auth_user_change", args=[officer.pk])
    form = _user_form(
        officer, groups=[str(reviewer_group.pk)], user_permissions=[str(perm.pk)]
    )
    response = admin_client_verity.post(url, form)
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="admin.roles", object_id=str(officer.pk))
    assert event.before == {"groups": ["viewer"], "user_permissions": []}
    assert event.after == {
        "groups": ["reviewer"],
        "user_permissions": ["sessions_app.export_sessions"],
    }


def test_saving_a_user_without_role_changes_writes_no_roles_event(admin_client_verity):
    officer = UserFactory(username="steady", roles=["viewer"])
    from django.contrib.auth.models import Group

    viewer_group = Group.objects.get(name="viewer")
    url = reverse("admin:auth_user_change", args=[officer.pk])
    form = _user_form(officer, groups=[str(viewer_group.pk)])
    assert admin_client_verity.post(url, form).status_code == 302
    assert not AuditEvent.objects.filter(action="admin.roles").exists()


def test_admin_password_change_is_audited_without_the_password_or_hash(
    admin_client_verity, admin_user
):
    officer = UserFactory(username="forgetful")
    old_hash = officer.password
    new_password = "Quartz-Zebra-9183-lantern"
    url = reverse("admin:auth_user_password_change", args=[officer.pk])
    assert admin_client_verity.get(url).status_code == 200
    assert not AuditEvent.objects.filter(action="admin.password").exists()
    response = admin_client_verity.post(
        url,
        {
            "password1": new_password,
            "password2": new_password,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content
    officer.refresh_from_db()
    assert officer.check_password(new_password)
    event = AuditEvent.objects.get(action="admin.password")
    assert event.actor == admin_user
    assert event.object_type == "auth.user"
    assert event.object_id == str(officer.pk)
    assert event.before == {"usable_password": True}
    assert event.after == {"usable_password": True}
    recorded = json.dumps([event.before, event.after, event.object_repr])
    for secret in (new_password, old_hash, officer.password):
        assert secret not in recorded
    algorithm = officer.password.split("$", 1)[0]
    assert f"{algorithm}$" not in recorded


def test_disabling_password_login_in_the_admin_is_audited(admin_client_verity):
    officer = UserFactory(username="sso-only")
    url = reverse("admin:auth_user_password_change", args=[officer.pk])
    response = admin_client_verity.post(
        url, {"usable_password": "false", "unset-password": "1"}
    )
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="admin.password")
    assert event.before == {"usable_password": True}
    assert event.after == {"usable_password": False}


def test_a_rejected_admin_password_change_writes_no_event(admin_client_verity):
    officer = UserFactory(username="typo")
    url = reverse("admin:auth_user_password_change", args=[officer.pk])
    response = admin_client_verity.post(
        url,
        {
            "password1": "Quartz-Zebra-9183",
            "password2": "Different-9183",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="admin.password").exists()


def _delete_selected(client, model_admin_url: str, pks: list[int]):
    return client.post(
        model_admin_url,
        {
            "action": "delete_selected",
            "_selected_action": [str(pk) for pk in pks],
            "post": "yes",
        },
    )


def test_bulk_delete_writes_one_audit_row_per_object(admin_client_verity, admin_user):
    first, second = TagFactory(name="aa-old"), TagFactory(name="bb-old")
    url = reverse("admin:sessions_app_tag_changelist")
    assert (
        _delete_selected(admin_client_verity, url, [first.pk, second.pk]).status_code
        == 302
    )
    events = AuditEvent.objects.filter(action="admin.delete")
    assert sorted(e.before["name"] for e in events) == ["aa-old", "bb-old"]
    assert {e.actor for e in events} == {admin_user}
    assert not Tag.objects.filter(pk__in=[first.pk, second.pk]).exists()


@pytest.fixture
def tag_delete_refused():
    """Make the database refuse to delete the tag named "zz-locked" (a real failure)."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute(
                "CREATE TRIGGER tag_refuse_delete BEFORE DELETE ON sessions_app_tag "
                "WHEN OLD.name = 'zz-locked' BEGIN SELECT RAISE(ABORT, 'locked'); END"
            )
        elif vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION tag_refuse_delete() RETURNS trigger AS $$ BEGIN "
                "IF OLD.name = 'zz-locked' THEN RAISE EXCEPTION 'locked'; END IF; "
                "RETURN OLD; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER tag_refuse_delete BEFORE DELETE ON sessions_app_tag "
                "FOR EACH ROW EXECUTE FUNCTION tag_refuse_delete()"
            )
        else:
            pytest.skip(f"no refusing trigger written for {vendor}")
    # Created inside the test's transaction: rolled back with it.
    return "zz-locked"


def test_bulk_delete_is_all_or_nothing(admin_client_verity, tag_delete_refused):
    deletable = TagFactory(name="aa-deletable")
    locked = TagFactory(name=tag_delete_refused)
    url = reverse("admin:sessions_app_tag_changelist")
    with pytest.raises(DatabaseError):
        _delete_selected(admin_client_verity, url, [deletable.pk, locked.pk])
    # The first tag's deletion and its audit row were rolled back with the failure.
    assert Tag.objects.filter(pk=deletable.pk).exists()
    assert not AuditEvent.objects.filter(action="admin.delete").exists()


# --- Big tables: joins and raw text ------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_foreign_key_in_a_changelist_is_joined_explicitly(model):
    model_admin = admin.site._registry[model]
    joins = model_admin.list_select_related
    assert isinstance(joins, list | tuple), "name the joins; never True or False"
    foreign_keys = set()
    for name in model_admin.list_display:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.many_to_one or field.one_to_one:
            foreign_keys.add(name)
    assert foreign_keys <= set(joins)


def test_webhook_body_is_shown_read_only_as_pretty_json(admin_client_verity):
    payload = {"resource": {"id": "run-1", "note": "<b>bold</b>"}, "action": "x"}
    delivery = WebhookDeliveryFactory(body=json.dumps(payload))
    url = reverse("admin:sessions_app_webhookdelivery_change", args=[delivery.pk])
    body = admin_client_verity.get(url).content.decode()
    pretty = json.dumps(payload, indent=2, sort_keys=True)
    assert escape(pretty) in body
    assert "<b>bold</b>" not in body
    assert 'name="body"' not in body


def test_quarantined_raw_falls_back_to_escaped_text_when_not_json(admin_client_verity):
    record = QuarantinedRecordFactory(raw="<script>alert(1)</script> status=???")
    url = reverse("admin:sessions_app_quarantinedrecord_change", args=[record.pk])
    body = admin_client_verity.get(url).content.decode()
    assert escape("<script>alert(1)</script> status=???") in body
    assert "<script>alert(1)</script>" not in body
    assert 'name="raw"' not in body


def test_quarantined_raw_json_is_pretty_printed(admin_client_verity):
    record = QuarantinedRecordFactory(raw='{"status": {"bad": true}, "id": 1}')
    url = reverse("admin:sessions_app_quarantinedrecord_change", args=[record.pk])
    body = admin_client_verity.get(url).content.decode()
    pretty = json.dumps({"id": 1, "status": {"bad": True}}, indent=2, sort_keys=True)
    assert escape(pretty) in body


# --- Connections: an admin save never writes back the sync's own fields -----------


def _connection_form(connection, **changes):
    form = {
        "slug": connection.slug,
        "kind": connection.kind,
        "display_name": connection.display_name,
        "base_url": connection.base_url,
        "enabled": "on",
        "credential_env": connection.credential_env,
        "webhook_secret_env": "",
        "sync_interval_seconds": str(connection.sync_interval_seconds),
        "rate_limit_per_second": str(connection.rate_limit_per_second),
        "options": "{}",
        # A field with a callable default posts its initial value too (as a browser would).
        "initial-options": "{}",
    }
    form.update(changes)
    return form


def test_admin_save_keeps_the_sync_fields_a_running_sync_just_wrote(
    admin_client_verity,
):
    earlier = timezone.now() - dt.timedelta(hours=1)
    connection = ProviderConnectionFactory(
        sync_interval_seconds=300,
        sync_cursor={"since": "old"},
        lock_token="lease-1",
        lock_expires_at=earlier,
        last_sync_started_at=earlier,
        last_sync_finished_at=earlier,
        last_success_at=earlier,
    )
    url = reverse("admin:sessions_app_providerconnection_change", args=[connection.pk])
    assert admin_client_verity.get(url).status_code == 200
    renewed = timezone.now() + dt.timedelta(minutes=5)
    sync_state = {
        "sync_cursor": {"since": "new"},
        "lock_token": "lease-2",
        "lock_expires_at": renewed,
        "last_sync_started_at": renewed,
        "last_sync_finished_at": renewed,
        "last_success_at": renewed,
    }

    # The sync renews its lease and advances its cursor after the admin has
    # read the row for this request and before it saves it.
    def sync_renews_lease(sender, instance, **kwargs):
        ProviderConnection.objects.filter(pk=instance.pk).update(**sync_state)

    pre_save.connect(sync_renews_lease, sender=ProviderConnection)
    try:
        response = admin_client_verity.post(
            url, _connection_form(connection, sync_interval_seconds="900")
        )
    finally:
        pre_save.disconnect(sync_renews_lease, sender=ProviderConnection)
    assert response.status_code == 302, response.content
    stored = ProviderConnection.objects.get(pk=connection.pk)
    assert stored.sync_interval_seconds == 900
    for field, value in sync_state.items():
        assert getattr(stored, field) == value, field
    event = AuditEvent.objects.get(action="admin.change")
    assert event.before == {"sync_interval_seconds": 300}
    assert event.after == {"sync_interval_seconds": 900}


def test_admin_save_without_changes_writes_nothing(admin_client_verity):
    connection = ProviderConnectionFactory()
    before = ProviderConnection.objects.get(pk=connection.pk).updated_at
    url = reverse("admin:sessions_app_providerconnection_change", args=[connection.pk])
    assert (
        admin_client_verity.post(url, _connection_form(connection)).status_code == 302
    )
    assert ProviderConnection.objects.get(pk=connection.pk).updated_at == before
    assert not AuditEvent.objects.filter(action="admin.change").exists()


# --- Search ------------------------------------------------------------------------------


def test_session_admin_search_finds_what_the_queue_search_finds(
    admin_client_verity, admin_user
):
    """Names (contains) and exact ids, through the queue's own search."""
    acme = ClientFactory(display_name="Acme Holdings")
    by_client = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(client=acme, name="ACME Ltd")
    )
    by_provider_name = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(name="Holdings of Acme plc")
    )
    by_id = WorkflowSessionFactory(external_id="run-acme-77")
    by_reference = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(external_reference="ref-9")
    )
    WorkflowSessionFactory(
        provider_client=ProviderClientFactory(name="Someone Else"),
        external_id="run-other-1",
    )
    url = reverse("admin:sessions_app_workflowsession_changelist")

    def found(term: str) -> set[int]:
        response = admin_client_verity.get(url, {"q": term})
        assert response.status_code == 200
        return {s.pk for s in response.context["cl"].result_list}

    def queue_found(term: str) -> set[int]:
        return set(
            filters.session_list(params={"q": term}).values_list("pk", flat=True)
        )

    assert found("acme") == {by_client.pk, by_provider_name.pk} == queue_found("acme")
    # Ids are exact: a part of one finds nothing.
    assert found("run-acme-77") == {by_id.pk} == queue_found("run-acme-77")
    assert found("run-acme") == set()
    assert found("ref-9") == {by_reference.pk}
    assert len(found("")) == 5


def test_check_admin_search_finds_a_check_or_every_check_of_a_session(
    admin_client_verity, django_assert_max_num_queries
):
    onfido = ProviderConnectionFactory(slug="onfido-a", kind="onfido")
    cube = ProviderConnectionFactory(slug="cube-b", kind="complycube")
    session = WorkflowSessionFactory(connection=onfido, external_id="run-1")
    first, second = (
        CheckFactory(session=session, connection=onfido, external_id=f"chk-{n}")
        for n in (1, 2)
    )
    # The same id at another provider is another check.
    twin = CheckFactory(
        session=WorkflowSessionFactory(connection=cube, external_id="sess-9"),
        connection=cube,
        external_id="chk-1",
    )
    CheckFactory(connection=onfido, external_id="chk-3")
    url = reverse("admin:sessions_app_check_changelist")

    def found(term: str) -> set[int]:
        response = admin_client_verity.get(url, {"q": term})
        assert response.status_code == 200
        return {c.pk for c in response.context["cl"].result_list}

    assert found("chk-1") == {first.pk, twin.pk}
    assert found(" run-1 ") == {first.pk, second.pk}
    assert found("sess-9") == {twin.pk}
    # Ids are exact.
    assert found("chk") == set()
    assert found("run") == set()
    assert len(found("")) == 4
    # Two look-ups of ids, then the page: no query per connection or per row
    # (10 on SQLite; on PostgreSQL the paginator's COUNT runs in a savepoint
    # with a statement timeout: 3 more).
    with django_assert_max_num_queries(13):
        found("chk-1")
