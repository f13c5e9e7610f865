"""Moving the test database between migrations (tests/sessions_app/migrations/)."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets):
    """Migrate to `targets` ([(app, migration)]); return that state's apps."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest():
    """Back to every app's newest migration (each test's cleanup)."""
    return migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
