"""Onfido's webhook scheme: hex HMAC-SHA256 of the raw body, events without ids."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from sessions_app.providers.onfido.webhook import WEBHOOK
from sessions_app.providers.webhook import webhook_signature

SECRET = "whsec-current"
BODY = b'{"payload": {}}'


def _no_lookup(check_id: str) -> str:
    raise AssertionError("Onfido events never need a check lookup")


def _event(**obj) -> tuple[dict, bytes]:
    data = {
        "payload": {
            "resource_type": "workflow_task",
            "action": "workflow_task.completed",
            "object": obj,
        }
    }
    return data, json.dumps(data).encode()


@pytest.mark.parametrize(
    "presented",
    [
        hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(),
        hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest().upper(),
        "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(),
    ],
)
def test_signature_accepts_the_hex_hmac_in_any_case_and_prefixed(presented):
    assert WEBHOOK.signature_valid(
        headers={"X-SHA2-Signature": presented}, body=BODY, secrets=["old", SECRET]
    )


@pytest.mark.parametrize(
    "presented",
    ["", webhook_signature(SECRET, BODY)[:1], webhook_signature(SECRET, BODY)[:-1]],
)
def test_signature_refuses_a_truncated_or_missing_one(presented):
    assert not WEBHOOK.signature_valid(
        headers={"X-SHA2-Signature": presented}, body=BODY, secrets=[SECRET]
    )


def test_no_secret_refuses_everything():
    signature = webhook_signature(SECRET, BODY)
    assert not WEBHOOK.signature_valid(
        headers={"X-SHA2-Signature": signature}, body=BODY, secrets=[]
    )


def test_a_task_event_refreshes_its_run_and_is_identified_by_what_it_says():
    data, body = _event(
        id="task_1",
        workflow_run_id=" wr-1 ",
        status="completed",
        completed_at_iso8601="2026-03-01T10:00:00Z",
    )

    event = WEBHOOK.event_parse(data=data, body=body, check_session=_no_lookup)

    assert (event.delivery_id, event.event_type, event.session_id) == (
        "workflow_task.completed:task_1:completed:2026-03-01T10:00:00Z",
        "workflow_task.completed",
        "wr-1",
    )


def test_an_event_naming_nothing_is_identified_by_its_body():
    data, body = _event()

    event = WEBHOOK.event_parse(data=data, body=body, check_session=_no_lookup)

    assert event.delivery_id == "sha256:" + hashlib.sha256(body).hexdigest()
    assert event.session_id == ""


def test_nul_characters_never_reach_what_is_stored():
    data, body = _event(id="task\x00_1", workflow_run_id="wr\x00-1", status="done\x00")
    data["payload"]["action"] = "workflow_task.completed\x00"
    event = WEBHOOK.event_parse(data=data, body=body, check_session=_no_lookup)
    assert (event.event_type, event.session_id) == ("workflow_task.completed", "wr-1")
    assert "\x00" not in event.delivery_id
