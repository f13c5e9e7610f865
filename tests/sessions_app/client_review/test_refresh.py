"""Recomputing the stored review summary: set-based, consistent with the
client page's matrix, marked stale by the sync and by decisions, resumable."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.client_review.refresh import (
    clients_mark_stale,
    clients_review_refresh_all,
    clients_review_refresh_batch,
    clients_review_refresh_stale,
)
from sessions_app.models import Client, Outcome, Status
from sessions_app.selectors import client_assurance_get
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def _at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 9, tzinfo=dt.UTC)


def _client_with(checks: list[dict], **session) -> Client:
    identity = ProviderClientFactory()
    run = WorkflowSessionFactory(provider_client=identity, **session)
    for spec in checks:
        CheckFactory(session=run, **spec)
    return identity.client


def _refreshed(client: Client) -> Client:
    clients_review_refresh_batch(client_ids=[client.pk], now=NOW)
    client.refresh_from_db()
    return client


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.VERITY_REQUIRED_CHECK_KINDS = ["document", "screening"]
    settings.VERITY_REQUIRED_CHECK_KINDS_BY_TIER = {
        "high": ["document", "screening", "liveness"]
    }
    settings.VERITY_REVIEW_CADENCE_MONTHS = {"high": 12, "medium": 24, "low": 36}
    settings.VERITY_RISK_SCORE_THRESHOLDS = {"high": 0.8, "medium": 0.5}


def test_a_clear_client_is_low_with_a_review_from_its_oldest_required_part():
    client = _refreshed(
        _client_with(
            [
                {"kind": "document", "provider_updated_at": _at(2025, 3, 1)},
                {"kind": "screening", "provider_updated_at": _at(2025, 5, 1)},
            ],
            provider_updated_at=_at(2025, 5, 2),
        )
    )
    assert client.risk_tier == "low"
    assert client.risk_tier_derived == "low"
    assert client.has_gaps is False
    assert client.next_review_due == dt.date(2028, 3, 1)
    assert client.last_activity_at == _at(2025, 5, 2)
    assert client.assurance_refreshed_at == NOW


def test_a_possible_screening_match_is_medium_and_shortens_the_cadence():
    client = _refreshed(
        _client_with(
            [
                {"kind": "document", "provider_updated_at": _at(2025, 3, 1)},
                {
                    "kind": "screening",
                    "outcome": Outcome.ATTENTION,
                    "provider_updated_at": _at(2025, 5, 1),
                },
            ]
        )
    )
    assert client.risk_tier == "medium"
    assert client.next_review_due == dt.date(2027, 3, 1)


def test_a_rejected_session_is_high_and_requires_the_high_tiers_kinds():
    client = _refreshed(
        _client_with(
            [
                {"kind": "document", "provider_updated_at": _at(2025, 3, 1)},
                {"kind": "screening", "provider_updated_at": _at(2025, 5, 1)},
            ],
            outcome=Outcome.REJECTED,
        )
    )
    assert client.risk_tier == "high"
    # High also requires liveness, never checked: a gap, never completely verified.
    assert client.has_gaps is True
    assert client.next_review_due is None


def test_a_high_risk_score_is_high():
    client = _refreshed(_client_with([], risk_score=0.91))
    assert client.risk_tier == "high"


def test_a_client_without_sessions_has_no_tier_and_gaps():
    client = _refreshed(ClientFactory())
    assert client.risk_tier == ""
    assert client.has_gaps is True
    assert client.next_review_due is None
    assert client.last_activity_at is None


def test_a_document_expiring_first_sets_the_review_date():
    client = _refreshed(
        _client_with(
            [
                {
                    "kind": "document",
                    "provider_updated_at": _at(2025, 3, 1),
                    "document_expires_on": dt.date(2026, 1, 31),
                },
                {"kind": "screening", "provider_updated_at": _at(2025, 5, 1)},
            ]
        )
    )
    assert client.next_review_due == dt.date(2026, 1, 31)


def test_a_running_check_is_not_a_gap_but_not_a_verification_either():
    client = _refreshed(
        _client_with(
            [
                {"kind": "document", "provider_updated_at": _at(2025, 3, 1)},
                {"kind": "screening", "status": Status.IN_PROGRESS, "outcome": ""},
            ]
        )
    )
    assert client.has_gaps is False
    assert client.next_review_due is None


def test_the_latest_completed_check_counts_across_providers():
    client = _client_with(
        [
            {"kind": "document", "provider_updated_at": _at(2024, 1, 1)},
            {"kind": "screening", "provider_updated_at": _at(2024, 1, 1)},
        ]
    )
    other = ProviderClientFactory(client=client)
    newer = WorkflowSessionFactory(provider_client=other, connection=other.connection)
    CheckFactory(session=newer, kind="document", provider_updated_at=_at(2025, 7, 1))
    CheckFactory(session=newer, kind="screening", provider_updated_at=_at(2025, 8, 1))
    assert _refreshed(client).next_review_due == dt.date(2028, 7, 1)


def test_gaps_agree_with_the_client_pages_matrix():
    clients = [
        _client_with([{"kind": "document"}]),
        _client_with([{"kind": "document"}, {"kind": "screening"}]),
        _client_with([{"kind": "liveness"}], outcome=Outcome.REJECTED),
        ClientFactory(),
    ]
    clients_review_refresh_batch(client_ids=[c.pk for c in clients], now=NOW)
    from sessions_app.client_review.rules import required_kinds_for_tier

    for client in clients:
        client.refresh_from_db()
        matrix = client_assurance_get(
            client_id=client.pk,
            today=NOW.date(),
            required_kinds=required_kinds_for_tier(client.risk_tier),
        )
        assert client.has_gaps == bool(matrix.gaps), client


def test_a_reviewers_tier_survives_the_refresh():
    client = _client_with([], outcome=Outcome.REJECTED)
    Client.objects.filter(pk=client.pk).update(
        risk_tier="low", risk_tier_source="reviewer"
    )
    client = _refreshed(client)
    assert client.risk_tier == "low"
    assert client.risk_tier_derived == "high"


def test_a_batch_costs_the_same_queries_whatever_its_size(
    django_assert_max_num_queries,
):
    small = [_client_with([{"kind": "document"}]) for _ in range(2)]
    large = [
        _client_with([{"kind": "document"}, {"kind": "screening"}]) for _ in range(12)
    ]
    for clients in (small, large):
        # The stale flags, the clients, sessions, kinds, latest completed, the
        # bulk UPDATE (one statement per VERITY_REVIEW_REFRESH_BATCH rows).
        with django_assert_max_num_queries(8):
            clients_review_refresh_batch(client_ids=[c.pk for c in clients], now=NOW)


def test_the_daily_pass_is_resumable():
    clients = [ClientFactory() for _ in range(5)]
    since = NOW.replace(hour=0)
    ticks = iter(range(1, 100))  # past the deadline after the first batch
    first = clients_review_refresh_all(
        now=NOW, since=since, batch_size=2, deadline=1, clock=lambda: next(ticks)
    )
    assert (first.clients, first.finished) == (2, False)
    rest = clients_review_refresh_all(now=NOW, since=since, batch_size=2)
    assert (rest.clients, rest.finished) == (3, True)
    assert all(
        c.assurance_refreshed_at == NOW
        for c in Client.objects.filter(pk__in=[c.pk for c in clients])
    )
    # The same day again: nothing left to do.
    assert clients_review_refresh_all(now=NOW, since=since).clients == 0


def test_marked_stale_clients_are_refreshed_and_cleared():
    client = _client_with([{"kind": "document"}], outcome=Outcome.REJECTED)
    identity = client.provider_clients.get()
    assert clients_mark_stale(provider_client_ids=[identity.pk]) == 1
    assert clients_mark_stale(provider_client_ids=[identity.pk]) == 0  # already
    result = clients_review_refresh_stale(now=NOW)
    client.refresh_from_db()
    assert result.clients == 1
    assert client.assurance_stale is False
    assert client.risk_tier == "high"
    assert clients_review_refresh_stale(now=NOW).clients == 0
