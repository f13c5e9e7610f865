"""The sync engine end to end: real adapters, real HTTP, the provider simulator."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.core.management import call_command
from django.urls import reverse

from sessions_app import tasks
from sessions_app.models import (
    SyncRun,
    SyncRunState,
    SyncTrigger,
    WebhookDelivery,
    WorkflowSession,
)
from sessions_app.sync import engine as sync
from tests.sessions_app.mirror import KINDS, mirror_differences

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]


@pytest.fixture
def connections(simulator, monkeypatch, settings):
    """One connection per simulated provider, configured like `make run` does."""
    settings.VERITY_RETRY_JITTER_SECONDS = 0
    for kind in KINDS:
        credential_env = f"VERITY_PROVIDER_SIM_TEST_{kind.upper()}_CREDENTIAL"
        secret_env = f"VERITY_PROVIDER_SIM_TEST_{kind.upper()}_WEBHOOK_SECRET"
        monkeypatch.setenv(credential_env, simulator.credentials[kind])
        monkeypatch.setenv(secret_env, simulator.webhook_secrets[kind])
        call_command(
            "configure_provider",
            "--kind",
            kind,
            "--slug",
            kind,
            "--base-url",
            simulator.base_urls[kind],
            "--credential-env",
            credential_env,
            "--webhook-secret-env",
            secret_env,
            # The simulator has no rate limit here; the client-side limiter
            # would only slow the tests down.
            "--rate-limit",
            "1000",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    return simulator


def _states(outcome: dict[str, sync.ConnectionPass]) -> dict[str, str]:
    return {slug: result.runs[-1].state for slug, result in outcome.items()}


def _totals(outcome: dict[str, sync.ConnectionPass], key: str) -> int:
    return sum(getattr(run, key) for result in outcome.values() for run in result.runs)


def test_first_sync_mirrors_the_simulator_and_a_second_changes_nothing(connections):
    first = sync.providers_sync_all()

    assert _states(first) == dict.fromkeys(KINDS, "succeeded")
    truth = connections.state()
    assert mirror_differences(truth) == []
    assert _totals(first, "created") == sum(
        truth["providers"][k]["counts"]["sessions"] for k in KINDS
    )
    hashes = dict(WorkflowSession.objects.values_list("pk", "payload_hash"))

    second = sync.providers_sync_all()

    assert _states(second) == dict.fromkeys(KINDS, "succeeded")
    assert _totals(second, "created") == 0
    assert _totals(second, "updated") == 0
    assert _totals(second, "unchanged") > 0  # incremental windows list only some
    assert dict(WorkflowSession.objects.values_list("pk", "payload_hash")) == hashes
    assert mirror_differences(connections.state()) == []


def test_status_changes_at_the_providers_are_picked_up(connections):
    sync.providers_sync_all()
    before = dict(WorkflowSession.objects.values_list("external_id", "raw_status"))

    connections.advance(6 * 3600)  # sessions move on; new ones appear
    later = sync.providers_sync_all()

    assert _states(later) == dict.fromkeys(KINDS, "succeeded")
    assert mirror_differences(connections.state()) == []
    after = dict(WorkflowSession.objects.values_list("external_id", "raw_status"))
    changed = {i for i in before if after[i] != before[i]}
    assert changed  # the simulator moved some sessions through their statuses
    assert _totals(later, "updated") >= len(changed)
    assert _totals(later, "created") == len(after) - len(before)


def test_one_provider_down_does_not_stop_the_others_and_a_rerun_completes_it(
    connections,
):
    connections.set_faults("onfido", server_error_probability=1.0)

    outcome = sync.providers_sync_all()

    assert _states(outcome) == {
        "onfido": "failed",
        "complycube": "succeeded",
        "ica": "succeeded",
    }
    assert "500" in outcome["onfido"].runs[-1].error
    truth = connections.state()
    assert (
        mirror_differences(truth, slugs={"complycube": "complycube", "ica": "ica"})
        == []
    )

    connections.set_faults("onfido", server_error_probability=0.0)
    assert _states(sync.providers_sync_all()) == dict.fromkeys(KINDS, "succeeded")
    assert mirror_differences(connections.state()) == []


def test_failure_after_some_pages_then_rerun_loses_and_duplicates_nothing(
    connections, settings
):
    settings.VERITY_SYNC_MAX_PAGES = 2
    connection = _connection("complycube")
    connection.options = {"batch_size": 5}  # five sessions per page
    connection.save(update_fields=["options"])

    first = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    assert (first.state, first.pages, first.created) == (SyncRunState.PARTIAL, 2, 10)
    connections.set_faults("complycube", server_error_burst=50)
    failed = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    assert failed.state == SyncRunState.FAILED
    assert failed.cursor_before == first.cursor_after
    assert WorkflowSession.objects.count() == 10

    connections.set_faults("complycube", server_error_burst=0)
    rest = sync.provider_sync_pass(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert rest[-1].state == SyncRunState.SUCCEEDED
    assert rest[0].cursor_before == first.cursor_after  # resumed, not restarted
    assert sum(run.created for run in rest) == WorkflowSession.objects.count() - 10
    assert (
        mirror_differences(connections.state(), slugs={"complycube": "complycube"})
        == []
    )


def test_malformed_page_fails_only_that_provider_and_unknown_values_are_counted(
    connections,
):
    connections.set_faults("ica", unknown_enum_probability=0.5)
    connections.set_faults("onfido", malformed_probability=1.0)

    outcome = sync.providers_sync_all()

    ica_run = outcome["ica"].runs[-1]
    assert ica_run.state == "succeeded"
    assert ica_run.unknown_values  # counted, shown on the sync page
    assert WorkflowSession.objects.filter(
        connection__slug="ica", status="unknown"
    ).exists()
    assert outcome["complycube"].runs[-1].state == "succeeded"
    broken = outcome["onfido"].runs[-1]
    assert broken.state == "failed"
    assert "not valid JSON" in broken.error

    connections.set_faults("onfido", malformed_probability=0.0)
    healed = sync.provider_sync_pass(connection=_connection("onfido"))
    assert healed[-1].state == "succeeded"
    assert mirror_differences(connections.state(), slugs={"onfido": "onfido"}) == []


def test_429_with_retry_after_makes_the_task_retry_with_that_countdown(connections):
    connections.set_faults("complycube", rate_limit_burst=100, retry_after_seconds=37)
    connection = _connection("complycube")

    with (
        mock.patch.object(tasks.sync_connection, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        tasks.sync_connection(connection.pk)

    assert retry.call_args.kwargs["countdown"] == 37
    assert SyncRun.objects.get().state == SyncRunState.RATE_LIMITED


def test_signed_simulator_webhooks_refresh_their_session(
    connections, client, django_capture_on_commit_callbacks
):
    for kind in KINDS:
        message = connections.build_webhook(provider=kind)
        headers = {
            k: v for k, v in message.headers.items() if k.lower() != "content-type"
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("provider-webhook", args=[kind]),
                data=message.body,
                content_type="application/json",
                headers=headers,
            )
        assert response.status_code == 202, (kind, response.content)
        session = WorkflowSession.objects.get(
            connection__slug=kind, external_id=message.session_id
        )
        served = {
            s["id"]: s["status"]
            for s in connections.state()["providers"][kind]["sessions"]
        }
        assert session.raw_status == served[message.session_id]
        delivery = WebhookDelivery.objects.get(connection__slug=kind)
        assert delivery.processed_at is not None
        assert delivery.event_type == message.event

        again = client.post(
            reverse("provider-webhook", args=[kind]),
            data=message.body,
            content_type="application/json",
            headers=headers,
        )
        assert again.status_code == 200
        assert WebhookDelivery.objects.filter(connection__slug=kind).count() == 1


def test_webhook_signed_with_another_secret_is_refused(connections, client):
    message = connections.build_webhook(provider="complycube", secret="not-the-secret")
    headers = {k: v for k, v in message.headers.items() if k.lower() != "content-type"}

    response = client.post(
        reverse("provider-webhook", args=["complycube"]),
        data=message.body,
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_sync_providers_command_against_the_simulator(connections):
    out = StringIO()
    call_command("sync_providers", stdout=out)
    text = out.getvalue()
    for kind in KINDS:
        assert f"{kind}: succeeded" in text
    assert mirror_differences(connections.state()) == []


def _connection(slug):
    from sessions_app.models import ProviderConnection

    return ProviderConnection.objects.get(slug=slug)
