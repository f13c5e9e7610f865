"""Migration 0017: stored sessions get their reasons in Verity's words."""

from __future__ import annotations

import pytest

from tests.helpers.migrations import migrate_to, migrate_to_latest

BEFORE = [("sessions_app", "0018_retention_erasure")]
AFTER = [("sessions_app", "0019_session_reasons")]


@pytest.mark.django_db(transaction=True)
def test_stored_sessions_get_their_reasons():
    try:
        apps = migrate_to(BEFORE)
        Connection = apps.get_model("sessions_app", "ProviderConnection")
        Session = apps.get_model("sessions_app", "WorkflowSession")
        conns = {
            kind: Connection.objects.create(
                slug=kind,
                kind=kind,
                display_name=kind,
                base_url=f"https://{kind}.example.test",
                credential_env="TOKEN",
            )
            for kind in ("onfido", "complycube", "ica")
        }
        Session.objects.create(
            connection=conns["onfido"],
            external_id="wr",
            reasons=["document_rejected", "something_new"],
        )
        Session.objects.create(
            connection=conns["complycube"],
            external_id="cc",
            outcome="rejected",
            raw_payload={
                "checks": [
                    {"type": "multi_bureau_check", "result": {"outcome": "rejected"}}
                ]
            },
        )
        Session.objects.create(
            connection=conns["ica"],
            external_id="ica",
            status="failed",
            raw_payload={"session": {"status": "FAILED_FINAL", "summary": "OOM"}},
        )
        Session.objects.create(connection=conns["onfido"], external_id="clear")

        apps = migrate_to(AFTER)
        Reason = apps.get_model("sessions_app", "SessionReason")
        Session = apps.get_model("sessions_app", "WorkflowSession")

        assert sorted(
            Reason.objects.values_list("session__external_id", "code", "raw")
        ) == [
            ("cc", "identity_unverified", "multi_bureau_check"),
            ("ica", "pipeline_failed", "OOM"),
            ("wr", "document_rejected", "document_rejected"),
            ("wr", "other", "something_new"),
        ]
        assert Session.objects.get(external_id="cc").reasons == ["multi_bureau_check"]
    finally:
        migrate_to_latest()
