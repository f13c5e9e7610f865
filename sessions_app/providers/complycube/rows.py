"""ComplyCube's words in Verity's vocabulary (the normalisation table of docs/providers/README.md, as data).

Contract facts: `docs/providers/complycube.md`.
"""

from __future__ import annotations

from ...vocabulary import Outcome, Status
from ..rows import NormalisationRows

S, O = Status, Outcome  # noqa: E741 - short names keep the table readable

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
)
