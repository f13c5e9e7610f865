"""Onfido's words in Verity's vocabulary (the normalisation table of docs/providers/README.md, as data).

Contract facts: `docs/providers/onfido.md`.
"""

from __future__ import annotations

from ...vocabulary import CheckKind, Outcome, ReasonKind, Status
from ..rows import NormalisationRows

S, O, K, R = Status, Outcome, CheckKind, ReasonKind  # noqa: E741 - short names keep the table readable

ROWS = NormalisationRows(
    session_status={
        "processing": (S.IN_PROGRESS, O.NONE),
        "awaiting_input": (S.AWAITING_INPUT, O.NONE),
        "awaiting_client_input": (S.AWAITING_INPUT, O.NONE),
        "approved": (S.COMPLETED, O.CLEAR),
        "declined": (S.COMPLETED, O.REJECTED),
        "review": (S.COMPLETED, O.ATTENTION),
        "abandoned": (S.ABANDONED, O.NONE),
        "error": (S.FAILED, O.NONE),
    },
    check_status={
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
    # Report results.
    check_outcome={
        "clear": O.CLEAR,
        "consider": O.ATTENTION,
        "unidentified": O.ATTENTION,
    },
    # A document `sub_result` overrides the result when it is damning.
    check_sub_result={
        "rejected": O.REJECTED,
        "suspected": O.REJECTED,
    },
    # `review` waits for a manual decision that moves the run to approved or
    # declined.
    reopenable_raw_statuses=frozenset({"review"}),
    # A check's type is its Studio task definition (`task_def_id`, plus
    # `:<key>` when one task wraps several reports). Task definitions start
    # with the report name they run, one of the 21 report names of the
    # Report schema (docs/providers/onfido.md), so prefixes classify them,
    # the more specific first.
    check_kind_prefixes=(
        ("document_video", K.DOCUMENT),
        ("document", K.DOCUMENT),
        ("facial_similarity_video", K.LIVENESS),
        ("facial_similarity_motion", K.LIVENESS),
        ("facial_similarity", K.BIOMETRICS),
        ("known_faces", K.BIOMETRICS),
        ("watchlist", K.SCREENING),
        ("proof_of_address", K.PROOF_OF_ADDRESS),
        ("identity_enhanced", K.IDENTITY),
        ("us_driving_licence", K.IDENTITY),
        ("india_pan", K.IDENTITY),
        ("device_intelligence", K.FRAUD_SIGNALS),
    ),
    # Run `reasons` are words the workflow's author configures on the
    # workflow version (docs/providers/onfido.md), so no list is complete:
    # the words the simulator and the common Studio set-ups use, then the
    # report name a reason starts with. Any other word is `other`, counted
    # as unknown on /sync/ so that it can be added here.
    reason_kinds={
        "document_rejected": R.DOCUMENT_REJECTED,
        "document_suspected": R.DOCUMENT_SUSPECTED,
        "document_expired": R.DOCUMENT_EXPIRED,
        "face_mismatch": R.FACE_MISMATCH,
        "liveness_failed": R.LIVENESS_FAILED,
        "watchlist_match": R.WATCHLIST_MATCH,
        "watchlist_hit": R.WATCHLIST_MATCH,
        "pep_match": R.PEP_MATCH,
        "adverse_media": R.ADVERSE_MEDIA,
        "manual_review_required": R.MANUAL_REVIEW,
        "manual_review": R.MANUAL_REVIEW,
        "fraud_suspected": R.FRAUD_SUSPECTED,
    },
    reason_kind_prefixes=(
        ("document", R.DOCUMENT_REJECTED),
        ("facial_similarity_video", R.LIVENESS_FAILED),
        ("facial_similarity_motion", R.LIVENESS_FAILED),
        ("facial_similarity", R.FACE_MISMATCH),
        ("known_faces", R.FRAUD_SUSPECTED),
        ("device_intelligence", R.FRAUD_SUSPECTED),
        ("watchlist", R.WATCHLIST_MATCH),
        ("proof_of_address", R.ADDRESS_UNVERIFIED),
        ("identity_enhanced", R.IDENTITY_UNVERIFIED),
    ),
)
