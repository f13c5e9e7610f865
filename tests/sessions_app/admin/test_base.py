"""What every admin shares (admin/base.py, AuditedModelAdmin): a constant query
budget per page, named joins, audited edits and deletions (bulk ones all or
nothing), a save that writes only what the form changed, and the "Export
selected as CSV" action (CsvExportActionMixin, on the session and check
admins) with the pages' audited exporter."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib import admin as django_admin
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connection
from django.db.models.signals import pre_save
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from sessions_app import exports
from sessions_app.access.tokens.services import api_token_mint
from sessions_app.models import AuditEvent, ProviderConnection, Tag, WorkflowSession
from sessions_app.services import audit_event_record
from tests.factories import (
    ApprovalFactory,
    CheckFactory,
    OutcomeOverrideFactory,
    PolicyAssuranceFactory,
    ProviderConnectionFactory,
    QuarantinedRecordFactory,
    ReviewFactory,
    SyncRunFactory,
    TagFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WorkflowSessionFactory,
)
from tests.helpers.exports import csv_ids, csv_read, export_queue_create

pytestmark = pytest.mark.django_db


def _populate(n: int) -> None:
    tag = TagFactory(name="vip")
    for _ in range(n):
        session = WorkflowSessionFactory(tags=[tag])
        CheckFactory(session=session)
        PolicyAssuranceFactory(session=session)
        ReviewFactory(session=session)
        ApprovalFactory(session=session)
        OutcomeOverrideFactory(session=session)
        SyncRunFactory(connection=session.connection)
        QuarantinedRecordFactory(connection=session.connection)
        WebhookDeliveryFactory(connection=session.connection)
        audit_event_record(
            actor=None, source="test", action="test.populate", obj=session
        )
        api_token_mint(user=UserFactory(roles=["viewer"]), name="script", days=7)


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


# --- Big tables: joins -------------------------------------------------------------


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
        "rate_limit_per_second": "",  # blank: the provider's documented limit
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


# --- Bulk deletions -----------------------------------------------------------------


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


# --- A save never writes back the sync's own fields (on a connection) --------------


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
        "rate_limit_per_second": (
            ""
            if connection.rate_limit_per_second is None
            else str(connection.rate_limit_per_second)
        ),
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


# --- Admin action ------------------------------------------------------------------------


@pytest.fixture
def queue(exporter, reviewer):
    """The export tests' small queue (tests/helpers/exports.py)."""
    return export_queue_create(exporter=exporter, reviewer=reviewer)


def test_admin_action_exports_the_selection_with_the_same_exporter(
    queue, admin_user, admin_client_verity
):
    chosen = [queue[5], queue[0], queue[3]]
    response = admin_client_verity.post(
        reverse("admin:sessions_app_workflowsession_changelist"),
        {"action": "export_selected_csv", "_selected_action": [s.pk for s in chosen]},
    )
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    header, rows = csv_read(response)
    # Queue order, whatever the selection order.
    assert csv_ids(header, rows) == [queue[0].pk, queue[3].pk, queue[5].pk]
    assert header == [c.header for c in exports.SESSION_COLUMNS] + [
        "Tags",
        "Verity URL",
    ]
    event = AuditEvent.objects.get(action="export.sessions_csv")
    assert event.source == "admin"
    assert event.actor == admin_user
    assert event.after["filters"] == {
        "selected": "3",
        "selected_ids": sorted(s.pk for s in chosen),
    }
    finished = AuditEvent.objects.get(action="export.sessions_csv.finished")
    assert finished.after["row_count"] == 3
    assert "-selected-3.csv" in response["Content-Disposition"]


def test_admin_check_action_exports_checks(queue, admin_client_verity):
    check = queue[1].checks.get()
    response = admin_client_verity.post(
        reverse("admin:sessions_app_check_changelist"),
        {"action": "export_selected_csv", "_selected_action": [check.pk]},
    )
    header, rows = csv_read(response)
    assert csv_ids(header, rows, "Verity check id") == [check.pk]
    assert AuditEvent.objects.get(action="export.checks_csv").source == "admin"


def test_admin_export_action_needs_the_export_permission(queue, admin_client_verity):
    """The action is offered to admins (all permissions) and hidden from others."""
    model_admin = django_admin.site._registry[WorkflowSession]
    no_export = UserFactory(username="no-export", roles=["viewer", "reviewer"])
    assert not model_admin.has_export_permission(SimpleNamespace(user=no_export))
    page = admin_client_verity.get(
        reverse("admin:sessions_app_workflowsession_changelist")
    )
    assert b"Export selected as CSV" in page.content
