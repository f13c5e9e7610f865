"""Single sign-on settings read from VERITY_OIDC_* (docs/operations.md, "Single sign-on").

Parsed and checked when the settings load, so a typo in the group mapping or a
missing endpoint stops the process at start-up instead of refusing every
officer at their first sign-in. Imports nothing of Django's app registry:
settings modules call it before the apps exist.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from sessions_app.roles import ROLES

# What an enabled SSO needs besides the client id, by environment variable.
OIDC_REQUIRED_WHEN_ENABLED = (
    "VERITY_OIDC_ISSUER",
    "VERITY_OIDC_CLIENT_SECRET",
    "VERITY_OIDC_AUTHORIZATION_ENDPOINT",
    "VERITY_OIDC_TOKEN_ENDPOINT",
    "VERITY_OIDC_USERINFO_ENDPOINT",
    "VERITY_OIDC_JWKS_ENDPOINT",
    "VERITY_OIDC_ROLE_MAP",
)


def oidc_role_map_parse(raw: str) -> dict[str, tuple[str, ...]]:
    """Parse VERITY_OIDC_ROLE_MAP: a JSON object, identity-provider group ->
    one Verity role or a list of them.

    JSON, not `a=b,c=d`: group names are often LDAP names full of commas and
    equals signs (`CN=Verity Admins,OU=Groups,DC=example,DC=com`).
    """
    try:
        value: Any = json.loads(raw or "{}")
    except ValueError as error:
        raise ImproperlyConfigured(
            f"VERITY_OIDC_ROLE_MAP is not valid JSON ({error}); expected an object "
            'such as {"verity-admins": ["admin"], "kyc-team": ["reviewer", "exporter"]}.'
        ) from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(
            "VERITY_OIDC_ROLE_MAP must be a JSON object of group -> role(s)."
        )
    role_map: dict[str, tuple[str, ...]] = {}
    for group, roles in value.items():
        names = [roles] if isinstance(roles, str) else roles
        if not isinstance(names, list) or not all(isinstance(r, str) for r in names):
            raise ImproperlyConfigured(
                f"VERITY_OIDC_ROLE_MAP[{group!r}] must be a role or a list of roles."
            )
        unknown = sorted(set(names) - set(ROLES))
        if unknown:
            raise ImproperlyConfigured(
                f"VERITY_OIDC_ROLE_MAP[{group!r}] names unknown role(s) "
                f"{', '.join(unknown)}; Verity's roles are {', '.join(ROLES)}."
            )
        role_map[group] = tuple(dict.fromkeys(names))
    return role_map
