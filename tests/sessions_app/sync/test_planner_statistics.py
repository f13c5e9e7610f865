"""The planner statistics a sync refreshes (`sync.planner_statistics`), and
when the engine asks for it."""

from __future__ import annotations

import pytest
from django.db import connection

from sessions_app.models import ProviderConnection, SyncTrigger, WorkflowSession
from sessions_app.sync import engine as sync
from sessions_app.sync import planner_statistics
from tests.sessions_app.fake_provider import fake_provider_install

SESSIONS = WorkflowSession._meta.db_table


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL's statistics: `make test` runs it when a PostgreSQL is "
            "reachable (docs/testing.md)"
        )


def _analysed_at(table: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [table]
        )
        return cursor.fetchone()[0]


def _sessions(conn, count: int, prefix: str = "s") -> None:
    WorkflowSession.objects.bulk_create(
        WorkflowSession(connection=conn, external_id=f"{prefix}{n}")
        for n in range(count)
    )


@pytest.fixture
def fresh_memory(monkeypatch):
    """Each test starts with no analysis remembered by this process."""
    monkeypatch.setattr(planner_statistics, "_analysed_at", {})


@pytest.mark.django_db(transaction=True)
def test_a_connection_new_to_the_statistics_gets_the_table_analysed_once(
    monkeypatch, fresh_memory, caplog
):
    _postgresql_only()
    caplog.set_level("INFO", logger=planner_statistics.__name__)
    _provider, conn = fake_provider_install(monkeypatch)
    _sessions(conn, planner_statistics.MIN_ROWS)
    before = _analysed_at(SESSIONS)

    assert planner_statistics.new_connection_statistics_refresh(conn) is True
    analysed = _analysed_at(SESSIONS)
    assert analysed is not None
    assert analysed != before
    # The operator is told why this run took longer.
    assert f"Sync of {conn.slug}: analysed {SESSIONS} in" in caplog.text
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_vals::text::text[] FROM pg_stats "
            "WHERE tablename = %s AND attname = 'connection_id'",
            [SESSIONS],
        )
        assert str(conn.pk) in cursor.fetchone()[0]

    # Known to the statistics now, even once the process forgets: more of its
    # sessions leave the table to autovacuum.
    planner_statistics._analysed_at.clear()
    _sessions(conn, 500, prefix="t")
    assert planner_statistics.new_connection_statistics_refresh(conn) is False
    assert _analysed_at(SESSIONS) == analysed


@pytest.mark.django_db(transaction=True)
def test_a_second_new_connection_gets_its_own_analysis(monkeypatch, fresh_memory):
    _postgresql_only()
    _provider, first = fake_provider_install(monkeypatch, slug="first")
    _other, second = fake_provider_install(monkeypatch, slug="second")
    _sessions(first, planner_statistics.MIN_ROWS)
    assert planner_statistics.new_connection_statistics_refresh(first) is True
    _sessions(second, planner_statistics.MIN_ROWS)

    assert planner_statistics.new_connection_statistics_refresh(second) is True
    planner_statistics._analysed_at.clear()
    assert planner_statistics.new_connection_statistics_refresh(first) is False


@pytest.mark.django_db(transaction=True)
def test_a_connection_with_few_sessions_is_left_to_autovacuum(
    monkeypatch, fresh_memory
):
    _postgresql_only()
    _provider, conn = fake_provider_install(monkeypatch)
    _sessions(conn, planner_statistics.MIN_ROWS - 1)
    before = _analysed_at(SESSIONS)

    assert planner_statistics.new_connection_statistics_refresh(conn) is False
    assert _analysed_at(SESSIONS) == before


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_sample_keeps_missing_is_not_analysed_again_soon(
    monkeypatch, fresh_memory
):
    """The safety valve: were the connection still unknown after an analysis
    (a tiny share of a huge table), this process waits RETRY_SECONDS."""
    _postgresql_only()
    _provider, conn = fake_provider_install(monkeypatch)
    _sessions(conn, planner_statistics.MIN_ROWS)
    assert planner_statistics.new_connection_statistics_refresh(conn) is True
    analysed = _analysed_at(SESSIONS)
    # The statistics "forget" the connection: the question says unknown again.
    monkeypatch.setattr(
        planner_statistics,
        "_KNOWN_AND_SIZE",
        "SELECT false, 0 WHERE %s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL",
    )

    assert planner_statistics.new_connection_statistics_refresh(conn) is False
    assert _analysed_at(SESSIONS) == analysed
    monkeypatch.setattr(planner_statistics, "RETRY_SECONDS", 0.0)
    assert planner_statistics.new_connection_statistics_refresh(conn) is True


def test_sqlite_has_nothing_to_refresh(monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's side of it")
    assert (
        planner_statistics.new_connection_statistics_refresh(
            ProviderConnection(pk=1, slug="unsaved")
        )
        is False
    )


@pytest.mark.django_db
def test_a_run_that_created_sessions_asks_for_the_refresh_and_others_do_not(
    monkeypatch,
):
    calls: list[str] = []
    monkeypatch.setattr(
        sync,
        "new_connection_statistics_refresh",
        lambda conn: calls.append(conn.slug) or False,
    )
    provider, conn = fake_provider_install(monkeypatch)
    provider.add("wr-1", status="processing")

    first = sync.provider_sync(connection=conn, trigger=SyncTrigger.SCHEDULE)
    assert (first.created, calls) == (1, [conn.slug])

    # Sessions that were already there (changed or not) add no new connection.
    provider.change("wr-1", status="declined")
    changed = sync.provider_sync(connection=conn, trigger=SyncTrigger.SCHEDULE)
    assert (changed.created, changed.updated, calls) == (0, 1, [conn.slug])

    provider.add("wr-2", status="processing")
    grown = sync.provider_sync(connection=conn, trigger=SyncTrigger.SCHEDULE)
    assert (grown.created, calls) == (1, [conn.slug, conn.slug])


@pytest.mark.django_db
def test_a_failing_refresh_is_logged_and_leaves_the_transaction_usable(
    monkeypatch, caplog
):
    """Inside a transaction (a test, a caller's atomic block) a database error
    in the refresh rolls back to its savepoint, not the caller's work."""
    _postgresql_only()
    _provider, conn = fake_provider_install(monkeypatch)
    WorkflowSession.objects.create(connection=conn, external_id="kept")
    # Unknown to the statistics and large enough, and the count names a
    # table that does not exist.
    monkeypatch.setattr(planner_statistics, "_analysed_at", {})
    monkeypatch.setattr(planner_statistics, "MIN_ROWS", 1)
    with monkeypatch.context() as patched:
        patched.setattr(connection.ops, "quote_name", lambda name: '"no_such_table"')
        assert planner_statistics.new_connection_statistics_refresh(conn) is False

    assert "Could not refresh the planner's statistics" in caplog.text
    assert WorkflowSession.objects.filter(external_id="kept").exists()
