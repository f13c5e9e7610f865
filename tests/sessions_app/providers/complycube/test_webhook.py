"""ComplyCube's webhook events: ids of their own; a check event finds its session."""

from __future__ import annotations

import json

from sessions_app.providers.complycube.webhook import WEBHOOK
from sessions_app.providers.webhook import webhook_signature

SECRET = "whsec-current"


def _parse(data: dict, lookups: list[str] | None = None, found: str = ""):
    def check_session(check_id: str) -> str:
        if lookups is not None:
            lookups.append(check_id)
        return found

    return WEBHOOK.event_parse(
        data=data, body=json.dumps(data).encode(), check_session=check_session
    )


def test_signature_header_is_complycubes():
    body = b'{"id":"value"}'
    signature = webhook_signature(SECRET, body)
    assert WEBHOOK.signature_valid(
        headers={"ComplyCube-Signature": signature}, body=body, secrets=[SECRET]
    )
    assert not WEBHOOK.signature_valid(
        headers={"X-SHA2-Signature": signature}, body=body, secrets=[SECRET]
    )


def test_session_events_name_their_session_in_both_spellings():
    for event_type in ("workflow.session.completed", "workflowSession.completed"):
        event = _parse({"id": "evt-1", "type": event_type, "payload": {"id": "cs-1"}})
        assert (event.delivery_id, event.session_id) == ("evt-1", "cs-1")


def test_a_check_event_asks_for_the_session_of_a_mirrored_check():
    lookups: list[str] = []

    event = _parse(
        {"id": "evt-2", "type": "check.completed", "payload": {"id": "chk-1"}},
        lookups,
        found="cs-1",
    )

    assert lookups == ["chk-1"]
    assert event.session_id == "cs-1"


def test_a_check_event_naming_its_session_needs_no_lookup():
    lookups: list[str] = []

    event = _parse(
        {
            "id": "evt-3",
            "type": "check.completed",
            "payload": {"id": "chk-1", "workflowSessionId": "cs-2"},
        },
        lookups,
    )

    assert lookups == []
    assert event.session_id == "cs-2"


def test_nul_characters_never_reach_what_is_stored_or_the_lookup():
    lookups: list[str] = []
    event = _parse(
        {
            "id": "evt\x00-1",
            "type": "check.\x00completed",
            "payload": {"id": "chk\x00-1"},
        },
        lookups,
        found="cs-1",
    )
    assert (event.delivery_id, event.event_type, event.session_id) == (
        "evt-1",
        "check.completed",
        "cs-1",
    )
    assert lookups == ["chk-1"]  # PostgreSQL would refuse a NUL in the query
