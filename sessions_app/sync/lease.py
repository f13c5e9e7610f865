"""The per-connection sync lease: one sync of one connection at a time.

Contract:

- The lease lives on the ProviderConnection row (`lock_token`,
  `lock_expires_at`). `connection_lease_acquire` takes it with ONE conditional
  UPDATE (free or expired → ours), so two workers racing for the same
  connection cannot both win. That works the same on SQLite and PostgreSQL and
  across any number of Celery workers, with no broker or cache involved.
- Its time to live is never shorter than the Celery task's hard time limit
  (`lease_seconds`): a run the worker kills leaves a lease that expires on its
  own, and a later run takes it over.
- The holder renews it with every committed page (`connection_lease_renew`,
  the same UPDATE that stores the page's cursor) and releases it when it is
  done, only if still its own (`connection_lease_release`). A renewal that
  finds the lease taken by another run means this run outlived its TTL: the
  caller raises LeaseLost and rolls its page back.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..models import ProviderConnection


class LeaseLost(RuntimeError):
    """The lease expired and another run took it: stop before writing a cursor."""


def lease_seconds() -> int:
    """Return the lease TTL: never shorter than the task's hard time limit."""
    hard_limit = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 0) or 0)
    return max(int(settings.VERITY_SYNC_LEASE_SECONDS), hard_limit + 30)


def connection_lease_acquire(
    *, connection_id: int, ttl_seconds: int | None = None
) -> str | None:
    """Take the connection's sync lease; return its token, or None if it is held.

    ONE conditional UPDATE does the test-and-set, so two workers racing for the
    same connection cannot both win, on SQLite or PostgreSQL.
    """
    token = secrets.token_hex(16)
    now = timezone.now()
    ttl = ttl_seconds if ttl_seconds is not None else lease_seconds()
    taken = ProviderConnection.objects.filter(
        Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lt=now), pk=connection_id
    ).update(lock_token=token, lock_expires_at=now + dt.timedelta(seconds=ttl))
    return token if taken else None


def connection_lease_renew(
    *, connection_id: int, token: str, now: dt.datetime, **fields: Any
) -> bool:
    """Extend the lease if `token` still holds it, writing `fields` in the same UPDATE.

    Return False (and write nothing) when another run holds the lease now.
    """
    return bool(
        ProviderConnection.objects.filter(pk=connection_id, lock_token=token).update(
            **fields, lock_expires_at=now + dt.timedelta(seconds=lease_seconds())
        )
    )


def connection_lease_release(*, connection_id: int, token: str) -> bool:
    """Release the lease if `token` still holds it (a later holder keeps theirs)."""
    return bool(
        ProviderConnection.objects.filter(pk=connection_id, lock_token=token).update(
            lock_token="", lock_expires_at=None
        )
    )


def connection_lease_expires_at(*, connection_id: int) -> dt.datetime | None:
    """Return when the connection's current lease expires (None if it has none)."""
    return (
        ProviderConnection.objects.filter(pk=connection_id)
        .values_list("lock_expires_at", flat=True)
        .first()
    )


def connection_lease_remaining(*, connection_id: int) -> float:
    """Return the seconds until the connection's lease expires (0 if it is free)."""
    until = connection_lease_expires_at(connection_id=connection_id)
    if until is None:
        return 0.0
    return max((until - timezone.now()).total_seconds(), 0.0)
