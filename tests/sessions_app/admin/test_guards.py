"""Admin audit and access, pinned where mutation testing found gaps.

Each test killed a mutant the rest of the suite let live (docs/testing.md): an
admin *add* that writes no audit event, a password hash copied into an audit
snapshot, a staff flag that opens `/admin/` without the admin role. Everything
goes through the admin's HTTP pages and reads `AuditEvent` rows.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from sessions_app.models import AuditEvent, Tag
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quartz-Zebra-9183-lantern"


def _recorded(event: AuditEvent) -> str:
    return json.dumps([event.before, event.after, event.object_repr], default=str)


def test_admin_add_is_audited_with_the_new_values(admin_client_verity, admin_user):
    response = admin_client_verity.post(
        reverse("admin:sessions_app_tag_add"), {"name": "added-here", "kind": "user"}
    )
    assert response.status_code == 302, response.content
    tag = Tag.objects.get(name="added-here")
    event = AuditEvent.objects.get(action="admin.add")
    assert event.actor == admin_user
    assert event.source == "admin"
    assert event.object_type == "sessions_app.tag"
    assert event.object_id == str(tag.pk)
    assert event.before == {}
    assert event.after["name"] == "added-here"
    assert event.after["kind"] == "user"


def test_a_refused_admin_add_writes_no_event(admin_client_verity):
    response = admin_client_verity.post(
        reverse("admin:sessions_app_tag_add"), {"name": "", "kind": "user"}
    )
    assert response.status_code == 200  # the form again, with its error
    assert not Tag.objects.exists()
    assert not AuditEvent.objects.exists()


def test_adding_a_user_is_audited_without_the_password_or_its_hash(
    admin_client_verity,
):
    response = admin_client_verity.post(
        reverse("admin:auth_user_add"),
        {
            "username": "new-officer",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content
    user = get_user_model().objects.get(username="new-officer")
    assert user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="admin.add", object_type="auth.user")
    assert event.object_id == str(user.pk)
    assert event.after["username"] == "new-officer"
    assert "password" not in event.after
    recorded = _recorded(event)
    assert NEW_PASSWORD not in recorded
    assert user.password not in recorded
    assert user.password.split("$", 1)[1] not in recorded


def test_deleting_a_user_is_audited_without_the_hash(admin_client_verity):
    officer = UserFactory(username="leaving")
    password_hash = officer.password
    response = admin_client_verity.post(
        reverse("admin:auth_user_delete", args=[officer.pk]), {"post": "yes"}
    )
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="admin.delete", object_type="auth.user")
    assert event.before["username"] == "leaving"
    assert "password" not in event.before
    assert password_hash not in _recorded(event)


def test_a_password_change_is_audited_and_the_hash_never_stored(
    admin_client_verity, admin_user
):
    officer = UserFactory(username="rotating")
    old_hash = officer.password
    response = admin_client_verity.post(
        reverse("admin:auth_user_password_change", args=[officer.pk]),
        {
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content
    officer.refresh_from_db()
    assert officer.password != old_hash
    events = AuditEvent.objects.filter(
        object_type="auth.user", object_id=str(officer.pk)
    )
    assert [e.action for e in events] == ["admin.password"]
    for event in events:
        recorded = _recorded(event)
        for secret in (NEW_PASSWORD, old_hash, officer.password):
            assert secret not in recorded
        assert "password" not in event.before
        assert "password" not in event.after


@pytest.mark.parametrize(
    "roles",
    [[], ["viewer"], ["reviewer"], ["exporter"], ["viewer", "reviewer", "exporter"]],
    ids=lambda roles: "+".join(roles) or "no-role",
)
def test_a_staff_user_without_the_admin_role_is_kept_out_of_the_admin(client, roles):
    staff = UserFactory(username="staff-flag-only", roles=roles)
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    for url in ("/admin/", reverse("admin:sessions_app_tag_changelist")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"]


def test_the_admin_role_without_the_staff_flag_gets_in(client):
    admin = UserFactory(username="role-only", roles=["admin"])
    assert not admin.is_staff
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200
