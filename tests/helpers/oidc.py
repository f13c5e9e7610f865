"""A real OpenID Connect provider for the tests (oidc-provider-mock), and the
browser's part of the authorization-code flow against it.

The provider runs in a thread on a free port of localhost; any client id and
secret are accepted. `oidc_user_set` says which claims a subject signs in
with; `sso_sign_in` walks the flow: Verity's start view, the provider's
authorization form (POSTing the subject, as a person clicking "Authorize"
would), and Verity's callback, which then calls the provider's token,
JWKS and userinfo endpoints itself over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests
from django.test import Client as DjangoClient

SSO_BACKEND = "sessions_app.access.sso_backend.VerityOIDCBackend"
CLIENT_ID = "verity-test"
ROLE_MAP = {
    "kyc-admins": ("admin",),
    "kyc-reviewers": ("reviewer",),
    "kyc-exporters": ("reviewer", "exporter"),
    "kyc-viewers": ("viewer",),
}


@contextmanager
def oidc_provider() -> Iterator[str]:
    """Run the provider; yield its issuer URL."""
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def sso_settings_apply(settings: Any, issuer: str) -> None:
    """Point Verity's SSO settings at the provider (what VERITY_OIDC_* set)."""
    settings.VERITY_OIDC_ENABLED = True
    settings.VERITY_OIDC_NAME = "Test IdP"
    settings.VERITY_OIDC_ISSUER = issuer
    settings.VERITY_OIDC_GROUPS_CLAIM = "groups"
    settings.VERITY_OIDC_ROLE_MAP = ROLE_MAP
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "test-secret"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{issuer}/oauth2/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{issuer}/oauth2/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{issuer}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{issuer}/jwks"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, SSO_BACKEND]


def oidc_user_set(issuer: str, subject: str, claims: dict[str, Any]) -> None:
    response = requests.put(
        f"{issuer}/users/{quote(subject, safe='')}", json=claims, timeout=10
    )
    assert response.status_code == 204, response.text


def sso_sign_in(
    client: DjangoClient, issuer: str, subject: str, *, next_url: str = "/sessions/"
) -> Any:
    """Walk the authorization-code flow; return Verity's callback response."""
    start = client.get(f"/login/sso/?next={quote(next_url)}")
    assert start.status_code == 302, start.content
    assert start["Location"].startswith(f"{issuer}/oauth2/authorize?")
    authorized = requests.post(
        start["Location"], data={"sub": subject}, allow_redirects=False, timeout=10
    )
    assert authorized.status_code == 302, authorized.text
    callback = authorized.headers["Location"]
    assert callback.startswith("http://testserver/login/sso/callback/?"), callback
    return client.get(callback)
