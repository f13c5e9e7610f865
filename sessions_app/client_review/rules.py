"""The review schedule's policy as plain functions: no database, no clock.

The derived tier (docs/assurance.md, "Risk tiers"):

* **high**: a session was rejected (the provider's outcome, or a reviewer's
  `reject` decision), a screening-type check (screening, adverse media, AML
  risk) was rejected, or a session's provider risk score reached
  `VERITY_RISK_SCORE_THRESHOLDS["high"]`;
* **medium**: a screening-type check needs attention (a possible match), or
  a risk score reached the medium threshold;
* **low**: anything else, once the client has a session;
* not set: no session yet.

A reviewer's tier wins over the derived one until it is cleared.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from dateutil.relativedelta import relativedelta
from django.conf import settings

from ..vocabulary import CheckKind, RiskTier, RiskTierSource

# Check kinds whose "attention" is a possible match and whose "rejected" a
# confirmed one.
SCREENING_KINDS = (CheckKind.SCREENING, CheckKind.ADVERSE_MEDIA, CheckKind.AML_RISK)


@dataclasses.dataclass(frozen=True)
class TierSignals:
    """What the provider results say about a client, aggregated."""

    sessions: int = 0
    sessions_rejected: int = 0
    screening_rejected: int = 0
    screening_attention: int = 0
    max_risk_score: float | None = None


def tier_derive(signals: TierSignals) -> str:
    """Return the tier the rule derives from `signals` (see the module's text)."""
    if not signals.sessions:
        return RiskTier.NOT_SET
    thresholds = settings.VERITY_RISK_SCORE_THRESHOLDS
    score = signals.max_risk_score

    def reached(tier: str) -> bool:
        limit = thresholds.get(tier)
        return score is not None and limit is not None and score >= limit

    if signals.sessions_rejected or signals.screening_rejected or reached("high"):
        return RiskTier.HIGH
    if signals.screening_attention or reached("medium"):
        return RiskTier.MEDIUM
    return RiskTier.LOW


def tier_effective(*, source: str, reviewer_tier: str, derived: str) -> str:
    """A reviewer's tier wins over the derived one until it is cleared."""
    return reviewer_tier if source == RiskTierSource.REVIEWER else derived


def required_kinds_for_tier(tier: str) -> list[str]:
    """The kinds a client of `tier` must have verified: the tier's entry of
    VERITY_REQUIRED_CHECK_KINDS_BY_TIER, else VERITY_REQUIRED_CHECK_KINDS."""
    by_tier = settings.VERITY_REQUIRED_CHECK_KINDS_BY_TIER
    if tier and tier in by_tier:
        return list(by_tier[tier])
    return list(settings.VERITY_REQUIRED_CHECK_KINDS)


def all_required_kinds() -> set[str]:
    """Every kind some tier requires (what the refresh must look at)."""
    kinds = set(settings.VERITY_REQUIRED_CHECK_KINDS)
    for listed in settings.VERITY_REQUIRED_CHECK_KINDS_BY_TIER.values():
        kinds.update(listed)
    return kinds


def cadence_months(tier: str) -> int:
    """Months between reviews for `tier`; a tier not set uses the low one's."""
    cadence = settings.VERITY_REVIEW_CADENCE_MONTHS
    return int(cadence.get(tier or RiskTier.LOW, cadence[RiskTier.LOW]))


@dataclasses.dataclass(frozen=True)
class Verified:
    """The newest completed check of one kind: when, and its document's expiry."""

    on: dt.date
    document_expires_on: dt.date | None = None


def next_review_due(
    *, tier: str, verified: Mapping[str, Verified], required: list[str]
) -> dt.date | None:
    """Return when the client is next due for review, or None when it was
    never completely verified (a required kind has no completed result).

    A verification is as old as its oldest part: the earliest of the newest
    completed checks of the required kinds, plus the tier's cadence; a
    document of a required kind that expires before that brings it forward.
    """
    if not required or any(kind not in verified for kind in required):
        return None
    parts = [verified[kind] for kind in required]
    due = min(part.on for part in parts) + relativedelta(months=cadence_months(tier))
    expiries = [p.document_expires_on for p in parts if p.document_expires_on]
    return min([due, *expiries])


def review_state(*, next_review: dt.date | None, today: dt.date) -> str:
    """ "overdue" (its date has passed), "due" (within
    VERITY_REVIEW_DUE_WITHIN_DAYS), "unverified" (no date), else ""."""
    if next_review is None:
        return ReviewState.UNVERIFIED
    if next_review < today:
        return ReviewState.OVERDUE
    if next_review <= due_horizon(today):
        return ReviewState.DUE
    return ""


def due_horizon(today: dt.date) -> dt.date:
    """The last date a review counts as due (not yet overdue) on `today`."""
    return today + dt.timedelta(days=settings.VERITY_REVIEW_DUE_WITHIN_DAYS)


class ReviewState:
    """The directory's "due for re-verification" words."""

    DUE = "due"  # due within the window, not yet past
    OVERDUE = "overdue"
    UNVERIFIED = "unverified"  # never completely verified: no date

    CHOICES = [
        (DUE, "Due soon"),
        (OVERDUE, "Overdue"),
        (UNVERIFIED, "Never completely verified"),
    ]
