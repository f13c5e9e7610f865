"""ICA webhooks: ICA has no signature scheme, so the subscription sends a
shared secret in `X-ICA-Webhook-Secret`.

Events carry a `correlationId`, an `eventCode` and the resource in `payload`;
see `docs/providers/ica.md`. A connection configured with `project_ids` reads
only those projects, so an event naming another project refreshes nothing:
the shared secret is per subscription, not per project, and a refresh would
otherwise pull a project's session into a connection that does not read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...exceptions import ProviderConfigurationError
from ...sync.values import json_object
from ..common import list_option
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

    def scope_problem(self, *, event: WebhookEvent, options: Mapping[str, Any]) -> str:
        """An event for a project outside the connection's `project_ids`."""
        project_id = str(event.hint.get("project_id") or "")
        try:
            allowed = list_option(options, "project_ids")
        except ProviderConfigurationError as exc:
            return f"Not refreshed: {exc}"
        if project_id and allowed and project_id not in allowed:
            return (
                f"Not refreshed: project {project_id!r} is not one of this "
                "connection's project_ids."
            )
        return ""


WEBHOOK = IcaWebhook()
