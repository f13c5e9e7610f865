"""The client page's retention section: what it shows, its forms, who may use them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditEvent, Client, ErasureRequestState, ProviderErasure
from tests.factories import ClientFactory
from tests.helpers.retention import personal_client, personal_values_in, rows_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]


def test_page_shows_the_retention_state_and_forms_for_reviewers(reviewer_client):
    client = ClientFactory(
        relationship_ended_on=dt.date(2024, 5, 2),
        legal_hold=True,
        legal_hold_reason="Tax inquiry 2031-7",
    )
    page = reviewer_client.get(client.get_absolute_url()).content.decode()
    assert "Retention and erasure" in page
    assert "2024-05-02" in page
    assert "2029-05-02" in page
    assert "On legal hold: Tax inquiry 2031-7" in page
    assert reverse("client-legal-hold", args=[client.pk]) in page
    assert reverse("client-erasure-request", args=[client.pk]) in page


def test_viewers_see_the_state_without_the_forms(viewer_client):
    client = ClientFactory()
    page = viewer_client.get(client.get_absolute_url()).content.decode()
    assert "Retention and erasure" in page
    assert "has not ended" in page
    assert reverse("client-erasure-request", args=[client.pk]) not in page


@pytest.mark.parametrize(
    "name", ["client-relationship-end", "client-legal-hold", "client-erasure-request"]
)
def test_viewers_may_not_post(viewer_client, name):
    client = ClientFactory()
    response = viewer_client.post(reverse(name, args=[client.pk]), {"hold": "on"})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(client_id=client.pk).exists()


def test_reviewer_sets_the_end_and_a_hold(reviewer_client):
    client = ClientFactory()
    today = timezone.localdate()
    response = reviewer_client.post(
        reverse("client-relationship-end", args=[client.pk]),
        {"ended_on": today.isoformat()},
    )
    assert response.status_code == 302
    reviewer_client.post(
        reverse("client-legal-hold", args=[client.pk]),
        {"hold": "on", "reason": "Subpoena"},
    )
    client.refresh_from_db()
    assert client.relationship_ended_on == today
    assert (client.legal_hold, client.legal_hold_reason) == (True, "Subpoena")


def test_bad_input_is_refused_in_words(reviewer_client):
    client = ClientFactory()
    response = reviewer_client.post(
        reverse("client-legal-hold", args=[client.pk]), {"hold": "on"}, follow=True
    )
    assert "Say why the records are on legal hold." in response.content.decode()
    response = reviewer_client.post(
        reverse("client-relationship-end", args=[client.pk]),
        {"ended_on": "31/31/2020"},
        follow=True,
    )
    assert "Relationship ended on: Enter a valid date." in response.content.decode()
    client.refresh_from_db()
    assert not client.legal_hold
    assert client.relationship_ended_on is None


def test_erasure_request_refused_then_accepted_from_the_page(reviewer_client, settings):
    today = timezone.localdate()
    found = personal_client(ended_on=today - dt.timedelta(days=30))
    url = reverse("client-erasure-request", args=[found.client.pk])
    form = {
        "requested_by": "the data subject, by e-mail",
        "requested_on": today.isoformat(),
        "verification": "e-mail address on file",
    }
    page = reviewer_client.post(url, form, follow=True).content.decode()
    assert "Erasure request recorded and refused" in page
    assert personal_values_in(rows_of(found))

    settings.VERITY_RETENTION_YEARS = 0  # the period has run out
    page = reviewer_client.post(url, form, follow=True).content.decode()
    assert "Erasure request recorded and accepted" in page
    assert personal_values_in(rows_of(found)) == []
    states = list(
        found.client.erasure_requests.order_by("id").values_list("state", flat=True)
    )
    assert states == [ErasureRequestState.REFUSED, ErasureRequestState.ERASED]
    assert "Deletions at the providers" in page
    assert ProviderErasure.objects.filter(client=found.client).count() == 1
    assert Client.objects.get(pk=found.client.pk).erased_at is not None
