"""The normalisation tables of DESIGN.md, as data.

Every provider word maps to Verity's vocabulary here and nowhere else. A value
not listed normalises to `unknown` (status) or no outcome: never an exception.
The caller keeps the raw word beside the normalised one and reports unknowns.
"""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import FINAL_STATUSES, Outcome, ProviderKind, Status


@dataclass(frozen=True, slots=True)
class Normalised:
    status: str
    outcome: str
    known: bool  # False when the raw value was not in the table

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


S, O = Status, Outcome  # noqa: E741 - short names keep the tables readable

# provider -> raw session status -> (status, outcome implied by the status)
SESSION_STATUS: dict[str, dict[str, tuple[str, str]]] = {
    ProviderKind.ONFIDO: {
        "processing": (S.IN_PROGRESS, O.NONE),
        "awaiting_input": (S.AWAITING_INPUT, O.NONE),
        "awaiting_client_input": (S.AWAITING_INPUT, O.NONE),
        "approved": (S.COMPLETED, O.CLEAR),
        "declined": (S.COMPLETED, O.REJECTED),
        "review": (S.COMPLETED, O.ATTENTION),
        "abandoned": (S.ABANDONED, O.NONE),
        "error": (S.FAILED, O.NONE),
    },
    ProviderKind.COMPLYCUBE: {
        "started": (S.IN_PROGRESS, O.NONE),
        "processing": (S.IN_PROGRESS, O.NONE),
        "complete": (S.COMPLETED, O.NONE),  # outcome comes from `outcome`
        "abandoned": (S.ABANDONED, O.NONE),
        "cancelled": (S.CANCELLED, O.NONE),
    },
    ProviderKind.ICA: {
        # V3 and V4 spellings both appear in the wild.
        "REQUESTED": (S.PENDING, O.NONE),
        "QUEUED": (S.PENDING, O.NONE),
        "INITIALIZING": (S.PENDING, O.NONE),
        "PREPARING_INPUTS": (S.PENDING, O.NONE),
        "INPROGRESS": (S.IN_PROGRESS, O.NONE),
        "IN_PROGRESS": (S.IN_PROGRESS, O.NONE),
        "GENERATING_OUTPUTS": (S.IN_PROGRESS, O.NONE),
        "ABORTING": (S.IN_PROGRESS, O.NONE),
        "AWAITINGINPUT": (S.AWAITING_INPUT, O.NONE),
        "AWAITING_INPUT": (S.AWAITING_INPUT, O.NONE),
        "SUCCEEDED": (S.COMPLETED, O.CLEAR),
        "FAILED": (S.FAILED, O.ATTENTION),
        "FAILEDFINAL": (S.FAILED, O.REJECTED),
        "FAILED_FINAL": (S.FAILED, O.REJECTED),
        "ABORTED": (S.CANCELLED, O.NONE),
    },
}

# Raw statuses that normalise to a final status but that a person at the
# provider may still change: Onfido's `review` waits for a manual decision that
# moves the run to approved or declined. The sync re-polls these like
# unfinished sessions.
REOPENABLE_RAW_STATUSES: dict[str, frozenset[str]] = {
    ProviderKind.ONFIDO: frozenset({"review"}),
}


def reopenable_raw_statuses(kind: str) -> frozenset[str]:
    """The provider's final-looking raw statuses a person may still change."""
    return REOPENABLE_RAW_STATUSES.get(kind, frozenset())


def in_rotation(kind: str, status: str, raw_status: str) -> bool:
    """Whether a session can still change, so the sync keeps re-polling it:
    not in a final status, or in a raw status a person may still change."""
    return status not in FINAL_STATUSES or raw_status in reopenable_raw_statuses(kind)


# ComplyCube's session outcome vocabulary differs between its docs and SDKs.
COMPLYCUBE_OUTCOME: dict[str, str] = {
    "clear": O.CLEAR,
    "attention": O.ATTENTION,
    "review": O.ATTENTION,
    "rejected": O.REJECTED,
    "decline": O.REJECTED,
    "declined": O.REJECTED,
}

