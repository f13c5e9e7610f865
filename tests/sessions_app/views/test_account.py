"""The account page (`/account/`): name, roles, the user's API tokens; minting
shows the secret once; revoking one or all; only the user's own tokens."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse

from sessions_app.access.tokens.services import api_token_mint
from sessions_app.models import ApiToken, AuditEvent
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_queries_in_templates")]

ACCOUNT = reverse("account")
MINT = reverse("account-token-mint")


def test_the_page_shows_the_user_roles_and_tokens(reviewer, reviewer_client):
    token, secret = api_token_mint(user=reviewer, name="nightly report", days=30)
    other, _ = api_token_mint(
        user=UserFactory(roles=["viewer"]), name="someone else's", days=7
    )
    page = reviewer_client.get(ACCOUNT)
    assert page.status_code == 200
    html = page.content.decode()
    assert reviewer.username in html
    assert "reviewer" in html
    assert "nightly report" in html
    assert token.token_key in html
    assert secret not in html
    assert "someone else" not in html
    assert other.token_key not in html
    assert "no-store" in page["Cache-Control"]


def test_the_header_links_to_the_account_page(viewer_client):
    html = viewer_client.get(reverse("overview")).content.decode()
    assert f'href="{ACCOUNT}"' in html


def test_minting_shows_the_secret_once(viewer, viewer_client):
    response = viewer_client.post(MINT, {"name": "my script", "days": "30"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=viewer)
    secret = response.context["secret"]
    assert secret.startswith(token.token_key)
    assert secret in response.content.decode()
    # Never again: not on the next page, not in the session.
    again = viewer_client.get(ACCOUNT)
    assert secret not in again.content.decode()
    assert secret not in str(dict(viewer_client.session))
    api = DjangoClient(headers={"Authorization": f"Token {secret}"})
    assert api.get(reverse("api-session-list")).status_code == 200
    event = AuditEvent.objects.get(action="api_token.mint")
    assert (event.actor, event.source, event.after["name"]) == (
        viewer,
        "web",
        "my script",
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "days": "30"}, "This field is required"),
        ({"name": "x", "days": "1000"}, "Select a valid choice"),
        ({"name": "x" * 101, "days": "7"}, "at most 100 characters"),
    ],
)
def test_bad_input_is_a_400_with_the_error_and_mints_nothing(
    viewer_client, form, message
):
    response = viewer_client.post(MINT, form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_duplicate_name_is_a_400(viewer, viewer_client):
    api_token_mint(user=viewer, name="ci", days=7)
    response = viewer_client.post(MINT, {"name": "ci", "days": "7"})
    assert response.status_code == 400
    assert "already have a token named" in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_the_lifetimes_offered_follow_the_setting(settings, viewer_client):
    settings.VERITY_API_TOKEN_MAX_DAYS = 30
    choices = viewer_client.get(ACCOUNT).context["form"].fields["days"].choices
    assert choices == [(7, "7 days"), (30, "30 days")]
    response = viewer_client.post(MINT, {"name": "long", "days": "90"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_a_user_without_a_role_sees_the_page_but_cannot_mint(client):
    client.force_login(UserFactory(username="no-role"))
    page = client.get(ACCOUNT)
    assert page.status_code == 200
    assert "cannot create tokens" in page.content.decode()
    assert page.context["form"] is None
    assert client.post(MINT, {"name": "x", "days": "7"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_the_mint_form_has_no_owner_field_so_no_one_mints_for_another(
    admin_user, admin_client_verity, viewer
):
    response = admin_client_verity.post(
        MINT, {"name": "for vera", "days": "7", "user": viewer.pk}
    )
    assert response.status_code == 200
    assert list(ApiToken.objects.values_list("user", flat=True)) == [admin_user.pk]


def test_revoking_a_token(viewer, viewer_client):
    token, secret = api_token_mint(user=viewer, name="old", days=7)
    response = viewer_client.post(reverse("account-token-revoke", args=[token.digest]))
    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    assert not ApiToken.objects.exists()
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert (event.actor, event.source) == (viewer, "web")
    api = DjangoClient(headers={"Authorization": f"Token {secret}"})
    assert api.get(reverse("api-session-list")).status_code == 401


def test_another_users_token_cannot_be_revoked_from_the_page(
    viewer, admin_client_verity
):
    token, _ = api_token_mint(user=viewer, name="vera's", days=7)
    url = reverse("account-token-revoke", args=[token.digest])
    assert admin_client_verity.post(url).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_revoke_needs_a_post(viewer, viewer_client):
    token, _ = api_token_mint(user=viewer, name="old", days=7)
    url = reverse("account-token-revoke", args=[token.digest])
    assert viewer_client.get(url).status_code == 405
    assert ApiToken.objects.exists()


def test_revoking_all_of_ones_tokens(viewer, viewer_client, reviewer):
    api_token_mint(user=viewer, name="a", days=7)
    api_token_mint(user=viewer, name="b", days=7)
    kept, _ = api_token_mint(user=reviewer, name="a", days=7)
    response = viewer_client.post(reverse("account-tokens-revoke-all"))
    assert response.status_code == 302
    assert list(ApiToken.objects.all()) == [kept]
    events = AuditEvent.objects.filter(action="api_token.revoke")
    assert {(e.actor, e.source) for e in events} == {(viewer, "web")}
    assert events.count() == 2


def test_the_page_needs_a_login(client):
    response = client.get(ACCOUNT)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
