"""Every write to API tokens: mint, revoke, revoke all, the last-use stamp.

Minting and revoking are audited in the transaction of the change, with the
token's name and key prefix (`token_key`), never its secret or digest. Who may
mint: an active user whose roles may read the API (every desk role: viewer,
reviewer, exporter, admin; `user_can_view`). A token authenticates as its
owner, so it carries exactly the owner's permissions, never more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ...exceptions import ApplicationError
from ...models import ApiToken
from ...roles import user_can_view, user_is_admin
from ...services import audit_event_record
from .models import API_TOKEN_NAME_MAX_LENGTH

# The lifetimes offered when minting, in days; VERITY_API_TOKEN_MAX_DAYS caps them.
API_TOKEN_LIFETIMES_DAYS = (7, 30, 90, 365)
# A token's last use is stamped at most this often: one UPDATE a minute, not
# one per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)

# Why a token was revoked without its owner or an admin asking (audit `reason`).
REASON_DEACTIVATED = "user_deactivated"
REASON_PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an audit reason


def api_token_lifetimes_days() -> list[int]:
    """Return the lifetimes a user may choose, capped by VERITY_API_TOKEN_MAX_DAYS."""
    cap = max(1, int(settings.VERITY_API_TOKEN_MAX_DAYS))
    choices = [days for days in API_TOKEN_LIFETIMES_DAYS if days <= cap]
    if cap not in choices:
        choices.append(cap)
    return choices


def api_token_mint_allowed(*, user: Any) -> bool:
    """Whether `user` may mint API tokens: active, with a role that reads the API."""
    return bool(user.is_authenticated and user.is_active and user_can_view(user))


def _token_facts(token: ApiToken) -> dict[str, Any]:
    """What the audit records of a token: never the secret, never the digest."""
    return {
        "name": token.name,
        "key_prefix": token.token_key,
        "owner": token.user.get_username(),
        "expires_at": token.expiry,
    }


def _audit(
    *,
    token: ApiToken,
    actor: Any,
    source: str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    audit_event_record(
        actor=actor,
        source=source,
        action=action,
        object_type=ApiToken._meta.label_lower,
        object_id=token.token_key,
        object_repr=f"{token} of {token.user.get_username()}",
        before=before,
        after=after,
    )


@transaction.atomic
def api_token_mint(
    *, user: Any, name: str, days: int, source: str = "web"
) -> tuple[ApiToken, str]:
    """Mint a token for `user` themselves; return it and its secret (shown once).

    Raise ApplicationError for a user whose roles do not reach the API, a
    blank, too long or already used name, or a lifetime not on offer.
    """
    if not api_token_mint_allowed(user=user):
        raise ApplicationError("Your roles do not include API access.")
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A token needs a name.")
    if len(name) > API_TOKEN_NAME_MAX_LENGTH:
        raise ApplicationError(
            f"A token's name holds at most {API_TOKEN_NAME_MAX_LENGTH} characters."
        )
    allowed = api_token_lifetimes_days()
    if days not in allowed:
        raise ApplicationError(
            f"A token lives {', '.join(map(str, allowed))} days; not {days}."
        )
    if ApiToken.objects.filter(user=user, name=name).exists():
        raise ApplicationError(f"You already have a token named {name!r}.")
    try:
        with transaction.atomic():
            token, secret = ApiToken.objects.create(
                user=user, expiry=dt.timedelta(days=days), name=name
            )
    except IntegrityError as exc:  # the same name minted concurrently
        raise ApplicationError(f"You already have a token named {name!r}.") from exc
    _audit(
        token=token,
        actor=user,
        source=source,
        action="api_token.mint",
        after=_token_facts(token),
    )
    return token, secret


@transaction.atomic
def api_token_revoke(
    *, token: ApiToken, actor: Any, source: str = "web", reason: str = ""
) -> None:
    """Delete a token, audited. Its owner or an admin may; `actor=None` is Verity
    itself (with a `reason`: a deactivation, a password change)."""
    if actor is not None and actor.pk != token.user_id and not user_is_admin(actor):
        raise ApplicationError("Only the token's owner or an admin may revoke it.")
    deleted, _ = ApiToken.objects.filter(pk=token.pk).delete()
    if not deleted:
        return  # already gone (revoked twice, or expired and cleaned up)
    _audit(
        token=token,
        actor=actor,
        source=source,
        action="api_token.revoke",
        before=_token_facts(token),
        after={"reason": reason} if reason else {},
    )


@transaction.atomic
def api_tokens_revoke_all(
    *, user: Any, actor: Any, source: str, reason: str = ""
) -> int:
    """Revoke every token of `user` (one audit event each); return how many."""
    tokens = list(ApiToken.objects.filter(user=user).select_related("user"))
    for token in tokens:
        api_token_revoke(token=token, actor=actor, source=source, reason=reason)
    return len(tokens)


def api_token_used_record(*, token: ApiToken, now: dt.datetime | None = None) -> None:
    """Stamp the token's last use, at most once per LAST_USED_RESOLUTION.

    Not audited: it records use, not a change of who may do what (like
    Django's `last_login`).
    """
    now = now or timezone.now()
    updated = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(
            Q(last_used_at__isnull=True)
            | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        )
        .update(last_used_at=now)
    )
    if updated:
        token.last_used_at = now
