"""Provider webhooks: verify, store once, enqueue a targeted refresh, answer fast.

The only public endpoint besides login and health: CSRF-exempt, no login, POST
only. The signature is checked over the RAW body before anything is parsed;
a forged, unsigned or unverifiable delivery is answered 401 and leaves no
trace in the database. A verified delivery is stored once per (connection,
event id): a provider's re-delivery is acknowledged and ignored. Known events
enqueue `session_refresh` after the commit; no provider is called inside the
request (providers give up after 10-15 s). Unknown event types are stored and
acknowledged, because providers add event types without notice.

Signatures (see /work/shared/providers/*/NOTES.md):
- Onfido: `X-SHA2-Signature` = hex HMAC-SHA256 of the raw body.
- ComplyCube: `ComplyCube-Signature` = hex HMAC-SHA256 of the raw body.
- ICA: no signature scheme exists; a shared secret in `X-ICA-Webhook-Secret`.
The environment variable the connection names in `webhook_secret_env` holds
one or more comma-separated secrets, so a secret can be rotated without
dropping deliveries signed with the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import ProviderConnection, ProviderKind, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADERS = {
    ProviderKind.ONFIDO: "X-SHA2-Signature",
    ProviderKind.COMPLYCUBE: "ComplyCube-Signature",
}
ICA_SECRET_HEADER = "X-ICA-Webhook-Secret"  # noqa: S105 - a header name, not a secret

# Onfido: events that concern a workflow run (tasks carry the run id).
ONFIDO_RUN_EVENTS = {"workflow_run.completed"}
ONFIDO_TASK_EVENTS = {"workflow_task.started", "workflow_task.completed"}
# ICA: workflow-session events carry the session; analysis events embed it.
ICA_SESSION_EVENTS = {"ICA_WFS_001", "ICA_WFS_002", "ICA_WFS_003"}
ICA_ANALYSIS_EVENTS = {"ICA_EXEC_001", "ICA_EXEC_002", "ICA_EXEC_027", "ICA_EXEC_028"}


def webhook_secrets(connection: ProviderConnection) -> list[str]:
    """Return the connection's current webhook secrets (several during a rotation)."""
    if not connection.webhook_secret_env:
        return []
    raw = os.environ.get(connection.webhook_secret_env, "")
    return [secret.strip() for secret in raw.split(",") if secret.strip()]


