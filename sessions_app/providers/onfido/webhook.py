"""Onfido webhooks: `X-SHA2-Signature` is the hex HMAC-SHA256 of the raw body.

Onfido sends no event id; see `docs/providers/onfido.md` for the event format.
"""

from __future__ import annotations

import json
from typing import Any

from ...payload_paths import PathSet
from ...sync.values import ID_MAX, json_object
from ..webhook import (
    CheckSessionLookup,
    HmacSignedWebhook,
    WebhookEvent,
    body_id,
    event_text,
)
from .secrets import SECRET_PATHS

SIGNATURE_HEADER = "X-SHA2-Signature"
# Events that concern a workflow run (tasks carry the run id).
RUN_EVENTS = frozenset({"workflow_run.completed"})
TASK_EVENTS = frozenset({"workflow_task.started", "workflow_task.completed"})


class OnfidoWebhook(HmacSignedWebhook):
    auth_header = SIGNATURE_HEADER

    def event_parse(
        self, *, data: dict[str, Any], body: bytes, check_session: CheckSessionLookup
    ) -> WebhookEvent:
        payload = json_object(data.get("payload"))
        resource_type = event_text(payload.get("resource_type"))
        action = event_text(payload.get("action"))
        obj = json_object(payload.get("object"))
        resource = json_object(payload.get("resource"))
        object_id = event_text(obj.get("id"))
        # Onfido sends no event id: its retries repeat the same event, which
        # these fields identify (a fresh completion has a fresh completed_at).
        if object_id and action:
            delivery_id = ":".join(
                [
                    action,
                    object_id,
                    event_text(obj.get("status")),
                    event_text(obj.get("completed_at_iso8601")),
                ]
            )
        else:
            delivery_id = body_id(body)
        session_id = ""
        if action in RUN_EVENTS or (resource_type == "workflow_run" and action):
            session_id = object_id or event_text(resource.get("id"))
        elif action in TASK_EVENTS:
            session_id = event_text(obj.get("workflow_run_id")) or event_text(
                resource.get("workflow_run_id")
            )
        return WebhookEvent(
            delivery_id=delivery_id[:ID_MAX],
            event_type=action,
            session_id=session_id,
            stored_body=_stored_without_credentials(data),
        )


_DELIVERY_SECRETS = PathSet(SECRET_PATHS["webhook"])


def _stored_without_credentials(data: dict[str, Any]) -> str | None:
    """The delivery to store when it carries credentials (`secrets.py`: a
    Studio event's resource is a run, with its link), else None (stored as
    received)."""
    clean = _DELIVERY_SECRETS.cut(data)
    if clean == data:
        return None
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"))


WEBHOOK = OnfidoWebhook()
