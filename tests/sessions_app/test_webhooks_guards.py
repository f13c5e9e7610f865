"""Webhook signatures and dedupe, pinned where mutation testing found gaps.

Each test here killed a mutant of the webhook receiver that the rest of the
suite let live (docs/testing.md): a signature or shared secret compared as a
prefix, a secret rotation that loses one of its secrets, the `sha256=` and
upper-case spellings of a signature, and an Onfido dedupe key that forgets the
run's status or completion time.

Only the HTTP endpoint `/webhooks/<slug>/` is exercised. "Enqueues a refresh"
is read as an on-commit callback registered by the request (the refresh task
is queued on commit); none is executed, so no provider is called.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.urls import reverse

from sessions_app.models import ProviderKind, WebhookDelivery
from tests.factories import ProviderConnectionFactory

pytestmark = pytest.mark.django_db

SECRET = "whsec-guard-0123456789"
HEADER = {
    ProviderKind.ONFIDO: "X-SHA2-Signature",
    ProviderKind.COMPLYCUBE: "ComplyCube-Signature",
}
ICA_HEADER = "X-ICA-Webhook-Secret"


def _hmac(body: bytes, secret: str = SECRET) -> str:
    # Written out here, not imported: the test must not share the code it checks.
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def hook(monkeypatch):
    """Make a connection of `kind` whose webhook secret variable holds `secrets`."""

    def make(kind: str, secrets: str = SECRET):
        env = f"VERITY_PROVIDER_GUARD_{kind.upper()}_HOOK_SECRET"
        monkeypatch.setenv(env, secrets)
        return ProviderConnectionFactory(
            kind=kind, slug=f"{kind}-guard", webhook_secret_env=env, enabled=True
        )

    return make


def _post(client, connection, body: bytes, headers: dict[str, str]):
    return client.post(
        reverse("provider-webhook", args=[connection.slug]),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def _onfido_body(
    run_id: str = "wr-guard",
    status: str = "approved",
    completed_at: str = "2026-03-01T10:00:00Z",
) -> bytes:
    return json.dumps(
        {
            "payload": {
                "resource_type": "workflow_run",
                "action": "workflow_run.completed",
                "object": {
                    "id": run_id,
                    "status": status,
                    "completed_at_iso8601": completed_at,
                },
            }
        }
    ).encode()


def _complycube_body(event_id: str = "evt-guard") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "workflow.session.completed",
            "payload": {"id": "cs-guard"},
        }
    ).encode()


BODIES = {ProviderKind.ONFIDO: _onfido_body, ProviderKind.COMPLYCUBE: _complycube_body}


# --- HMAC signatures (Onfido, ComplyCube) -------------------------------------------


@pytest.mark.parametrize("kind", [ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE])
def test_the_full_signature_is_accepted(hook, client, kind):
    connection = hook(kind)
    body = BODIES[kind]()
    response = _post(client, connection, body, {HEADER[kind]: _hmac(body)})
    assert response.status_code == 202
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("kind", [ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE])
@pytest.mark.parametrize("length", [1, 2, 8, 32, 63])
def test_a_prefix_of_the_right_signature_is_refused(hook, client, kind, length):
    # A one-character prefix of the right signature is what a prefix match lets
    # through one time in sixteen; here it is always the right first character.
    connection = hook(kind)
    body = BODIES[kind]()
    response = _post(client, connection, body, {HEADER[kind]: _hmac(body)[:length]})
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("kind", [ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE])
@pytest.mark.parametrize("extra", ["0", "00", " trailing-junk", "=" * 4])
def test_the_right_signature_with_more_after_it_is_refused(hook, client, kind, extra):
    connection = hook(kind)
    body = BODIES[kind]()
    response = _post(client, connection, body, {HEADER[kind]: _hmac(body) + extra})
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("kind", [ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE])
@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda sig: "sha256=" + sig, id="sha256-prefix"),
        pytest.param(lambda sig: "SHA256=" + sig, id="SHA256-prefix"),
        pytest.param(str.upper, id="upper-case"),
        pytest.param(lambda sig: "sha256=" + sig.upper(), id="prefix-and-upper"),
        pytest.param(lambda sig: f"  {sig}\t", id="surrounding-blanks"),
    ],
)
def test_prefixed_or_upper_case_signatures_are_accepted(hook, client, kind, spelling):
    """Pinned as today: providers and proxies send these spellings of one HMAC."""
    connection = hook(kind)
    body = BODIES[kind]()
    response = _post(client, connection, body, {HEADER[kind]: spelling(_hmac(body))})
    assert response.status_code == 202
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("kind", [ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE])
@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda body: "sha256=", id="prefix-alone"),
        pytest.param(lambda body: "sha256=" + "0" * 64, id="prefix-and-forgery"),
        pytest.param(
            lambda body: "sha256=" + _hmac(body)[:1], id="prefix-and-one-character"
        ),
        pytest.param(lambda body: "sha1=" + _hmac(body), id="other-algorithm-label"),
    ],
)
def test_a_prefixed_forgery_is_still_refused(hook, client, kind, signature):
    connection = hook(kind)
    body = BODIES[kind]()
    response = _post(client, connection, body, {HEADER[kind]: signature(body)})
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_hmac_rotation_accepts_every_listed_secret_and_only_those(hook, client):
    connection = hook(ProviderKind.COMPLYCUBE, secrets=" new-secret ,old-secret,")
    header = HEADER[ProviderKind.COMPLYCUBE]
    statuses = {}
    for name, secret in [
        ("new", "new-secret"),
        ("old", "old-secret"),
        ("retired", SECRET),
        ("blank", ""),
    ]:
        body = _complycube_body(f"evt-{name}")
        statuses[name] = _post(
            client, connection, body, {header: _hmac(body, secret)}
        ).status_code
    assert statuses == {"new": 202, "old": 202, "retired": 401, "blank": 401}


# --- ICA's shared secret --------------------------------------------------------------


def _ica_body(correlation_id: str = "corr-guard") -> bytes:
    return json.dumps(
        {
            "correlationId": correlation_id,
            "eventCode": "ICA_WFS_002",
            "payload": {"id": "ws-guard"},
        }
    ).encode()


def test_ica_the_exact_secret_is_accepted(hook, client):
    connection = hook(ProviderKind.ICA)
    response = _post(client, connection, _ica_body(), {ICA_HEADER: SECRET})
    assert response.status_code == 202


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param(SECRET[:1], id="first-character"),
        pytest.param(SECRET[:2], id="two-characters"),
        pytest.param(SECRET[:-1], id="all-but-the-last"),
        pytest.param(SECRET + "x", id="one-more-character"),
        pytest.param(SECRET + SECRET, id="twice"),
        pytest.param("x" + SECRET, id="one-before"),
        pytest.param(SECRET[1:], id="without-the-first"),
        pytest.param(SECRET.upper(), id="upper-case"),
        pytest.param(" " * len(SECRET), id="blanks"),
    ],
)
def test_ica_anything_but_the_exact_secret_is_refused(hook, client, presented):
    connection = hook(ProviderKind.ICA)
    response = _post(client, connection, _ica_body(), {ICA_HEADER: presented})
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_ica_an_hmac_header_does_not_stand_in_for_the_secret(hook, client):
    connection = hook(ProviderKind.ICA)
    body = _ica_body()
    headers = {"X-SHA2-Signature": _hmac(body), "ComplyCube-Signature": _hmac(body)}
    assert _post(client, connection, body, headers).status_code == 401


def test_ica_secret_rotation_accepts_both_and_refuses_a_removed_one(
    hook, client, monkeypatch
):
    connection = hook(ProviderKind.ICA, secrets="ica-old-secret, ica-new-secret")
    during = {
        secret: _post(
            client, connection, _ica_body(f"corr-{i}"), {ICA_HEADER: secret}
        ).status_code
        for i, secret in enumerate(["ica-old-secret", "ica-new-secret", SECRET])
    }
    assert during == {"ica-old-secret": 202, "ica-new-secret": 202, SECRET: 401}

    # Rotation done: the old secret is removed from the variable.
    monkeypatch.setenv(connection.webhook_secret_env, "ica-new-secret")
    after = {
        secret: _post(
            client, connection, _ica_body(f"corr-after-{i}"), {ICA_HEADER: secret}
        ).status_code
        for i, secret in enumerate(["ica-old-secret", "ica-new-secret"])
    }
    assert after == {"ica-old-secret": 401, "ica-new-secret": 202}
    assert WebhookDelivery.objects.count() == 3


def test_ica_the_second_secret_alone_is_enough(hook, client):
    connection = hook(ProviderKind.ICA, secrets="first-secret,second-secret")
    response = _post(client, connection, _ica_body(), {ICA_HEADER: "second-secret"})
    assert response.status_code == 202


def test_ica_a_blank_entry_in_the_secret_list_matches_nothing(hook, client):
    connection = hook(ProviderKind.ICA, secrets=" , ica-secret,, ")
    assert _post(client, connection, _ica_body(), {ICA_HEADER: ""}).status_code == 401
    assert _post(client, connection, _ica_body(), {ICA_HEADER: " "}).status_code == 401
    assert WebhookDelivery.objects.count() == 0


# --- Onfido dedupe: an event is (action, run, status, completed_at) ------------------


@pytest.mark.parametrize(
    "second",
    [
        pytest.param({"status": "declined"}, id="status-differs"),
        pytest.param(
            {"completed_at": "2026-03-02T08:30:00Z"}, id="completed-at-differs"
        ),
    ],
)
def test_onfido_deliveries_of_one_run_differing_only_in_status_or_completion_are_both_kept(
    hook, client, django_capture_on_commit_callbacks, second
):
    connection = hook(ProviderKind.ONFIDO)
    header = HEADER[ProviderKind.ONFIDO]
    first_body = _onfido_body()
    second_body = _onfido_body(**second)
    with django_capture_on_commit_callbacks(execute=False) as refreshes:
        first = _post(client, connection, first_body, {header: _hmac(first_body)})
        again = _post(client, connection, second_body, {header: _hmac(second_body)})

    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["delivery_id"] != again.json()["delivery_id"]
    deliveries = WebhookDelivery.objects.order_by("pk")
    assert [d.resource_id for d in deliveries] == ["wr-guard", "wr-guard"]
    assert len(refreshes) == 2, "each delivery enqueues its own refresh"


def test_onfido_a_repeated_delivery_is_stored_once_and_refreshes_once(
    hook, client, django_capture_on_commit_callbacks
):
    connection = hook(ProviderKind.ONFIDO)
    body = _onfido_body()
    header = {HEADER[ProviderKind.ONFIDO]: _hmac(body)}
    with django_capture_on_commit_callbacks(execute=False) as refreshes:
        first = _post(client, connection, body, header)
        again = _post(client, connection, body, header)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.count() == 1
    assert len(refreshes) == 1
