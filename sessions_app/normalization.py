"""Provider words → Verity's vocabulary: the shared machinery.

The tables of docs/providers/README.md ("Normalised vocabulary") are data in each provider package
(`sessions_app/providers/<name>/rows.py`); this module applies them. Every
provider word maps to Verity's vocabulary there and nowhere else. A value not
listed normalises to `unknown` (status) or no outcome: never an exception.
The caller keeps the raw word beside the normalised one and reports unknowns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .providers.registry import PROVIDERS, rows_for
from .providers.rows import NormalisationRows
from .vocabulary import FINAL_STATUSES, CheckKind, Outcome, ReasonKind, Status


@dataclass(frozen=True, slots=True)
class Normalised:
    status: str
    outcome: str
    known: bool  # False when the raw value was not in the table

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


# Provider kind -> its rows, loaded once.
ROWS: dict[str, NormalisationRows] = {
    kind: rows for kind in PROVIDERS if (rows := rows_for(kind)) is not None
}
# Provider kind -> raw session status -> (status, outcome implied by the status).
SESSION_STATUS: dict[str, dict[str, tuple[str, str]]] = {
    kind: dict(rows.session_status) for kind, rows in ROWS.items()
}


def reopenable_raw_statuses(kind: str) -> frozenset[str]:
    """The provider's final-looking raw statuses a person may still change."""
    rows = ROWS.get(kind)
    return rows.reopenable_raw_statuses if rows is not None else frozenset()


def in_rotation(kind: str, status: str, raw_status: str) -> bool:
    """Whether a session can still change, so the sync keeps re-polling it:
    not in a final status, or in a raw status a person may still change."""
    return status not in FINAL_STATUSES or raw_status in reopenable_raw_statuses(kind)


def _clean(raw: object) -> str:
    return raw.strip() if isinstance(raw, str) else ""


def normalise_session(
    kind: str, raw_status: object, raw_outcome: object = None
) -> Normalised:
    """Map a provider's session status (and ComplyCube's outcome) to Verity's words."""
    rows = ROWS.get(kind)
    status_word = _clean(raw_status)
    status, outcome = (
        rows.session_status.get(status_word, (Status.UNKNOWN, Outcome.NONE))
        if rows is not None
        else (Status.UNKNOWN, Outcome.NONE)
    )
    known = status != Status.UNKNOWN
    if rows is not None and rows.session_outcome is not None:
        outcome_word = _clean(raw_outcome).lower()
        if status == Status.COMPLETED and outcome_word:
            outcome = rows.session_outcome.get(outcome_word, Outcome.NONE)
            known = known and outcome_word in rows.session_outcome
    return Normalised(status=str(status), outcome=str(outcome), known=known)


def normalise_check(
    kind: str,
    raw_status: object,
    raw_outcome: object = None,
    raw_sub_result: object = None,
) -> Normalised:
    """Map a provider's check/report/analysis status and result to Verity's words."""
    rows = ROWS.get(kind)
    status_word = _clean(raw_status)
    outcome_word = _clean(raw_outcome)
    if rows is None:
        return Normalised(
            status=str(Status.UNKNOWN), outcome=str(Outcome.NONE), known=not status_word
        )
    status = rows.check_status.get(status_word, Status.UNKNOWN)
    known = status != Status.UNKNOWN or not status_word
    if not status_word:
        status = Status.UNKNOWN
    outcome: str = Outcome.NONE
    if rows.check_outcome_is_status:
        outcome = rows.check_outcome.get(outcome_word or status_word, Outcome.NONE)
    elif outcome_word:
        outcome = rows.check_outcome.get(outcome_word.lower(), Outcome.NONE)
        known = known and outcome != Outcome.NONE
    sub = rows.check_sub_result.get(_clean(raw_sub_result).lower())
    if sub:
        outcome = sub
    return Normalised(status=str(status), outcome=str(outcome), known=known)


class ClassifiedCheck(NamedTuple):
    kind: str  # a CheckKind value
    known: bool  # False when the provider's check type is not in its table


def classify_check(provider_kind: str, check_type: object) -> ClassifiedCheck:
    """Map a provider's check type to a CheckKind (`other`, unknown, when not listed).

    An empty type is `other` but not unknown: there is no word to report.
    """
    rows = ROWS.get(provider_kind)
    word = _clean(check_type)
    if rows is None:
        return ClassifiedCheck(kind=str(CheckKind.OTHER), known=not word)
    if word in rows.check_kinds:
        return ClassifiedCheck(kind=str(rows.check_kinds[word]), known=True)
    for prefix, kind in rows.check_kind_prefixes:
        if word.startswith(prefix):
            return ClassifiedCheck(kind=str(kind), known=True)
    if rows.check_kind_default is not None:
        return ClassifiedCheck(kind=str(rows.check_kind_default), known=True)
    return ClassifiedCheck(kind=str(CheckKind.OTHER), known=not word)


class ClassifiedReason(NamedTuple):
    kind: str  # a ReasonKind value
    known: bool  # False when the provider's reason word is not in its table


def classify_reason(provider_kind: str, word: object) -> ClassifiedReason:
    """Map a provider's reason word to a ReasonKind (`other`, unknown, when not
    listed). Looked up lower-cased: exactly, then by prefix, then the default."""
    rows = ROWS.get(provider_kind)
    key = _clean(word).lower()
    if rows is None:
        return ClassifiedReason(kind=str(ReasonKind.OTHER), known=not key)
    if key in rows.reason_kinds:
        return ClassifiedReason(kind=str(rows.reason_kinds[key]), known=True)
    for prefix, kind in rows.reason_kind_prefixes:
        if key.startswith(prefix):
            return ClassifiedReason(kind=str(kind), known=True)
    if rows.reason_kind_default is not None:
        return ClassifiedReason(kind=str(rows.reason_kind_default), known=True)
    return ClassifiedReason(kind=str(ReasonKind.OTHER), known=not key)


def breakdown_outcome(provider_kind: str, word: object) -> str | None:
    """The Outcome a check breakdown's result word stands for (`clear`,
    `consider`, `rejected`...), from the provider's check rows; None when the
    word is not an outcome word (a value such as `passport`)."""
    rows = ROWS.get(provider_kind)
    key = _clean(word)
    if rows is None or not key:
        return None
    for table in (rows.check_outcome, rows.check_sub_result):
        for candidate in (key, key.lower(), key.upper()):
            if candidate in table:
                return str(table[candidate])
    return None
