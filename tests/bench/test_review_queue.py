"""The bench's signed-in clients pass the second factor production asks of
admins: the admin, queue and /sync/ measurements compare real pages, not a
redirect to the enrolment."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from bench.review_queue import client_for


@pytest.mark.django_db
def test_an_admin_client_passes_the_second_factor_production_asks_for(
    mfa_required,
):
    admin = get_user_model().objects.create_user(
        "bench-admin", is_staff=True, is_superuser=True
    )
    plain = Client()
    plain.force_login(admin)
    assert plain.get("/admin/").status_code == 302  # what broke the bench

    client = client_for(admin)

    assert client.get("/admin/").status_code == 200
    assert client.get("/sync/").status_code == 200
    assert client_for(admin).get("/admin/").status_code == 200  # one device kept
