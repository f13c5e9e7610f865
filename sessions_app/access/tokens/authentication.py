"""DRF authentication by API token: knox's check, plus the last-use stamp.

`Authorization: Token <secret>`: knox hashes the secret, finds the row by its
prefix, compares the digests in constant time, refuses an expired token
(deleting it) and an inactive user. The request then runs as the token's owner,
with the owner's roles and nothing more.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication

from .services import api_token_used_record


class ApiTokenAuthentication(TokenAuthentication):
    def validate_user(self, auth_token: Any) -> tuple[Any, Any]:
        user, token = super().validate_user(auth_token)
        api_token_used_record(token=token)
        return user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of these tokens, under the name DRF's
    stock tokens had (`tokenAuth`), so the schema's clients see no change."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> Any:
        return build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix=self.target.authenticate_header(None),
        )
