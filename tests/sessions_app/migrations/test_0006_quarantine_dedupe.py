"""Migration 0006: the copies earlier passes quarantined collapse into one row each."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.models.connections import quarantine_fingerprint
from tests.helpers.migrations import (
    connection_create,
    migrate_to,
    migrate_to_latest,
)

BEFORE = [("sessions_app", "0005_overview_indexes")]
AFTER = [("sessions_app", "0006_quarantine_dedupe")]
T0 = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_duplicates_collapse_into_one_row_each():
    try:
        apps = migrate_to(BEFORE)
        Run = apps.get_model("sessions_app", "SyncRun")
        Record = apps.get_model("sessions_app", "QuarantinedRecord")
        conn = connection_create(apps)
        other = connection_create(apps, slug="cc2", display_name="Other")
        runs = [Run.objects.create(connection=conn) for _ in range(3)]

        def quarantine(conn, minutes, *, run=None, **fields):
            values = {"record_type": "session", "reason": "bad status", "raw": "{}"}
            values.update(fields)
            row = Record.objects.create(connection=conn, sync_run=run, **values)
            Record.objects.filter(pk=row.pk).update(
                created_at=T0 + dt.timedelta(minutes=minutes)
            )
            return row

        # The same id-less record on three passes, stored out of order.
        quarantine(conn, 10, run=runs[1])
        quarantine(conn, 20, run=runs[2], resolved_at=T0)
        quarantine(conn, 0, run=runs[0])
        # Same id, different raw: one record, the latest raw kept.
        quarantine(conn, 1, external_id="s-1", raw='{"v": 1}')
        latest_s1 = quarantine(conn, 2, external_id="s-1", raw='{"v": 2}')
        # Distinct: another raw, another reason, another connection.
        quarantine(conn, 3, raw='{"x": 1}')
        quarantine(conn, 4, reason="another reason")
        quarantine(other, 5)

        apps = migrate_to(AFTER)
        Record = apps.get_model("sessions_app", "QuarantinedRecord")

        assert Record.objects.count() == 5
        idless = Record.objects.get(
            connection__slug="cc", external_id="", raw="{}", reason="bad status"
        )
        assert idless.created_at == T0
        assert idless.last_seen_at == T0 + dt.timedelta(minutes=20)
        assert idless.seen_count == 3
        assert idless.sync_run_id == runs[2].pk  # the latest copy's run
        assert idless.resolved_at == T0  # and its resolution
        assert idless.fingerprint == quarantine_fingerprint(
            record_type="session", external_id="", reason="bad status", raw="{}"
        )
        s1 = Record.objects.get(external_id="s-1")
        assert (s1.pk, s1.raw, s1.seen_count) == (latest_s1.pk, '{"v": 2}', 2)
        assert s1.created_at == T0 + dt.timedelta(minutes=1)
        assert s1.last_seen_at == T0 + dt.timedelta(minutes=2)
        singles = Record.objects.exclude(pk__in=[idless.pk, s1.pk])
        assert sorted(r.seen_count for r in singles) == [1, 1, 1]
        assert all(r.last_seen_at == r.created_at for r in singles)
        assert (
            len({(r.connection_id, r.fingerprint) for r in Record.objects.all()}) == 5
        )
    finally:
        migrate_to_latest()
