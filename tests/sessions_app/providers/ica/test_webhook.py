"""ICA's webhooks: a shared secret header (no signature scheme), embedded sessions."""

from __future__ import annotations

import json

import pytest

from sessions_app.providers.ica.webhook import WEBHOOK

SECRET = "whsec-current"


def _no_lookup(check_id: str) -> str:
    raise AssertionError("ICA events never need a check lookup")


@pytest.mark.parametrize(
    ("presented", "valid"),
    [(SECRET, True), ("whsec-old", True), ("", False), (SECRET[:-1], False)],
)
def test_any_current_secret_is_accepted_during_a_rotation(presented, valid):
    assert (
        WEBHOOK.signature_valid(
            headers={"X-ICA-Webhook-Secret": presented},
            body=b"{}",
            secrets=[SECRET, "whsec-old"],
        )
        is valid
    )


def test_an_analysis_event_refreshes_its_session_in_its_project():
    data = {
        "correlationId": "corr-1",
        "eventCode": "ICA_EXEC_028",
        "projectId": "proj-1",
        "payload": {"id": "analysis-1", "workflowSession": {"id": "ws-1"}},
    }

    event = WEBHOOK.event_parse(
        data=data, body=json.dumps(data).encode(), check_session=_no_lookup
    )

    assert (event.delivery_id, event.event_type, event.session_id, event.hint) == (
        "corr-1",
        "ICA_EXEC_028",
        "ws-1",
        {"project_id": "proj-1"},
    )
