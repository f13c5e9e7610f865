"""Single sign-on end to end: Verity against a real OpenID Connect provider
(oidc-provider-mock, in a thread), the whole authorization-code flow over HTTP.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as DjangoClient

from sessions_app.models import AuditEvent, ExternalIdentity
from tests.factories import UserFactory
from tests.helpers.oidc import (
    oidc_provider,
    oidc_user_set,
    sso_settings_apply,
    sso_sign_in,
)

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(scope="module")
def issuer():
    with oidc_provider() as url:
        yield url


@pytest.fixture
def sso(settings, issuer):
    sso_settings_apply(settings, issuer)
    return issuer


def _roles(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def test_the_sign_in_page_offers_the_identity_provider_beside_the_password(sso):
    body = DjangoClient().get("/login/?next=/sync/").content.decode()

    assert "Sign in with Test IdP" in body
    assert 'href="/login/sso/?next=/sync/"' in body
    assert 'name="password"' in body  # local accounts remain


def test_without_sso_settings_there_is_no_button_and_no_flow(client):
    assert "Sign in with" not in client.get("/login/").content.decode()
    assert client.get("/login/sso/").status_code == 404
    assert client.get("/login/sso/callback/?code=x&state=y").status_code == 404


def test_first_sign_in_creates_the_user_with_the_mapped_roles(sso):
    oidc_user_set(
        sso,
        "sub-alice",
        {
            "email": "alice@corp.example",
            "preferred_username": "alice",
            "given_name": "Alice",
            "family_name": "Ng",
            "groups": ["kyc-exporters", "all-staff"],
        },
    )
    client = DjangoClient()

    response = sso_sign_in(client, sso, "sub-alice", next_url="/sync/")

    assert response.status_code == 302
    assert response["Location"] == "/sync/"
    alice = User.objects.get(username="alice")
    assert (alice.email, alice.first_name, alice.last_name) == (
        "alice@corp.example",
        "Alice",
        "Ng",
    )
    assert not alice.has_usable_password()
    assert _roles(alice) == ["exporter", "reviewer"]
    identity = ExternalIdentity.objects.get(user=alice)
    assert (identity.issuer, identity.subject) == (sso, "sub-alice")
    assert identity.groups == ["all-staff", "kyc-exporters"]
    page = client.get("/sync/")
    assert page.status_code == 200
    assert "alice" in page.content.decode()
    [event] = AuditEvent.objects.filter(action="sso.roles")
    assert (event.actor, event.source) == (alice, "sso")
    assert event.before == {"roles": []}
    assert event.after == {
        "roles": ["exporter", "reviewer"],
        "idp_groups": ["all-staff", "kyc-exporters"],
    }


def test_roles_follow_the_group_claim_at_every_sign_in(sso):
    oidc_user_set(
        sso, "sub-bob", {"email": "bob@corp.example", "groups": ["kyc-viewers"]}
    )
    assert sso_sign_in(DjangoClient(), sso, "sub-bob").status_code == 302
    bob = User.objects.get(username="bob@corp.example")
    assert _roles(bob) == ["viewer"]

    # Moved at the identity provider: viewer goes, admin and reviewer come.
    oidc_user_set(
        sso,
        "sub-bob",
        {"email": "bob@corp.example", "groups": ["kyc-admins", "kyc-reviewers"]},
    )
    client = DjangoClient()
    assert sso_sign_in(client, sso, "sub-bob").status_code == 302
    assert _roles(bob) == ["admin", "reviewer"]
    assert client.get("/admin/").status_code == 200

    # Same groups again: nothing changes, nothing is written.
    assert sso_sign_in(DjangoClient(), sso, "sub-bob").status_code == 302

    events = list(AuditEvent.objects.filter(action="sso.roles").order_by("id"))
    assert [(e.before["roles"], e.after["roles"]) for e in events] == [
        ([], ["viewer"]),
        (["viewer"], ["admin", "reviewer"]),
    ]
    assert all(e.object_id == str(bob.pk) and e.source == "sso" for e in events)


def test_a_user_with_no_mapped_group_is_refused_with_a_page_and_no_account(sso):
    oidc_user_set(
        sso, "sub-carol", {"email": "carol@corp.example", "groups": ["all-staff"]}
    )
    client = DjangoClient()

    response = sso_sign_in(client, sso, "sub-carol")

    assert response.status_code == 403
    body = response.content.decode()
    assert "Your account has no role in Verity" in body
    assert "none of your groups there gives access" in body
    assert not User.objects.filter(email="carol@corp.example").exists()
    assert client.get("/sessions/").status_code == 302  # not signed in


def test_a_user_removed_from_every_mapped_group_loses_the_roles_and_is_refused(sso):
    oidc_user_set(
        sso, "sub-dan", {"email": "dan@corp.example", "groups": ["kyc-reviewers"]}
    )
    assert sso_sign_in(DjangoClient(), sso, "sub-dan").status_code == 302
    dan = User.objects.get(username="dan@corp.example")

    oidc_user_set(sso, "sub-dan", {"email": "dan@corp.example", "groups": []})
    response = sso_sign_in(DjangoClient(), sso, "sub-dan")

    assert response.status_code == 403
    assert _roles(dan) == []
    last = AuditEvent.objects.filter(action="sso.roles").latest("id")
    assert (last.before, last.after) == (
        {"roles": ["reviewer"]},
        {"roles": [], "idp_groups": []},
    )


def test_a_deactivated_user_is_refused(sso):
    oidc_user_set(
        sso, "sub-erin", {"email": "erin@corp.example", "groups": ["kyc-viewers"]}
    )
    assert sso_sign_in(DjangoClient(), sso, "sub-erin").status_code == 302
    User.objects.filter(username="erin@corp.example").update(is_active=False)

    response = sso_sign_in(DjangoClient(), sso, "sub-erin")

    assert response.status_code == 403
    assert "deactivated" in response.content.decode()


def test_an_identity_provider_account_claiming_a_local_admins_email_is_not_that_admin(
    sso,
):
    local = UserFactory(
        username="breakglass", email="root@corp.example", roles=["admin"]
    )
    oidc_user_set(
        sso,
        "sub-mallory",
        {
            "email": "root@corp.example",
            "preferred_username": "breakglass",
            "groups": ["kyc-viewers"],
        },
    )

    assert sso_sign_in(DjangoClient(), sso, "sub-mallory").status_code == 302

    mallory = ExternalIdentity.objects.get(subject="sub-mallory").user
    assert mallory.pk != local.pk
    assert mallory.username.startswith("breakglass-")
    assert _roles(local) == ["admin"]
    assert _roles(mallory) == ["viewer"]


def test_an_sso_admin_is_not_asked_for_a_second_factor(sso, mfa_required):
    oidc_user_set(
        sso, "sub-fay", {"email": "fay@corp.example", "groups": ["kyc-admins"]}
    )
    client = DjangoClient()

    assert sso_sign_in(client, sso, "sub-fay").status_code == 302

    assert client.get("/admin/").status_code == 200


def test_a_token_from_another_issuer_is_refused(settings, sso):
    settings.VERITY_OIDC_ISSUER = "https://idp.other.example"
    oidc_user_set(
        sso, "sub-gil", {"email": "gil@corp.example", "groups": ["kyc-admins"]}
    )

    response = sso_sign_in(DjangoClient(), sso, "sub-gil")

    assert response.status_code == 400  # SuspiciousOperation
    assert not User.objects.filter(email="gil@corp.example").exists()


def test_a_cancelled_sign_in_says_so(sso):
    client = DjangoClient()
    client.get("/login/sso/")
    state = next(iter(client.session["oidc_states"]))

    response = client.get(f"/login/sso/callback/?error=access_denied&state={state}")

    assert response.status_code == 403
    assert "Single sign-on did not complete" in response.content.decode()
