"""Check kinds in the mirror: the sync stores each check's kind and counts an
unlisted type like an unknown status; `reclassify_checks` re-applies the tables."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from sessions_app.models import Check, CheckKind, SyncTrigger
from sessions_app.sync import engine as sync
from sessions_app.sync.check_kinds import check_kinds_reclassify
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def test_the_sync_stores_each_checks_kind_and_counts_unlisted_types(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, kind="complycube")
    provider.add(
        "s-1",
        status="complete",
        outcome="clear",
        checks=[
            ("c-1", "complete", "clear", "document_check"),
            ("c-2", "complete", "clear", "standard_screening_check"),
            ("c-3", "complete", "clear", "crypto_wallet_check"),
            ("c-4", "complete", "clear", "crypto_wallet_check"),
        ],
    )

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert dict(Check.objects.values_list("external_id", "kind")) == {
        "c-1": CheckKind.DOCUMENT,
        "c-2": CheckKind.SCREENING,
        "c-3": CheckKind.OTHER,
        "c-4": CheckKind.OTHER,
    }
    run = connection.sync_runs.latest("started_at")
    assert run.unknown_values == {"crypto_wallet_check": 1}


def test_a_changed_check_type_changes_its_kind(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, kind="onfido")
    provider.add("wr-1", checks=[("t-1", "complete", "clear", "document_check")])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    provider.change("wr-1", checks=[("t-1", "complete", "clear", "watchlist_aml")])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert Check.objects.get().kind == CheckKind.SCREENING


def test_reclassify_fixes_stored_kinds_and_touches_only_what_changes(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, kind="onfido")
    provider.add(
        "wr-1",
        checks=[
            ("t-1", "complete", "clear", "document_check"),
            ("t-2", "complete", "clear", "facial_similarity_motion"),
            ("t-3", "complete", "clear", "profile_data"),
        ],
    )
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    # As if stored before the column existed, or under an older table.
    Check.objects.update(kind=CheckKind.OTHER)

    assert check_kinds_reclassify() == 2
    assert dict(Check.objects.values_list("external_id", "kind")) == {
        "t-1": CheckKind.DOCUMENT,
        "t-2": CheckKind.LIVENESS,
        "t-3": CheckKind.OTHER,
    }
    assert check_kinds_reclassify() == 0


def test_reclassify_checks_command_reports_the_rows_it_changed(monkeypatch, capsys):
    provider, connection = fake_provider_install(monkeypatch, kind="ica")
    provider.add("ws-1", checks=[("a-1", "SUCCEEDED", "", "DRAGEN_Germline")])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    Check.objects.update(kind=CheckKind.OTHER)

    call_command("reclassify_checks")

    assert "Reclassified 1 check(s)." in capsys.readouterr().out
    assert Check.objects.get().kind == CheckKind.PIPELINE_ANALYSIS
