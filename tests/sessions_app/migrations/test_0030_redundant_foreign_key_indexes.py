"""Migration 0030: the foreign keys' own indexes go where another index begins
with the column; the data and the covering indexes stay; reversing it puts
them back."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from tests.helpers.migrations import connection_create, migrate_to, migrate_to_latest

BEFORE = [("sessions_app", "0029_approval_prior_case_state")]
AFTER = [("sessions_app", "0030_redundant_foreign_key_indexes")]
MIGRATION = importlib.import_module(
    "sessions_app.migrations.0030_redundant_foreign_key_indexes"
)


def _indexes(table: str) -> dict[str, list[str]]:
    """{index name: its columns, in order} for `table`, as the database has
    them; a unique constraint is an index too."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {
        name: info["columns"]
        for name, info in found.items()
        if info["index"] or (info["unique"] and not info["primary_key"])
    }


@pytest.mark.django_db(transaction=True)
def test_the_redundant_indexes_go_and_come_back_on_reversal():
    try:
        apps = migrate_to(BEFORE)
        Session = apps.get_model("sessions_app", "WorkflowSession")
        Check = apps.get_model("sessions_app", "Check")
        conn = connection_create(apps)
        session = Session.objects.create(connection=conn, external_id="s1")
        Check.objects.create(connection=conn, session=session, external_id="c1")
        for table, column, name in MIGRATION.INDEXES:
            assert _indexes(table).get(name) == [column], name

        migrate_to(AFTER)
        for table, column, name in MIGRATION.INDEXES:
            indexes = _indexes(table)
            assert name not in indexes
            # Another index still begins with the column: look-ups by it keep one.
            assert any(cols[:1] == [column] for cols in indexes.values()), name
        assert Check.objects.filter(session_id=session.pk).count() == 1

        migrate_to(BEFORE)
        for table, column, name in MIGRATION.INDEXES:
            assert _indexes(table).get(name) == [column], name
    finally:
        migrate_to_latest()


def test_the_model_state_declares_no_index_for_those_columns():
    """makemigrations sees nothing to do (CI checks it): the fields say db_index=False."""
    from sessions_app.models import (
        Check,
        PolicyAssurance,
        ProviderClient,
        SessionReason,
        WorkflowSession,
    )

    fields = [
        WorkflowSession._meta.get_field("connection"),
        WorkflowSession._meta.get_field("assignee"),
        Check._meta.get_field("connection"),
        Check._meta.get_field("session"),
        PolicyAssurance._meta.get_field("session"),
        SessionReason._meta.get_field("session"),
        ProviderClient._meta.get_field("connection"),
    ]
    assert [f.db_index for f in fields] == [False] * len(fields)
    assert {(f.model._meta.db_table, f.column) for f in fields} == {
        (table, column) for table, column, _ in MIGRATION.INDEXES
    }
