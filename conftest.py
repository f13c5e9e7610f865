"""Suite-wide pytest hooks: PostgreSQL-only tests and the slow markers' timeouts.

It sits at the repository root, not in tests/conftest.py (the fixtures), because
it only sorts and labels tests; docs/testing.md explains both rules.

PostgreSQL-only tests carry the `postgres` marker: `make test` runs them in a
second pass (`pytest -m postgres`) against a PostgreSQL it can reach, and on
any other database they are skipped with one reason that says so. A test that
still says it with `skipif(<not PostgreSQL>, reason="... PostgreSQL ...")` gets
the marker too, so the second pass finds it; prefer the marker.

Timeouts (pytest-timeout): pyproject.toml sets the default for every test
(a loop that never ends fails instead of hanging the run); tests marked
`celery_e2e` or `browser` start processes and browsers and get longer, unless
they set `@pytest.mark.timeout(...)` themselves.
"""

from __future__ import annotations

import pytest

POSTGRES_SKIP_REASON = (
    "PostgreSQL-only: `make test` runs it when a PostgreSQL is reachable "
    "(docs/testing.md)"
)
MARKER_TIMEOUTS = {"celery_e2e": 600, "browser": 300}


def _says_postgres_only(item: pytest.Item, on_postgres: bool) -> bool:
    """The `postgres` marker, or a skipif naming PostgreSQL that skips exactly
    when the database is not PostgreSQL (not one that skips *on* it)."""
    if item.get_closest_marker("postgres") is not None:
        return True
    return any(
        "PostgreSQL" in str(mark.kwargs.get("reason", ""))
        and isinstance(mark.args[0] if mark.args else None, bool)
        and mark.args[0] is not on_postgres
        for mark in item.iter_markers("skipif")
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    # Without pytest-timeout installed the marker would not even be known.
    timeouts = MARKER_TIMEOUTS if config.pluginmanager.hasplugin("timeout") else {}
    for item in items:
        if _says_postgres_only(item, on_postgres):
            if item.get_closest_marker("postgres") is None:
                item.add_marker(pytest.mark.postgres)
            if not on_postgres:
                item.add_marker(pytest.mark.skip(reason=POSTGRES_SKIP_REASON))
        if item.get_closest_marker("timeout") is None:
            for marker, seconds in timeouts.items():
                if item.get_closest_marker(marker) is not None:
                    item.add_marker(pytest.mark.timeout(seconds))
                    break


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "postgres" in getattr(report, "keywords", {})
    ]
    if skipped:
        terminalreporter.write_sep(
            "!",
            f"{len(skipped)} PostgreSQL-only test(s) SKIPPED on this database; "
            "`make test` runs them when a PostgreSQL is reachable",
            yellow=True,
            bold=True,
        )
