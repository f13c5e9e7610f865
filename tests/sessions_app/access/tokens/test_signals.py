"""A user's tokens die with their access: deactivation and password changes
revoke them (audited); other saves, a login and Django's re-hash do not."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from sessions_app.access.tokens.services import api_token_mint
from sessions_app.models import ApiToken, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    user = UserFactory(username="officer", roles=["reviewer"])
    api_token_mint(user=user, name="laptop", days=7)
    api_token_mint(user=user, name="ci", days=30)
    return user


def _revocations(reason: str) -> list[str]:
    events = AuditEvent.objects.filter(action="api_token.revoke")
    assert all(event.after == {"reason": reason} for event in events)
    assert all(event.source == "system" for event in events)
    return sorted(event.before["name"] for event in events)


def test_deactivating_a_user_revokes_their_tokens(officer):
    officer.is_active = False
    officer.save()
    assert not ApiToken.objects.exists()
    assert _revocations("user_deactivated") == ["ci", "laptop"]


def test_changing_a_password_revokes_their_tokens(officer):
    officer.set_password("a-new-password-2026")
    officer.save()
    assert not ApiToken.objects.exists()
    assert _revocations("password_changed") == ["ci", "laptop"]


def test_an_unusable_password_revokes_their_tokens(officer):
    officer.set_unusable_password()
    officer.save(update_fields=["password"])
    assert not ApiToken.objects.exists()


def test_other_users_keep_their_tokens(officer):
    other = UserFactory(roles=["viewer"])
    api_token_mint(user=other, name="theirs", days=7)
    officer.is_active = False
    officer.save()
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["theirs"]


def test_other_saves_keep_the_tokens(officer, client):
    officer.email = "new@example.test"
    officer.save()
    officer.save(update_fields=["last_login"])
    response = client.post(
        reverse("login"), {"username": "officer", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302, response.content  # signed in
    assert ApiToken.objects.count() == 2
    assert not AuditEvent.objects.filter(action="api_token.revoke").exists()


def test_djangos_rehash_at_login_keeps_the_tokens(officer, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    outdated = make_password("correct-horse-battery", hasher="pbkdf2_sha256")
    type(officer).objects.filter(pk=officer.pk).update(password=outdated)
    officer.refresh_from_db()
    assert officer.check_password("correct-horse-battery")
    officer.refresh_from_db()
    assert officer.password.startswith("md5$")  # re-hashed and saved
    assert ApiToken.objects.count() == 2


def test_a_password_change_in_the_admin_revokes_the_tokens(
    officer, admin_client_verity
):
    response = admin_client_verity.post(
        reverse("admin:auth_user_password_change", args=[officer.pk]),
        {
            "password1": "an-entirely-new-one-2026",
            "password2": "an-entirely-new-one-2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content
    assert not ApiToken.objects.exists()
    assert _revocations("password_changed") == ["ci", "laptop"]
