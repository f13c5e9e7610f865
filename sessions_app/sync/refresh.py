"""A webhook's targeted refresh: one session fetched from its provider and upserted.

Contract: see `session_refresh_from_provider`. It takes no lease (a long
sync must not delay it) and is recorded as a `webhook` SyncRun; the
delivery that asked for it is marked processed, or keeps the error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..exceptions import ProviderRateLimited, ProviderUnavailable
from ..models import (
    ProviderConnection,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    WebhookDelivery,
)
from ..providers import adapter_for
from .runs import (
    RUN_COUNT_FIELDS,
    error_text,
    failure_log,
    sync_run_add,
    sync_run_fail,
    sync_run_finish,
    sync_run_start,
)
from .upsert import session_upsert_batch

logger = logging.getLogger(__name__)


def session_refresh_from_provider(
    *,
    connection: ProviderConnection,
    external_id: str,
    hint: Mapping[str, Any] | None = None,
    delivery_id: int | None = None,
) -> SyncRun:
    """Fetch one session from the provider and upsert it; record a `webhook` SyncRun.

    Does not take the connection's lease: a refresh is one idempotent upsert of
    fresh data, and a long sync must not delay it. A concurrent sync that
    commits an older copy is corrected by the next sync, because unfinished
    sessions are re-polled. A session the provider no longer has is left as
    is (nothing is deleted); the run and the delivery say so. Re-raises
    ProviderRateLimited and ProviderUnavailable (after recording them) so the
    task can retry; any other failure is recorded and returned.
    """
    run = sync_run_start(connection=connection, trigger=SyncTrigger.WEBHOOK)
    deliveries = WebhookDelivery.objects.filter(pk=delivery_id) if delivery_id else None
    try:
        adapter = adapter_for(connection)
        record = adapter.fetch_session(external_id, hint=dict(hint or {}))
        note = ""
        with transaction.atomic():
            if record is None:
                note = f"Session {external_id!r} was not found at the provider; nothing changed."
                logger.info("Refresh of %s %s: %s", connection.slug, external_id, note)
            else:
                result = session_upsert_batch(
                    connection=connection, records=[record], sync_run=run
                )
                sync_run_add(run=run, result=result)
                run.pages = 1
                run.save(update_fields=RUN_COUNT_FIELDS)
            if deliveries is not None:
                deliveries.update(processed_at=timezone.now(), error=note)
        return sync_run_finish(
            connection=connection, run=run, state=SyncRunState.SUCCEEDED, error=note
        )
    except (ProviderRateLimited, ProviderUnavailable) as exc:
        sync_run_fail(connection=connection, run=run, exc=exc)
        if deliveries is not None:
            deliveries.update(error=error_text(exc))
        raise
    except Exception as exc:
        failure_log(
            logger, exc, "Refresh of %s %s failed", connection.slug, external_id
        )
        if deliveries is not None:
            deliveries.update(error=error_text(exc))
        return sync_run_fail(connection=connection, run=run, exc=exc)
