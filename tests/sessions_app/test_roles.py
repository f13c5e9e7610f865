"""The four roles exist as groups (data migration) with cumulative permissions."""

import pytest
from django.contrib.auth.models import Group

from sessions_app import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_data_migration_created_the_four_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "viewer",
        "reviewer",
        "exporter",
        "admin",
    }


@pytest.mark.parametrize(
    ("role", "view", "decide", "assign", "export", "admin"),
    [
        ("viewer", True, False, False, False, False),
        ("reviewer", True, True, True, False, False),
        ("exporter", True, False, False, True, False),
        ("admin", True, True, True, True, True),
    ],
)
def test_role_capabilities(role, view, decide, assign, export, admin):
    user = UserFactory(roles=[role])
    assert roles.user_can_view(user) is view
    assert roles.user_can_decide(user) is decide
    assert roles.user_can_assign(user) is assign
    assert roles.user_can_export(user) is export
    assert roles.user_is_admin(user) is admin


def test_user_without_role_can_do_nothing():
    user = UserFactory()
    assert not roles.user_can_view(user)
    assert not roles.user_can_decide(user)
    assert not roles.user_is_admin(user)


def test_admin_role_can_change_every_model():
    user = UserFactory(roles=["admin"])
    for model in roles.READ_MODELS:
        assert user.has_perm(f"sessions_app.change_{model}"), model
    assert user.has_perm("auth.change_user")


def test_roles_ensure_is_idempotent_and_repairs_missing_permissions():
    viewer = Group.objects.get(name="viewer")
    viewer.permissions.clear()
    roles.roles_ensure()
    roles.roles_ensure()
    assert viewer.permissions.count() == len(roles.VIEW_PERMS)
