"""The shape of one provider's normalisation rows (its words → Verity's words).

Each provider package holds its rows as data in `<provider>/rows.py`;
`sessions_app.normalization` applies them. Rows modules are leaves: they import
only this module and `sessions_app.vocabulary`, so the normalisation can load
them without importing any adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class NormalisationRows:
    """One provider's tables. A word not listed normalises to unknown / no outcome."""

    # Raw session status -> (status, outcome the status implies).
    session_status: Mapping[str, tuple[str, str]]
    # Raw check (report, analysis) status -> status.
    check_status: Mapping[str, str]
    # A separate session outcome word (lower-cased) -> outcome, applied to a
    # completed session; None when the provider's status says it all.
    session_outcome: Mapping[str, str] | None = None
    # Check outcome word -> outcome. Looked up lower-cased, and a word not
    # listed makes the check's words unknown...
    check_outcome: Mapping[str, str] = field(default_factory=dict)
    # ...unless the check's outcome is its terminal status word (ICA analyses):
    # then looked up as sent, from the outcome word or else the status word,
    # and never unknown on its own.
    check_outcome_is_status: bool = False
    # A check sub-result word (lower-cased) -> the outcome it imposes.
    check_sub_result: Mapping[str, str] = field(default_factory=dict)
    # Raw statuses that normalise to a final status but that a person at the
    # provider may still change; the sync re-polls them like unfinished ones.
    reopenable_raw_statuses: frozenset[str] = frozenset()
    # Check type -> CheckKind, matched exactly first...
    check_kinds: Mapping[str, str] = field(default_factory=dict)
    # ...then by prefix, first match wins (Onfido's task definitions carry
    # the report name as a prefix, e.g. `watchlist_standard_2`)...
    check_kind_prefixes: tuple[tuple[str, str], ...] = ()
    # ...else this kind, and the type counts as unknown unless the provider
    # declares every type to be one kind (ICA: every analysis is a pipeline).
    check_kind_default: str | None = None
    # A reason word (lower-cased) -> ReasonKind, matched exactly first...
    reason_kinds: Mapping[str, str] = field(default_factory=dict)
    # ...then by prefix (lower-cased), first match wins...
    reason_kind_prefixes: tuple[tuple[str, str], ...] = ()
    # ...else this kind, and the word counts as unknown unless the provider
    # declares every reason to be one kind (ICA: a failure summary is free text).
    reason_kind_default: str | None = None
