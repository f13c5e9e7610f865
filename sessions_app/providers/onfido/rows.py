"""Onfido's words in Verity's vocabulary (the normalisation table of docs/providers/README.md, as data).

Contract facts: `docs/providers/onfido.md`.
"""

from __future__ import annotations

from ...vocabulary import Outcome, Status
from ..rows import NormalisationRows

S, O = Status, Outcome  # noqa: E741 - short names keep the table readable

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
)
