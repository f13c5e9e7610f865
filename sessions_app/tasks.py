"""Celery tasks: thin interfaces around the sync services in `sync/`.

Every task takes ids, never objects or secrets, and is safe to run twice
(`acks_late` redelivers after a worker dies): the per-connection lease makes a
second copy a `skipped` run, and the upserts are idempotent.

- `dispatch_due_syncs` is the beat tick (config/celery.py): it enqueues one
  `sync_connection` per enabled connection that is due and not leased.
- `sync_connection` runs one bounded sync. A `partial` run re-enqueues itself
  to continue from the committed cursor, and so does an `interrupted` one: a
  worker's shutdown (or a SIGTERM to its pool child) stops the sync after
  its current page (`sync.stopping`, config/celery.py), and the next worker
  takes the continuation at once (a child sent SIGTERM itself exits once its
  continuation is queued). A 429 becomes `self.retry` with the provider's
  Retry-After (capped far below the broker's visibility timeout);
  a held lease is logged and dropped, never retried, except by a redelivered
  copy (below).
- A redelivered copy (its worker died before acknowledging it) is the
  continuation of an interrupted pass: it is never dropped as "not due", and
  if the dead run's lease still blocks it, it retries once that lease has
  expired, then resumes from the last committed cursor.
- `session_refresh` is the targeted refresh a webhook asks for; a copy whose
  delivery is already processed does nothing (the outbox may enqueue twice).
- The webhook outbox: a stored delivery's refresh is handed to the broker
  after the commit (`webhook_refresh_enqueue_on_commit`); if the broker cannot
  take it, one line is logged and the delivery waits. `webhook_deliveries_sweep`
  (each beat tick) re-enqueues every delivery still owed a refresh once its
  delay has passed, so a broker outage delays a refresh but never loses it.

- `audit_chain_verify_daily` (beat, once a day) walks the audit trail's hash
  chain and records the finding the /sync/ page shows (`manage.py
  audit_verify` does the same on demand).

- The retention clock's tasks (the daily sweep, the provider deletions) are
  in `tasks_retention.py`.

`dispatch_due_syncs`, `webhook_deliveries_sweep` and `session_refresh` run on
the control queue, syncs and the audit verification on the default one
(config/celery.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import random
import signal
from collections.abc import Sequence
from functools import partial
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from .cases.waiting import cases_waiting_return
from .exceptions import ProviderRateLimited, ProviderUnavailable
from .models import ProviderConnection, SyncRunState, SyncTrigger, WebhookDelivery

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
    from .sync.stopping import PROCESS_STOP, stop_on_signals

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
    if PROCESS_STOP.requested:
        # This pool child is shutting down (a warm shutdown forwarded to it)
        # and got the message before it stopped taking any: hand it back
        # rather than start a run that would stop after one page.
        logger.info(
            "Sync of %s not started: this worker is shutting down; queued again.",
            connection.slug,
        )
        _continuation_enqueue(connection.slug, kwargs)
        return None
    # SIGTERM to this process (a pool child) stops the sync after its page;
    # SIGINT stays as Celery set it (ignored in a child: Ctrl-C reaches the
    # main process, which shuts down).
    with stop_on_signals(signals=(signal.SIGTERM,), redeliver=True) as stop:
        try:
            run = provider_sync(
                connection=connection, trigger=trigger, full=full, stop=stop
            )
        except ProviderRateLimited as exc:
            countdown = retry_countdown(exc.retry_after, attempt=self.request.retries)
            logger.warning(
                "Sync of %s rate limited; retrying in %.0f s.",
                connection.slug,
                countdown,
            )
            raise self.retry(exc=exc, countdown=countdown, kwargs=kwargs) from exc
        if run.state == SyncRunState.INTERRUPTED:
            # Enqueued before a redelivered SIGTERM ends this process.
            logger.info(
                "Sync of %s interrupted; its continuation is queued.", connection.slug
            )
            _continuation_enqueue(connection.slug, kwargs)
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


class BrokerUnavailable(Exception):
    """The task queue did not take a task (the broker is down or misconfigured)."""


def sync_now_enqueue(*, connection_id: int) -> str:
    """Queue a manual sync of one connection now; return the task id.

    Raise BrokerUnavailable, with the broker's own words, when the queue
    cannot take it: the caller says so instead of failing.
    """
    try:
        result = sync_connection.apply_async(
            kwargs={
                "connection_id": connection_id,
                "trigger": SyncTrigger.MANUAL.value,
                "full": False,
            },
            retry=False,
        )
    except Exception as exc:
        raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return str(result.id)


def _continuation_enqueue(slug: str, kwargs: dict[str, Any]) -> None:
    """Queue the rest of an interrupted sync; a broker outage leaves it to the beat."""
    try:
        sync_connection.apply_async(kwargs=kwargs)
    except Exception as exc:  # the broker is down: the beat re-dispatches
        logger.warning(
            "Could not queue the continuation of %s's sync (%s); the next "
            "due tick resumes it.",
            slug,
            exc,
        )


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
    from .sync.refresh import session_refresh_from_provider

    if (
        delivery_id
        and WebhookDelivery.objects.filter(
            pk=delivery_id, processed_at__isnull=False
        ).exists()
    ):
        # A second copy from the outbox (the sweeper or a provider's retry
        # enqueued it while the first was queued): the refresh is done.
        logger.info("Webhook delivery %s is already processed.", delivery_id)
        return None
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


# --- The webhook outbox ----------------------------------------------------------------

# What `session_refresh` is given for one delivery: (delivery id, connection
# id, session external id, hint).
RefreshRow = tuple[int, int, str, dict[str, Any]]


def webhook_sweep_delay(attempts: int) -> float:
    """Seconds after its last enqueue before a delivery's refresh is enqueued again.

    VERITY_WEBHOOK_SWEEP_AFTER_SECONDS after the first, doubling with each
    attempt up to VERITY_WEBHOOK_SWEEP_MAX_DELAY_SECONDS: a control worker
    that is down for an hour is not met by sixty copies of each refresh.
    """
    after = float(settings.VERITY_WEBHOOK_SWEEP_AFTER_SECONDS)
    cap = max(after, float(settings.VERITY_WEBHOOK_SWEEP_MAX_DELAY_SECONDS))
    return min(after * 2.0 ** min(max(attempts - 1, 0), 40), cap)


def _refresh_owed() -> Q:
    """Deliveries still owed a refresh: unprocessed, no error recorded (a failed
    refresh says why and is not repeated), naming a session, on an enabled
    connection (a subquery, so a row lock never reaches the connections)."""
    return Q(
        processed_at__isnull=True,
        error="",
        connection_id__in=ProviderConnection.objects.filter(enabled=True).values("pk"),
    ) & ~Q(resource_id="")


def _refresh_due(*, now: dt.datetime) -> Q:
    """Of those, the ones whose last enqueue is older than its delay, or which
    the broker never took (`enqueued_at` null)."""
    due = Q(enqueued_at__isnull=True)
    for attempts in itertools.count(1):
        delay = webhook_sweep_delay(attempts)
        if delay >= webhook_sweep_delay(attempts + 1):
            # The cap: every later attempt waits as long.
            return due | Q(enqueued_at__lte=now - dt.timedelta(seconds=delay))
        due |= Q(
            enqueue_attempts__lte=attempts,
            enqueued_at__lte=now - dt.timedelta(seconds=delay),
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _refreshes_send(rows: Sequence[RefreshRow]) -> None:
    """Hand each refresh to the broker; stop at the first it cannot take.

    Any failure (kombu's OperationalError, a Redis error, a missing folder of
    the filesystem broker) is logged as one line and never raised: the
    delivery is stored, so the provider must get its 2xx. The refreshes not
    sent are marked "not enqueued", so the next sweep takes them at once.
    """
    for index, (delivery_id, connection_id, resource_id, hint) in enumerate(rows):
        try:
            session_refresh.delay(connection_id, resource_id, hint, delivery_id)
        except Exception as exc:
            unsent = [row[0] for row in rows[index:]]
            logger.warning(
                "The broker did not take the refresh of webhook deliveries %s "
                "(%s: %s); the sweeper enqueues them again.",
                unsent,
                type(exc).__name__,
                exc,
            )
            try:
                WebhookDelivery.objects.filter(pk__in=unsent).update(enqueued_at=None)
            except DatabaseError as db_exc:
                # They are still swept once their delay has passed.
                logger.warning(
                    "Could not mark webhook deliveries %s as not enqueued (%s).",
                    unsent,
                    db_exc,
                )
            return


def webhook_refresh_enqueue_on_commit(*, delivery: WebhookDelivery) -> None:
    """Enqueue the refresh of a delivery being stored (with `enqueued_at` set and
    one attempt counted) once its transaction commits."""
    row = (delivery.pk, delivery.connection_id, delivery.resource_id, delivery.hint)
    transaction.on_commit(partial(_refreshes_send, [row]))


def webhook_refreshes_enqueue(
    *, deliveries: QuerySet[WebhookDelivery], now: dt.datetime, limit: int
) -> list[int]:
    """Claim the due refreshes among `deliveries` (oldest first, at most `limit`),
    enqueue them once the claim commits, and return their ids.

    The claim (`enqueued_at` = now, one more attempt) makes several sweepers
    safe together: rows another one holds are skipped (PostgreSQL's SKIP
    LOCKED), and a claimed row is not due again before its delay. A refresh
    enqueued twice anyway is harmless: the second copy finds its delivery
    processed and does nothing.
    """
    with transaction.atomic():
        rows: list[RefreshRow] = list(
            deliveries.filter(_refresh_owed(), _refresh_due(now=now))
            .select_for_update(skip_locked=True)
            .order_by("received_at", "pk")
            .values_list("pk", "connection_id", "resource_id", "hint")[:limit]
        )
        if rows:
            WebhookDelivery.objects.filter(pk__in=[row[0] for row in rows]).update(
                enqueued_at=now, enqueue_attempts=F("enqueue_attempts") + 1
            )
            transaction.on_commit(partial(_refreshes_send, rows))
    return [row[0] for row in rows]


@shared_task(name="sessions_app.tasks.webhook_deliveries_sweep", ignore_result=True)
def webhook_deliveries_sweep() -> list[int]:
    """Re-enqueue the refreshes still owed (the beat's outbox relay); return their ids."""
    claimed = webhook_refreshes_enqueue(
        deliveries=WebhookDelivery.objects.all(),
        now=timezone.now(),
        limit=int(settings.VERITY_WEBHOOK_SWEEP_BATCH),
    )
    if claimed:
        logger.info("Webhook deliveries %s are owed a refresh; enqueuing.", claimed)
    return claimed


@shared_task(name="sessions_app.tasks.audit_chain_verify_daily", ignore_result=True)
def audit_chain_verify_daily() -> bool:
    """Walk the audit trail's hash chain and record the finding; return intact."""
    from .privacy.audit_chain import audit_chain_verify, finding_summary

    verification = audit_chain_verify()
    summary = finding_summary(verification)
    if verification.intact:
        logger.info(summary)
    else:
        logger.error(summary)
    return verification.intact


# How long one run of the daily client refresh works before it re-enqueues
# itself (the rest waits in the queue, not in one long task).
CLIENT_REFRESH_BUDGET_SECONDS = 300


@shared_task(name="sessions_app.tasks.clients_review_refresh_daily", ignore_result=True)
def clients_review_refresh_daily() -> int:
    """Recompute every client's tier, next review and gaps (docs/operations.md).

    Resumable: it takes the clients not refreshed since today began, so a run
    that ran out of its budget, or died, is continued by the next one.
    """
    import time

    from .client_review.refresh import clients_review_refresh_all

    now = timezone.now()
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    result = clients_review_refresh_all(
        now=now,
        since=since,
        deadline=time.monotonic() + CLIENT_REFRESH_BUDGET_SECONDS,
        clock=time.monotonic,
    )
    logger.info(
        "Client review refresh: %s clients in %s batches%s.",
        result.clients,
        result.batches,
        "" if result.finished else "; continuing in a new run",
    )
    if not result.finished:
        clients_review_refresh_daily.delay()
    return result.clients


@shared_task(name="sessions_app.tasks.clients_review_refresh_stale", ignore_result=True)
def clients_review_refresh_stale() -> int:
    """Refresh the clients whose sessions the sync changed since the last tick."""
    from .client_review.refresh import clients_review_refresh_stale as refresh

    return refresh(now=timezone.now()).clients


@shared_task(name="sessions_app.tasks.cases_waiting_return_due", ignore_result=True)
def cases_waiting_return_due() -> list[int]:
    """Bring back to work the cases whose waiting-for-information date has
    passed (cases/waiting.py; one audited transaction each)."""
    return cases_waiting_return()
