"""Clearing a login lockout is audited, however it is cleared.

django-axes keeps a lockout as `AccessAttempt` rows (per username and client
IP). They are cleared by Verity's admin (admin/lockouts.py), by axes' own
`axes_reset*` commands, or by anything else that deletes them; a receiver on
their deletion records each cleared lockout as a `lockout.clear` AuditEvent in
the same transaction. Axes' own housekeeping is left out: it deletes rows
below the failure limit after a successful login and rows whose cool-off has
passed, neither of which is a lockout being lifted by someone.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models.signals import post_delete
from django.utils import timezone

from .services import audit_event_record

# (actor, source) of the deletion in progress, set by the admin: every row it
# deletes is recorded, locked or not, with who deleted it.
_CLEARING: contextvars.ContextVar[tuple[Any, str] | None] = contextvars.ContextVar(
    "verity_lockout_clearing", default=None
)


@contextlib.contextmanager
def lockout_clearing(*, actor: Any, source: str) -> Iterator[None]:
    """Attribute the AccessAttempt deletions made inside to `actor`."""
    token = _CLEARING.set((actor, source))
    try:
        yield
    finally:
        _CLEARING.reset(token)


def lockout_active(attempt: AccessAttempt) -> bool:
    """Whether `attempt` holds a lockout now: at the failure limit, in its cool-off."""
    if attempt.failures_since_start < settings.AXES_FAILURE_LIMIT:
        return False
    cool_off = settings.AXES_COOLOFF_TIME
    if cool_off is None or attempt.attempt_time is None:
        return True
    return attempt.attempt_time + cool_off > timezone.now()


def access_attempt_deleted(sender: Any, instance: AccessAttempt, **kwargs: Any) -> None:
    clearing = _CLEARING.get()
    if clearing is None and not lockout_active(instance):
        return
    actor, source = clearing or (None, "command")
    audit_event_record(
        actor=actor,
        source=source,
        action="lockout.clear",
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=f"{instance.username} from {instance.ip_address}"[:255],
        before={
            "username": instance.username,
            "ip_address": instance.ip_address,
            "user_agent": instance.user_agent,
            "failures_since_start": instance.failures_since_start,
            "attempt_time": instance.attempt_time,
            "locked_out": lockout_active(instance),
        },
    )


def lockout_audit_connect() -> None:
    post_delete.connect(
        access_attempt_deleted,
        sender=AccessAttempt,
        dispatch_uid="verity-lockout-clear-audit",
    )
