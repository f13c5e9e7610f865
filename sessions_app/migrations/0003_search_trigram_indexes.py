"""Trigram indexes for the review queue's name search (PostgreSQL only).

The queue's `q` matches client names with `icontains`, which Django writes as
`UPPER(column::text) LIKE UPPER('%term%')`. No btree index serves a leading
wildcard; a pg_trgm GIN index on exactly that expression does (measured in
docs/PERFORMANCE.md: a rare name went from a full scan of the sessions to a
few milliseconds at a million sessions, together with the query shape
proposed there). The expressions must stay identical to Django's lookup SQL.

On other databases this migration does nothing. Where the pg_trgm extension
cannot be created (a role that may not create extensions), it warns and
skips the indexes instead of failing the deployment: search still works,
only more slowly.
"""

import warnings

from django.db import migrations, transaction

INDEXES = {
    "provider_client_name_trgm": ("sessions_app_providerclient", "name"),
    "client_display_name_trgm": ("sessions_app_client", "display_name"),
}


def trigram_indexes_create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # any refusal means "no trigram indexes"
        warnings.warn(
            f"pg_trgm is not available ({exc}); the name search indexes were not "
            "created. Ask a superuser to run CREATE EXTENSION pg_trgm, then run this "
            "migration again (migrate sessions_app 0002; migrate).",
            RuntimeWarning,
            stacklevel=1,
        )
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def trigram_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0002_roles")]

    operations = [
        migrations.RunPython(
            trigram_indexes_create, trigram_indexes_drop, elidable=False
        )
    ]
