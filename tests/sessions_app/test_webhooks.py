"""Signed provider webhooks: verify before parsing, store once, refresh on commit."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from unittest import mock

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse

from sessions_app import tasks
from sessions_app.models import SyncRun, WebhookDelivery, WorkflowSession
from sessions_app.providers.webhook import webhook_signature
from tests.factories import CheckFactory, WorkflowSessionFactory
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db

SECRET = "whsec-current"


def _sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _onfido_body(
    run_id: str = "wr-1", action: str = "workflow_run.completed", **obj
) -> bytes:
    payload = {
        "payload": {
            "resource_type": action.split(".")[0],
            "action": action,
            "object": {
                "id": run_id,
                "status": "approved",
                "completed_at_iso8601": "2026-03-01T10:00:00Z",
                "href": f"https://api.eu.onfido.com/v3.6/workflow_runs/{run_id}",
                **obj,
            },
        }
    }
    return json.dumps(payload).encode()


@pytest.fixture
def onfido(monkeypatch):
    provider, connection = fake_provider_install(
        monkeypatch,
        slug="onfido-hooks",
        kind="onfido",
        webhook_secret_env="ONFIDO_HOOK_SECRET",
    )
    monkeypatch.setenv("ONFIDO_HOOK_SECRET", SECRET)
    return provider, connection


def _post(client, slug: str, body: bytes, **headers):
    return client.post(
        reverse("provider-webhook", args=[slug]),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def test_signature_matches_published_test_vectors():
    assert (
        webhook_signature("It's a Secret to Everybody", b"Hello, World!")
        == "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )
    # ComplyCube's PHP SDK unit test.
    assert (
        webhook_signature("a_webhook_signature", b'{"id":"value"}')
        == "bc00414fa4d54277a3ed01e5ee258d9800a918a7791c7cda16d38b82f38f2150"
    )


def test_valid_delivery_is_stored_and_enqueues_a_refresh_on_commit(
    onfido, client, django_capture_on_commit_callbacks
):
    _, connection = onfido
    body = _onfido_body("wr-1")
    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = _post(
            client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)}
        )

    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.connection, delivery.event_type, delivery.resource_id) == (
        connection,
        "workflow_run.completed",
        "wr-1",
    )
    assert delivery.signature_valid is True
    assert delivery.body == body.decode()
    assert delivery.processed_at is None  # the refresh has not run yet
    assert len(callbacks) == 1
    delay.assert_called_once_with(connection.pk, "wr-1", {}, delivery.pk)


def test_valid_delivery_refreshes_the_session_through_the_task(
    onfido, client, django_capture_on_commit_callbacks
):
    provider, _ = onfido
    provider.add("wr-1", status="approved", checks=[("rep-1", "complete", "clear")])
    body = _onfido_body("wr-1")

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)}
        )

    assert response.status_code == 202
    session = WorkflowSession.objects.get(external_id="wr-1")
    assert session.status == "completed"
    assert session.checks.count() == 1
    assert WebhookDelivery.objects.get().processed_at is not None
    assert SyncRun.objects.get().trigger == "webhook"


def test_task_event_refreshes_its_workflow_run(
    onfido, client, django_capture_on_commit_callbacks
):
    _, connection = onfido
    body = _onfido_body(
        "task_abc", action="workflow_task.completed", workflow_run_id="wr-9"
    )
    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _post(
            client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)}
        )

    assert response.status_code == 202
    delay.assert_called_once()
    assert delay.call_args.args[:2] == (connection.pk, "wr-9")


@pytest.mark.parametrize(
    "headers",
    [
        {},  # unsigned
        {"X-SHA2-Signature": "0" * 64},  # forged
        {"X-SHA2-Signature": _sign(b"another body")},  # signature of something else
        {"X-SHA2-Signature": _sign(_onfido_body(), "guessed-secret")},  # wrong secret
        {"ComplyCube-Signature": _sign(_onfido_body())},  # another provider's header
    ],
)
def test_forged_or_unsigned_delivery_is_refused_and_leaves_no_trace(
    onfido, client, django_capture_on_commit_callbacks, headers
):
    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _post(client, "onfido-hooks", _onfido_body(), **headers)

    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    delay.assert_not_called()


def test_unknown_slug_is_404(client):
    body = _onfido_body()
    response = _post(client, "nobody", body, **{"X-SHA2-Signature": _sign(body)})
    assert response.status_code == 404
    assert WebhookDelivery.objects.count() == 0


def test_disabled_connection_or_missing_secret_refuses_everything(
    onfido, client, monkeypatch
):
    _, connection = onfido
    body = _onfido_body()
    signature = {"X-SHA2-Signature": _sign(body)}
    connection.enabled = False
    connection.save(update_fields=["enabled"])
    assert _post(client, "onfido-hooks", body, **signature).status_code == 401

    connection.enabled = True
    connection.save(update_fields=["enabled"])
    monkeypatch.delenv("ONFIDO_HOOK_SECRET")
    assert _post(client, "onfido-hooks", body, **signature).status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_duplicate_delivery_is_acknowledged_and_ignored(
    onfido, client, django_capture_on_commit_callbacks
):
    body = _onfido_body("wr-1")
    signature = {"X-SHA2-Signature": _sign(body)}
    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = _post(client, "onfido-hooks", body, **signature)
        again = _post(client, "onfido-hooks", body, **signature)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.count() == 1
    assert delay.call_count == 1


def test_unknown_event_type_is_stored_and_acknowledged_without_refresh(
    onfido, client, django_capture_on_commit_callbacks
):
    body = _onfido_body("chk-1", action="check.completed")
    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _post(
            client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)}
        )

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "check.completed"
    assert delivery.processed_at is not None  # nothing left to do
    delay.assert_not_called()


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_body_with_a_valid_signature_is_stored_with_an_error(
    onfido, client, body
):
    response = _post(client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)})

    assert response.status_code == 400
    delivery = WebhookDelivery.objects.get()
    assert delivery.error == "Body is not a JSON object."
    assert delivery.delivery_id == "sha256:" + hashlib.sha256(body).hexdigest()
    assert delivery.processed_at is None


def test_rotated_secrets_are_all_accepted(onfido, client, monkeypatch):
    monkeypatch.setenv("ONFIDO_HOOK_SECRET", "whsec-new, whsec-old")
    old = _onfido_body("wr-1")
    new = _onfido_body("wr-2")
    retired = _onfido_body("wr-3")

    with mock.patch.object(tasks.session_refresh, "delay"):
        assert (
            _post(
                client,
                "onfido-hooks",
                old,
                **{"X-SHA2-Signature": _sign(old, "whsec-old")},
            ).status_code
            == 202
        )
        assert (
            _post(
                client,
                "onfido-hooks",
                new,
                **{"X-SHA2-Signature": _sign(new, "whsec-new")},
            ).status_code
            == 202
        )
        assert (
            _post(
                client,
                "onfido-hooks",
                retired,
                **{"X-SHA2-Signature": _sign(retired, SECRET)},
            ).status_code
            == 401
        )
    assert sorted(WebhookDelivery.objects.values_list("resource_id", flat=True)) == [
        "wr-1",
        "wr-2",
    ]


def test_webhooks_need_no_login_or_csrf_token_and_only_accept_post(onfido):
    client = DjangoClient(enforce_csrf_checks=True)
    body = _onfido_body()
    with mock.patch.object(tasks.session_refresh, "delay"):
        assert (
            _post(
                client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)}
            ).status_code
            == 202
        )
    assert (
        client.get(reverse("provider-webhook", args=["onfido-hooks"])).status_code
        == 405
    )


def test_complycube_delivery_dedupes_on_event_id_and_follows_check_events(
    monkeypatch, client, django_capture_on_commit_callbacks
):
    _, connection = fake_provider_install(
        monkeypatch,
        slug="cube-hooks",
        kind="complycube",
        webhook_secret_env="CUBE_HOOK_SECRET",
    )
    monkeypatch.setenv("CUBE_HOOK_SECRET", SECRET)
    session = WorkflowSessionFactory(connection=connection, external_id="cs-1")
    CheckFactory(session=session, external_id="chk-1")
    session_event = json.dumps(
        {"id": "evt-1", "type": "workflow.session.completed", "payload": {"id": "cs-2"}}
    ).encode()
    check_event = json.dumps(
        {"id": "evt-2", "type": "check.completed.clear", "payload": {"id": "chk-1"}}
    ).encode()
    resent = json.dumps(
        {"type": "workflow.session.completed", "id": "evt-1", "payload": {"id": "cs-2"}}
    ).encode()

    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        for body in (session_event, check_event, resent):
            _post(client, "cube-hooks", body, **{"ComplyCube-Signature": _sign(body)})

    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == [
        "evt-1",
        "evt-2",
    ]
    assert [c.args[1] for c in delay.call_args_list] == ["cs-2", "cs-1"]


def test_ica_shared_secret_header_and_embedded_session(
    monkeypatch, client, django_capture_on_commit_callbacks
):
    _, connection = fake_provider_install(
        monkeypatch, slug="ica-hooks", kind="ica", webhook_secret_env="ICA_HOOK_SECRET"
    )
    monkeypatch.setenv("ICA_HOOK_SECRET", SECRET)
    body = json.dumps(
        {
            "correlationId": "corr-1",
            "eventCode": "ICA_EXEC_028",
            "projectId": "proj-1",
            "payload": {"id": "analysis-1", "workflowSession": {"id": "ws-1"}},
        }
    ).encode()

    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        refused = _post(client, "ica-hooks", body, **{"X-ICA-Webhook-Secret": "wrong"})
        accepted = _post(client, "ica-hooks", body, **{"X-ICA-Webhook-Secret": SECRET})

    assert refused.status_code == 401
    assert accepted.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert (delivery.delivery_id, delivery.event_type) == ("corr-1", "ICA_EXEC_028")
    delay.assert_called_once_with(
        connection.pk, "ws-1", {"project_id": "proj-1"}, delivery.pk
    )


def test_webhook_view_makes_no_provider_call(
    onfido, client, django_capture_on_commit_callbacks
):
    provider, _ = onfido
    body = _onfido_body("wr-1")
    with (
        mock.patch.object(tasks.session_refresh, "delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        _post(client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)})
    assert provider.fetch_calls == []
    assert provider.calls == []


# Query budgets: a delivery costs the same few queries however many came
# before: the connection, the insert in its savepoint (SAVEPOINT, INSERT,
# RELEASE) and, for a ComplyCube check event, the lookup of the check's
# session. A re-delivery also rolls its savepoint back.
WEBHOOK_QUERY_BUDGET = {"onfido": 4, "complycube": 5, "ica": 4}


def _deliveries(kind: str) -> tuple[list[bytes], Callable[[bytes], dict[str, str]]]:
    """Three distinct deliveries of `kind` and how each is signed."""
    if kind == "onfido":
        bodies = [_onfido_body(f"wr-{n}") for n in range(3)]
        return bodies, lambda body: {"X-SHA2-Signature": _sign(body)}
    if kind == "complycube":
        bodies = [
            json.dumps(
                {
                    "id": f"evt-{n}",
                    "type": "check.completed",
                    "payload": {"id": "chk-1"},
                }
            ).encode()
            for n in range(3)
        ]
        return bodies, lambda body: {"ComplyCube-Signature": _sign(body)}
    bodies = [
        json.dumps(
            {
                "correlationId": f"corr-{n}",
                "eventCode": "ICA_WFS_002",
                "projectId": "proj-1",
                "payload": {"id": f"ws-{n}"},
            }
        ).encode()
        for n in range(3)
    ]
    return bodies, lambda body: {"X-ICA-Webhook-Secret": SECRET}


@pytest.mark.parametrize("kind", ["onfido", "complycube", "ica"])
def test_each_delivery_costs_a_constant_number_of_queries(
    kind, monkeypatch, client, django_assert_max_num_queries
):
    _, connection = fake_provider_install(
        monkeypatch,
        slug=f"{kind}-budget",
        kind=kind,
        webhook_secret_env="BUDGET_HOOK_SECRET",
    )
    monkeypatch.setenv("BUDGET_HOOK_SECRET", SECRET)
    session = WorkflowSessionFactory(connection=connection, external_id="cs-1")
    CheckFactory(session=session, external_id="chk-1")
    bodies, signed = _deliveries(kind)

    with mock.patch.object(tasks.session_refresh, "delay"):
        for body in bodies:
            with django_assert_max_num_queries(WEBHOOK_QUERY_BUDGET[kind]):
                response = _post(client, f"{kind}-budget", body, **signed(body))
            assert response.status_code == 202
        with django_assert_max_num_queries(WEBHOOK_QUERY_BUDGET[kind] + 1):
            again = _post(client, f"{kind}-budget", bodies[0], **signed(bodies[0]))
    assert again.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.filter(connection=connection).count() == 3
