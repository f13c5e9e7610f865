"""API tokens in the admin (admin/tokens.py): every user's tokens to see and
revoke, audited; no admin (not even a superuser) mints, edits or reads a secret.

The token's digest (a SHA-512 hash of the secret, its primary key) appears in
the admin's URLs; it cannot be turned back into the secret."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.access.tokens.services import api_token_mint
from sessions_app.models import ApiToken, AuditEvent

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:sessions_app_apitoken_changelist")
ADD = reverse("admin:sessions_app_apitoken_add")


@pytest.fixture
def token(viewer):
    token, secret = api_token_mint(user=viewer, name="vera's script", days=30)
    token.secret = secret
    return token


@pytest.fixture(params=["admin_role", "superuser"])
def admin_client(request, client, admin_user, superuser):
    client.force_login(admin_user if request.param == "admin_role" else superuser)
    return client


def test_the_list_shows_every_users_tokens_without_secret_or_digest(
    admin_client, token, viewer
):
    page = admin_client.get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "vera&#x27;s script" in html
    assert viewer.username in html
    assert token.token_key in html
    assert token.secret not in html
    assert "Add API token" not in html


def test_the_detail_page_is_read_only_without_the_digest(admin_client, token):
    url = reverse("admin:sessions_app_apitoken_change", args=[token.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert token.secret not in html
    assert 'name="name"' not in html  # no editable field
    # The digest (a hash of the secret) is the row's key, in the page's links,
    # but not shown as a field.
    assert "Digest" not in html
    response = admin_client.post(url, {"name": "renamed", "expiry": ""})
    assert response.status_code == 403
    assert ApiToken.objects.get().name == "vera's script"


def test_an_admin_cannot_mint_a_token_for_another_user(admin_client, viewer):
    assert admin_client.get(ADD).status_code == 403
    response = admin_client.post(ADD, {"user": viewer.pk, "name": "mine now"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(action="api_token.mint").exists()


def test_deleting_in_the_admin_revokes_audited(admin_client_verity, admin_user, token):
    url = reverse("admin:sessions_app_apitoken_delete", args=[token.pk])
    response = admin_client_verity.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert (event.actor, event.source) == (admin_user, "admin")
    assert event.object_id == token.token_key
    assert event.before["owner"] == "vera-viewer"
    assert token.secret not in str(event.before)
    assert token.digest not in str(event.before)


def test_revoking_a_selection_writes_one_event_per_token(
    admin_client_verity, viewer, reviewer
):
    tokens = [
        api_token_mint(user=viewer, name="a", days=7)[0],
        api_token_mint(user=reviewer, name="b", days=7)[0],
    ]
    response = admin_client_verity.post(
        CHANGELIST,
        {
            "action": "delete_selected",
            "_selected_action": [t.pk for t in tokens],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    events = AuditEvent.objects.filter(action="api_token.revoke", source="admin")
    assert sorted(e.before["name"] for e in events) == ["a", "b"]
