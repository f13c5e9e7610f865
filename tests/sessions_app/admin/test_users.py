"""Users and groups (admin/users.py): role and permission edits and password
changes are audited, never with the password or its hash."""

import json

import pytest
from django.urls import reverse

from sessions_app.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


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


# --- Audit of many-to-many edits and passwords -------------------------------------


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
