"""Migration 0008: the stored sessions get the new columns and lose what they must not keep."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.helpers.migrations import migrate_to

BEFORE = [("sessions_app", "0007_webhook_outbox")]
AFTER = [("sessions_app", "0008_session_contract_columns")]


@pytest.mark.django_db(transaction=True)
def test_stored_sessions_are_fixed():
    try:
        apps = migrate_to(BEFORE)
        Connection = apps.get_model("sessions_app", "ProviderConnection")
        Session = apps.get_model("sessions_app", "WorkflowSession")

        def conn(kind):
            return Connection.objects.create(
                slug=kind,
                kind=kind,
                display_name=kind,
                base_url="https://api.example",
                credential_env="KEY",
            )

        onfido, ica, cube = conn("onfido"), conn("ica"), conn("complycube")
        run = {
            "id": "r1",
            "sdk_token": "eyJ-secret",
            "link": {
                "url": "https://eu.onfido.app/l/secret",
                "expires_at": "2026-07-01T00:00:00Z",
            },
            "output": {"decision": "approved", "risk_score": 0.42},
        }
        Session.objects.create(
            connection=onfido,
            external_id="r1",
            status="completed",
            dashboard_url="https://dashboard.onfido.com/results/r1",
            raw_payload={"run": run, "tasks": [{"output": {"sdk_token": "t"}}]},
        )
        Session.objects.create(
            connection=onfido,
            external_id="r2",
            dashboard_url="http://dashboard.onfido.com/results/r2",
            raw_payload={"run": {"id": "r2"}},
        )
        ended = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
        Session.objects.create(
            connection=ica,
            external_id="w1",
            status="awaiting_input",
            completed_at=ended,
            raw_payload={"session": {"userReference": "ws_1"}},
        )
        Session.objects.create(
            connection=ica,
            external_id="w2",
            status="completed",
            completed_at=ended,
            raw_payload={"session": {"userReference": "ws_2"}},
        )
        Session.objects.create(
            connection=cube,
            external_id="c1",
            dashboard_url="https://evil.example/c1",
        )

        apps = migrate_to(AFTER)
        Session = apps.get_model("sessions_app", "WorkflowSession")
        r1, r2, w1, w2, c1 = (
            Session.objects.get(external_id=i) for i in ("r1", "r2", "w1", "w2", "c1")
        )

        assert "secret" not in json.dumps(r1.raw_payload)
        assert "sdk_token" not in json.dumps(r1.raw_payload)
        assert r1.raw_payload["run"]["link"] == {"expires_at": "2026-07-01T00:00:00Z"}
        assert (r1.decision, r1.risk_score) == ("approved", 0.42)
        assert r1.link_expires_at == dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
        assert r1.dashboard_url == "https://dashboard.onfido.com/results/r1"
        assert (r2.dashboard_url, r2.decision, r2.risk_score) == ("", "", None)
        assert (w1.user_reference, w1.completed_at) == ("ws_1", None)
        assert (w2.user_reference, w2.completed_at) == ("ws_2", ended)
        assert c1.dashboard_url == ""
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
