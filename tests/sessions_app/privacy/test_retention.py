"""The retention clock on a fixed `today`: keep-until dates, legal holds, the
daily sweep (on hold, not yet due, due) and erasure requests refused then accepted."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.exceptions import ApplicationError
from sessions_app.models import (
    AuditEvent,
    Client,
    ErasureRequestState,
    ProviderErasure,
    ProviderErasureOutcome,
)
from sessions_app.privacy import retention
from sessions_app.privacy.audit_chain import audit_chain_verify
from tests.factories import ClientFactory, UserFactory
from tests.helpers.retention import (
    TODAY,
    personal_client,
    personal_values_in,
    rows_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    return UserFactory(roles=["reviewer"])


@pytest.mark.parametrize(
    ("ended", "years", "until"),
    [
        (dt.date(2026, 6, 14), 5, dt.date(2031, 6, 14)),
        # 29 February: never earlier than the full period.
        (dt.date(2024, 2, 29), 5, dt.date(2029, 3, 1)),
        (dt.date(2024, 2, 29), 4, dt.date(2028, 2, 29)),
        (None, 5, None),
    ],
)
def test_keep_until_is_the_period_after_the_end(settings, ended, years, until):
    settings.VERITY_RETENTION_YEARS = years
    assert retention.keep_until(ended) == until


def test_retention_period_defaults_to_five_years():
    from django.conf import settings

    assert settings.VERITY_RETENTION_YEARS == 5


def test_state_says_why_records_are_kept():
    ongoing = ClientFactory()
    state = retention.client_retention_state(client=ongoing, today=TODAY)
    assert not state.erasable
    assert "has not ended" in state.kept_because

    recent = ClientFactory(relationship_ended_on=dt.date(2026, 6, 15))
    state = retention.client_retention_state(client=recent, today=TODAY)
    assert state.keep_until == dt.date(2031, 6, 15)
    assert not state.erasable  # the last day to keep is today
    assert "Kept until 2031-06-15" in state.kept_because

    held = ClientFactory(
        relationship_ended_on=dt.date(2020, 1, 1),
        legal_hold=True,
        legal_hold_reason="Police production order 44/2031",
    )
    state = retention.client_retention_state(client=held, today=TODAY)
    assert not state.erasable
    assert state.kept_because == "On legal hold: Police production order 44/2031"

    due = ClientFactory(relationship_ended_on=dt.date(2026, 6, 14))
    state = retention.client_retention_state(client=due, today=TODAY)
    assert state.erasable
    assert state.kept_because == ""


def test_daily_sweep_erases_only_clients_past_retention_and_not_on_hold():
    not_ended = personal_client(ended_on=None)
    not_yet_due = personal_client(ended_on=dt.date(2026, 6, 15))
    on_hold = personal_client(ended_on=dt.date(2020, 1, 1))
    Client.objects.filter(pk=on_hold.client.pk).update(
        legal_hold=True, legal_hold_reason="Litigation"
    )
    due = personal_client(ended_on=dt.date(2026, 6, 14))

    sweep = retention.retention_sweep(today=TODAY)

    assert sweep.erased_client_ids == [due.client.pk]
    assert personal_values_in(rows_of(due)) == []
    for kept in (not_ended, not_yet_due, on_hold):
        assert personal_values_in(rows_of(kept)), "a kept client lost its data"
    erasure = ProviderErasure.objects.get(client=due.client)
    assert erasure.outcome == ProviderErasureOutcome.PENDING
    assert sweep.open_erasure_ids == [erasure.pk]
    # Run again: nothing more to erase, the deletion still owed.
    again = retention.retention_sweep(today=TODAY)
    assert again.erased_client_ids == []
    assert again.open_erasure_ids == [erasure.pk]
    # The next day the client kept until today is due in turn.
    tomorrow = retention.retention_sweep(today=TODAY + dt.timedelta(days=1))
    assert tomorrow.erased_client_ids == [not_yet_due.client.pk]


def test_erasure_is_audited_without_personal_data_and_the_chain_stays_intact():
    due = personal_client(
        kinds=("onfido", "complycube", "ica"), ended_on=dt.date(2020, 1, 1)
    )

    retention.retention_sweep(today=TODAY)

    event = AuditEvent.objects.get(action="client.erase")
    assert event.client_id == due.client.pk
    assert event.object_repr == f"Client {due.client.pk}"
    assert event.after["reason"] == "retention"
    assert event.after["erased"]["sessions"] == 3
    assert event.after["erased"]["checks"] == 3
    assert event.after["erased"]["review_comments"] == 3
    assert event.after["erased"]["approval_comments"] == 3
    assert event.after["erased"]["override_comments"] == 3
    assert event.after["erased"]["notes"] == 4  # the client's and each session's
    assert event.after["erased"]["webhook_deliveries"] == 3
    assert event.after["erased"]["quarantined_records"] == 3
    assert personal_values_in([event]) == []
    outcomes = {e["outcome"] for e in event.after["provider_erasures"]}
    assert outcomes == {"pending", "not_supported"}
    assert audit_chain_verify().intact


def test_ica_identity_is_recorded_as_not_asked_with_the_reason():
    due = personal_client(kinds=("ica",), ended_on=dt.date(2020, 1, 1))
    sweep = retention.retention_sweep(today=TODAY)
    erasure = ProviderErasure.objects.get(client=due.client)
    assert erasure.outcome == ProviderErasureOutcome.NOT_SUPPORTED
    assert "ICA's API cannot delete" in erasure.response_excerpt
    assert erasure.answered_at is not None
    assert sweep.open_erasure_ids == []


def test_relationship_end_and_legal_hold_are_audited(reviewer):
    client = ClientFactory()
    retention.client_relationship_end_set(
        client=client, ended_on=dt.date(2030, 1, 31), actor=reviewer, today=TODAY
    )
    retention.client_legal_hold_set(
        client=client, hold=True, reason="Regulator inquiry", actor=reviewer
    )
    retention.client_legal_hold_set(
        client=client, hold=False, reason="", actor=reviewer
    )
    client.refresh_from_db()
    assert client.relationship_ended_on == dt.date(2030, 1, 31)
    assert not client.legal_hold
    assert client.legal_hold_reason == ""
    actions = list(
        AuditEvent.objects.filter(client_id=client.pk)
        .order_by("sequence")
        .values_list("action", "after")
    )
    assert actions == [
        (
            "client.relationship_end",
            {"relationship_ended_on": "2030-01-31", "keep_until": "2035-01-31"},
        ),
        (
            "client.legal_hold",
            {"legal_hold": True, "legal_hold_reason": "Regulator inquiry"},
        ),
        ("client.legal_hold_lift", {"legal_hold": False, "legal_hold_reason": ""}),
    ]


def test_bad_retention_input_is_refused_and_changes_nothing(reviewer):
    client = ClientFactory()
    with pytest.raises(ApplicationError, match="future"):
        retention.client_relationship_end_set(
            client=client,
            ended_on=TODAY + dt.timedelta(days=1),
            actor=reviewer,
            today=TODAY,
        )
    with pytest.raises(ApplicationError, match="Say why"):
        retention.client_legal_hold_set(
            client=client, hold=True, reason=" ", actor=reviewer
        )
    client.refresh_from_db()
    assert client.relationship_ended_on is None
    assert not client.legal_hold
    assert not AuditEvent.objects.filter(client_id=client.pk).exists()


@pytest.mark.parametrize("roles", [["viewer"], ["exporter"]])
def test_only_reviewers_and_admins_change_retention(roles):
    client = ClientFactory()
    user = UserFactory(roles=roles)
    with pytest.raises(ApplicationError, match="reviewers and admins"):
        retention.client_relationship_end_set(
            client=client, ended_on=TODAY, actor=user, today=TODAY
        )
    with pytest.raises(ApplicationError, match="reviewers and admins"):
        retention.client_legal_hold_set(
            client=client, hold=True, reason="x", actor=user
        )
    with pytest.raises(ApplicationError, match="reviewers and admins"):
        retention.erasure_request_record(
            client=client,
            requested_by="the data subject",
            requested_on=TODAY,
            verification="passport seen",
            actor=user,
            today=TODAY,
        )
    admin = UserFactory(roles=["admin"])
    retention.client_legal_hold_set(client=client, hold=True, reason="x", actor=admin)


def test_erasure_request_is_refused_while_kept_then_accepted(reviewer):
    found = personal_client(ended_on=dt.date(2027, 3, 1))

    refused = retention.erasure_request_record(
        client=found.client,
        requested_by="the data subject, by e-mail",
        requested_on=TODAY,
        verification="matched e-mail and date of birth on file",
        actor=reviewer,
        today=TODAY,
    )
    assert refused.erasure is None
    assert refused.request.state == ErasureRequestState.REFUSED
    assert refused.request.keep_until == dt.date(2032, 3, 1)
    assert "Kept until 2032-03-01" in refused.request.state_reason
    assert "Art. 17(3)(b)" in refused.request.state_reason
    assert personal_values_in(rows_of(found)), "a refused request erased data"

    later = dt.date(2032, 3, 2)
    accepted = retention.erasure_request_record(
        client=found.client,
        requested_by="the data subject, by letter",
        requested_on=later,
        verification="signed letter, signature matched",
        actor=reviewer,
        today=later,
    )
    assert accepted.request.state == ErasureRequestState.ERASED
    assert accepted.erasure is not None
    assert personal_values_in(rows_of(found)) == []
    actions = list(
        AuditEvent.objects.filter(client_id=found.client.pk)
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == [
        "erasure_request.refused",
        "erasure_request.erased",
        "client.erase",
    ]
    assert audit_chain_verify().intact
    # The erased client's retention can no longer change.
    with pytest.raises(ApplicationError, match="erased"):
        retention.client_legal_hold_set(
            client=found.client, hold=True, reason="late", actor=reviewer
        )


def test_erasure_request_is_refused_on_legal_hold_and_while_the_relationship_lasts(
    reviewer,
):
    ongoing = ClientFactory()
    held = ClientFactory(
        relationship_ended_on=dt.date(2019, 1, 1),
        legal_hold=True,
        legal_hold_reason="Court order",
    )
    for client, words in (
        (ongoing, "has not ended"),
        (held, "On legal hold: Court order"),
    ):
        result = retention.erasure_request_record(
            client=client,
            requested_by="the data subject",
            requested_on=TODAY,
            verification="in person, passport",
            actor=reviewer,
            today=TODAY,
        )
        assert result.request.state == ErasureRequestState.REFUSED
        assert words in result.request.state_reason
        client.refresh_from_db()
        assert client.erased_at is None


def test_erasure_request_needs_who_and_how(reviewer):
    client = ClientFactory()
    with pytest.raises(ApplicationError, match="requested by"):
        retention.erasure_request_record(
            client=client,
            requested_by=" ",
            requested_on=TODAY,
            verification="x",
            actor=reviewer,
            today=TODAY,
        )
    assert not client.erasure_requests.exists()


def test_erasure_drops_the_search_for_the_client_from_saved_views(reviewer):
    from sessions_app.saved_views.models import SavedView

    due = personal_client(kinds=("onfido",), ended_on=dt.date(2020, 1, 1))
    named = SavedView.objects.create(
        user=reviewer, name="Open cases", query="case_state=open&q=oyelaran&sort=due"
    )
    titled = SavedView.objects.create(
        user=reviewer, name="Marguerite Oyelaran-Fitzwilliam follow-up", query="tag=vip"
    )
    other = SavedView.objects.create(
        user=reviewer, name="Someone else", query="q=Bartholomew+Quill"
    )

    retention.retention_sweep(today=TODAY)

    named.refresh_from_db()
    titled.refresh_from_db()
    other.refresh_from_db()
    assert named.query == "case_state=open&sort=due"  # the filters stay
    assert titled.name == f"Saved view {titled.pk}"
    assert titled.query == "tag=vip"
    assert other.query == "q=Bartholomew+Quill"  # another person's search stays
    event = AuditEvent.objects.get(action="client.erase", client=due.client)
    assert event.after["erased"]["saved_views"] == 2
