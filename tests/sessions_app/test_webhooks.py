"""Signed provider webhooks: verify before parsing, store once, refresh on commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from unittest import mock

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

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
        webhook_secret_env="VERITY_PROVIDER_ONFIDO_HOOK_SECRET",
    )
    monkeypatch.setenv("VERITY_PROVIDER_ONFIDO_HOOK_SECRET", SECRET)
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
    monkeypatch.delenv("VERITY_PROVIDER_ONFIDO_HOOK_SECRET")
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


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (b"{not json", "{not json"),
        (b"[1, 2]", "[1, 2]"),
        # Every byte kept visible: invalid UTF-8 and NUL (PostgreSQL refuses
        # NUL in text) written as escapes.
        (b"\xff\xfe", "\\xff\\xfe"),
        (b'{"id": "a\x00b"}', '{"id": "a\\x00b"}'),
    ],
)
def test_malformed_body_with_a_valid_signature_is_stored_as_received_with_an_error(
    onfido, client, body, stored
):
    response = _post(client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)})

    assert response.status_code == 400
    assert response.json() == {"detail": "Body is not a JSON object."}
    delivery = WebhookDelivery.objects.get()
    assert delivery.error == "Body is not a JSON object."
    assert delivery.body == stored
    assert delivery.delivery_id == "sha256:" + hashlib.sha256(body).hexdigest()
    assert delivery.processed_at is None


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_deeply_nested_signed_body_is_stored_as_received_and_answered_400(
    onfido, client, depth
):
    body = b'{"payload": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"

    with mock.patch.object(tasks.session_refresh, "delay") as delay:
        response = _post(
            client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)}
        )
        again = _post(client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)})

    assert response.status_code == 400
    assert response.json() == {"detail": "Body is nested too deeply to read."}
    assert again.status_code == 400  # the provider's retry: still stored once
    delivery = WebhookDelivery.objects.get()
    assert delivery.body == body.decode()
    assert delivery.error == "Body is nested too deeply to read."
    delay.assert_not_called()


def test_rotated_secrets_are_all_accepted(onfido, client, monkeypatch):
    monkeypatch.setenv("VERITY_PROVIDER_ONFIDO_HOOK_SECRET", "whsec-new, whsec-old")
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
        webhook_secret_env="VERITY_PROVIDER_CUBE_HOOK_SECRET",
    )
    monkeypatch.setenv("VERITY_PROVIDER_CUBE_HOOK_SECRET", SECRET)
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
        monkeypatch,
        slug="ica-hooks",
        kind="ica",
        webhook_secret_env="VERITY_PROVIDER_ICA_HOOK_SECRET",
    )
    monkeypatch.setenv("VERITY_PROVIDER_ICA_HOOK_SECRET", SECRET)
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
# session. A re-delivery also rolls its savepoint back and asks, in a
# savepoint of its own, whether its refresh is still owed (four more).
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
        webhook_secret_env="VERITY_PROVIDER_BUDGET_HOOK_SECRET",
    )
    monkeypatch.setenv("VERITY_PROVIDER_BUDGET_HOOK_SECRET", SECRET)
    session = WorkflowSessionFactory(connection=connection, external_id="cs-1")
    CheckFactory(session=session, external_id="chk-1")
    bodies, signed = _deliveries(kind)

    with mock.patch.object(tasks.session_refresh, "delay"):
        for body in bodies:
            with django_assert_max_num_queries(WEBHOOK_QUERY_BUDGET[kind]):
                response = _post(client, f"{kind}-budget", body, **signed(body))
            assert response.status_code == 202
        with django_assert_max_num_queries(WEBHOOK_QUERY_BUDGET[kind] + 4):
            again = _post(client, f"{kind}-budget", bodies[0], **signed(bodies[0]))
    assert again.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.filter(connection=connection).count() == 3


# --- NUL characters inside a signed delivery's fields ---------------------------------


def test_nul_characters_in_a_signed_deliverys_fields_are_stripped_and_it_is_processed(
    onfido, client, django_capture_on_commit_callbacks
):
    provider, _ = onfido
    provider.add("wr-1", status="approved")
    # JSON's \u0000 escape: valid JSON, a NUL in every parsed field.
    body = (
        b'{"payload": {"resource_type": "workflow_run", '
        b'"action": "workflow_run.comp\\u0000leted", "object": {"id": "wr-\\u00001", '
        b'"status": "appro\\u0000ved", "completed_at_iso8601": "2026\\u0000"}}}'
    )
    assert json.loads(body)["payload"]["object"]["id"] == "wr-\x001"

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)}
        )

    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event_type, delivery.resource_id) == (
        "workflow_run.completed",
        "wr-1",
    )
    assert "\x00" not in delivery.delivery_id + delivery.body
    assert delivery.processed_at is not None
    assert WorkflowSession.objects.get().external_id == "wr-1"


@pytest.mark.postgres  # PostgreSQL refuses NUL in text: a 500 there, before the fix
@pytest.mark.parametrize("kind", ["onfido", "complycube", "ica"])
def test_nul_characters_in_every_providers_fields_are_stored_on_postgres(
    kind, monkeypatch, client
):
    _, connection = fake_provider_install(
        monkeypatch,
        slug=f"{kind}-nul",
        kind=kind,
        webhook_secret_env="VERITY_PROVIDER_NUL_SECRET",
    )
    monkeypatch.setenv("VERITY_PROVIDER_NUL_SECRET", SECRET)
    nul = "\x00"
    data = {
        "onfido": {
            "payload": {
                "resource_type": f"workflow{nul}_run",
                "action": f"workflow_run.completed{nul}",
                "object": {"id": f"wr{nul}-1", "status": nul, "x": nul},
            }
        },
        "complycube": {
            "id": f"evt{nul}-1",
            "type": f"check.completed{nul}",
            "payload": {"id": f"chk{nul}-1", "workflowSessionId": f"cs{nul}-1"},
        },
        "ica": {
            "correlationId": f"corr{nul}-1",
            "eventCode": f"ICA_WFS_002{nul}",
            "projectId": f"proj{nul}-1",
            "payload": {"id": f"ws{nul}-1"},
        },
    }[kind]
    body = json.dumps(data).encode()
    headers = {
        "onfido": {"X-SHA2-Signature": _sign(body)},
        "complycube": {"ComplyCube-Signature": _sign(body)},
        "ica": {"X-ICA-Webhook-Secret": SECRET},
    }[kind]

    with mock.patch.object(tasks.session_refresh, "delay"):
        response = _post(client, f"{kind}-nul", body, **headers)
        again = _post(client, f"{kind}-nul", body, **headers)

    assert response.status_code == 202
    assert again.json()["status"] == "duplicate"
    delivery = WebhookDelivery.objects.get(connection=connection)
    stored = [delivery.delivery_id, delivery.event_type, delivery.resource_id]
    assert all(nul not in value for value in stored)
    assert delivery.resource_id in {"wr-1", "cs-1", "ws-1"}


# --- Scope: an ICA connection refreshes only its own projects ------------------------


def _ica_event(correlation_id: str, project_id: str, session_id: str) -> bytes:
    return json.dumps(
        {
            "correlationId": correlation_id,
            "eventCode": "ICA_WFS_002",
            "projectId": project_id,
            "payload": {"id": session_id},
        }
    ).encode()


def test_an_ica_delivery_for_a_project_the_connection_does_not_read_is_kept_not_refreshed(
    monkeypatch, client, django_capture_on_commit_callbacks
):
    provider, connection = fake_provider_install(
        monkeypatch,
        slug="ica-scoped",
        kind="ica",
        webhook_secret_env="VERITY_PROVIDER_ICA_HOOK_SECRET",
        options={"project_ids": ["proj-1", "proj-2"]},
    )
    monkeypatch.setenv("VERITY_PROVIDER_ICA_HOOK_SECRET", SECRET)
    provider.add("ws-other", status="approved")
    header = {"X-ICA-Webhook-Secret": SECRET}
    outside = _ica_event("corr-1", "proj-9", "ws-other")
    inside = _ica_event("corr-2", "proj-2", "ws-mine")

    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        refused = _post(client, "ica-scoped", outside, **header)
        retried = _post(client, "ica-scoped", outside, **header)
        accepted = _post(client, "ica-scoped", inside, **header)

    assert refused.status_code == 200
    assert refused.json()["status"] == "ignored"
    assert "proj-9" in refused.json()["detail"]
    assert retried.json()["status"] == "duplicate"
    assert accepted.status_code == 202
    kept = WebhookDelivery.objects.get(delivery_id="corr-1")
    assert kept.resource_id == "ws-other"
    assert kept.error == (
        "Not refreshed: project 'proj-9' is not one of this connection's project_ids."
    )
    assert kept.processed_at is not None  # nothing left to do: the sweeper skips it
    delay.assert_called_once_with(
        connection.pk,
        "ws-mine",
        {"project_id": "proj-2"},
        WebhookDelivery.objects.get(delivery_id="corr-2").pk,
    )
    assert not WorkflowSession.objects.filter(external_id="ws-other").exists()


# --- The outbox: a broker outage never loses a refresh --------------------------------


@pytest.mark.parametrize(
    "outage",
    [
        OperationalError("Error 111 connecting to localhost:6379. Connection refused."),
        FileNotFoundError(2, "No such file or directory", "var/broker/queue"),
    ],
)
def test_a_delivery_received_while_the_broker_is_down_is_accepted_then_swept(
    onfido, client, django_capture_on_commit_callbacks, settings, caplog, outage
):
    provider, _ = onfido
    provider.add("wr-1", status="approved")
    body = _onfido_body("wr-1")
    signature = {"X-SHA2-Signature": _sign(body)}

    with (
        mock.patch.object(tasks.session_refresh, "delay", side_effect=outage),
        django_capture_on_commit_callbacks(execute=True),
        caplog.at_level(logging.WARNING, logger="sessions_app.tasks"),
    ):
        response = _post(client, "onfido-hooks", body, **signature)

    assert response.status_code == 202  # stored: never a 5xx
    delivery = WebhookDelivery.objects.get()
    assert (delivery.processed_at, delivery.enqueued_at) == (None, None)
    [line] = caplog.records
    assert "did not take the refresh" in line.getMessage()
    assert line.exc_info is None  # one line, no traceback
    assert not WorkflowSession.objects.exists()

    # The broker is back: the next sweep (eager Celery runs the refresh).
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.webhook_deliveries_sweep() == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    assert delivery.enqueue_attempts == 2
    assert WorkflowSession.objects.get().external_id == "wr-1"

    # The provider's retry of it is a duplicate with nothing left to do.
    with (
        mock.patch.object(tasks.session_refresh, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        again = _post(client, "onfido-hooks", body, **signature)
    assert again.json()["status"] == "duplicate"
    delay.assert_not_called()


def test_the_providers_retry_of_a_delivery_the_broker_lost_enqueues_it_again(
    onfido, client, django_capture_on_commit_callbacks
):
    provider, _ = onfido
    provider.add("wr-1", status="approved")
    body = _onfido_body("wr-1")
    signature = {"X-SHA2-Signature": _sign(body)}
    with (
        mock.patch.object(
            tasks.session_refresh, "delay", side_effect=OperationalError("down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert _post(client, "onfido-hooks", body, **signature).status_code == 202

    # The broker is back; the provider retries before the sweeper ran.
    with django_capture_on_commit_callbacks(execute=True):
        again = _post(client, "onfido-hooks", body, **signature)

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is not None
    assert WorkflowSession.objects.get().external_id == "wr-1"
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.webhook_deliveries_sweep() == []  # nothing left to sweep


def test_a_retry_of_a_delivery_still_queued_is_not_enqueued_again(
    onfido, client, django_capture_on_commit_callbacks
):
    body = _onfido_body("wr-1")
    signature = {"X-SHA2-Signature": _sign(body)}
    with mock.patch.object(tasks.session_refresh, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            _post(client, "onfido-hooks", body, **signature)
            _post(client, "onfido-hooks", body, **signature)  # within the delay
        assert delay.call_count == 1
        # Its refresh was lost (a worker died with it): once overdue, a retry
        # enqueues it again.
        WebhookDelivery.objects.update(
            enqueued_at=timezone.now() - dt.timedelta(minutes=5)
        )
        with django_capture_on_commit_callbacks(execute=True):
            _post(client, "onfido-hooks", body, **signature)

    assert delay.call_count == 2
    assert WebhookDelivery.objects.get().enqueue_attempts == 2


def test_an_onfido_delivery_is_stored_without_the_credentials_it_carries(
    onfido, client
):
    data = json.loads(_onfido_body("wr-1"))
    data["payload"]["resource"] = {
        "id": "wr-1",
        "status": "approved",
        "sdk_token": "eyJhbGciOi.sdk-secret",
        "link": {"url": "https://eu.onfido.app/l/link-secret", "language": "en_US"},
        "output": {"decision": "approved"},
    }
    body = json.dumps(data).encode()
    with mock.patch.object(tasks.session_refresh, "delay"):
        response = _post(
            client, "onfido-hooks", body, **{"X-SHA2-Signature": _sign(body)}
        )

    assert response.status_code == 202
    stored = WebhookDelivery.objects.get()
    assert "secret" not in stored.body
    assert "sdk_token" not in stored.body
    resource = json.loads(stored.body)["payload"]["resource"]
    assert resource == {
        "id": "wr-1",
        "status": "approved",
        "link": {"language": "en_US"},
        "output": {"decision": "approved"},
    }
    assert stored.resource_id == "wr-1"
