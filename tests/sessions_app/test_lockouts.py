"""The login lockout behind a proxy (VERITY_TRUSTED_PROXY_COUNT, per username
and client IP) cannot be turned against an officer, and clearing one is
audited however it is cleared (lockouts.py, admin/lockouts.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client as DjangoClient
from django.urls import reverse

from sessions_app.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
PROXY = "10.0.0.1"
ATTACKER = "203.0.113.5"
OFFICER = "198.51.100.7"


def _through_proxy(client_ip: str) -> DjangoClient:
    """A browser at `client_ip` behind the one trusted reverse proxy."""
    return DjangoClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_ip)


def _login(client: DjangoClient, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.fixture
def behind_one_proxy(settings):
    settings.VERITY_TRUSTED_PROXY_COUNT = 1
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.mark.usefixtures("behind_one_proxy")
def test_an_attacker_elsewhere_cannot_lock_the_officer_out():
    UserFactory(username="olga", roles=["viewer"])
    attacker = _through_proxy(ATTACKER)
    for attempt in range(10):
        _login(attacker, "olga", f"guess-{attempt}")
    assert _login(attacker, "olga", PASSWORD).status_code == 429  # locked, there

    officer = _through_proxy(OFFICER)
    response = _login(officer, "olga", PASSWORD)

    assert response.status_code == 302
    assert "_auth_user_id" in officer.session


@pytest.mark.usefixtures("behind_one_proxy")
def test_two_clients_behind_the_proxy_are_told_apart():
    UserFactory(username="olga", roles=["viewer"])
    _login(_through_proxy(ATTACKER), "olga", "wrong")
    _login(_through_proxy(OFFICER), "olga", "wrong")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        ATTACKER,
        OFFICER,
    }


def _lock_out(username: str, client_ip: str, settings) -> AccessAttempt:
    client = _through_proxy(client_ip)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, username, f"guess-{attempt}")
    return AccessAttempt.objects.get(username=username, ip_address=client_ip)


@pytest.mark.usefixtures("behind_one_proxy")
def test_clearing_a_lockout_in_the_admin_is_audited(
    settings, admin_client_verity, admin_user
):
    UserFactory(username="olga", roles=["viewer"])
    attempt = _lock_out("olga", ATTACKER, settings)
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])

    assert admin_client_verity.post(url, {"post": "yes"}).status_code == 302

    event = AuditEvent.objects.get(action="lockout.clear")
    assert event.actor == admin_user
    assert event.source == "admin"
    assert event.before["username"] == "olga"
    assert event.before["ip_address"] == ATTACKER
    assert event.before["locked_out"] is True
    assert not AuditEvent.objects.filter(action="admin.delete").exists()
    assert _login(_through_proxy(ATTACKER), "olga", PASSWORD).status_code == 302


@pytest.mark.usefixtures("behind_one_proxy")
def test_clearing_a_selection_writes_one_event_each(settings, admin_client_verity):
    UserFactory(username="olga", roles=["viewer"])
    first = _lock_out("olga", ATTACKER, settings)
    second = _lock_out("olga", OFFICER, settings)

    response = admin_client_verity.post(
        reverse("admin:axes_accessattempt_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [first.pk, second.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="lockout.clear").count() == 2


@pytest.mark.usefixtures("behind_one_proxy")
@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("axes_reset", []),
        ("axes_reset_username", ["olga"]),
        ("axes_reset_ip", [ATTACKER]),
    ],
)
def test_clearing_with_axes_commands_is_audited(settings, command, args):
    UserFactory(username="olga", roles=["viewer"])
    _lock_out("olga", ATTACKER, settings)

    call_command(command, *args, stdout=None)

    event = AuditEvent.objects.get(action="lockout.clear")
    assert event.actor is None
    assert event.source == "command"
    assert event.before["username"] == "olga"


@pytest.mark.usefixtures("behind_one_proxy")
def test_axes_housekeeping_is_not_a_lockout_cleared(settings):
    """A success deletes the failures below the limit; nobody lifted a lockout."""
    UserFactory(username="olga", roles=["viewer"])
    officer = _through_proxy(OFFICER)
    _login(officer, "olga", "typo")
    assert _login(officer, "olga", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()
    assert not AuditEvent.objects.filter(action="lockout.clear").exists()


def test_axes_own_admin_is_replaced_by_the_audited_one():
    from django.contrib import admin

    from sessions_app.admin.base import AuditedModelAdmin

    assert isinstance(admin.site._registry[AccessAttempt], AuditedModelAdmin)
