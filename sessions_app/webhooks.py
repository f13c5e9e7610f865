"""Provider webhooks: verify, store once, enqueue a targeted refresh, answer fast.

The only public endpoint besides login and health: CSRF-exempt, no login, POST
only. The signature is checked over the RAW body before anything is parsed;
a forged, unsigned or unverifiable delivery is answered 401 and leaves no
trace in the database. A verified delivery is always stored, once per
(connection, event id), before it is answered, whatever its body: a body that
is not a JSON object (unparsable, nested too deeply) is kept as received and
answered 400, so the provider stops retrying something Verity cannot read.

Known events enqueue `session_refresh` after the commit (a transactional
outbox, sessions_app/tasks.py); no provider is called inside the request
(providers give up after 10-15 s). A broker that cannot take the refresh never
turns a stored delivery into a 5xx: it is answered 202 and the sweeper
enqueues the refresh again later. A provider's re-delivery is answered
`duplicate`; if its refresh is still owed and overdue, it is enqueued again.
An event the connection is not configured for (an ICA project outside its
`project_ids`) is stored with the reason and not refreshed. Unknown event
types are stored and acknowledged, because providers add event types without
notice.

Each provider's signature scheme and event format live in its package
(`sessions_app/providers/<name>/webhook.py`, found through the registry); this
module is the HTTP interface around them. The environment variable the
connection names in `webhook_secret_env` holds one or more comma-separated
secrets, so a secret can be rotated without dropping deliveries signed with
the old one. Credentials a delivery carries are cut from the stored body
(`delivery_body_without_secrets`), after the signature was verified.
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
from .providers.endpoints import env_name_problem
from .providers.registry import secret_paths_for, webhook_for
from .providers.webhook import CheckSessionLookup, WebhookEvent, body_id
from .sync.values import EVENT_TYPE_MAX, text

logger = logging.getLogger(__name__)


def webhook_secrets(connection: ProviderConnection) -> list[str]:
    """Return the connection's current webhook secrets (several during a rotation).

    None from a variable without the provider prefix (a public one such as PATH
    would make webhooks forgeable): its webhooks are refused as unsigned.
    """
    if not connection.webhook_secret_env:
        return []
    if problem := env_name_problem(connection.webhook_secret_env):
        logger.error(
            "Webhook secret of %s refused: %s", connection.slug, problem.rstrip(".")
        )
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


def body_text(body: bytes) -> str:
    """The raw body as stored: as received, readable and database-safe.

    A valid JSON body is stored unchanged (JSON has no raw NUL). Anything else
    keeps every byte visible: invalid UTF-8 as `\\xff`, a NUL as `\\x00`
    (PostgreSQL refuses NUL in text).
    """
    return body.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")


def _delivery_store(
    *,
    connection: ProviderConnection,
    event: WebhookEvent,
    body: bytes,
    error: str = "",
    processed: bool = False,
) -> WebhookDelivery | None:
    """Store a verified delivery once; return None if it was already stored.

    A delivery owed a refresh is stored as enqueued (one attempt, now) and its
    refresh handed to the broker after the commit.
    """
    from .tasks import webhook_refresh_enqueue_on_commit

    refresh = bool(event.session_id) and not processed and not error
    now = timezone.now()
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                connection=connection,
                delivery_id=text(event.delivery_id),
                event_type=text(event.event_type, EVENT_TYPE_MAX),
                resource_id=text(event.session_id),
                hint={key: text(value) for key, value in event.hint.items()},
                signature_valid=True,
                body=event.stored_body
                if event.stored_body is not None
                else body_text(body),
                error=text(error),
                processed_at=now if processed else None,
                enqueued_at=now if refresh else None,
                enqueue_attempts=1 if refresh else 0,
            )
            if refresh:
                webhook_refresh_enqueue_on_commit(delivery=delivery)
    except IntegrityError:
        return None
    return delivery


def _duplicate_requeue(*, connection: ProviderConnection, event: WebhookEvent) -> None:
    """A re-delivery of a delivery whose refresh is still owed and overdue (the
    broker did not take it, or it was lost) enqueues that refresh again."""
    from .tasks import webhook_refreshes_enqueue

    webhook_refreshes_enqueue(
        deliveries=WebhookDelivery.objects.filter(
            connection=connection, delivery_id=text(event.delivery_id)
        ),
        now=timezone.now(),
        limit=1,
    )


def delivery_body_without_secrets(*, kind: str, data: dict[str, Any]) -> str | None:
    """The body to store in place of a verified delivery's, when it carries
    credentials (`providers/<name>/secrets.py`), else None (stored as
    received). The signature was checked on the bytes as received; the
    outbox re-reads only the delivery's resource id and hint, never its body,
    so a cut body is refreshed as any other."""
    clean = secret_paths_for(kind, "webhook").cut(data)
    if clean == data:
        return None
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"))


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

    problem = ""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    except RecursionError:
        # A signed but hostile body: JSON nested deeper than the parser goes.
        data = None
        problem = "Body is nested too deeply to read."
    if not isinstance(data, dict):
        problem = problem or "Body is not a JSON object."
        event = WebhookEvent(delivery_id=body_id(body))
        _delivery_store(connection=connection, event=event, body=body, error=problem)
        return _answer(400, detail=problem)

    event = webhook.event_parse(
        data=data, body=body, check_session=check_session_lookup(connection)
    )
    event.stored_body = (
        delivery_body_without_secrets(kind=connection.kind, data=data)
        or event.stored_body
    )
    # An event outside what the connection reads (an ICA project not in its
    # project_ids) must not pull that project's session in: kept, not refreshed.
    scope = (
        webhook.scope_problem(event=event, options=connection.options or {})
        if event.session_id
        else ""
    )
    delivery = _delivery_store(
        connection=connection,
        event=event,
        body=body,
        error=scope,
        processed=bool(scope) or not event.session_id,
    )
    if delivery is None:
        if event.session_id and not scope:
            _duplicate_requeue(connection=connection, event=event)
        return _answer(200, status="duplicate", delivery_id=event.delivery_id)
    if scope:
        return _answer(
            200, status="ignored", delivery_id=event.delivery_id, detail=scope
        )
    if not event.session_id:
        return _answer(200, status="ignored", delivery_id=event.delivery_id)
    return _answer(202, status="accepted", delivery_id=event.delivery_id)
