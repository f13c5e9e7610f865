"""Webhooks: signed the providers' way, verifiable with hmac, deliverable over HTTP."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from sessions_app.simulator import build_webhook, hmac_sha256_hex, send_webhook
from sessions_app.simulator.api import WebhookError


class Receiver:
    """A stand-in for Verity's webhook endpoint: records what arrives."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _schema_validator(
    document: dict, name: str, components: dict | None = None
) -> OAS30Validator:
    schema = {
        "$ref": f"#/components/schemas/{name}",
        "components": components or document["components"],
    }
    return OAS30Validator(schema, format_checker=oas30_format_checker)


def _header(headers: dict[str, str], name: str) -> str:
    return next(value for key, value in headers.items() if key.lower() == name.lower())


def test_hmac_matches_complycube_s_published_test_vector():
    # From complycube-php tests/unit/EventVerifierTest.php (ComplyCube's PHP SDK).
    assert (
        hmac_sha256_hex("a_webhook_signature", b'{"id":"value"}')
        == "bc00414fa4d54277a3ed01e5ee258d9800a918a7791c7cda16d38b82f38f2150"
    )


def test_onfido_workflow_run_completed(sim, onfido_contract):
    message = sim.build_webhook(provider="onfido")
    secret = sim.webhook_secrets["onfido"]
    expected = hmac.new(secret.encode(), message.body, hashlib.sha256).hexdigest()
    assert message.headers["X-SHA2-Signature"] == expected
    assert message.delivery_id == hashlib.sha256(message.body).hexdigest()
    body = message.json()
    payload = body["payload"]
    assert (payload["resource_type"], payload["action"]) == (
        "workflow_run",
        "workflow_run.completed",
    )
    assert payload["object"]["id"] == payload["resource"]["id"] == message.session_id
    assert (
        payload["object"]["href"]
        == f"{sim.base_urls['onfido']}/workflow_runs/{message.session_id}"
    )
    served = {
        s["id"]: s["status"] for s in sim.state()["providers"]["onfido"]["sessions"]
    }
    assert payload["object"]["status"] == served[message.session_id]
    assert served[message.session_id] in {
        "approved",
        "declined",
        "review",
        "abandoned",
        "error",
    }

    # The body is a valid webhook_event, except for one self-contradiction of the
    # spec: webhook_event_payload requires `event` and `resource_id`, which it does
    # not declare and which Onfido's own payloads (and SDK tests) do not carry.
    _, document = onfido_contract
    components = copy.deepcopy(document["components"])
    quirk = components["schemas"]["webhook_event_payload"]
    assert sorted(quirk["required"]) == ["event", "resource_id", "resource_type"]
    assert not {"event", "resource_id"} & set(quirk["properties"])
    quirk["required"] = ["resource_type"]
    errors = list(
        _schema_validator(document, "webhook_event", components).iter_errors(body)
    )
    assert errors == []
    unpatched = list(_schema_validator(document, "webhook_event").iter_errors(body))
    assert {e.message for e in unpatched} == {
        "'event' is a required property",
        "'resource_id' is a required property",
    }


def test_onfido_task_events(sim):
    message = sim.build_webhook(provider="onfido", event="workflow_task.completed")
    payload = message.json()["payload"]
    assert payload["resource_type"] == "workflow_task"
    assert payload["object"]["workflow_run_id"] == message.session_id
    assert payload["resource"]["output"]["status"] == "complete"
    assert "completed_at_iso8601" in payload["object"]


def test_complycube_session_completed(sim):
    message = sim.build_webhook(
        provider="complycube", event="workflow.session.completed"
    )
    secret = sim.webhook_secrets["complycube"]
    assert (
        message.headers["ComplyCube-Signature"]
        == hmac.new(secret.encode(), message.body, hashlib.sha256).hexdigest()
    )
    body = message.json()
    assert set(body) == {"id", "type", "resourceType", "payload", "createdAt"}
    assert body["id"] == message.delivery_id
    assert len(body["id"]) == 24
    assert (body["type"], body["resourceType"]) == (
        "workflow.session.completed",
        "workflowSession",
    )
    assert set(body["payload"]) == {"id", "status", "outcome", "createdAt", "updatedAt"}
    assert body["payload"]["status"] == "complete"
    assert body["createdAt"] == body["payload"]["updatedAt"]


def test_complycube_event_follows_the_session_status(sim):
    started = next(
        s
        for s in sim.state()["providers"]["complycube"]["sessions"]
        if s["status"] == "started"
    )
    message = sim.build_webhook(provider="complycube", session_id=started["id"])
    assert message.event == "workflow.session.started"
    assert "outcome" not in message.json()["payload"]
    check = sim.build_webhook(provider="complycube", event="check.completed").json()
    assert check["resourceType"] == "check"
    assert check["payload"]["status"] == "complete"
    assert check["payload"]["outcome"]


