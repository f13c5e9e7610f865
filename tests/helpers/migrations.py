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


def connection_create(apps, *, slug="cc", kind="complycube", **fields):
    """A provider connection in a historical state `apps` (migrate_to's)."""
    Connection = apps.get_model("sessions_app", "ProviderConnection")
    return Connection.objects.create(
        slug=slug,
        kind=kind,
        display_name=fields.pop("display_name", "ComplyCube"),
        base_url=fields.pop("base_url", "https://api.example"),
        credential_env=fields.pop("credential_env", "CC_KEY"),
        **fields,
    )
