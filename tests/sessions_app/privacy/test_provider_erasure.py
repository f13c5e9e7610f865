"""Asking the providers to delete an erased client: the adapters' delete calls
(against `responses` mocks and the running simulator), the proof recorded, the
Celery task's retries, and the sync never writing an erased identity back."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
import requests
import responses

from sessions_app import tasks_retention as tasks
from sessions_app.exceptions import ProviderUnavailable
from sessions_app.models import (
    AuditEvent,
    ProviderErasure,
    ProviderErasureOutcome,
    WorkflowSession,
)
from sessions_app.privacy import provider_erasure, retention
from sessions_app.privacy.audit_chain import audit_chain_verify
from sessions_app.providers.base import ConnectionConfig, ProviderAdapter
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.ica.adapter import IcaAdapter
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from tests.helpers.providers import FakeTime
from tests.helpers.retention import TODAY, personal_client

ADAPTERS: dict[str, type[ProviderAdapter]] = {
    "onfido": OnfidoAdapter,
    "complycube": ComplyCubeAdapter,
    "ica": IcaAdapter,
}
DELETE_PATHS = {"onfido": "/applicants/{id}", "complycube": "/clients/{id}"}


def adapter_on(kind: str, base_url: str, credential: str, fake_time: FakeTime):
    """`kind`'s adapter on `base_url`; its retries sleep on `fake_time`."""
    config = ConnectionConfig(
        slug=f"{kind}-erasure",
        kind=kind,
        base_url=base_url,
        credential=credential,
        rate_limit_per_second=0.0,
    )
    adapter_class = ADAPTERS[kind]
    http = adapter_class.make_http(
        config, sleep=fake_time.sleep, clock=fake_time.clock, jitter=lambda: 1.0
    )
    return adapter_class(config, http=http)


# --- the adapters, against mocks --------------------------------------------------------


@pytest.mark.parametrize("kind", ["onfido", "complycube"])
def test_delete_client_answers_deleted_with_the_request_id(kind):
    adapter = adapter_on(kind, "https://provider.test/v1", "sk_test_1234", FakeTime())
    url = "https://provider.test/v1" + DELETE_PATHS[kind].format(id="app-1")
    with responses.RequestsMock() as mock:
        mock.delete(url, status=204, headers={"X-Request-Id": "req-77"})
        answer = adapter.delete_client("app-1")
        assert mock.calls[0].request.method == "DELETE"
    assert (answer.outcome, answer.status_code) == ("deleted", 204)
    assert answer.excerpt == "Request id req-77."


@pytest.mark.parametrize("status", [404, 410])
def test_delete_of_a_client_already_gone_counts_as_deleted(status):
    adapter = adapter_on("onfido", "https://provider.test/v3.6", "tok", FakeTime())
    with responses.RequestsMock() as mock:
        mock.delete(
            "https://provider.test/v3.6/applicants/app-1",
            status=status,
            json={"error": {"type": "resource_not_found", "message": "gone"}},
        )
        answer = adapter.delete_client("app-1")
    assert (answer.outcome, answer.status_code) == ("already_gone", status)


def test_ica_is_not_asked():
    adapter = adapter_on("ica", "https://ica.test/ica/rest", "key", FakeTime())
    with responses.RequestsMock():  # any request would fail the test
        answer = adapter.delete_client("project-1")
    assert answer.outcome == "not_supported"
    assert "cannot delete" in answer.excerpt
    assert not IcaAdapter.supports_client_deletion


# --- the service and the task -----------------------------------------------------------


@pytest.fixture
def pending_onfido_erasure(db):
    found = personal_client(kinds=("onfido",), ended_on=dt.date(2020, 1, 1))
    retention.retention_sweep(today=TODAY)
    return ProviderErasure.objects.get(client=found.client)


