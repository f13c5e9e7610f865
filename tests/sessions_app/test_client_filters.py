"""/api/v1/clients/: the directory's filters, its new fields, its query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.privacy.personal_fields import name_initials
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
)

pytestmark = pytest.mark.django_db
CLIENTS = reverse("api-client-list")
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _today(monkeypatch, settings):
    settings.VERITY_REVIEW_DUE_WITHIN_DAYS = 30
    noon = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: noon)


@pytest.fixture
def clients():
    onfido = ProviderConnectionFactory(kind="onfido", slug="onfido-eu")
    cube = ProviderConnectionFactory(kind="complycube", slug="complycube")
    ada = ClientFactory(
        display_name="Ada",
        risk_tier="high",
        risk_tier_source="reviewer",
        has_gaps=True,
        next_review_due=TODAY - dt.timedelta(days=1),
    )
    ben = ClientFactory(
        display_name="Ben", risk_tier="low", next_review_due=TODAY + dt.timedelta(5)
    )
    ProviderClientFactory(client=ada, connection=onfido, external_id="app-1")
    ProviderClientFactory(client=ben, connection=cube, external_id="cc-2")
    ProviderClientFactory(client=ben, connection=onfido, external_id="app-2")
    return ada, ben


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["display_name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Ada", "Ben"]),
        ({"q": "app-2"}, ["Ben"]),
        ({"reference": "nothing"}, []),
        ({"provider": "complycube"}, ["Ben"]),
        ({"risk_tier": "high"}, ["Ada"]),
        ({"risk_tier": "none"}, []),
        ({"has_gaps": "true"}, ["Ada"]),
        ({"review": "overdue"}, ["Ada"]),
        ({"review": "due"}, ["Ben"]),
        ({"provider": "onfido-eu", "review": "due,overdue"}, ["Ada", "Ben"]),
    ],
)
def test_api_client_filters(viewer_client, clients, query, expected):
    # API lists are masked: names as initials (issue 21).
    assert _names(viewer_client.get(CLIENTS, query)) == [
        name_initials(name) for name in expected
    ]


def test_api_client_rows_carry_the_review_schedule(viewer_client, clients):
    rows = viewer_client.get(CLIENTS).json()["results"]
    ada = rows[0]
    assert ada["providers"] == ["onfido-eu"]
    assert ada["risk_tier"] == "high"
    assert ada["risk_tier_source"] == "reviewer"
    assert ada["has_gaps"] is True
    assert ada["next_review_due"] == "2026-05-31"
    assert rows[1]["providers"] == ["complycube", "onfido-eu"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"provider": "nowhere"}, "provider"),
        ({"risk_tier": "extreme"}, "risk_tier"),
        ({"review": "soon"}, "review"),
        ({"tier": "high"}, "tier"),  # not a parameter of this list
    ],
)
def test_api_client_bad_filters_are_400s(viewer_client, clients, query, field):
    response = viewer_client.get(CLIENTS, query)
    assert response.status_code == 400
    assert field in response.json()


def test_api_client_list_queries_do_not_grow_with_rows(
    viewer_client, clients, django_assert_max_num_queries
):
    # Session, user, permissions (2); the provider check (whose ids the
    # filter reuses: no second look-up); the rows, their identities.
    with django_assert_max_num_queries(7):
        viewer_client.get(CLIENTS, {"provider": "onfido-eu"})
    for _ in range(20):
        ProviderClientFactory(connection=clients[0].provider_clients.get().connection)
    with django_assert_max_num_queries(7):
        viewer_client.get(CLIENTS, {"provider": "onfido-eu"})
