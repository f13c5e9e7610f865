"""A user's tokens die with their access: on deactivation or a password change.

Connected in `SessionsAppConfig.ready`. Signals rather than a call in each
place that changes a user, since the admin, `changepassword`, the password
change page and a single sign-on update all save the user their own way. The
user's stored password and active flag are read before the save (only when the
save may touch them) and compared after it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable

from .services import REASON_DEACTIVATED, REASON_PASSWORD_CHANGED, api_tokens_revoke_all

_WATCHED = {"password", "is_active"}


def user_access_before_save(
    sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any
) -> None:
    instance._verity_access_before = None
    if instance.pk is None or (update_fields and not _WATCHED & set(update_fields)):
        return  # a new user, or a save that leaves both alone (last_login)
    stored = (
        sender._default_manager.filter(pk=instance.pk)
        .values("password", "is_active")
        .first()
    )
    instance._verity_access_before = stored


def _hash_outdated(encoded: str) -> bool:
    """Whether Django would re-hash `encoded` at the next correct login."""
    try:
        hasher = identify_hasher(encoded)
    except ValueError:
        return False
    preferred = get_hasher("default")
    return hasher.algorithm != preferred.algorithm or preferred.must_update(encoded)


def _password_changed(instance: Any, stored_hash: str) -> bool:
    if instance.password == stored_hash:
        return False
    if getattr(instance, "_password", None) is not None:
        return True  # set_password: a new password (or the same one set again)
    # Django re-hashes a correct password at login when its hasher settings
    # changed (check_password's setter, which clears `_password`): the same
    # password under a new hash, not a change. Anything else (an unusable
    # password, a hash written directly) is one.
    return not (is_password_usable(instance.password) and _hash_outdated(stored_hash))


def user_access_after_save(
    sender: Any, instance: Any, created: bool = False, **kwargs: Any
) -> None:
    stored = getattr(instance, "_verity_access_before", None)
    instance._verity_access_before = None
    if created or not stored:
        return
    if stored["is_active"] and not instance.is_active:
        reason = REASON_DEACTIVATED
    elif _password_changed(instance, stored["password"]):
        reason = REASON_PASSWORD_CHANGED
    else:
        return
    api_tokens_revoke_all(user=instance, actor=None, source="system", reason=reason)
