"""The admin site (config/admin.py): only the admin role gets in, with or
without the staff flag."""

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


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
