"""mozilla-django-oidc's authentication backend, Verity's way.

The library verifies the ID token's signature (JWKS) and nonce; this backend
also checks its issuer and audience (the library does not), matches users by
(issuer, subject) instead of by email, and hands the claims to
`sso.sso_user_sign_in`, which creates the user and sets their roles.

A refusal is left on the request (`request.verity_sso_refusal`) so the
callback view can say why, instead of the library's bare redirect.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .sso import sso_user_sign_in

logger = logging.getLogger(__name__)
REFUSAL_ATTRIBUTE = "verity_sso_refusal"


class VerityOIDCBackend(OIDCAuthenticationBackend):
    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload = super().verify_token(token, **kwargs)
        issuer = settings.VERITY_OIDC_ISSUER.rstrip("/")
        if str(payload.get("iss", "")).rstrip("/") != issuer:
            raise SuspiciousOperation("ID token from another issuer.")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token for another client.")
        if not payload.get("sub"):
            raise SuspiciousOperation("ID token without a subject.")
        return payload

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> Any:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload["sub"]:
            # OpenID Connect Core 5.3.2: the userinfo must be the token's subject.
            raise SuspiciousOperation("Userinfo for another subject.")
        # Groups may come in the ID token (Entra ID) or the userinfo (most).
        claims = {**payload, **userinfo}
        outcome = sso_user_sign_in(
            issuer=settings.VERITY_OIDC_ISSUER.rstrip("/"),
            subject=str(payload["sub"]),
            claims=claims,
            groups_claim=settings.VERITY_OIDC_GROUPS_CLAIM,
            role_map=settings.VERITY_OIDC_ROLE_MAP,
        )
        if outcome.refused:
            logger.info(
                "SSO sign-in of %s refused: %s", payload["sub"], outcome.refused
            )
            setattr(self.request, REFUSAL_ATTRIBUTE, outcome.refused)
            return None
        return outcome.user

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        # Only the callback carries a nonce; a password sign-in passes
        # username/password, which this backend must leave to ModelBackend.
        if request is None or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)
