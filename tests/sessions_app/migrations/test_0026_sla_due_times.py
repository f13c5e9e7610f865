"""Migration 0026: existing sessions get their attention clock and due time
(set-based), under the rules in force."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers.migrations import connection_create, migrate_to, migrate_to_latest

BEFORE = [("sessions_app", "0025_saved_views_review_team")]
AFTER = [("sessions_app", "0026_sla_due_times")]
THURSDAY = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_existing_sessions_get_their_clock_and_due_time():
    try:
        apps = migrate_to(BEFORE)
        Session = apps.get_model("sessions_app", "WorkflowSession")
        conn = connection_create(apps)
        rows = {
            "rejected": {"outcome": "rejected"},
            "failed": {"status": "failed", "case_state": "approved"},
            "clear": {"outcome": "clear"},
            "escalated": {
                "outcome": "rejected",
                "case_state": "escalated",
                "case_state_changed_at": THURSDAY + dt.timedelta(hours=2),
            },
            "waiting": {
                "outcome": "rejected",
                "case_state": "waiting",
                "case_waiting_until": THURSDAY + dt.timedelta(days=9),
            },
        }
        for name, fields in rows.items():
            Session.objects.create(
                connection=conn,
                external_id=name,
                status=fields.pop("status", "completed"),
                provider_updated_at=THURSDAY,
                **fields,
            )
        After = migrate_to(AFTER).get_model("sessions_app", "WorkflowSession")
        got = {
            s.external_id: (s.attention_since, s.case_due_at)
            for s in After.objects.all()
        }
        monday = THURSDAY + dt.timedelta(days=4)  # Thursday + 2 business days
        assert got == {
            "rejected": (THURSDAY, monday),
            "failed": (THURSDAY, monday),
            "clear": (None, None),
            # Five business days after the escalation: the next Thursday.
            "escalated": (None, THURSDAY + dt.timedelta(days=7, hours=2)),
            "waiting": (None, THURSDAY + dt.timedelta(days=9)),
        }
    finally:
        migrate_to_latest()
