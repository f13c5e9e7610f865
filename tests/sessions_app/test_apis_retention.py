"""The retention API: read the clock, set the end and the hold, record erasure requests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from sessions_app.models import AuditEvent
from sessions_app.privacy.retention import years_after
from tests.factories import ClientFactory
from tests.helpers.retention import personal_client, personal_values_in, rows_of
from tests.helpers.tokens import api_token_client

pytestmark = pytest.mark.django_db


def url(client, what="retention"):
    return f"/api/v1/clients/{client.pk}/{what}/"


def test_viewer_reads_but_may_not_change(viewer):
    client = ClientFactory()
    api = api_token_client(viewer)
    body = api.get(url(client)).json()
    assert body["relationship_ended_on"] is None
    assert body["erasable"] is False
    assert body["retention_years"] == 5
    assert (
        api.patch(
            url(client), {"legal_hold": True}, content_type="application/json"
        ).status_code
        == 403
    )
    assert (
        api.post(
            url(client, "erasure-requests"), {}, content_type="application/json"
        ).status_code
        == 403
    )


def test_reviewer_token_sets_end_and_hold_audited(reviewer):
    client = ClientFactory()
    api = api_token_client(reviewer)
    response = api.patch(
        url(client),
        {
            "relationship_ended_on": "2025-02-01",
            "legal_hold": True,
            "legal_hold_reason": "Audit",
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["keep_until"] == "2030-02-01"
    assert body["legal_hold"] is True
    assert "On legal hold: Audit" in body["kept_because"]
    sources = set(
        AuditEvent.objects.filter(client_id=client.pk).values_list("source", flat=True)
    )
    assert sources == {"api"}


def test_bad_patch_is_a_400_and_changes_nothing(reviewer):
    client = ClientFactory()
    api = api_token_client(reviewer)
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = api.patch(
        url(client),
        {"legal_hold": True, "legal_hold_reason": "x", "relationship_ended_on": future},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "future" in response.json()["detail"]
    client.refresh_from_db()
    assert not client.legal_hold
    assert client.relationship_ended_on is None


def test_erasure_request_refused_then_accepted(reviewer, settings):
    today = timezone.localdate()
    found = personal_client(ended_on=today - dt.timedelta(days=1))
    api = api_token_client(reviewer)
    body = {
        "requested_by": "the data subject",
        "requested_on": today.isoformat(),
        "verification": "video call, passport",
    }
    refused = api.post(
        url(found.client, "erasure-requests"), body, content_type="application/json"
    )
    assert refused.status_code == 201
    assert refused.json()["state"] == "refused"
    ended = today - dt.timedelta(days=1)
    assert refused.json()["keep_until"] == years_after(ended, 5).isoformat()
    settings.VERITY_RETENTION_YEARS = 0
    accepted = api.post(
        url(found.client, "erasure-requests"), body, content_type="application/json"
    )
    assert accepted.json()["state"] == "erased"
    assert personal_values_in(rows_of(found)) == []
    state = api.get(url(found.client)).json()
    assert state["erased_at"] is not None
    assert [r["state"] for r in state["erasure_requests"]] == ["erased", "refused"]
    assert state["provider_erasures"][0]["outcome"] == "pending"


def test_a_body_of_an_unsupported_type_is_a_documented_415(reviewer):
    client = ClientFactory()
    api = api_token_client(reviewer)

    response = api.patch(url(client), "legal_hold=1", content_type="text/plain")

    assert response.status_code == 415
    client.refresh_from_db()
    assert not client.legal_hold
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    operations = [
        operation
        for path, item in paths.items()
        if path.startswith("/api/v1/clients/{id}/")
        and ("retention" in path or "erasure" in path)
        for method, operation in item.items()
        if method in ("post", "patch", "put")
    ]
    assert len(operations) >= 2
    assert all("415" in operation["responses"] for operation in operations)
