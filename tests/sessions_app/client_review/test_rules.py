"""The review schedule's policy: derived tiers, cadence, next review, states."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.client_review.rules import (
    ReviewState,
    TierSignals,
    Verified,
    cadence_months,
    next_review_due,
    required_kinds_for_tier,
    review_state,
    tier_derive,
    tier_effective,
)

D = dt.date


@pytest.mark.parametrize(
    ("signals", "tier"),
    [
        (TierSignals(), ""),
        (TierSignals(sessions=2), "low"),
        (TierSignals(sessions=1, sessions_rejected=1), "high"),
        (TierSignals(sessions=1, screening_rejected=1), "high"),
        (TierSignals(sessions=1, screening_attention=1), "medium"),
        (TierSignals(sessions=1, max_risk_score=0.8), "high"),
        (TierSignals(sessions=1, max_risk_score=0.5), "medium"),
        (TierSignals(sessions=1, max_risk_score=0.49), "low"),
        # The worst signal wins.
        (TierSignals(sessions=1, screening_attention=3, sessions_rejected=1), "high"),
    ],
)
def test_the_derived_tier_follows_the_documented_rule(signals, tier):
    assert tier_derive(signals) == tier


def test_the_risk_score_thresholds_are_settings(settings):
    settings.VERITY_RISK_SCORE_THRESHOLDS = {"high": 0.95, "medium": 0.9}
    assert tier_derive(TierSignals(sessions=1, max_risk_score=0.8)) == "low"
    assert tier_derive(TierSignals(sessions=1, max_risk_score=0.92)) == "medium"


def test_a_reviewers_tier_wins_until_cleared():
    assert tier_effective(source="reviewer", reviewer_tier="low", derived="high") == (
        "low"
    )
    assert tier_effective(source="derived", reviewer_tier="low", derived="high") == (
        "high"
    )


def test_required_kinds_per_tier_fall_back_to_the_flat_setting(settings):
    settings.VERITY_REQUIRED_CHECK_KINDS = ["document"]
    settings.VERITY_REQUIRED_CHECK_KINDS_BY_TIER = {"high": ["document", "screening"]}
    assert required_kinds_for_tier("high") == ["document", "screening"]
    assert required_kinds_for_tier("medium") == ["document"]
    assert required_kinds_for_tier("") == ["document"]


def test_cadence_per_tier_and_not_set_uses_low(settings):
    settings.VERITY_REVIEW_CADENCE_MONTHS = {"high": 12, "medium": 24, "low": 36}
    assert cadence_months("high") == 12
    assert cadence_months("medium") == 24
    assert cadence_months("") == 36


REQUIRED = ["document", "screening"]


def test_next_review_is_the_oldest_required_part_plus_the_cadence():
    verified = {
        "document": Verified(on=D(2025, 3, 31)),
        "screening": Verified(on=D(2025, 6, 1)),
        "liveness": Verified(on=D(2020, 1, 1)),  # not required: ignored
    }
    assert next_review_due(tier="high", verified=verified, required=REQUIRED) == D(
        2026, 3, 31
    )
    assert next_review_due(tier="low", verified=verified, required=REQUIRED) == D(
        2028, 3, 31
    )


def test_an_earlier_document_expiry_brings_the_review_forward():
    verified = {
        "document": Verified(on=D(2025, 3, 1), document_expires_on=D(2025, 9, 30)),
        "screening": Verified(on=D(2025, 6, 1)),
    }
    assert next_review_due(tier="high", verified=verified, required=REQUIRED) == D(
        2025, 9, 30
    )


def test_never_completely_verified_has_no_date():
    verified = {"document": Verified(on=D(2025, 3, 1))}
    assert next_review_due(tier="low", verified=verified, required=REQUIRED) is None


def test_month_ends_stay_in_their_month():
    verified = {"document": Verified(on=D(2024, 2, 29))}
    assert next_review_due(tier="high", verified=verified, required=["document"]) == D(
        2025, 2, 28
    )


@pytest.mark.parametrize(
    ("next_review", "state"),
    [
        (None, ReviewState.UNVERIFIED),
        (D(2026, 5, 31), ReviewState.OVERDUE),
        (D(2026, 6, 1), ReviewState.DUE),  # today: due, not yet overdue
        (D(2026, 7, 1), ReviewState.DUE),  # the last day of the window
        (D(2026, 7, 2), ""),
    ],
)
def test_review_state_on_a_fixed_day(settings, next_review, state):
    settings.VERITY_REVIEW_DUE_WITHIN_DAYS = 30
    assert review_state(next_review=next_review, today=D(2026, 6, 1)) == state
