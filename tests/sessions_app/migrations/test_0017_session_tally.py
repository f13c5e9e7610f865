"""Migration 0017: the tally starts from the sessions already stored, and the
triggers it creates keep it from then on."""

from __future__ import annotations

import pytest

from tests.helpers.migrations import migrate_to, migrate_to_latest

BEFORE = [("sessions_app", "0016_audit_chain")]
AFTER = [("sessions_app", "0017_session_tally")]


@pytest.mark.django_db(transaction=True)
def test_existing_sessions_are_counted_and_later_writes_followed():
    try:
        apps = migrate_to(BEFORE)
        Connection = apps.get_model("sessions_app", "ProviderConnection")
        Session = apps.get_model("sessions_app", "WorkflowSession")
        conn = Connection.objects.create(
            slug="cube",
            kind="complycube",
            display_name="cube",
            base_url="https://cube.example.test",
            credential_env="VERITY_PROVIDER_CUBE",
        )
        for n, (status, outcome) in enumerate(
            [("completed", "rejected"), ("completed", "clear"), ("failed", "")]
        ):
            Session.objects.create(
                connection=conn, external_id=f"s-{n}", status=status, outcome=outcome
            )

        apps = migrate_to(AFTER)
        Tally = apps.get_model("sessions_app", "SessionTally")
        Session = apps.get_model("sessions_app", "WorkflowSession")

        def counts():
            return {
                (t.status, t.outcome, t.needs_attention): t.sessions
                for t in Tally.objects.exclude(sessions=0)
            }

        assert counts() == {
            ("completed", "rejected", True): 1,
            ("completed", "clear", False): 1,
            ("failed", "", True): 1,
        }
        Session.objects.filter(external_id="s-0").update(last_decision="reject")
        assert counts()[("completed", "rejected", False)] == 1

        # Back down: the triggers go with the table.
        apps = migrate_to(BEFORE)
        apps.get_model("sessions_app", "WorkflowSession").objects.filter(
            external_id="s-1"
        ).update(outcome="attention")
    finally:
        migrate_to_latest()
