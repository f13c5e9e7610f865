"""The per-connection sync lease: one sync of one connection at a time.

Contract:

- The lease lives on the ProviderConnection row (`lock_token`,
  `lock_expires_at`). `connection_lease_acquire` takes it with ONE conditional
  UPDATE (free or expired → ours), so two workers racing for the same
  connection cannot both win. That works the same on SQLite and PostgreSQL and
  across any number of Celery workers, with no broker or cache involved.
- Its time to live is SHORT (VERITY_SYNC_LEASE_SECONDS, 60 s by default) and
  the holder keeps renewing it while it is alive, so a holder that dies
  without releasing it (SIGKILL, OOM, a lost machine) blocks its connection
  for at most one TTL: the next run takes the expired lease and marks the
  dead run `interrupted` (`sync.runs.sync_runs_interrupted_mark`).
- Two renewals, both conditional on the token: every committed page renews
  it in the UPDATE that stores the page's cursor (`connection_lease_renew`),
  and a keeper thread (`LeaseKeeper`) renews it every third of the TTL while
  the run lives. Why a thread: between two commits the adapter may spend
  longer than any TTL on ONE page (a page of 25 sessions read by id, a few
  requests each, at a sandbox's 30 requests a minute is over two minutes, and
  requests may wait out Retry-After). Renewing from the engine loop or the
  Budget would only happen between adapter pages, and the adapters, their
  HTTP clients and their pools would all have to call back into the lease to
  renew between reads. The thread renews whatever the adapter is doing and
  dies with the process, which is exactly when the lease should lapse.
- The keeper stops renewing after `lease_hold_limit()` (the task's hard time
  limit, or the run's budget if longer, plus one TTL): a run wedged past any
  legitimate length loses its lease like a dead one, and its next commit
  fails with LeaseLost.
- A renewal that finds the lease gone (expired and taken by another run, or
  released by an admin on /sync/) means this run must stop: the keeper
  records it (`LeaseKeeper.lost`), the engine stops after the current page,
  and the commit, whose renewal fails too, raises LeaseLost and rolls that
  page back. Two holders can never both advance the cursor.
- The holder releases the lease when it is done, only if still its own
  (`connection_lease_release`).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

from ..models import ProviderConnection

logger = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """The lease expired and another run took it: stop before writing a cursor."""


def lease_seconds() -> float:
    """Return the lease TTL (VERITY_SYNC_LEASE_SECONDS): short, kept alive by renewals."""
    return max(float(settings.VERITY_SYNC_LEASE_SECONDS), 1.0)


def lease_hold_limit(*, budget_seconds: float = 0.0) -> float:
    """Return how long a keeper renews a lease: no legitimate run lives longer.

    A Celery task is killed at its hard time limit; a foreground run's budget
    may be longer. One TTL more covers the commit after the budget ran out.
    """
    hard_limit = float(getattr(settings, "CELERY_TASK_TIME_LIMIT", 0) or 0)
    return max(hard_limit, budget_seconds) + lease_seconds()


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
    # `lt=now`: a lease is taken over once it has expired, never before.
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


def connection_lease_extend(*, connection_id: int, token: str) -> bool:
    """Push the lease's expiry one TTL from now if `token` still holds it."""
    return connection_lease_renew(
        connection_id=connection_id, token=token, now=timezone.now()
    )


class LeaseKeeper:
    """Renews a held lease every third of its TTL from a daemon thread.

    `lost` is set when a renewal finds the lease no longer ours (released by
    an admin, or expired and taken by another run): the holder must stop.
    A database error is logged and retried at the next beat (the commits
    renew the lease too); it never ends the run by itself.
    """

    def __init__(
        self,
        *,
        connection_id: int,
        token: str,
        interval: float | None = None,
        hold_limit: float | None = None,
    ) -> None:
        self.connection_id = connection_id
        self.token = token
        self.interval = interval if interval is not None else lease_seconds() / 3
        self.hold_limit = hold_limit if hold_limit is not None else lease_hold_limit()
        self.lost = threading.Event()
        self.renewals = 0
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"lease-keeper-{connection_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=max(self.interval, 1.0) + 5.0)

    def _run(self) -> None:
        started = time.monotonic()
        try:
            while not self._done.wait(self.interval):
                if time.monotonic() - started > self.hold_limit:
                    logger.warning(
                        "Sync of connection %s has held its lease for over %.0f s; "
                        "no longer renewing it.",
                        self.connection_id,
                        self.hold_limit,
                    )
                    return
                try:
                    kept = connection_lease_extend(
                        connection_id=self.connection_id, token=self.token
                    )
                except DatabaseError as exc:
                    logger.warning(
                        "Could not renew the sync lease of connection %s (%s).",
                        self.connection_id,
                        exc,
                    )
                    close_old_connections()
                    continue
                if not kept:
                    logger.warning(
                        "The sync lease of connection %s is no longer this run's; "
                        "stopping after the current page.",
                        self.connection_id,
                    )
                    self.lost.set()
                    return
                self.renewals += 1
        finally:
            # This thread's own database connection.
            connections.close_all()


@contextmanager
def lease_kept(
    *, connection_id: int, token: str, hold_limit: float | None = None
) -> Iterator[LeaseKeeper]:
    """Keep the lease renewed while inside (see LeaseKeeper)."""
    keeper = LeaseKeeper(
        connection_id=connection_id, token=token, hold_limit=hold_limit
    )
    keeper.start()
    try:
        yield keeper
    finally:
        keeper.stop()
