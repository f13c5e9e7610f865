"""Migration 0013: existing audit events are chained in id order."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from sessions_app.models import AuditChainHead, AuditEvent
from sessions_app.privacy.audit_chain import chain_verify
from sessions_app.services import audit_event_record
from tests.helpers.migrations import migrate_to

BEFORE = [("sessions_app", "0015_external_identity")]
AFTER = [("sessions_app", "0016_audit_chain")]
T0 = dt.datetime(2026, 6, 1, 6, 0, 0, 123456, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_existing_events_are_chained_in_id_order_and_appends_carry_on(monkeypatch):
    migration = importlib.import_module("sessions_app.migrations.0016_audit_chain")
    monkeypatch.setattr(migration, "BACKFILL_BATCH", 2)  # several pages
    try:
        apps = migrate_to(BEFORE)
        Event = apps.get_model("sessions_app", "AuditEvent")
        ids = []
        for index in range(5):
            event = Event.objects.create(
                actor_label="sync",
                source="sync",
                action="sync.run",
                object_type="sessions_app.syncrun",
                object_id=str(index),
                after={"seen": index, "ratio": 1.0},
            )
            # Out of time order: the chain follows ids, not created_at.
            Event.objects.filter(pk=event.pk).update(
                created_at=T0 - dt.timedelta(minutes=index)
            )
            ids.append(event.pk)
        migrate_to(AFTER)
        chained = list(
            AuditEvent.objects.order_by("sequence").values_list("pk", "sequence")
        )
        assert chained == [(pk, n) for n, pk in enumerate(ids, start=1)]
        head = AuditChainHead.objects.get()
        assert head.sequence == 5
        assert chain_verify().intact
        audit_event_record(actor=None, source="command", action="test.after")
        assert AuditEvent.objects.get(action="test.after").sequence == 6
        assert chain_verify().intact
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
