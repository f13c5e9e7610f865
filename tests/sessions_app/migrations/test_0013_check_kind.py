"""Migration 0013: stored checks get their kind from the providers' tables."""

from __future__ import annotations

import pytest

from tests.helpers.migrations import migrate_to, migrate_to_latest

BEFORE = [("sessions_app", "0012_session_rotation_indexes")]
AFTER = [("sessions_app", "0013_check_kind")]


@pytest.mark.django_db(transaction=True)
def test_stored_checks_are_classified_by_their_providers_table():
    try:
        apps = migrate_to(BEFORE)
        Connection = apps.get_model("sessions_app", "ProviderConnection")
        Session = apps.get_model("sessions_app", "WorkflowSession")
        Check = apps.get_model("sessions_app", "Check")
        for kind, types in (
            ("onfido", ["document_check", "watchlist_standard", "profile_data"]),
            ("complycube", ["proof_of_address_check", "document_check_v9"]),
            ("ica", ["DRAGEN_Germline"]),
        ):
            conn = Connection.objects.create(
                slug=kind,
                kind=kind,
                display_name=kind,
                base_url=f"https://{kind}.example.test",
                credential_env="TOKEN",
            )
            session = Session.objects.create(connection=conn, external_id=f"{kind}-s")
            for number, check_type in enumerate(types):
                Check.objects.create(
                    connection=conn,
                    session=session,
                    external_id=f"{kind}-{number}",
                    check_type=check_type,
                )

        Check = migrate_to(AFTER).get_model("sessions_app", "Check")

        assert dict(Check.objects.values_list("check_type", "kind")) == {
            "document_check": "document",
            "watchlist_standard": "screening",
            "profile_data": "other",
            "proof_of_address_check": "proof_of_address",
            "document_check_v9": "other",
            "DRAGEN_Germline": "pipeline_analysis",
        }
    finally:
        migrate_to_latest()
