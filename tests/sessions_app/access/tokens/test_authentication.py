"""`Authorization: Token <secret>` against the API: the shown-once secret works,
as its owner and no more; expired, revoked, wrong and inactive-user tokens are
refused with a 401; a use is stamped."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse

from sessions_app.access.tokens.services import api_token_mint, api_token_revoke
from sessions_app.models import ApiToken, Review
from tests.factories import WorkflowSessionFactory

pytestmark = pytest.mark.django_db

SESSIONS = reverse("api-session-list")


def _api(secret: str) -> DjangoClient:
    return DjangoClient(headers={"Authorization": f"Token {secret}"})


def test_the_secret_authenticates_as_its_owner(viewer):
    _, secret = api_token_mint(user=viewer, name="script", days=7)
    response = _api(secret).get(SESSIONS)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "header",
    [
        "Token verity_0000000000000000000000000000000000000000000000000000000000000000",
        "Token not-a-token",
        "Token",
        "Token a b",
    ],
)
def test_a_wrong_token_is_a_401_with_the_token_challenge(viewer, header):
    api_token_mint(user=viewer, name="script", days=7)
    response = DjangoClient(headers={"Authorization": header}).get(SESSIONS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_near_miss_of_a_real_secret_is_refused(viewer):
    # Same 15-character prefix (knox finds the row by it), different rest.
    _, secret = api_token_mint(user=viewer, name="script", days=7)
    forged = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    assert _api(forged).get(SESSIONS).status_code == 401


def test_an_expired_token_is_refused_and_deleted(viewer, clock):
    token, secret = api_token_mint(user=viewer, name="short", days=7)
    clock.advance(days=6, hours=23)
    assert _api(secret).get(SESSIONS).status_code == 200
    clock.advance(hours=2)
    assert _api(secret).get(SESSIONS).status_code == 401
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_a_revoked_token_is_refused(viewer):
    token, secret = api_token_mint(user=viewer, name="gone", days=7)
    assert _api(secret).get(SESSIONS).status_code == 200
    api_token_revoke(token=token, actor=viewer)
    assert _api(secret).get(SESSIONS).status_code == 401


def test_a_token_of_an_inactive_user_is_refused(viewer):
    _, secret = api_token_mint(user=viewer, name="script", days=7)
    # Bypassing save() (and so the signal that would revoke it): knox's own
    # check of the user still refuses.
    type(viewer).objects.filter(pk=viewer.pk).update(is_active=False)
    assert _api(secret).get(SESSIONS).status_code == 401


def test_a_viewers_token_reads_but_cannot_decide(viewer):
    session = WorkflowSessionFactory()
    _, secret = api_token_mint(user=viewer, name="script", days=7)
    api = _api(secret)
    assert api.get(SESSIONS).status_code == 200
    response = api.post(
        reverse("api-session-reviews", args=[session.pk]),
        {"decision": "approve", "reason_code": "verified"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Review.objects.exists()


def test_a_reviewers_token_decides_as_the_reviewer(reviewer):
    session = WorkflowSessionFactory()
    _, secret = api_token_mint(user=reviewer, name="script", days=7)
    response = _api(secret).post(
        reverse("api-session-reviews", args=[session.pk]),
        {"decision": "approve", "reason_code": "verified"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Review.objects.get().reviewer == reviewer


def test_a_token_loses_what_its_owner_loses(reviewer):
    _, secret = api_token_mint(user=reviewer, name="script", days=7)
    reviewer.groups.clear()
    assert _api(secret).get(SESSIONS).status_code == 403


def test_a_use_is_stamped(viewer, clock):
    token, secret = api_token_mint(user=viewer, name="script", days=7)
    clock.advance(minutes=5)
    _api(secret).get(SESSIONS)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == clock.now


def test_tokens_do_not_open_the_staff_pages(viewer):
    _, secret = api_token_mint(user=viewer, name="script", days=7)
    response = _api(secret).get(reverse("session-list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