@pytest.mark.django_db
def test_a_failing_deletion_is_recorded_then_the_retry_succeeds(
    pending_onfido_erasure, monkeypatch
):
    erasure = pending_onfido_erasure
    fake_time = FakeTime()
    factory = partial(
        lambda connection, **_: adapter_on(
            "onfido", "https://provider.test/v3.6", "tok", fake_time
        )
    )
    url = f"https://provider.test/v3.6/applicants/{erasure.external_id}"
    with responses.RequestsMock() as mock:
        mock.delete(url, status=500, json={"error": {"type": "internal"}})
        with pytest.raises(ProviderUnavailable):
            provider_erasure.provider_erasure_attempt(
                erasure_id=erasure.pk, adapter_factory=factory
            )
        erasure.refresh_from_db()
        assert erasure.outcome == ProviderErasureOutcome.PENDING
        assert erasure.attempts == 1
        assert "HTTP 500" in erasure.last_error
        mock.replace(responses.DELETE, url, status=204, headers={"X-Request-Id": "r9"})
        provider_erasure.provider_erasure_attempt(
            erasure_id=erasure.pk, adapter_factory=factory
        )
    erasure.refresh_from_db()
    assert erasure.outcome == ProviderErasureOutcome.DELETED
    assert (erasure.status_code, erasure.attempts) == (204, 2)
    assert erasure.answered_at is not None
    assert erasure.response_excerpt == "Request id r9."
    assert erasure.last_error == ""
    actions = list(
        AuditEvent.objects.filter(object_type="sessions_app.providererasure")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["provider_erasure.failed", "provider_erasure.answered"]
    assert audit_chain_verify().intact
    # Done: asking again makes no request.
    with responses.RequestsMock():
        provider_erasure.provider_erasure_attempt(
            erasure_id=erasure.pk, adapter_factory=factory
        )


@pytest.mark.django_db
def test_the_task_retries_with_backoff_then_gives_up_until_the_next_day(
    pending_onfido_erasure, monkeypatch, settings
):
    settings.VERITY_PROVIDER_ERASURE_MAX_ATTEMPTS = 3
    settings.VERITY_RETRY_JITTER_SECONDS = 0
    erasure = pending_onfido_erasure
    fake_time = FakeTime()
    monkeypatch.setattr(
        provider_erasure,
        "adapter_for",
        lambda connection: adapter_on(
            "onfido", "https://provider.test/v3.6", "tok", fake_time
        ),
    )
    url = f"https://provider.test/v3.6/applicants/{erasure.external_id}"
    with responses.RequestsMock() as mock:
        mock.delete(url, status=503)
        # Eager, each retry runs at once (Celery's apply() follows them)
        # when errors are not propagated.
        monkeypatch.setitem(
            tasks.provider_erasure_attempt.app.conf, "task_eager_propagates", False
        )
        result = tasks.provider_erasure_attempt.apply(args=[erasure.pk]).get()
        assert result == "failed"
        # One attempt = the client's first request and its three quick retries.
        assert len(mock.calls) == 3 * 4
    erasure.refresh_from_db()
    assert erasure.outcome == ProviderErasureOutcome.FAILED
    assert erasure.attempts == 3
    # The next daily run asks again, and this time the provider answers.
    sweep = retention.retention_sweep(today=TODAY + dt.timedelta(days=1))
    assert sweep.open_erasure_ids == [erasure.pk]
    with responses.RequestsMock() as mock:
        mock.delete(url, status=204)
        assert (
            tasks.provider_erasure_attempt.apply(args=[erasure.pk]).get() == "deleted"
        )
    erasure.refresh_from_db()
    assert (erasure.outcome, erasure.attempts) == ("deleted", 4)


def test_the_retention_task_runs_daily_on_beat(settings):
    from celery.schedules import crontab

    from config import celery as celery_config

    settings.VERITY_RETENTION_HOUR = 2
    scheduled = {}

    class Sender:
        def add_periodic_task(self, schedule, signature, name, **options):
            scheduled[signature] = schedule

        def signature(self, name):
            return name

    celery_config._setup_beat(Sender())
    schedule = scheduled["sessions_app.tasks_retention.retention_sweep_daily"]
    assert schedule == crontab(minute=37, hour=2)


@pytest.mark.django_db
def test_the_daily_task_erases_and_enqueues_the_deletions(monkeypatch):
    found = personal_client(kinds=("onfido",), ended_on=dt.date(2020, 1, 1))
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: TODAY)
    sent: list[int] = []
    monkeypatch.setattr(tasks.provider_erasure_attempt, "delay", sent.append)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        erased = tasks.retention_sweep_daily.apply().get()
    assert erased == [found.client.pk]
    assert sent == [ProviderErasure.objects.get(client=found.client).pk]


