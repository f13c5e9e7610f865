"""The client's assurance matrix: latest result per kind across providers,
freshness against each kind's validity, gaps, and the latest policy evaluations."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.models import CheckKind, Outcome, Status
from sessions_app.selectors import Freshness, client_assurance_get
from tests.factories import (
    CheckFactory,
    ClientFactory,
    PolicyAssuranceFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 6)
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def person():
    """A client known to Onfido and ComplyCube, one session at each."""
    client = ClientFactory(display_name="Ada Lovelace", reference="ada-1")
    onfido = ProviderConnectionFactory(kind="onfido", slug="onfido")
    cube = ProviderConnectionFactory(kind="complycube", slug="cube")
    sessions = {
        conn.kind: WorkflowSessionFactory(
            connection=conn,
            provider_client=ProviderClientFactory(connection=conn, client=client),
            provider_created_at=NOW - dt.timedelta(days=500),
        )
        for conn in (onfido, cube)
    }
    return client, sessions


def _check(session, check_type, days_ago, **fields):
    when = NOW - dt.timedelta(days=days_ago)
    return CheckFactory(
        session=session,
        check_type=check_type,
        provider_created_at=when - dt.timedelta(minutes=5),
        provider_updated_at=when,
        **fields,
    )


def _rows(client, **kwargs):
    assurance = client_assurance_get(client_id=client.pk, today=TODAY, **kwargs)
    return {row.kind: row for row in assurance.rows}, assurance


def test_the_latest_result_wins_across_providers(person):
    client, sessions = person
    _check(sessions["onfido"], "watchlist_standard", 40, outcome=Outcome.CLEAR)
    newest = _check(
        sessions["complycube"],
        "standard_screening_check",
        10,
        outcome=Outcome.REJECTED,
        raw_outcome="match_confirmed",
    )

    rows, _ = _rows(client)

    screening = rows[CheckKind.SCREENING]
    assert screening.latest == newest == screening.completed
    assert screening.completed.connection.kind == "complycube"
    assert screening.completed_at == NOW - dt.timedelta(days=10)
    # A rejected result verifies nothing, however recent.
    assert screening.freshness == Freshness.FAILED
    assert screening.valid_until is None


@pytest.mark.parametrize(
    ("outcome", "freshness"),
    [
        (Outcome.CLEAR, Freshness.VALID),
        (Outcome.ATTENTION, Freshness.NEEDS_REVIEW),
        (Outcome.REJECTED, Freshness.FAILED),
    ],
)
def test_only_a_clear_result_is_valid(person, outcome, freshness):
    client, sessions = person
    _check(sessions["onfido"], "document_check", 5, outcome=outcome)

    row = _rows(client)[0][CheckKind.DOCUMENT]

    assert row.freshness == freshness
    assert (row.valid_until is not None) == (outcome == Outcome.CLEAR)


@pytest.mark.parametrize(
    ("days_ago", "freshness", "valid_until"),
    [
        (100, Freshness.VALID, dt.date(2027, 8, 28)),
        (350, Freshness.EXPIRING, dt.date(2026, 12, 21)),  # 15 days left
        (366, Freshness.EXPIRED, dt.date(2026, 12, 5)),
    ],
)
def test_freshness_against_the_kinds_validity(
    person, settings, days_ago, freshness, valid_until
):
    settings.VERITY_ASSURANCE_VALIDITY_DAYS = {"screening": 365}
    settings.VERITY_ASSURANCE_EXPIRING_DAYS = 30
    client, sessions = person
    _check(sessions["onfido"], "watchlist_standard", days_ago)

    row = _rows(client)[0][CheckKind.SCREENING]

    assert (row.freshness, row.valid_until) == (freshness, valid_until)


def test_a_document_is_valid_until_its_own_expiry(person):
    client, sessions = person
    _check(
        sessions["onfido"],
        "document_check",
        5,
        document_expires_on=dt.date(2026, 11, 30),
    )
    _check(sessions["complycube"], "proof_of_address_check", 5)

    rows, _ = _rows(client)

    assert rows[CheckKind.DOCUMENT].valid_until == dt.date(2026, 11, 30)
    assert rows[CheckKind.DOCUMENT].freshness == Freshness.EXPIRED
    assert rows[CheckKind.PROOF_OF_ADDRESS].freshness == Freshness.VALID


def test_required_kinds_nobody_checked_are_gaps_and_come_first(person):
    client, sessions = person
    _check(sessions["complycube"], "proof_of_address_check", 5)
    _check(sessions["onfido"], "document_check", 5)

    rows, assurance = _rows(client, required_kinds=["document", "screening"])

    assert [row.kind for row in assurance.rows] == [
        "document",
        "screening",
        "proof_of_address",
    ]
    assert [row.kind for row in assurance.gaps] == ["screening"]
    assert rows[CheckKind.SCREENING].latest is None
    assert rows[CheckKind.SCREENING].freshness_label == "Gap: never verified"
    assert not rows[CheckKind.PROOF_OF_ADDRESS].required
    # A kind neither required nor checked is not shown.
    assert CheckKind.LIVENESS not in rows


def test_a_running_check_is_in_progress_and_an_older_result_still_counts(person):
    client, sessions = person
    done = _check(sessions["onfido"], "facial_similarity_photo", 30)
    running = _check(
        sessions["complycube"],
        "identity_check",
        1,
        status=Status.IN_PROGRESS,
        outcome=Outcome.NONE,
    )
    _check(
        sessions["onfido"],
        "watchlist_standard",
        1,
        status=Status.PENDING,
        outcome=Outcome.NONE,
    )
    _check(
        sessions["complycube"],
        "document_check",
        1,
        status=Status.FAILED,
        outcome=Outcome.NONE,
    )

    rows, _ = _rows(client)

    face = rows[CheckKind.BIOMETRICS]
    assert (face.latest, face.completed) == (running, done)
    assert face.freshness == Freshness.VALID
    assert rows[CheckKind.SCREENING].freshness == Freshness.IN_PROGRESS
    assert rows[CheckKind.SCREENING].completed is None
    assert rows[CheckKind.DOCUMENT].freshness == Freshness.NOT_COMPLETED


def test_other_clients_checks_do_not_count(person):
    client, _ = person
    stranger = WorkflowSessionFactory()
    _check(stranger, "document_check", 1)

    rows, _ = _rows(client, required_kinds=["document"])

    assert rows[CheckKind.DOCUMENT].freshness == Freshness.GAP


def test_latest_policy_evaluation_per_policy(person):
    client, sessions = person
    older, newer = sessions["onfido"], sessions["complycube"]
    older.provider_created_at = NOW - dt.timedelta(days=90)
    older.save()
    newer.provider_created_at = NOW - dt.timedelta(days=3)
    newer.save()
    PolicyAssuranceFactory(
        session=older, policy_id="kyc", policy_name="KYC", outcome=Outcome.CLEAR
    )
    latest = PolicyAssuranceFactory(
        session=newer, policy_id="kyc", policy_name="KYC", outcome=Outcome.REJECTED
    )
    only = PolicyAssuranceFactory(
        session=older, policy_id="aml", policy_name="AML", outcome=Outcome.CLEAR
    )

    _, assurance = _rows(client)

    assert [(p.name, p.latest) for p in assurance.policies] == [
        ("AML", only),
        ("KYC", latest),
    ]


def test_the_matrix_costs_two_queries_however_many_checks(
    person, django_assert_num_queries
):
    """One window query for the checks (latest and latest completed per kind),
    one for the policies; everything the matrix shows is loaded with them."""
    client, sessions = person
    for days in range(30):
        _check(sessions["onfido"], "document_check", days)
        _check(sessions["complycube"], "standard_screening_check", days)
    _check(sessions["onfido"], "document_check", -1, status=Status.IN_PROGRESS)
    PolicyAssuranceFactory(session=sessions["complycube"], policy_name="KYC")

    with django_assert_num_queries(2):
        assurance = client_assurance_get(client_id=client.pk, today=TODAY)
        shown = [row.latest for row in assurance.rows] + [
            row.completed for row in assurance.rows
        ]
        for check in filter(None, shown):
            assert check.connection.display_name
            assert check.session.external_id
            assert (check.session_id, check.check_type, check.outcome) > (0, "", "")
            assert check.get_status_display()
            assert check.raw_outcome is not None
            assert check.document_expires_on is None
        for policy in assurance.policies:
            assert policy.latest.session.connection.display_name
            assert policy.latest.session.external_id
            assert policy.latest.failing_rules == []
            assert policy.latest.evaluated

    document = next(row for row in assurance.rows if row.kind == "document")
    assert document.latest.status == Status.IN_PROGRESS
    assert document.completed.status == Status.COMPLETED


def test_an_evaluation_beats_a_newer_session_not_evaluated_yet(person):
    client, sessions = person
    older, newer = sessions["onfido"], sessions["complycube"]
    older.provider_created_at = NOW - dt.timedelta(days=90)
    older.save()
    newer.provider_created_at = NOW - dt.timedelta(days=3)
    newer.save()
    evaluated = PolicyAssuranceFactory(
        session=older, policy_id="kyc", policy_name="KYC", outcome=Outcome.CLEAR
    )
    PolicyAssuranceFactory(
        session=newer, policy_id="kyc", policy_name="KYC", outcome="", evaluated=False
    )

    [policy] = _rows(client)[1].policies

    assert policy.latest == evaluated
