"""Celery tasks of the retention clock (privacy/retention.py), beside `tasks.py`
(which they share `retry_countdown` with) and registered by the Celery app's
`include` (config/celery.py).

- `retention_sweep_daily` (beat, once a day at VERITY_RETENTION_HOUR UTC)
  erases the clients past the retention clock and enqueues
  `provider_erasure_attempt` for every provider deletion still owed.
- `provider_erasure_attempt` asks one provider once, retrying with backoff
  (VERITY_PROVIDER_ERASURE_MAX_ATTEMPTS), then leaves it `failed` for the
  next day's sweep (privacy/provider_erasure.py).

Both run on the default queue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .tasks import retry_countdown

logger = logging.getLogger(__name__)


def provider_erasures_enqueue(*, erasure_ids: Sequence[int]) -> None:
    """Ask the providers now (after the commit); a broker outage leaves them
    to the next daily run, which asks for every deletion still owed."""

    def send() -> None:
        for erasure_id in erasure_ids:
            try:
                provider_erasure_attempt.delay(erasure_id)
            except Exception as exc:
                logger.warning(
                    "The broker did not take provider erasure %s (%s); the daily "
                    "retention task asks again.",
                    erasure_id,
                    exc,
                )
                return

    if erasure_ids:
        transaction.on_commit(send)


@shared_task(
    name="sessions_app.tasks_retention.retention_sweep_daily", ignore_result=True
)
def retention_sweep_daily() -> list[int]:
    """Erase the clients past retention and ask the providers for every deletion
    still owed; return the erased client ids."""
    from .privacy.retention import retention_sweep

    sweep = retention_sweep(today=timezone.localdate())
    if sweep.erased_client_ids:
        logger.info("Retention: erased clients %s.", sweep.erased_client_ids)
    provider_erasures_enqueue(erasure_ids=sweep.open_erasure_ids)
    return sweep.erased_client_ids


@shared_task(
    bind=True,
    name="sessions_app.tasks_retention.provider_erasure_attempt",
    ignore_result=True,
    acks_late=True,
    max_retries=None,  # bounded below by VERITY_PROVIDER_ERASURE_MAX_ATTEMPTS
)
def provider_erasure_attempt(self: Any, erasure_id: int) -> str | None:
    """Ask a provider to delete one erased identity; retry with backoff (the
    provider's Retry-After on a 429), then give up until the next daily run.
    Return the outcome."""
    from .exceptions import ApplicationError, ProviderError
    from .privacy import provider_erasure

    try:
        erasure = provider_erasure.provider_erasure_attempt(erasure_id=erasure_id)
    except (ProviderError, ApplicationError) as exc:
        attempt = self.request.retries
        if attempt + 1 >= int(settings.VERITY_PROVIDER_ERASURE_MAX_ATTEMPTS):
            logger.warning(
                "Provider erasure %s failed %d times (%s); the next daily "
                "retention run asks again.",
                erasure_id,
                attempt + 1,
                exc,
            )
            provider_erasure.provider_erasure_give_up(erasure_id=erasure_id)
            return "failed"
        retry_after = getattr(exc, "retry_after", 0.0)
        countdown = retry_countdown(retry_after, attempt=attempt)
        logger.info(
            "Provider erasure %s failed (%s); retrying in %.0f s.",
            erasure_id,
            exc,
            countdown,
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
    return erasure.outcome
