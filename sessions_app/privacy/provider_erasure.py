"""Asking a provider to delete one erased identity, and keeping its answer as proof.

`provider_erasure_attempt` makes one attempt (the Celery task
`tasks_retention.provider_erasure_attempt` retries it with backoff): it calls the
adapter's `delete_client` outside any transaction (an HTTP call never holds a
row lock), then records the answer on the `ProviderErasure` (status code,
when, the provider's request id, attempts) with an AuditEvent. A 404/410
counts as deleted (`already_gone`), so asking twice is harmless. A failure is
recorded too (attempts, the error without the credential, which ProviderHTTP
scrubs) and raised for the task to retry; `provider_erasure_give_up` marks it
`failed` once the retries are spent, and the next daily run asks again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..exceptions import ApplicationError, ProviderError
from ..models import (
    ProviderConnection,
    ProviderErasure,
    ProviderErasureOutcome,
)
from ..providers import adapter_for
from ..providers.base import DeletionAnswer, ProviderAdapter
from ..services import audit_event_record
from ..vocabulary import PROVIDER_ERASURE_DONE

ERROR_MAX = 500

AdapterFactory = Callable[[ProviderConnection], ProviderAdapter]


def provider_erasures_open() -> QuerySet[ProviderErasure]:
    """Deletions still owed: pending, or failed (every retry spent) before."""
    return ProviderErasure.objects.filter(
        outcome__in=[ProviderErasureOutcome.PENDING, ProviderErasureOutcome.FAILED]
    ).order_by("requested_at", "pk")


def _record(
    erasure_id: int, *, action: str, changes: dict[str, Any], detail: dict[str, Any]
) -> ProviderErasure:
    with transaction.atomic():
        locked = ProviderErasure.objects.select_for_update().get(pk=erasure_id)
        before = {"outcome": locked.outcome, "attempts": locked.attempts}
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changes))
        audit_event_record(
            actor=None,
            source="retention",
            action=action,
            obj=locked,
            client=locked.client_id,
            before=before,
            after={
                "connection_id": locked.connection_id,
                "external_id": locked.external_id,
                "outcome": locked.outcome,
                "attempts": locked.attempts,
                "status_code": locked.status_code,
                **detail,
            },
        )
    return locked


def provider_erasure_attempt(
    *, erasure_id: int, adapter_factory: AdapterFactory | None = None
) -> ProviderErasure:
    """Ask the provider once; record and return the answer. Raise the
    ProviderError (or configuration error) of a failed attempt, recorded.
    `adapter_factory` defaults to `providers.adapter_for` (the connection's
    credential from the environment)."""
    adapter_factory = adapter_factory or adapter_for
    erasure = ProviderErasure.objects.select_related("connection").get(pk=erasure_id)
    if erasure.outcome in PROVIDER_ERASURE_DONE:
        return erasure
    try:
        answer: DeletionAnswer = adapter_factory(erasure.connection).delete_client(
            erasure.external_id
        )
    except (ProviderError, ApplicationError) as exc:
        status = getattr(exc, "status", None)
        _record(
            erasure.pk,
            action="provider_erasure.failed",
            changes={
                "attempts": erasure.attempts + 1,
                "last_error": str(exc)[:ERROR_MAX],
                "status_code": status,
            },
            detail={"error": str(exc)[:ERROR_MAX]},
        )
        raise
    return _record(
        erasure.pk,
        action="provider_erasure.answered",
        changes={
            "attempts": erasure.attempts + 1,
            "outcome": answer.outcome,
            "status_code": answer.status_code,
            "answered_at": timezone.now(),
            "response_excerpt": answer.excerpt[:ERROR_MAX],
            "last_error": "",
        },
        detail={"response": answer.excerpt[:ERROR_MAX]},
    )


def provider_erasure_give_up(*, erasure_id: int) -> ProviderErasure:
    """Every retry failed: mark it `failed` (audited); the daily task asks again."""
    return _record(
        erasure_id,
        action="provider_erasure.gave_up",
        changes={"outcome": ProviderErasureOutcome.FAILED},
        detail={},
    )
