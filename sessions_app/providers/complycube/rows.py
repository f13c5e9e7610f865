"""ComplyCube's words in Verity's vocabulary (the normalisation table of docs/providers/README.md, as data).

Contract facts: `docs/providers/complycube.md`.
"""

from __future__ import annotations

from ...vocabulary import CheckKind, Outcome, ReasonKind, Status
from ..rows import NormalisationRows

S, O, R = Status, Outcome, ReasonKind  # noqa: E741 - short names keep the table readable

# The session outcome vocabulary differs between ComplyCube's docs and SDKs.
# Policy outcomes use it too.
SESSION_OUTCOME: dict[str, str] = {
    "clear": O.CLEAR,
    "attention": O.ATTENTION,
    "review": O.ATTENTION,
    "rejected": O.REJECTED,
    "decline": O.REJECTED,
    "declined": O.REJECTED,
}

ROWS = NormalisationRows(
    session_status={
        "started": (S.IN_PROGRESS, O.NONE),
        "processing": (S.IN_PROGRESS, O.NONE),
        "complete": (S.COMPLETED, O.NONE),  # outcome comes from `outcome`
        "abandoned": (S.ABANDONED, O.NONE),
        "cancelled": (S.CANCELLED, O.NONE),
    },
    session_outcome=SESSION_OUTCOME,
    check_status={
        "pending": S.PENDING,
        "complete": S.COMPLETED,
        "completed": S.COMPLETED,
        "failed": S.FAILED,
    },
    check_outcome={
        "clear": O.CLEAR,
        "attention": O.ATTENTION,
        "rejected": O.REJECTED,
        "match_confirmed": O.REJECTED,
    },
    # Check `type` values (docs/providers/complycube.md; the list is open-ended,
    # so a new type is `other` and counted as unknown until listed here).
    # ComplyCube's identity check compares a live photo with the document's
    # face, and its enhanced identity check does so from a live video.
    check_kinds={
        "standard_screening_check": CheckKind.SCREENING,
        "extensive_screening_check": CheckKind.SCREENING,
        "document_check": CheckKind.DOCUMENT,
        "identity_check": CheckKind.BIOMETRICS,
        "enhanced_identity_check": CheckKind.LIVENESS,
        "face_authentication_check": CheckKind.BIOMETRICS,
        "age_estimation_check": CheckKind.BIOMETRICS,
        "proof_of_address_check": CheckKind.PROOF_OF_ADDRESS,
        "multi_bureau_check": CheckKind.IDENTITY,
        "driving_license_check": CheckKind.IDENTITY,
        "identity_fraud_check": CheckKind.FRAUD_SIGNALS,
    },
    # Reason words (`records.reason_words`): a non-clear screening group
    # `<group>.<item>` of `result.breakdown.summary`, the type of any other
    # check that did not come back clear, and `rejectionReasons` entries as
    # sent (their values are not documented: `other` until listed here).
    reason_kinds={
        "document_check": R.DOCUMENT_REJECTED,
        "identity_check": R.FACE_MISMATCH,
        "face_authentication_check": R.FACE_MISMATCH,
        "age_estimation_check": R.FACE_MISMATCH,
        "enhanced_identity_check": R.LIVENESS_FAILED,
        "proof_of_address_check": R.ADDRESS_UNVERIFIED,
        "multi_bureau_check": R.IDENTITY_UNVERIFIED,
        "driving_license_check": R.IDENTITY_UNVERIFIED,
        "identity_fraud_check": R.FRAUD_SUSPECTED,
        "standard_screening_check": R.WATCHLIST_MATCH,
        "extensive_screening_check": R.WATCHLIST_MATCH,
    },
    reason_kind_prefixes=(
        ("pep.", R.PEP_MATCH),
        ("watchlist.", R.WATCHLIST_MATCH),
        ("adversemedia.", R.ADVERSE_MEDIA),
    ),
)