# Check outcomes.
COMPLYCUBE_CHECK_OUTCOME: dict[str, str] = {
    "clear": O.CLEAR,
    "attention": O.ATTENTION,
    "rejected": O.REJECTED,
    "match_confirmed": O.REJECTED,
}
ONFIDO_REPORT_RESULT: dict[str, str] = {
    "clear": O.CLEAR,
    "consider": O.ATTENTION,
    "unidentified": O.ATTENTION,
}
# An Onfido document `sub_result` overrides the result when it is damning.
ONFIDO_REPORT_SUB_RESULT: dict[str, str] = {
    "rejected": O.REJECTED,
    "suspected": O.REJECTED,
}
ICA_ANALYSIS_OUTCOME: dict[str, str] = {
    "SUCCEEDED": O.CLEAR,
    "FAILED": O.ATTENTION,
    "FAILED_FINAL": O.REJECTED,
    "FAILEDFINAL": O.REJECTED,
}

# Check statuses.
CHECK_STATUS: dict[str, dict[str, str]] = {
    ProviderKind.ONFIDO: {
        # Studio task states and classic report states.
        "started": S.IN_PROGRESS,
        "in_progress": S.IN_PROGRESS,
        "awaiting_data": S.AWAITING_INPUT,
        "awaiting_approval": S.IN_PROGRESS,
        "completed": S.COMPLETED,
        "complete": S.COMPLETED,
        "cancelled": S.CANCELLED,
        "withdrawn": S.CANCELLED,
    },
    ProviderKind.COMPLYCUBE: {
        "pending": S.PENDING,
        "complete": S.COMPLETED,
        "completed": S.COMPLETED,
        "failed": S.FAILED,
    },
    ProviderKind.ICA: {
        raw: status for raw, (status, _) in SESSION_STATUS[ProviderKind.ICA].items()
    },
}


def _clean(raw: object) -> str:
    return raw.strip() if isinstance(raw, str) else ""


def normalise_session(
    kind: str, raw_status: object, raw_outcome: object = None
) -> Normalised:
    """Map a provider's session status (and ComplyCube's outcome) to Verity's words."""
    status_word = _clean(raw_status)
    status, outcome = SESSION_STATUS.get(kind, {}).get(status_word, (S.UNKNOWN, O.NONE))
    known = status != S.UNKNOWN
    if kind == ProviderKind.COMPLYCUBE:
        outcome_word = _clean(raw_outcome).lower()
        if status == S.COMPLETED and outcome_word:
            outcome = COMPLYCUBE_OUTCOME.get(outcome_word, O.NONE)
            known = known and outcome_word in COMPLYCUBE_OUTCOME
    return Normalised(status=str(status), outcome=str(outcome), known=known)


def normalise_check(
    kind: str,
    raw_status: object,
    raw_outcome: object = None,
    raw_sub_result: object = None,
) -> Normalised:
    """Map a provider's check/report/analysis status and result to Verity's words."""
    status_word = _clean(raw_status)
    outcome_word = _clean(raw_outcome)
    status = CHECK_STATUS.get(kind, {}).get(status_word, S.UNKNOWN)
    known = status != S.UNKNOWN or not status_word
    if not status_word:
        status = S.UNKNOWN
    outcome: str = O.NONE
    if kind == ProviderKind.COMPLYCUBE and outcome_word:
        outcome = COMPLYCUBE_CHECK_OUTCOME.get(outcome_word.lower(), O.NONE)
        known = known and outcome != O.NONE
    elif kind == ProviderKind.ONFIDO:
        if outcome_word:
            outcome = ONFIDO_REPORT_RESULT.get(outcome_word.lower(), O.NONE)
            known = known and outcome != O.NONE
        sub = ONFIDO_REPORT_SUB_RESULT.get(_clean(raw_sub_result).lower())
        if sub:
            outcome = sub
    elif kind == ProviderKind.ICA:
        # An analysis's outcome is its terminal status.
        outcome = ICA_ANALYSIS_OUTCOME.get(outcome_word or status_word, O.NONE)
    return Normalised(status=str(status), outcome=str(outcome), known=known)
