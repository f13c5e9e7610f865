"""ICA webhooks: ICA has no signature scheme, so the subscription sends a
shared secret in `X-ICA-Webhook-Secret`.

Events carry a `correlationId`, an `eventCode` and the resource in `payload`;
see `docs/providers/ica.md`.
"""

from __future__ import annotations

from typing import Any

from ...sync.values import json_object
from ..webhook import (
    CheckSessionLookup,
    SharedSecretWebhook,
    WebhookEvent,
    event_envelope,
    event_text,
)

SECRET_HEADER = "X-ICA-Webhook-Secret"  # noqa: S105 - a header name, not a secret
# Workflow-session events carry the session; analysis events embed it.
SESSION_EVENTS = frozenset({"ICA_WFS_001", "ICA_WFS_002", "ICA_WFS_003"})
ANALYSIS_EVENTS = frozenset(
    {"ICA_EXEC_001", "ICA_EXEC_002", "ICA_EXEC_027", "ICA_EXEC_028"}
)


class IcaWebhook(SharedSecretWebhook):
    auth_header = SECRET_HEADER

    def event_parse(
        self, *, data: dict[str, Any], body: bytes, check_session: CheckSessionLookup
    ) -> WebhookEvent:
        event_type, payload, delivery_id = event_envelope(
            data, body, type_key="eventCode", id_key="correlationId"
        )
        session_id = ""
        if event_type in SESSION_EVENTS:
            session_id = event_text(payload.get("id"))
        elif event_type in ANALYSIS_EVENTS:
            session_id = event_text(
                json_object(payload.get("workflowSession")).get("id")
            )
        project_id = event_text(data.get("projectId"))
        hint = {"project_id": project_id} if project_id else {}
        return WebhookEvent(
            delivery_id=delivery_id,
            event_type=event_type,
            session_id=session_id,
            hint=hint,
        )


WEBHOOK = IcaWebhook()
