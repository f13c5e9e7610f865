"""ComplyCube webhooks: `ComplyCube-Signature` is the hex HMAC-SHA256 of the raw body.

Events carry their own id, a `type` and the resource in `payload`; see
`docs/providers/complycube.md`.
"""

from __future__ import annotations

from typing import Any

from ..webhook import (
    CheckSessionLookup,
    HmacSignedWebhook,
    WebhookEvent,
    event_envelope,
    event_text,
)

SIGNATURE_HEADER = "ComplyCube-Signature"
SESSION_EVENT_PREFIXES = ("workflow.session.", "workflowSession.")
CHECK_EVENT_PREFIX = "check."


class ComplyCubeWebhook(HmacSignedWebhook):
    auth_header = SIGNATURE_HEADER

    def event_parse(
        self, *, data: dict[str, Any], body: bytes, check_session: CheckSessionLookup
    ) -> WebhookEvent:
        event_type, payload, delivery_id = event_envelope(
            data, body, type_key="type", id_key="id"
        )
        resource_id = event_text(payload.get("id"))
        session_id = ""
        if event_type.startswith(SESSION_EVENT_PREFIXES):
            session_id = resource_id
        elif event_type.startswith(CHECK_EVENT_PREFIX):
            # A check event names the check; refresh the session it belongs
            # to, if the payload says so or Verity already mirrors that check.
            session_id = event_text(payload.get("workflowSessionId"))
            if not session_id and resource_id:
                session_id = check_session(resource_id)
        return WebhookEvent(
            delivery_id=delivery_id, event_type=event_type, session_id=session_id
        )


WEBHOOK = ComplyCubeWebhook()
