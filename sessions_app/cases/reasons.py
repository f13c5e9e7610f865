"""Which reasons can justify which decision, as data.

No "approve — fraud suspected": each ReasonCode lists the decisions it fits.
The decision form offers only the fitting reasons (its reason list is
filtered by the decision chosen), and `reason_fit_check`, called by the
decision service, refuses any other pair for every caller (page, API).
"""

from __future__ import annotations

from ..exceptions import ApplicationError
from ..vocabulary import Decision, Outcome, ReasonCode

APPROVE, REJECT = Decision.APPROVE, Decision.REJECT
ESCALATE, REQUEST = Decision.ESCALATE, Decision.REQUEST_INFORMATION

REASON_DECISIONS: dict[str, tuple[str, ...]] = {
    ReasonCode.VERIFIED: (APPROVE,),
    ReasonCode.DOCUMENT_ISSUE: (REJECT, ESCALATE, REQUEST),
    ReasonCode.BIOMETRIC_MISMATCH: (REJECT, ESCALATE),
    ReasonCode.WATCHLIST_MATCH: (REJECT, ESCALATE),
    ReasonCode.ADVERSE_MEDIA: (REJECT, ESCALATE),
    ReasonCode.FRAUD_SUSPECTED: (REJECT, ESCALATE),
    ReasonCode.INCOMPLETE: (REJECT, REQUEST),
    ReasonCode.PROVIDER_ERROR: (ESCALATE, REQUEST),
    ReasonCode.NEEDS_SENIOR_REVIEW: (ESCALATE,),
    ReasonCode.OTHER: (APPROVE, REJECT, ESCALATE, REQUEST),
}


def reasons_for_decision(decision: str) -> list[str]:
    """The reason codes that fit `decision`, in ReasonCode's order."""
    return [code for code in ReasonCode.values if decision in REASON_DECISIONS[code]]


def reason_fit_check(*, decision: str, reason_code: str) -> None:
    """Raise ApplicationError when `reason_code` cannot justify `decision`."""
    if decision not in REASON_DECISIONS.get(reason_code, ()):
        fitting = ", ".join(
            f"“{ReasonCode(code).label}”" for code in reasons_for_decision(decision)
        )
        raise ApplicationError(
            f"“{ReasonCode(reason_code).label}” does not justify "
            f"“{Decision(decision).label}”. Reasons that do: {fitting}."
        )


# An outcome override (overrides.py) is justified by the reasons that fit
# the outcome it sets: "verified" can make an outcome clear, never rejected.
_PROBLEMS = (
    ReasonCode.DOCUMENT_ISSUE,
    ReasonCode.BIOMETRIC_MISMATCH,
    ReasonCode.WATCHLIST_MATCH,
    ReasonCode.ADVERSE_MEDIA,
    ReasonCode.FRAUD_SUSPECTED,
    ReasonCode.INCOMPLETE,
)
OVERRIDE_REASONS: dict[str, tuple[str, ...]] = {
    Outcome.CLEAR: (ReasonCode.VERIFIED, ReasonCode.PROVIDER_ERROR, ReasonCode.OTHER),
    Outcome.ATTENTION: (
        *_PROBLEMS,
        ReasonCode.PROVIDER_ERROR,
        ReasonCode.NEEDS_SENIOR_REVIEW,
        ReasonCode.OTHER,
    ),
    Outcome.REJECTED: (*_PROBLEMS, ReasonCode.PROVIDER_ERROR, ReasonCode.OTHER),
}


def override_reason_fit_check(*, outcome: str, reason_code: str) -> None:
    """Raise ApplicationError when `reason_code` cannot justify overriding
    the outcome to `outcome`."""
    fitting = OVERRIDE_REASONS.get(outcome, ())
    if reason_code not in fitting:
        words = ", ".join(f"“{ReasonCode(code).label}”" for code in fitting)
        raise ApplicationError(
            f"“{ReasonCode(reason_code).label}” does not justify an outcome of "
            f"“{Outcome(outcome).label}”. Reasons that do: {words}."
        )