def webhook_signature(secret: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `body` under `secret` (Onfido, ComplyCube)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_signature_valid(
    *, kind: str, headers: Any, body: bytes, secrets: list[str]
) -> bool:
    """Check a delivery against every configured secret, in constant time each."""
    if not secrets:
        return False
    if kind == ProviderKind.ICA:
        presented = headers.get(ICA_SECRET_HEADER, "")
        if not presented:
            return False
        presented_bytes = presented.encode("utf-8")
        # No short-circuit: every secret is compared.
        matches = [
            hmac.compare_digest(presented_bytes, s.encode("utf-8")) for s in secrets
        ]
        return any(matches)
    header = SIGNATURE_HEADERS.get(kind)
    presented = (headers.get(header, "") if header else "").strip().lower()
    if not presented:
        return False
    if presented.startswith("sha256="):
        presented = presented.removeprefix("sha256=")
    presented_bytes = presented.encode("ascii", errors="replace")
    matches = [
        hmac.compare_digest(presented_bytes, webhook_signature(s, body).encode("ascii"))
        for s in secrets
    ]
    return any(matches)


@dataclass(slots=True)
class WebhookEvent:
    """What Verity understood of a verified delivery."""

    delivery_id: str
    event_type: str = ""
    # The session to refresh ("" when the event concerns none Verity mirrors).
    session_id: str = ""
    hint: dict[str, Any] = field(default_factory=dict)


def _body_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _text(value: Any) -> str:
    return value.strip()[:255] if isinstance(value, str) else ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _onfido_event(data: dict[str, Any], body: bytes) -> WebhookEvent:
    payload = _obj(data.get("payload"))
    resource_type = _text(payload.get("resource_type"))
    action = _text(payload.get("action"))
    obj = _obj(payload.get("object"))
    resource = _obj(payload.get("resource"))
    object_id = _text(obj.get("id"))
    # Onfido sends no event id: its retries repeat the same event, which these
    # fields identify (a fresh completion has a fresh completed_at).
    if object_id and action:
        delivery_id = ":".join(
            [
                action,
                object_id,
                _text(obj.get("status")),
                _text(obj.get("completed_at_iso8601")),
            ]
        )
    else:
        delivery_id = _body_id(body)
    session_id = ""
    if action in ONFIDO_RUN_EVENTS or (resource_type == "workflow_run" and action):
        session_id = object_id or _text(resource.get("id"))
    elif action in ONFIDO_TASK_EVENTS:
        session_id = _text(obj.get("workflow_run_id")) or _text(
            resource.get("workflow_run_id")
        )
    return WebhookEvent(
        delivery_id=delivery_id[:255], event_type=action, session_id=session_id
    )


def _complycube_event(
    data: dict[str, Any], body: bytes, connection: ProviderConnection
) -> WebhookEvent:
    from .models import Check

    event_type = _text(data.get("type"))
    payload = _obj(data.get("payload"))
    delivery_id = _text(data.get("id")) or _body_id(body)
    resource_id = _text(payload.get("id"))
    session_id = ""
    if event_type.startswith("workflow.session.") or event_type.startswith(
        "workflowSession."
    ):
        session_id = resource_id
    elif event_type.startswith("check."):
        # A check event names the check; refresh the session it belongs to, if
        # the payload says so or Verity already mirrors that check.
        session_id = _text(payload.get("workflowSessionId"))
        if not session_id and resource_id:
            session_id = (
                Check.objects.filter(connection=connection, external_id=resource_id)
                .values_list("session__external_id", flat=True)
                .first()
                or ""
            )
    return WebhookEvent(
        delivery_id=delivery_id, event_type=event_type, session_id=session_id
    )


def _ica_event(data: dict[str, Any], body: bytes) -> WebhookEvent:
    event_type = _text(data.get("eventCode"))
    payload = _obj(data.get("payload"))
    delivery_id = _text(data.get("correlationId")) or _body_id(body)
    session_id = ""
    if event_type in ICA_SESSION_EVENTS:
        session_id = _text(payload.get("id"))
    elif event_type in ICA_ANALYSIS_EVENTS:
        session_id = _text(_obj(payload.get("workflowSession")).get("id"))
    project_id = _text(data.get("projectId"))
    hint = {"project_id": project_id} if project_id else {}
    return WebhookEvent(
        delivery_id=delivery_id, event_type=event_type, session_id=session_id, hint=hint
    )


def webhook_event_parse(
    *, connection: ProviderConnection, data: dict[str, Any], body: bytes
) -> WebhookEvent:
    """Return the delivery id, event type and session to refresh of a parsed body."""
    if connection.kind == ProviderKind.ONFIDO:
        return _onfido_event(data, body)
    if connection.kind == ProviderKind.COMPLYCUBE:
        return _complycube_event(data, body, connection)
    return _ica_event(data, body)


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
                event_type=event.event_type[:100],
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
    if not connection.enabled or not webhook_signature_valid(
        kind=connection.kind, headers=request.headers, body=body, secrets=secrets
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
        event = WebhookEvent(delivery_id=_body_id(body))
        _delivery_store(
            connection=connection,
            event=event,
            body=body,
            error="Body is not a JSON object.",
        )
        return _answer(400, detail="Body is not a JSON object.")

    event = webhook_event_parse(connection=connection, data=data, body=body)
    delivery = _delivery_store(
        connection=connection, event=event, body=body, processed=not event.session_id
    )
    if delivery is None:
        return _answer(200, status="duplicate", delivery_id=event.delivery_id)
    if not event.session_id:
        return _answer(200, status="ignored", delivery_id=event.delivery_id)
    return _answer(202, status="accepted", delivery_id=event.delivery_id)
