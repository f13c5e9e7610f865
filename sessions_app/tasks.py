"""Celery tasks: thin interfaces around the sync services in `sync/`.

Every task takes ids, never objects or secrets, and is safe to run twice
(`acks_late` redelivers after a worker dies): the per-connection lease makes a
second copy a `skipped` run, and the upserts are idempotent.

- `dispatch_due_syncs` is the beat tick (config/celery.py): it enqueues one
  `sync_connection` per enabled connection that is due and not leased.
- `sync_connection` runs one bounded sync. A `partial` run re-enqueues itself
  to continue from the committed cursor; a 429 becomes `self.retry` with the
  provider's Retry-After (capped far below the broker's visibility timeout);
  a held lease is logged and dropped, never retried, except by a redelivered
  copy (below).
- A redelivered copy (its worker died before acknowledging it) is the
  continuation of an interrupted pass: it is never dropped as "not due", and
  if the dead run's lease still blocks it, it retries once that lease has
  expired, then resumes from the last committed cursor.
- `session_refresh` is the targeted refresh a webhook asks for.

`dispatch_due_syncs` and `session_refresh` run on the control queue, syncs on
the default one (config/celery.py).
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .exceptions import ProviderRateLimited, ProviderUnavailable
from .models import ProviderConnection, SyncRunState, SyncTrigger

logger = logging.getLogger(__name__)


def retry_countdown(retry_after: float, *, attempt: int = 0) -> float:
    """Return seconds to wait before retrying: Retry-After, capped, plus jitter.

    The cap keeps every countdown far below the Redis visibility timeout, past
    which a delayed message would be delivered a second time. Without a usable
    Retry-After the wait grows exponentially with the attempt number.
    """
    cap = float(settings.VERITY_RETRY_COUNTDOWN_CAP)
    base = retry_after if retry_after and retry_after > 0 else 2.0 ** (attempt + 4)
    jitter = random.uniform(0, float(settings.VERITY_RETRY_JITTER_SECONDS))  # noqa: S311
    return min(float(base), cap) + jitter


def _redelivered(request: Any) -> bool:
    """Return True if the broker delivered this message before (worker lost).

    Redis sets the flag when it restores an unacknowledged message.
    """
    return bool((getattr(request, "delivery_info", None) or {}).get("redelivered"))


def _expires_seconds() -> float:
    # A tick not picked up within two ticks is stale: the next tick re-dispatches.
    return float(settings.VERITY_BEAT_TICK_SECONDS) * 2


@shared_task(name="sessions_app.tasks.dispatch_due_syncs", ignore_result=True)
def dispatch_due_syncs() -> list[int]:
    """Enqueue a sync for every enabled connection that is due; return their ids."""
    from .sync.schedule import connections_due, connections_full_sync_due

    now = timezone.now()
    due = connections_due(now=now)
    # Every VERITY_FULL_SYNC_INTERVAL_DAYS the scheduled pass is a full one.
    full_due = connections_full_sync_due(connection_ids=due, now=now)
    for connection_id in due:
        full = connection_id in full_due
        sync_connection.apply_async_on_commit(
            kwargs={
                "connection_id": connection_id,
                "trigger": (SyncTrigger.FULL if full else SyncTrigger.SCHEDULE).value,
                "full": full,
            },
            expires=_expires_seconds(),
        )
    if due:
        logger.info("Dispatched syncs for connection(s) %s.", due)
    return due


@shared_task(
    bind=True,
    name="sessions_app.tasks.sync_connection",
    ignore_result=True,
    acks_late=True,
    max_retries=5,
)
def sync_connection(
    self: Any,
    connection_id: int,
    trigger: str = SyncTrigger.SCHEDULE.value,
    full: bool = False,
    resume: bool = False,
) -> int | None:
    """Run one bounded sync of a connection; return the SyncRun id (None if not run).

    `resume=True` marks a continuation (partial run, rate-limit retry, a
    redelivered message): it skips the "is it due?" check that stops
    duplicate scheduled dispatches. A redelivered copy that finds the lease
    held (most likely by the run its dead worker left behind) retries when
    that lease expires instead of being dropped.
    """
    from .sync.engine import provider_sync
    from .sync.lease import connection_lease_remaining
    from .sync.schedule import connection_is_due

    connection = ProviderConnection.objects.filter(pk=connection_id).first()
    if connection is None or not connection.enabled:
        logger.info("Connection %s is gone or disabled; not syncing.", connection_id)
        return None
    redelivered = _redelivered(self.request)
    if redelivered:
        # The first delivery started this pass (and set last_sync_started_at):
        # "not due" would drop the only task that carries it on.
        logger.info("Sync of %s redelivered; resuming its pass.", connection.slug)
        resume = True
    if (
        trigger in (SyncTrigger.SCHEDULE, SyncTrigger.FULL)
        and not resume
        and not connection_is_due(connection)
    ):
        # Two ticks dispatched it before a worker got to it: the first one ran.
        logger.info(
            "Sync of %s is not due any more; dropping a duplicate.", connection.slug
        )
        return None
    kwargs = {
        "connection_id": connection_id,
        "trigger": trigger,
        "full": full,
        "resume": True,
    }
    try:
        run = provider_sync(connection=connection, trigger=trigger, full=full)
    except ProviderRateLimited as exc:
        countdown = retry_countdown(exc.retry_after, attempt=self.request.retries)
        logger.warning(
            "Sync of %s rate limited; retrying in %.0f s.", connection.slug, countdown
        )
        raise self.retry(exc=exc, countdown=countdown, kwargs=kwargs) from exc
    if (
        run.state == SyncRunState.SKIPPED
        and redelivered
        and self.request.retries < self.max_retries
    ):
        countdown = retry_countdown(
            connection_lease_remaining(connection_id=connection_id) + 1.0,
            attempt=self.request.retries,
        )
        logger.info(
            "Redelivered sync of %s finds the lease held; retrying in %.0f s.",
            connection.slug,
            countdown,
        )
        raise self.retry(countdown=countdown, kwargs=kwargs)
    if run.state == SyncRunState.SKIPPED:
        logger.info("Sync of %s skipped: %s", connection.slug, run.error)
    elif run.state == SyncRunState.PARTIAL:
        sync_connection.apply_async_on_commit(kwargs=kwargs)
    return run.pk


@shared_task(
    bind=True,
    name="sessions_app.tasks.session_refresh",
    ignore_result=True,
    acks_late=True,
    max_retries=5,
)
def session_refresh(
    self: Any,
    connection_id: int,
    external_id: str,
    hint: dict[str, Any] | None = None,
    delivery_id: int | None = None,
) -> int | None:
    """Re-fetch one session a webhook named and upsert it; return the SyncRun id."""
    from .sync.engine import session_refresh_from_provider

    connection = ProviderConnection.objects.filter(pk=connection_id).first()
    if connection is None or not connection.enabled:
        logger.info("Connection %s is gone or disabled; not refreshing.", connection_id)
        return None
    try:
        run = session_refresh_from_provider(
            connection=connection,
            external_id=external_id,
            hint=hint,
            delivery_id=delivery_id,
        )
    except ProviderRateLimited as exc:
        countdown = retry_countdown(exc.retry_after, attempt=self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except ProviderUnavailable as exc:
        raise self.retry(
            exc=exc, countdown=retry_countdown(0, attempt=self.request.retries)
        ) from exc
    return run.pk
