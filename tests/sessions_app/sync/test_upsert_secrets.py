"""Credentials never reach the database (issue 21 item 5): each provider's
declared secrets (`providers/<name>/secrets.py`) are cut from every stored
payload, whatever the adapter handed over. Fixtures: one per provider, each
carrying its secrets (every one marked `SECRET-`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import transaction

from sessions_app.models import (
    Check,
    ProviderClient,
    QuarantinedRecord,
    WorkflowSession,
)
from sessions_app.normalization import Normalised
from sessions_app.providers.base import (
    CheckRecord,
    ClientRecord,
    QuarantineRecord,
    SessionRecord,
)
from sessions_app.sync import secrets, upsert
from tests.factories import ProviderConnectionFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "privacy"


def _fixture(kind: str, name: str) -> dict:
    return json.loads((FIXTURES / kind / f"{name}.json").read_text())


def _check_payloads(kind: str, session: dict) -> list[dict]:
    key = {"onfido": "tasks", "complycube": "checks", "ica": "analyses"}[kind]
    return session[key]


def _stored_text() -> str:
    rows = [
        *WorkflowSession.objects.values_list("raw_payload", flat=True),
        *Check.objects.values_list("raw_payload", flat=True),
        *Check.objects.values_list("breakdown", flat=True),
        *ProviderClient.objects.values_list("raw_payload", flat=True),
        *QuarantinedRecord.objects.values_list("raw", flat=True),
    ]
    return json.dumps(rows)


@pytest.mark.parametrize("kind", ["onfido", "complycube", "ica"])
def test_no_declared_secret_is_in_any_stored_row(kind):
    connection = ProviderConnectionFactory(kind=kind, slug=f"{kind}-secrets")
    session = _fixture(kind, "session")
    client = _fixture(kind, "client")
    assert "SECRET-" in json.dumps(session) + json.dumps(client)
    done = Normalised("completed", "clear", True)
    record = SessionRecord(
        external_id="s-1",
        raw_status="completed",
        normalised=done,
        client=ClientRecord(external_id="c-1", name="Alice Lee", raw=client),
        checks=[
            CheckRecord(
                external_id=f"k-{index}",
                check_type="document",
                raw_status="complete",
                raw_outcome="clear",
                normalised=done,
                raw=payload,
            )
            for index, payload in enumerate(_check_payloads(kind, session))
        ],
        raw=session,
    )
    quarantined = QuarantineRecord(
        record_type="session", reason="unreadable", raw=json.dumps(session)
    )
    with transaction.atomic():
        upsert.session_upsert_batch(
            connection=connection, records=[record], quarantined=[quarantined]
        )

    stored = _stored_text()
    assert WorkflowSession.objects.count() == 1
    assert QuarantinedRecord.objects.count() == 1
    assert "SECRET-" not in stored
    # What is not a credential is kept.
    assert "completed" in stored or "SUCCEEDED" in stored or "approved" in stored


def test_text_that_is_not_json_is_kept_as_it_is():
    assert secrets.quarantined_text_without_secrets("onfido", "<html>") == "<html>"
