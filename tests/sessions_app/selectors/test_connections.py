"""Sync health and the sync page's reads (selectors/connections.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sessions_app import selectors
from sessions_app.models import (
    SyncRun,
    SyncRunState,
)
from tests.factories import (
    ProviderConnectionFactory,
    QuarantinedRecordFactory,
    SyncRunFactory,
    WebhookDeliveryFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def test_provider_health_states_and_staleness(django_assert_num_queries):
    fresh = ProviderConnectionFactory(slug="fresh", sync_interval_seconds=300)
    SyncRunFactory(
        connection=fresh,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=5),
    )
    stale = ProviderConnectionFactory(slug="stale", sync_interval_seconds=300)
    SyncRunFactory(
        connection=stale,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=16),
    )
    failing = ProviderConnectionFactory(slug="failing", sync_interval_seconds=300)
    SyncRunFactory(
        connection=failing,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=2),
    )
    SyncRunFactory(
        connection=failing, state=SyncRunState.FAILED, error="HTTP 401", finished_at=NOW
    )
    never = ProviderConnectionFactory(slug="never")
    off = ProviderConnectionFactory(slug="off", enabled=False)
    with django_assert_num_queries(2):
        health = {h.connection.slug: h for h in selectors.provider_health_list(now=NOW)}
    assert health["fresh"].state == "ok"
    assert not health["fresh"].stale
    assert health["stale"].state == "stale"
    assert health["failing"].state == "failing"
    assert health["failing"].last_run.error == "HTTP 401"
    assert health["failing"].last_success_at == NOW - dt.timedelta(minutes=2)
    assert health["never"].state == "never"
    assert health["never"].stale
    assert health["off"].state == "disabled"
    assert not health["off"].stale
    assert never.pk
    assert off.pk


def test_provider_health_uses_the_connections_own_last_success():
    conn = ProviderConnectionFactory(
        slug="own",
        sync_interval_seconds=60,
        last_success_at=NOW - dt.timedelta(seconds=30),
    )
    [health] = selectors.provider_health_list(now=NOW)
    assert health.connection == conn
    assert health.last_success_at == NOW - dt.timedelta(seconds=30)
    assert not health.stale


def test_sync_status_limits_and_aggregates(django_assert_num_queries):
    a = ProviderConnectionFactory(slug="a-conn")
    b = ProviderConnectionFactory(slug="b-conn", kind="ica")
    base = timezone.now()
    for i in range(12):
        run = SyncRunFactory(
            connection=a, unknown_values={"NEW_STATE": 1} if i % 2 else {}
        )
        SyncRunFactory(connection=b, unknown_values={"WEIRD": 2, "ODD": 1})
        type(run).objects.filter(pk=run.pk).update(
            started_at=base - dt.timedelta(minutes=i)
        )
    for _ in range(55):
        QuarantinedRecordFactory(connection=a, raw="x" * 5000)
    WebhookDeliveryFactory.create_batch(25, connection=b)
    with django_assert_num_queries(6):
        status = selectors.sync_status_get()
    by_slug = {c.health.connection.slug: c for c in status.connections}
    assert len(by_slug["a-conn"].recent_runs) == 10
    assert len(by_slug["b-conn"].recent_runs) == 10
    starts = [r.run.started_at for r in by_slug["a-conn"].recent_runs]
    assert starts == sorted(starts, reverse=True)
    assert starts[0] == base
    assert dict(by_slug["b-conn"].unknown_values) == {"WEIRD": 24, "ODD": 12}
    assert by_slug["b-conn"].unknown_values[0] == ("WEIRD", 24)
    assert dict(by_slug["a-conn"].unknown_values) == {"NEW_STATE": 6}
    assert len(status.quarantined) == 50
    record = status.quarantined[0]
    assert len(record.raw_excerpt) == selectors.QUARANTINE_EXCERPT_CHARS
    assert record.raw_length == 5000
    assert len(status.webhooks) == 20


# --- Failing connections in words -----------------------------------------------------


def _run(conn, state, minute, *, error="", error_kind="", trigger="schedule"):
    run = SyncRunFactory(
        connection=conn,
        state=state,
        error=error,
        error_kind=error_kind,
        trigger=trigger,
        finished_at=NOW.replace(hour=6, minute=minute, second=30),
    )
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=NOW.replace(hour=6, minute=minute)
    )
    return run


REFUSED = (
    "complycube ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): Max "
    "retries exceeded with url: /v1/checks (Caused by NewConnectionError(...: "
    "[Errno 111] Connection refused)) (GET /v1/checks, 4 attempts)"
)


def test_a_failing_connection_says_why_in_words_since_its_first_failing_run(
    django_assert_num_queries, settings
):
    settings.TIME_ZONE = "UTC"
    cube = ProviderConnectionFactory(slug="cube", display_name="ComplyCube")
    _run(cube, SyncRunState.FAILED, 1, error="old", error_kind="auth")
    _run(cube, SyncRunState.SUCCEEDED, 10)
    # The streak: a failure, a skipped and a running run (neither breaks it).
    _run(cube, SyncRunState.FAILED, 21, error=REFUSED, error_kind="refused")
    _run(cube, SyncRunState.SKIPPED, 22, error="Another sync of 'cube' is running.")
    latest = _run(cube, SyncRunState.FAILED, 25, error=REFUSED, error_kind="refused")
    _run(cube, SyncRunState.RUNNING, 30)
    fine = ProviderConnectionFactory(slug="fine")
    _run(fine, SyncRunState.FAILED, 1, error="x", error_kind="timeout")
    _run(fine, SyncRunState.PARTIAL, 2)

    with django_assert_num_queries(2):
        health = {h.connection.slug: h for h in selectors.provider_health_list(now=NOW)}

    problem = health["cube"].problem
    assert (
        problem.text
        == "ComplyCube could not be reached (connection refused) since 06:21"
    )
    assert problem.since == NOW.replace(hour=6, minute=21)
    assert (problem.detail, problem.run) == (REFUSED, latest)
    assert health["fine"].problem is None


def test_the_failing_streak_is_told_on_the_sync_page_and_per_run(
    django_assert_num_queries,
):
    cube = ProviderConnectionFactory(slug="cube", display_name="ComplyCube")
    _run(
        cube,
        SyncRunState.FAILED,
        5,
        error="complycube HTTP 401 Unauthorized",
        error_kind="auth",
    )
    _run(cube, SyncRunState.SKIPPED, 6, error="Another sync of 'cube' is running.")
    _run(cube, SyncRunState.SUCCEEDED, 4)

    with django_assert_num_queries(6):
        status = selectors.sync_status_get(now=NOW)

    [item] = status.connections
    assert (
        item.health.problem.summary == "ComplyCube refused the credentials (HTTP 401)"
    )
    summaries = [row.error_summary for row in item.recent_runs]
    assert summaries == [
        "Another sync of 'cube' is running.",  # a note, not a failure
        "ComplyCube refused the credentials (HTTP 401)",
        "",
    ]


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("refused", REFUSED, "Onfido could not be reached (connection refused)"),
        ("dns", "", "Onfido could not be reached (host name not found)"),
        ("timeout", "", "Onfido did not answer in time (timed out)"),
        (
            "server_error",
            "onfido HTTP 503 down",
            "Onfido had a server error (HTTP 503)",
        ),
        (
            "auth",
            "onfido HTTP 403 [forbidden] no",
            "Onfido refused the credentials (HTTP 403)",
        ),
        (
            "rate_limited",
            "onfido HTTP 429 slow",
            "Onfido is limiting Verity's requests (HTTP 429)",
        ),
        (
            "configuration",
            "ONFIDO_TOKEN is not set",
            # Verity's own words about its settings: shown with the summary.
            "The Onfido connection is misconfigured: ONFIDO_TOKEN is not set",
        ),
        (
            "interrupted",
            "Interrupted: …",
            "The Onfido sync was interrupted before it finished",
        ),
        (
            "internal",
            "KeyError: 'x'",
            "The Onfido sync stopped on an error inside Verity",
        ),
        # Runs older than the kind, or a kind this page does not know yet.
        ("", "HTTP 503 from provider", "The Onfido sync failed (HTTP 503)"),
        ("brand_new", "boom", "The Onfido sync failed"),
    ],
)
def test_sync_error_summary_words(kind, error, words):
    from sessions_app.selectors.connections import sync_error_summary

    assert sync_error_summary(provider="Onfido", kind=kind, error=error) == words


def test_every_error_kind_has_words():
    from sessions_app.models.connections import SyncErrorKind
    from sessions_app.selectors.connections import sync_error_summary

    for kind in SyncErrorKind:
        assert not sync_error_summary(provider="P", kind=kind, error="").startswith(
            "The P sync failed"
        ), kind


def test_since_names_the_day_when_it_is_not_today(settings):
    from sessions_app.selectors.connections import since_label

    settings.TIME_ZONE = "UTC"
    assert since_label(NOW.replace(hour=6, minute=21), now=NOW) == "06:21"
    assert since_label(NOW - dt.timedelta(days=12), now=NOW) == "3 Jun 12:00"
    assert since_label(NOW - dt.timedelta(days=400), now=NOW) == "11 May 2025 12:00"


def test_sync_notices_say_when_data_was_last_true(django_assert_num_queries, settings):
    settings.TIME_ZONE = "UTC"
    onfido = ProviderConnectionFactory(
        slug="onfido", display_name="Onfido", sync_interval_seconds=300
    )
    _run(onfido, SyncRunState.SUCCEEDED, 21)
    _run(onfido, SyncRunState.FAILED, 25, error=REFUSED, error_kind="refused")
    quiet = ProviderConnectionFactory(  # no success for hours, no failure either
        slug="quiet", display_name="ICA", sync_interval_seconds=300
    )
    _run(quiet, SyncRunState.SUCCEEDED, 0)
    fine = ProviderConnectionFactory(slug="fine", sync_interval_seconds=86_400)
    _run(fine, SyncRunState.SUCCEEDED, 30)
    off = ProviderConnectionFactory(slug="off", enabled=False)
    _run(off, SyncRunState.FAILED, 1, error="x", error_kind="timeout")
    never = ProviderConnectionFactory(slug="never", display_name="Cube")

    with django_assert_num_queries(2):
        notices = selectors.sync_notices(now=NOW)

    assert {n.connection.slug: (n.text, n.failing) for n in notices} == {
        "onfido": ("Onfido data last synced 06:21, failing since 06:25.", True),
        "quiet": ("ICA data last synced 06:00: it may be out of date.", False),
        "never": ("Cube data never synced: it may be out of date.", False),
    }
    scoped = selectors.sync_notices(connection_ids=[fine.pk, never.pk], now=NOW)
    assert [n.connection for n in scoped] == [never]