def test_ica_session_succeeded(sim, ica_contract):
    message = sim.build_webhook(provider="ica", event="ICA_WFS_003")
    assert message.headers["X-ICA-Webhook-Secret"] == sim.webhook_secrets["ica"]
    assert "X-SHA2-Signature" not in message.headers
    body = message.json()
    assert body["eventCode"] == "ICA_WFS_003"
    assert body["correlationId"] == message.delivery_id
    assert body["payloadVersion"] == "v4"
    assert body["payload"]["status"] == "SUCCEEDED"
    assert body["projectId"] in {p.id for p in sim.world.ica.projects}
    _, document = ica_contract
    assert (
        list(
            _schema_validator(document, "WorkflowSessionV4").iter_errors(
                body["payload"]
            )
        )
        == []
    )


def test_ica_event_code_follows_the_status(sim):
    sessions = sim.state()["providers"]["ica"]["sessions"]
    failed = next(
        s for s in sessions if s["status"] in {"FAILED", "FAILED_FINAL", "FAILEDFINAL"}
    )
    running = next(s for s in sessions if s["status"] == "IN_PROGRESS")
    assert (
        sim.build_webhook(provider="ica", session_id=failed["id"]).event
        == "ICA_WFS_002"
    )
    assert (
        sim.build_webhook(provider="ica", session_id=running["id"]).event
        == "ICA_WFS_001"
    )


def test_a_redelivery_is_byte_identical_until_the_state_changes(sim):
    first = sim.build_webhook(provider="complycube", event="workflow.session.completed")
    again = sim.build_webhook(provider="complycube", session_id=first.session_id)
    assert (again.body, again.delivery_id) == (first.body, first.delivery_id)
    sim.advance(7200)
    latest = sim.build_webhook(
        provider="complycube", event="workflow.session.completed"
    )
    assert latest.session_id != first.session_id  # a later session completed meanwhile


def test_delivery_over_http_verifies_at_the_receiver(sim, receiver):
    result = send_webhook(
        simulator=sim, provider="onfido", target_url=receiver.url, secret="s3cret"
    )
    assert result.ok
    assert result.status_code == 200
    path, headers, body = receiver.received[-1]
    assert path == "/webhooks/"
    assert (
        _header(headers, "X-SHA2-Signature")
        == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    )
    assert body == result.message.body


def test_control_endpoint_sends_and_dry_runs(sim, http, receiver):
    url = f"{sim.url}/_sim/webhooks"
    sent = http.post(
        url, json={"provider": "complycube", "target_url": receiver.url}, timeout=10
    ).json()
    assert sent["delivered"] is True
    _, headers, body = receiver.received[-1]
    secret = sim.webhook_secrets["complycube"].encode()
    assert (
        _header(headers, "ComplyCube-Signature")
        == hmac.new(secret, body, hashlib.sha256).hexdigest()
    )
    assert json.loads(body)["id"] == sent["delivery_id"]

    dry = http.post(
        url, json={"provider": "ica", "dry_run": True, "secret": "x"}, timeout=10
    ).json()
    assert dry["delivered"] is False
    assert dry["headers"]["X-ICA-Webhook-Secret"] == "x"
    assert json.loads(dry["body"])["eventCode"].startswith("ICA_WFS_")
    assert len(receiver.received) == 1


def test_a_refusing_receiver_and_an_unreachable_one(sim, http):
    refusing = Receiver(status=403)
    try:
        result = sim.send_webhook(provider="ica", target_url=refusing.url)
        assert (result.status_code, result.ok) == (403, False)
    finally:
        refusing.close()
    response = http.post(
        f"{sim.url}/_sim/webhooks",
        json={"provider": "onfido", "target_url": refusing.url},
        timeout=10,
    )
    assert response.status_code == 502
    assert response.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "acme", "dry_run": True},
        {"provider": "onfido", "event": "check.completed", "dry_run": True},
        {"provider": "ica", "session_id": "nope", "dry_run": True},
        {"provider": "complycube"},
        {"dry_run": True},
    ],
)
def test_bad_webhook_requests_are_400(sim, http, body):
    response = http.post(f"{sim.url}/_sim/webhooks", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]


def test_python_api_raises_for_impossible_webhooks(sim):
    with pytest.raises(WebhookError):
        build_webhook(simulator=sim, provider="ica", event="ICA_WFS_999")
    with pytest.raises(WebhookError):
        build_webhook(simulator=sim, provider="onfido", session_id="not-a-run")
