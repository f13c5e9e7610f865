"""Migration 0022: existing sessions get the case state of their last
decision (set-based UPDATEs), and "needs attention" keeps its meaning."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.models import needs_attention_q
from tests.helpers.migrations import (
    connection_create,
    migrate_to,
    migrate_to_latest,
)

BEFORE = [("sessions_app", "0021_client_review_schedule")]
AFTER = [("sessions_app", "0022_case_state")]
T0 = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_existing_sessions_get_the_case_state_of_their_last_decision(settings):
    settings.VERITY_CASE_WAITING_DAYS = 3
    try:
        apps = migrate_to(BEFORE)
        Session = apps.get_model("sessions_app", "WorkflowSession")
        User = apps.get_model("auth", "User")
        officer = User.objects.create(username="olga")
        conn = connection_create(apps)
        rows = {
            "approve": {"last_decision": "approve", "last_decision_at": T0},
            "reject": {"last_decision": "reject", "last_decision_at": T0},
            "escalate": {"last_decision": "escalate", "last_decision_at": T0},
            "info": {"last_decision": "request_information", "last_decision_at": T0},
            "assigned": {"assignee": officer, "assigned_at": T0},
            "fresh": {},
        }
        for name, fields in rows.items():
            Session.objects.create(
                connection=conn,
                external_id=name,
                outcome="attention",
                status="completed",
                **fields,
            )
        attention_before = set(
            Session.objects.filter(
                outcome__in=["attention", "rejected"], last_decision=""
            ).values_list("external_id", flat=True)
        )
        # The model as 0022 left it (later migrations add columns).
        WorkflowSession = migrate_to(AFTER).get_model("sessions_app", "WorkflowSession")
        got = {
            s.external_id: (s.case_state, s.case_state_changed_at, s.case_waiting_until)
            for s in WorkflowSession.objects.all()
        }
        assert got == {
            "approve": ("approved", T0, None),
            "reject": ("rejected", T0, None),
            "escalate": ("escalated", T0, None),
            "info": ("waiting", T0, T0 + dt.timedelta(days=3)),
            "assigned": ("in_review", T0, None),
            "fresh": ("open", None, None),
        }
        # "Needs attention" lists the same sessions as before the migration.
        attention_after = set(
            WorkflowSession.objects.filter(needs_attention_q()).values_list(
                "external_id", flat=True
            )
        )
        assert attention_after == attention_before == {"assigned", "fresh"}
    finally:
        migrate_to_latest()
