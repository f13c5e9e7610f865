"""SyncRuns (`sync.runs`): page commits with their cursor, batching adapter
pages into commits, counts on the run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sessions_app.exceptions import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConfigurationError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from sessions_app.models import (
    AuditEvent,
    Check,
    PolicyAssurance,
    ProviderClient,
    ProviderConnection,
    Status,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.sync import engine as sync
from sessions_app.sync import runs, upsert
from sessions_app.sync.lease import LeaseLost
from tests.factories import ProviderConnectionFactory
from tests.helpers.sync import sessions_populate
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def test_failure_mid_run_keeps_committed_pages_and_a_rerun_loses_and_duplicates_nothing(
    monkeypatch,
):
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    sessions_populate(provider, 7)
    provider.fail_at_page = 2  # pages 0 and 1 commit, then the provider errors

    failed = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert failed.state == SyncRunState.FAILED
    assert "HTTP 500" in failed.error
    assert failed.finished_at is not None
    assert (failed.pages, failed.created) == (2, 4)
    connection.refresh_from_db()
    assert connection.sync_cursor == {"offset": 4, "passes": 0} == failed.cursor_after
    assert WorkflowSession.objects.count() == 4
    assert connection.lock_token == ""  # released in finally

    provider.fail_at_page = None
    resumed = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert resumed.state == SyncRunState.SUCCEEDED
    assert resumed.cursor_before == {"offset": 4, "passes": 0}
    assert (resumed.created, resumed.updated) == (3, 0)
    assert sorted(
        WorkflowSession.objects.values_list("external_id", flat=True)
    ) == sorted(provider.sessions)
    assert Check.objects.count() == 7
    assert ProviderClient.objects.count() == 7
    assert PolicyAssurance.objects.count() == 7
    assert WorkflowSession.tags.through.objects.count() == 14


def test_exception_in_the_middle_of_a_page_rolls_back_that_page_and_its_cursor(
    monkeypatch, settings
):
    settings.VERITY_SYNC_BATCH_SIZE = 2  # one commit per provider page
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    sessions_populate(provider, 4)
    real = upsert.policy_assurances_replace
    calls = {"n": 0}

    def explode_on_second_page(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(upsert, "policy_assurances_replace", explode_on_second_page)
    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == SyncRunState.FAILED
    assert run.error == "RuntimeError: disk full"
    assert WorkflowSession.objects.count() == 2  # page 2's sessions were rolled back
    connection.refresh_from_db()
    assert connection.sync_cursor == {"offset": 2, "passes": 0}

    monkeypatch.setattr(upsert, "policy_assurances_replace", real)
    again = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    assert again.state == SyncRunState.SUCCEEDED
    assert WorkflowSession.objects.count() == 4


def test_a_run_that_lost_its_lease_rolls_back_its_page(monkeypatch, settings):
    settings.VERITY_SYNC_BATCH_SIZE = 1  # one commit per provider page
    provider, connection = fake_provider_install(monkeypatch, page_size=1)
    sessions_populate(provider, 3)

    def steal_lease(run, result):
        # While a run works it is visible as running, with its progress so far.
        stored = SyncRun.objects.get(pk=run.pk)
        assert (stored.state, stored.pages) == (SyncRunState.RUNNING, 1)
        # Simulate the lease expiring and another worker taking it.
        ProviderConnection.objects.filter(pk=connection.pk).update(
            lock_token="someone-else",
            lock_expires_at=timezone.now() + dt.timedelta(minutes=5),
        )

    run = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, on_page=steal_lease
    )

    assert run.state == SyncRunState.FAILED
    assert "LeaseLost" in run.error
    assert (
        WorkflowSession.objects.count() == 1
    )  # only the page committed before the theft
    connection.refresh_from_db()
    assert connection.lock_token == "someone-else"  # not released by the loser
    assert connection.sync_cursor == {"offset": 1, "passes": 0}


def test_unknown_provider_values_are_counted_on_the_run(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="brand_new_status")
    provider.add(
        "wr-2", status="brand_new_status", checks=[("rep-1", "teleported", "clear")]
    )
    provider.add("wr-3", status="approved")

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.unknown_values == {"brand_new_status": 2, "teleported": 1}
    assert WorkflowSession.objects.get(external_id="wr-1").status == Status.UNKNOWN
    assert (
        WorkflowSession.objects.get(external_id="wr-1").raw_status == "brand_new_status"
    )


def test_small_provider_pages_are_committed_together_in_one_batch(
    monkeypatch, settings
):
    settings.VERITY_SYNC_BATCH_SIZE = 5
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    sessions_populate(provider, 11)
    commits = []

    run = sync.provider_sync(
        connection=connection,
        trigger=SyncTrigger.MANUAL,
        on_page=lambda run, result: commits.append(result.seen),
    )

    # Pages of 2 are merged until a batch holds 5 sessions or ends the pass:
    # [2+2+2], [2+2+1 (done)]; SyncRun.pages still counts provider pages.
    assert commits == [6, 5]
    assert (run.state, run.pages, run.created) == ("succeeded", 6, 11)
    assert WorkflowSession.objects.count() == 11


def test_pages_read_before_an_adapter_failure_are_committed_first(
    monkeypatch, settings
):
    settings.VERITY_SYNC_BATCH_SIZE = 500  # everything would fit in one batch
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    sessions_populate(provider, 7)
    provider.fail_at_page = 3

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == SyncRunState.FAILED
    assert (run.pages, run.created) == (3, 6)
    connection.refresh_from_db()
    assert connection.sync_cursor == {"offset": 6, "passes": 0}
    assert WorkflowSession.objects.count() == 6


def test_a_batch_closes_when_its_time_is_up_even_if_it_is_small():
    from sessions_app.providers.base import Page

    now = {"t": 0.0}

    def pages():
        for n in range(4):
            now["t"] += 3.0  # a slow provider: 3 s a page
            yield Page(sessions=[], unchanged_ids=[f"s{n}"], cursor={"n": n})

    batches = list(
        runs.pages_coalesced(
            pages(), min_sessions=100, max_seconds=5.0, clock=lambda: now["t"]
        )
    )

    assert [b.pages for b in batches] == [2, 2]
    assert [b.page.cursor for b in batches] == [{"n": 1}, {"n": 3}]
    assert [b.page.unchanged_ids for b in batches] == [["s0", "s1"], ["s2", "s3"]]


def test_an_adapter_error_with_nothing_buffered_is_raised_at_once():
    def pages():
        raise RuntimeError("boom")
        yield  # pragma: no cover

    with pytest.raises(RuntimeError, match="boom"):
        list(runs.pages_coalesced(pages(), min_sessions=10, max_seconds=5.0))


# --- What kind of failure ended a run -------------------------------------------------


def _refused_text() -> str:
    """The text ProviderHTTP keeps for a refused connection, from requests itself."""
    import socket

    import requests

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        requests.get(f"http://127.0.0.1:{port}/v1/checks", timeout=2)
    except requests.exceptions.ConnectionError as exc:
        return f"{type(exc).__name__}: {exc} (GET /v1/checks, 4 attempts)"
    raise AssertionError("the connection was not refused")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ProviderUnavailable(_refused_text(), provider="complycube"), "refused"),
        (
            ProviderUnavailable(
                "ConnectionError: HTTPSConnectionPool(host='api.x', port=443): Max "
                'retries exceeded (Caused by NameResolutionError("Failed to resolve '
                "'api.x' ([Errno -2] Name or service not known)\"))"
            ),
            "dns",
        ),
        (
            ProviderUnavailable(
                "ReadTimeout: HTTPSConnectionPool(host='api.x', port=443): Read "
                "timed out. (read timeout=30)"
            ),
            "timeout",
        ),
        (
            ProviderUnavailable(
                "SSLError: HTTPSConnectionPool(host='api.x', port=443): Max retries "
                "exceeded (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
                "CERTIFICATE_VERIFY_FAILED] certificate verify failed')))"
            ),
            "tls",
        ),
        (
            ProviderUnavailable(
                "ConnectionError: ('Connection aborted.', "
                "RemoteDisconnected('Remote end closed connection without response'))"
            ),
            "dropped",
        ),
        (ProviderUnavailable("something odd"), "unreachable"),
        (ProviderUnavailable("Bad gateway", status=502), "server_error"),
        (ProviderAuthError("Unauthorized", status=401), "auth"),
        (ProviderNotFound("gone", status=404), "not_found"),
        (ProviderBadRequest("bad", status=422), "bad_request"),
        (ProviderResponseInvalid("not JSON", status=200), "invalid_response"),
        (ProviderRateLimited(retry_after=3), "rate_limited"),
        (ProviderRateLimited(retry_after=3, extra={"quota": True}), "quota"),
        (ProviderError("teapot", status=418), "provider"),
        (ProviderConfigurationError("COMPLYCUBE_KEY is not set"), "configuration"),
        (LeaseLost("taken"), "lease_lost"),
        (KeyError("status"), "internal"),
    ],
)
def test_error_kind_of_names_what_ended_the_run(exc, kind):
    assert runs.error_kind_of(exc) == kind
    # Failures of the world are logged as one line; anything else is a bug.
    assert runs.error_is_ordinary(exc) is (kind != "internal")


def test_sync_run_finish_stores_the_kind_and_audits_it():
    connection = ProviderConnectionFactory()
    run = runs.sync_run_start(connection=connection, trigger=SyncTrigger.SCHEDULE)

    runs.sync_run_finish(
        connection=connection,
        run=run,
        state=SyncRunState.FAILED,
        error="complycube HTTP 401 Unauthorized",
        error_kind="auth",
    )

    run.refresh_from_db()
    assert run.error_kind == "auth"
    assert AuditEvent.objects.get(object_id=str(run.pk)).after["error_kind"] == "auth"


def test_the_http_clients_transport_name_wins_over_the_clipped_text():
    """A refused connection behind a long URL: the kept text has lost the words,
    the kind recorded by the HTTP client still says what happened."""
    clipped = ProviderUnavailable(
        "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): Max "
        "retries exceeded with url: /v1/x?" + "p" * 200 + " (Caused by [",
        provider="complycube",
        extra={"transport": "refused"},
    )

    assert runs.error_kind_of(clipped) == "refused"
