"""ICA's words in Verity's vocabulary (the normalisation table of docs/providers/README.md, as data).

Contract facts: `docs/providers/ica.md`.
"""

from __future__ import annotations

from ...vocabulary import CheckKind, Outcome, ReasonKind, Status
from ..rows import NormalisationRows

S, O = Status, Outcome  # noqa: E741 - short names keep the table readable

# V3 and V4 spellings both appear in the wild.
SESSION_STATUS: dict[str, tuple[str, str]] = {
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
}

ROWS = NormalisationRows(
    session_status=SESSION_STATUS,
    # Analyses (the checks) share the session vocabulary.
    check_status={raw: status for raw, (status, _) in SESSION_STATUS.items()},
    # An analysis's outcome is its terminal status.
    check_outcome={
        "SUCCEEDED": O.CLEAR,
        "FAILED": O.ATTENTION,
        "FAILED_FINAL": O.REJECTED,
        "FAILEDFINAL": O.REJECTED,
    },
    check_outcome_is_status=True,
    # Every analysis is a secondary-analysis pipeline run, whatever its code.
    check_kind_default=CheckKind.PIPELINE_ANALYSIS,
    # A failed session's reasons are its `summary` and its failed analyses'
    # summaries (free text), else its status word: every one is a failed
    # pipeline run (`records.reason_words`).
    reason_kind_default=ReasonKind.PIPELINE_FAILED,
)
