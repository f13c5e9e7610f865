"""Single sign-on: the identity provider's groups decide Verity's roles.

`sso_roles_from_claims` is the mapping (settings VERITY_OIDC_GROUPS_CLAIM and
VERITY_OIDC_ROLE_MAP); `sso_user_sign_in` is the one write a sign-in makes:
it finds the user by (issuer, subject) or creates them, makes their roles
exactly the mapped ones (adding and removing), and audits every change
(action `sso.roles`, source `sso`). A user none of whose groups maps to a role
is refused; if they had signed in before, their roles are taken away first, so
a user removed from the groups keeps no access.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from ..models import ExternalIdentity
from ..roles import ROLES
from ..services import audit_event_record

SOURCE = "sso"
ROLES_ACTION = "sso.roles"
USERNAME_MAX = 150


@dataclass(frozen=True)
class SSOSignIn:
    """What a sign-in came to: the user, or why they were refused."""

    user: Any = None
    refused: str = ""  # "no_role", "inactive"
    groups: tuple[str, ...] = ()


def sso_groups_from_claims(
    *, claims: Mapping[str, Any], groups_claim: str
) -> list[str]:
    """The user's groups from the claim: a list of names, or one name.

    Anything else (absent, a number, a map) counts as no group.
    """
    value = claims.get(groups_claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def sso_roles_from_claims(
    *,
    claims: Mapping[str, Any],
    groups_claim: str,
    role_map: Mapping[str, Iterable[str]],
) -> list[str]:
    """Verity's roles for these claims: the union of the mapped groups' roles,
    in the order of ROLES. Group names match exactly (case and all)."""
    granted: set[str] = set()
    for group in sso_groups_from_claims(claims=claims, groups_claim=groups_claim):
        granted.update(role_map.get(group, ()))
    return [role for role in ROLES if role in granted]


def _username_for(*, claims: Mapping[str, Any], issuer: str, subject: str) -> str:
    """A readable, free username: preferred_username, else email, else sub.

    A name already taken (a local account, say) gets a suffix from the
    subject, so an SSO user never takes over an existing account by name.
    """
    user_model = get_user_model()
    base = ""
    for claim in ("preferred_username", "email"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            base = value.strip()
            break
    base = (base or subject)[:USERNAME_MAX]
    if not user_model.objects.filter(username=base).exists():
        return base
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:8]
    return f"{base[: USERNAME_MAX - 9]}-{digest}"


def _text_claim(claims: Mapping[str, Any], name: str, limit: int) -> str:
    value = claims.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _roles_set(*, user: Any, roles: list[str], groups: list[str]) -> None:
    """Make the user's Verity roles exactly `roles`; audit a change.

    Groups that are not Verity roles are left alone.
    """
    before = sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    after = sorted(roles)
    if before == after:
        return
    user.groups.remove(*Group.objects.filter(name__in=set(before) - set(after)))
    user.groups.add(*Group.objects.filter(name__in=set(after) - set(before)))
    audit_event_record(
        actor=user,
        source=SOURCE,
        action=ROLES_ACTION,
        obj=user,
        before={"roles": before},
        after={"roles": after, "idp_groups": sorted(groups)},
    )


def sso_user_sign_in(
    *,
    issuer: str,
    subject: str,
    claims: Mapping[str, Any],
    groups_claim: str,
    role_map: Mapping[str, Iterable[str]],
) -> SSOSignIn:
    """Sign a subject of the identity provider in: create or update its user,
    set its roles from the claims, audit each role change. One transaction."""
    groups = sso_groups_from_claims(claims=claims, groups_claim=groups_claim)
    roles = sso_roles_from_claims(
        claims=claims, groups_claim=groups_claim, role_map=role_map
    )
    with transaction.atomic():
        identity = (
            ExternalIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is None and not roles:
            # Nobody to update and nothing to grant: no account is made.
            return SSOSignIn(refused="no_role", groups=tuple(groups))
        if identity is None:
            user = get_user_model().objects.create_user(
                username=_username_for(claims=claims, issuer=issuer, subject=subject),
                email=_text_claim(claims, "email", 254),
            )
            # No password: this account signs in through the identity provider only.
            user.set_unusable_password()
            identity = ExternalIdentity(user=user, issuer=issuer, subject=subject)
        else:
            user = identity.user
        user.email = _text_claim(claims, "email", 254) or user.email
        user.first_name = _text_claim(claims, "given_name", 150) or user.first_name
        user.last_name = _text_claim(claims, "family_name", 150) or user.last_name
        user.save()
        identity.groups = sorted(groups)
        identity.last_login_at = timezone.now()
        identity.save()
        _roles_set(user=user, roles=roles, groups=groups)
        if not roles:
            return SSOSignIn(refused="no_role", groups=tuple(groups))
        if not user.is_active:
            return SSOSignIn(refused="inactive", groups=tuple(groups))
        return SSOSignIn(user=user, groups=tuple(groups))
