"""A session's reasons in Verity's words: the `SessionReason` rows.

The sync writes them with every session it writes (`session_reasons_replace`,
from `SessionRecord.reasons`, classified by the provider's rows);
`session_reasons_reapply` rebuilds them for stored sessions from what each
session keeps (its raw payload and `reasons`, through the provider's
`reasons.reason_words`), after a provider's reason table changes or when the
table is added (the migration). Unknown words classify as `other`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from ..models import Check, Outcome, SessionReason, Status, WorkflowSession
from ..normalization import classify_reason
from ..providers.registry import reason_words_for
from .bulk_write import rows_insert
from .values import NAME_MAX, json_clean, text

# How many sessions one step of the re-application reads (with their payloads).
REAPPLY_BATCH = 500
NOT_CLEAR = (Outcome.ATTENTION, Outcome.REJECTED)


def reason_rows(
    *, provider_kind: str, session_id: int, words: Iterable[Any], model: Any = None
) -> list[models.Model]:
    """The unsaved SessionReason rows of one session's reason words, in order."""
    model = model or SessionReason
    rows = []
    for position, word in enumerate(
        dict.fromkeys(w for w in (text(v) for v in words) if w)
    ):
        rows.append(
            model(
                session_id=session_id,
                code=classify_reason(provider_kind, word).kind,
                raw=text(word, NAME_MAX),
                position=position,
            )
        )
    return rows


def session_reasons_replace(
    *,
    provider_kind: str,
    session_words: Mapping[int, Sequence[Any]],
    model: Any = None,
) -> None:
    """Make each session's reason rows exactly its words (session id -> words):
    one DELETE and at most one INSERT per batch."""
    if not session_words:
        return
    model = model or SessionReason
    model.objects.filter(session_id__in=list(session_words)).delete()
    rows = [
        row
        for session_id, words in session_words.items()
        for row in reason_rows(
            provider_kind=provider_kind,
            session_id=session_id,
            words=words,
            model=model,
        )
    ]
    if rows:
        rows_insert(model, rows, batch_size=settings.VERITY_SYNC_BATCH_SIZE)


def _candidates_q(session_model: Any, check_model: Any, reason_model: Any) -> Q:
    """Sessions that may have reasons: those whose provider could have given
    some (Onfido: stored reasons; ComplyCube: a check that is not clear; ICA:
    failed), and those holding reason rows (which may have to go)."""
    return (
        (Q(connection__kind="onfido") & ~Q(reasons=[]))
        | (Q(connection__kind="ica") & Q(status=Status.FAILED))
        | (
            Q(connection__kind="complycube")
            & (
                Q(outcome__in=NOT_CLEAR)
                | Exists(
                    check_model.objects.filter(
                        session_id=OuterRef("pk"), outcome__in=NOT_CLEAR
                    )
                )
            )
        )
        | Exists(reason_model.objects.filter(session_id=OuterRef("pk")))
    )


def session_reasons_reapply(
    *,
    session_model: Any = None,
    check_model: Any = None,
    reason_model: Any = None,
) -> int:
    """Rebuild the reasons of every stored session that may have some (see
    `_candidates_q`), in batches of REAPPLY_BATCH by id; return how many
    sessions were re-read. A session's stored `reasons` are updated when its
    provider's words for it changed. The models may be a migration's
    historical ones."""
    session_model = session_model or WorkflowSession
    check_model = check_model or Check
    reason_model = reason_model or SessionReason
    candidates = session_model.objects.filter(
        _candidates_q(session_model, check_model, reason_model)
    ).order_by("pk")
    after, done = 0, 0
    while True:
        batch = list(
            candidates.filter(pk__gt=after).values_list(
                "pk", "connection__kind", "reasons", "raw_payload"
            )[:REAPPLY_BATCH]
        )
        if not batch:
            return done
        after = batch[-1][0]
        done += len(batch)
        by_kind: dict[str, dict[int, list[str]]] = {}
        changed: list[Any] = []
        for pk, kind, stored, raw in batch:
            reason_words = reason_words_for(kind)
            stored = stored if isinstance(stored, list) else []
            words = (
                reason_words(raw if isinstance(raw, dict) else {}, stored)
                if reason_words is not None
                else [text(v) for v in stored]
            )
            words = json_clean(words)
            if words != stored:
                changed.append(session_model(pk=pk, reasons=words))
            by_kind.setdefault(kind, {})[pk] = words
        if changed:
            session_model.objects.bulk_update(changed, ["reasons"], batch_size=500)
        for kind, session_words in by_kind.items():
            session_reasons_replace(
                provider_kind=kind, session_words=session_words, model=reason_model
            )