# --- against the simulator --------------------------------------------------------------


@pytest.mark.simulator
@pytest.mark.parametrize("kind", ["onfido", "complycube"])
def test_simulator_deletion_fails_then_succeeds_and_the_client_is_gone(simulator, kind):
    fake_time = FakeTime()
    adapter = adapter_on(
        kind, simulator.base_urls[kind], simulator.credentials[kind], fake_time
    )
    truth = simulator.state()["providers"][kind]
    client = truth["clients"][0]
    session_ids = [s["id"] for s in truth["sessions"] if s["client_id"] == client["id"]]
    assert session_ids
    # More 503s than the client's own quick retries (three): the attempt fails.
    simulator.set_faults(kind, delete_error_burst=4, server_error_status=503)
    with pytest.raises(ProviderUnavailable):
        adapter.delete_client(client["id"])
    assert len(fake_time.sleeps) == 3
    answer = adapter.delete_client(client["id"])
    assert (answer.outcome, answer.status_code) == ("deleted", 204)
    # Asking again is harmless: the provider holds nothing under that id.
    again = adapter.delete_client(client["id"])
    assert (again.outcome, again.status_code) == ("already_gone", 404)
    after = simulator.state()["providers"][kind]
    assert client["id"] not in {c["id"] for c in after["clients"]}
    assert not set(session_ids) & {s["id"] for s in after["sessions"]}
    assert adapter.fetch_session(session_ids[0]) is None
    # A reset serves the world as generated again.
    simulator.reset()
    assert client["id"] in {
        c["id"] for c in simulator.state()["providers"][kind]["clients"]
    }


@pytest.mark.simulator
def test_simulator_delete_needs_the_credential(simulator):
    truth = simulator.state()["providers"]["onfido"]
    applicant = truth["clients"][0]["id"]
    response = requests.delete(
        f"{simulator.base_urls['onfido']}/applicants/{applicant}",
        headers={"Authorization": "Token token=wrong"},
        timeout=10,
    )
    assert response.status_code == 401
    assert applicant in {
        c["id"] for c in simulator.state()["providers"]["onfido"]["clients"]
    }


# --- the sync never writes an erased identity back ---------------------------------------


@pytest.mark.django_db
def test_sync_does_not_rewrite_an_erased_identity_or_its_sessions():
    from sessions_app.normalization import normalise_session
    from sessions_app.providers.base import ClientRecord, SessionRecord
    from sessions_app.sync.upsert import session_upsert_batch

    found = personal_client(kinds=("onfido",), ended_on=dt.date(2020, 1, 1))
    retention.retention_sweep(today=TODAY)
    session, identity = found.sessions[0], found.identities[0]
    record = SessionRecord(
        external_id=session.external_id,
        raw_status="approved",
        normalised=normalise_session("onfido", "approved", ""),
        client=ClientRecord(
            external_id=identity.external_id,
            name="Marguerite Oyelaran-Fitzwilliam",
            raw={"first_name": "Marguerite"},
        ),
        raw={"applicant": {"first_name": "Marguerite"}},
        summary="Marguerite",
    )
    result = session_upsert_batch(connection=session.connection, records=[record])
    assert (result.unchanged, result.updated) == (1, 0)
    session.refresh_from_db()
    identity.refresh_from_db()
    assert "Marguerite" not in str(session.raw_payload) + session.summary
    assert identity.name == ""
    assert "Marguerite" not in str(identity.raw_payload)
    assert WorkflowSession.objects.filter(pk=session.pk).exists()


def test_a_worker_registers_the_retention_tasks():
    """Celery's autodiscovery finds only `sessions_app.tasks`; the app's
    `include` names this module, so every worker imports it at start."""
    import importlib

    from config.celery import app

    assert "sessions_app.tasks_retention" in app.conf.include
    importlib.import_module("sessions_app.tasks_retention")
    assert {
        "sessions_app.tasks_retention.retention_sweep_daily",
        "sessions_app.tasks_retention.provider_erasure_attempt",
    } <= set(app.tasks)
