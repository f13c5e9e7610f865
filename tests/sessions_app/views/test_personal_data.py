"""Personal data masked by role on every page, API endpoint and CSV, and the
reveal: reviewers only, with a reason, audited, expiring (docs/data-protection.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditEvent, PersonalDataReveal, ProviderKind
from sessions_app.privacy.reveals import personal_data_reveal
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.helpers.exports import csv_read
from tests.helpers.tokens import api_token_secret

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "privacy"
FULL = ("Alice Lee", "123456789", "1990-02-03", "alice.lee@example.com")


@pytest.fixture
def person():
    """An Onfido session of Alice Lee, its payload from the fixture."""
    payload = json.loads((FIXTURES / "onfido/session.json").read_text())
    connection = ProviderConnectionFactory(kind=ProviderKind.ONFIDO, slug="onfido-pd")
    client = ClientFactory(display_name="Alice Lee", reference="cust-aa01")
    identity = ProviderClientFactory(
        connection=connection, client=client, name="Alice Lee"
    )
    session = WorkflowSessionFactory(
        connection=connection, provider_client=identity, raw_payload=payload
    )
    task = payload["tasks"][1]
    CheckFactory(
        session=session,
        check_type="document_check",
        breakdown={"doc": {"properties": task["output"]["properties"]}},
        raw_payload=task,
    )
    return session


def _page(client: DjangoClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _hidden(text: str) -> None:
    for value in FULL:
        assert value not in text, value


ROLES = ["viewer", "exporter", "reviewer", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_masks_personal_data_for_every_role(person, role):
    user = UserFactory(roles=[role])
    browser = DjangoClient()
    browser.force_login(user)
    client = person.provider_client.client
    session_page = _page(browser, person.get_absolute_url())
    _hidden(session_page)
    assert "A. L." in session_page
    assert "•••" in session_page  # the raw payload panel, keys kept
    assert "first_name" in session_page
    _hidden(_page(browser, client.get_absolute_url()))
    queue = _page(browser, f"{reverse('session-list')}?client={client.pk}")
    _hidden(queue)
    assert ">A. L.</a>" in queue
    # The reveal form only for those who may reveal.
    assert ('name="reason"' in session_page) is (role in ("reviewer", "admin"))


@pytest.mark.parametrize("role", ["viewer", "exporter"])
def test_a_viewer_cannot_reveal(person, role):
    browser = DjangoClient()
    browser.force_login(UserFactory(roles=[role]))
    for name, pk in (
        ("session-reveal", person.pk),
        ("client-reveal", person.provider_client.client_id),
    ):
        response = browser.post(reverse(name, args=[pk]), {"reason": "curious"})
        assert response.status_code == 403
    assert not PersonalDataReveal.objects.exists()
    assert not AuditEvent.objects.filter(action="personal_data.reveal").exists()


def test_a_reveal_shows_the_data_writes_an_event_and_expires(person, reviewer):
    browser = DjangoClient()
    browser.force_login(reviewer)
    response = browser.post(
        reverse("session-reveal", args=[person.pk]), {"reason": "document mismatch"}
    )
    assert response.status_code == 302
    page = _page(browser, person.get_absolute_url())
    assert "Alice Lee" in page
    assert "123456789" in page
    event = AuditEvent.objects.get(action="personal_data.reveal")
    assert (event.actor, event.source, event.object_id) == (
        reviewer,
        "web",
        str(person.pk),
    )
    assert event.after["reason"] == "document mismatch"
    assert "Alice" not in json.dumps([event.object_repr, event.after])
    # Another user still sees it masked: the reveal is per user.
    other = DjangoClient()
    other.force_login(UserFactory(roles=["reviewer"]))
    _hidden(_page(other, person.get_absolute_url()))


def test_a_reveal_lasts_the_setting_then_masks_again(person, reviewer, settings):
    settings.VERITY_PERSONAL_DATA_REVEAL_SECONDS = 600
    past = timezone.now() - dt.timedelta(seconds=601)
    personal_data_reveal(
        user=reviewer,
        object_type="session",
        object_id=person.pk,
        object_label=person.external_id,
        client_id=person.provider_client.client_id,
        reason="yesterday's check",
        source="web",
        now=past,
    )
    browser = DjangoClient()
    browser.force_login(reviewer)
    _hidden(_page(browser, person.get_absolute_url()))
    personal_data_reveal(
        user=reviewer,
        object_type="session",
        object_id=person.pk,
        object_label=person.external_id,
        client_id=person.provider_client.client_id,
        reason="again",
        source="web",
        now=past + dt.timedelta(seconds=2),  # 599 s ago: still in force
    )
    assert "Alice Lee" in _page(browser, person.get_absolute_url())


def test_a_client_reveal_covers_its_page_and_its_sessions(person, reviewer):
    browser = DjangoClient()
    browser.force_login(reviewer)
    client = person.provider_client.client
    browser.post(reverse("client-reveal", args=[client.pk]), {"reason": "KYC refresh"})
    assert "Alice Lee" in _page(browser, client.get_absolute_url())
    assert "Alice Lee" in _page(browser, person.get_absolute_url())


def test_a_reveal_needs_a_reason(person, reviewer):
    browser = DjangoClient()
    browser.force_login(reviewer)
    response = browser.post(
        reverse("session-reveal", args=[person.pk]), {"reason": "  "}, follow=True
    )
    assert "Say why you need to see the personal data." in response.content.decode()
    assert not PersonalDataReveal.objects.exists()


def _api(user, method: str, url: str, **data):
    browser = DjangoClient()
    token = api_token_secret(user)
    call = getattr(browser, method)
    return call(
        url,
        data=json.dumps(data) if data else None,
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_api_masks_by_the_token_users_role(person, role):
    user = UserFactory(roles=[role])
    client = person.provider_client.client
    for url in (
        reverse("api-session-list"),
        reverse("api-session-detail", args=[person.pk]),
        reverse("api-check-list"),
        reverse("api-check-detail", args=[person.checks.get().pk]),
        reverse("api-client-list"),
        reverse("api-client-detail", args=[client.pk]),
    ):
        response = _api(user, "get", url)
        assert response.status_code == 200, url
        _hidden(response.content.decode())
        assert "A. L." in response.content.decode(), url


def test_the_api_reveal_unmasks_the_detail_for_that_user(person, reviewer, viewer):
    url = reverse("api-session-reveal", args=[person.pk])
    assert _api(viewer, "post", url, reason="curious").status_code == 403
    response = _api(reviewer, "post", url, reason="document mismatch")
    assert response.status_code == 201
    assert "expires_at" in response.json()
    detail = _api(reviewer, "get", reverse("api-session-detail", args=[person.pk]))
    assert detail.json()["client"]["display_name"] == "Alice Lee"
    assert detail.json()["checks"][0]["breakdown"]["doc"]["properties"][
        "document_numbers"
    ] == [{"type": "document_number", "value": "123456789"}]
    # Lists stay masked.
    _hidden(_api(reviewer, "get", reverse("api-session-list")).content.decode())
    event = AuditEvent.objects.get(action="personal_data.reveal")
    assert event.source == "api"


def test_the_csv_is_masked_without_the_export_permission(
    person, exporter_client, personal_exporter_client, admin_client_verity
):
    for url in (reverse("sessions-export"), reverse("checks-export")):
        header, rows = csv_read(exporter_client.get(url))
        cells = dict(zip(header, rows[0], strict=False))
        assert (cells["Client"], cells["Provider client name"]) == ("A. L.", "A. L.")
        for full in (personal_exporter_client, admin_client_verity):
            header, rows = csv_read(full.get(url))
            cells = dict(zip(header, rows[0], strict=False))
            assert cells["Client"] == "Alice Lee"
    kinds = AuditEvent.objects.filter(action="export.sessions_csv").values_list(
        "after__personal_data", flat=True
    )
    assert sorted(kinds) == ["full", "full", "masked"]
