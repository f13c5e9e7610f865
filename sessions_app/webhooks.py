"""Provider webhooks: verify, store once, enqueue a targeted refresh, answer fast.

The only public endpoint besides login and health: CSRF-exempt, no login, POST
only. The signature is checked over the RAW body before anything is parsed;
a forged, unsigned or unverifiable delivery is answered 401 and leaves no
trace in the database. A verified delivery is stored once per (connection,
event id): a provider's re-delivery is acknowledged and ignored. Known events
enqueue `session_refresh` after the commit; no provider is called inside the
request (providers give up after 10-15 s). Unknown event types are stored and
acknowledged, because providers add event types without notice.

Each provider's signature scheme and event format live in its package
(`sessions_app/providers/<name>/webhook.py`, found through the registry); this
module is the HTTP interface around them. The environment variable the
connection names in `webhook_secret_env` holds one or more comma-separated
secrets, so a secret can be rotated without dropping deliveries signed with
the old one.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Check, ProviderConnection, WebhookDelivery
from .providers.registry import webhook_for
from .providers.webhook import CheckSessionLookup, WebhookEvent, body_id
from .sync.values import EVENT_TYPE_MAX

logger = logging.getLogger(__name__)


def webhook_secrets(connection: ProviderConnection) -> list[str]:
    """Return the connection's current webhook secrets (several during a rotation)."""
    if not connection.webhook_secret_env:
        return []
    raw = os.environ.get(connection.webhook_secret_env, "")
    return [secret.strip() for secret in raw.split(",") if secret.strip()]


def check_session_external_id(*, connection: ProviderConnection, check_id: str) -> str:
    """The external id of the session Verity mirrors check `check_id` under, or ""."""
    return (
        Check.objects.filter(connection=connection, external_id=check_id)
        .values_list("session__external_id", flat=True)
        .first()
        or ""
    )


def check_session_lookup(connection: ProviderConnection) -> CheckSessionLookup:
    """The lookup a provider's parser is given: parsers never query the database."""
    return lambda check_id: check_session_external_id(
        connection=connection, check_id=check_id
    )


def _delivery_store(
    *,
    connection: ProviderConnection,
    event: WebhookEvent,
    body: bytes,
    error: str = "",
    processed: bool = False,
) -> WebhookDelivery | None:
    """Store a verified delivery once; return None if it was already stored."""
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                connection=connection,
                delivery_id=event.delivery_id,
                event_type=event.event_type[:EVENT_TYPE_MAX],
                resource_id=event.session_id,
                signature_valid=True,
                body=body.decode("utf-8", errors="replace").replace("\x00", ""),
                error=error,
                processed_at=timezone.now() if processed else None,
            )
            if event.session_id and not processed:
                from .tasks import session_refresh

                session_refresh.delay_on_commit(
                    connection.pk, event.session_id, event.hint, delivery.pk
                )
    except IntegrityError:
        return None
    return delivery


def _answer(http_status: int, **data: Any) -> JsonResponse:
    return JsonResponse(data, status=http_status)


@csrf_exempt
@login_not_required
@never_cache
@require_POST
def provider_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    """Receive one webhook delivery for the connection `slug`."""
    connection = ProviderConnection.objects.filter(slug=slug).first()
    if connection is None:
        return _answer(404, detail="Unknown provider.")
    body = request.body
    secrets = webhook_secrets(connection)
    webhook = webhook_for(connection.kind)
    if (
        not connection.enabled
        or webhook is None
        or not webhook.signature_valid(
            headers=request.headers, body=body, secrets=secrets
        )
    ):
        if not secrets:
            logger.warning(
                "Webhook for %s refused: no webhook secret configured.", slug
            )
        else:
            logger.warning("Webhook for %s refused: bad signature or disabled.", slug)
        return _answer(401, detail="Signature missing or invalid.")

    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        event = WebhookEvent(delivery_id=body_id(body))
        _delivery_store(
            connection=connection,
            event=event,
            body=body,
            error="Body is not a JSON object.",
        )
        return _answer(400, detail="Body is not a JSON object.")

    event = webhook.event_parse(
        data=data, body=body, check_session=check_session_lookup(connection)
    )
    delivery = _delivery_store(
        connection=connection, event=event, body=body, processed=not event.session_id
    )
    if delivery is None:
        return _answer(200, status="duplicate", delivery_id=event.delivery_id)
    if not event.session_id:
        return _answer(200, status="ignored", delivery_id=event.delivery_id)
    return _answer(202, status="accepted", delivery_id=event.delivery_id)
