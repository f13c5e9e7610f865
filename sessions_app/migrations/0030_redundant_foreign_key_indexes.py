"""Drop the foreign keys' own indexes where another index begins with the column.

Each was redundant (a composite index serves the same look-ups) and cost
every insert of the sync: 85 MB at a million sessions; the raw insert of a
first sync 11 % faster without them (docs/PERFORMANCE.md, section 1i). The
session's connection index was also what PostgreSQL scanned for the sync's
known-versions look-up while a new connection was missing from its
statistics; without it PostgreSQL took another index beginning with the
connection, for the same reason, which `sync/planner_statistics.py` fixes.

Only the indexes go: Django's own AlterField would also drop and re-add each
foreign key constraint (re-checking every row of the table under lock on
PostgreSQL) and copy each table on SQLite. On PostgreSQL the indexes are
dropped CONCURRENTLY, so reads and writes carry on meanwhile (hence not
atomic); the names are those Django gave them.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = [
    # (table, column, index name)
    (
        "sessions_app_check",
        "connection_id",
        "sessions_app_check_connection_id_aa17e107",
    ),
    ("sessions_app_check", "session_id", "sessions_app_check_session_id_2dfa790d"),
    (
        "sessions_app_policyassurance",
        "session_id",
        "sessions_app_policyassurance_session_id_95aa58e8",
    ),
    (
        "sessions_app_providerclient",
        "connection_id",
        "sessions_app_providerclient_connection_id_4a1e4b10",
    ),
    (
        "sessions_app_sessionreason",
        "session_id",
        "sessions_app_sessionreason_session_id_abbcc071",
    ),
    (
        "sessions_app_workflowsession",
        "assignee_id",
        "sessions_app_workflowsession_assignee_id_8bcec476",
    ),
    (
        "sessions_app_workflowsession",
        "connection_id",
        "sessions_app_workflowsession_connection_id_cc7272a4",
    ),
]


def _concurrently(schema_editor):
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def indexes_drop(apps, schema_editor):
    how = _concurrently(schema_editor)
    quote = schema_editor.quote_name
    for _table, _column, name in INDEXES:
        schema_editor.execute(f"DROP INDEX {how}IF EXISTS {quote(name)}")


def indexes_create(apps, schema_editor):
    how = _concurrently(schema_editor)
    quote = schema_editor.quote_name
    for table, column, name in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {how}IF NOT EXISTS {quote(name)} "
            f"ON {quote(table)} ({quote(column)})"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("sessions_app", "0029_approval_prior_case_state"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(indexes_drop, indexes_create, elidable=False),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="check",
                    name="connection",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="checks",
                        to="sessions_app.providerconnection",
                    ),
                ),
                migrations.AlterField(
                    model_name="check",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="checks",
                        to="sessions_app.workflowsession",
                    ),
                ),
                migrations.AlterField(
                    model_name="policyassurance",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="policy_assurances",
                        to="sessions_app.workflowsession",
                    ),
                ),
                migrations.AlterField(
                    model_name="providerclient",
                    name="connection",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="provider_clients",
                        to="sessions_app.providerconnection",
                    ),
                ),
                migrations.AlterField(
                    model_name="sessionreason",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reason_rows",
                        to="sessions_app.workflowsession",
                    ),
                ),
                migrations.AlterField(
                    model_name="workflowsession",
                    name="assignee",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="workflowsession",
                    name="connection",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sessions",
                        to="sessions_app.providerconnection",
                    ),
                ),
            ],
        ),
    ]
