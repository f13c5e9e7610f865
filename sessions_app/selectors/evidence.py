"""What an evidence pack holds (issue 18): everything Verity knows about a
client, or a session, that a reviewer would show an auditor, bounded.

`client_evidence_get` reads the client page's data (identities, sessions,
checks, audit, each at most `limit`), the assurance matrix and policies, the
decisions on its sessions with their reasons and comments, and the notes on
the client and its sessions.
`session_evidence_get` reads one session's page data and its client's
assurance. `exports/evidence.py` renders them to PDF.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..cases.notes import NoteThread, client_evidence_notes_get, session_notes_get
from ..cases.selectors import SessionOverrides, session_overrides_get
from ..models import Review
from .assurance import ClientAssurance, client_assurance_get
from .clients import ClientDetail, _bounded, client_detail_get
from .sessions import SessionDetail, session_detail_get

EVIDENCE_LIMIT = 200


@dataclasses.dataclass(frozen=True)
class ClientEvidence:
    detail: ClientDetail
    assurance: ClientAssurance
    reviews: list[Review]
    reviews_truncated: bool
    notes: NoteThread  # the client's and its sessions'


@dataclasses.dataclass(frozen=True)
class SessionEvidence:
    detail: SessionDetail
    assurance: ClientAssurance | None  # None: the session has no client
    reviews_truncated: bool
    audit_truncated: bool
    notes: NoteThread
    # The outcome as reviewers overrode it, beside the provider's (the session
    # page's words: "Rejected — override by A, approved by B (provider: clear)").
    overrides: SessionOverrides


def client_evidence_get(
    *, pk: int, today: dt.date, limit: int = EVIDENCE_LIMIT
) -> ClientEvidence:
    """A client's evidence (at most `limit` rows of each list; the flags say
    whether more exist). Raise Client.DoesNotExist. Twelve queries."""
    detail = client_detail_get(pk=pk, limit=limit, breakdowns=True)
    reviews, reviews_truncated = _bounded(
        Review.objects.filter(session__provider_client__client_id=pk)
        .select_related("reviewer", "session")
        .defer("session__raw_payload")
        .order_by("-created_at", "-id"),
        limit,
    )
    return ClientEvidence(
        detail=detail,
        assurance=client_assurance_get(client_id=pk, today=today),
        reviews=reviews,
        reviews_truncated=reviews_truncated,
        notes=client_evidence_notes_get(client_id=pk, limit=limit),
    )


def session_evidence_get(
    *, pk: int, today: dt.date, limit: int = EVIDENCE_LIMIT
) -> SessionEvidence:
    """A session's evidence, with its client's assurance when it has a client
    (at most `limit` decisions and audit events). Raise
    WorkflowSession.DoesNotExist."""
    detail = session_detail_get(pk=pk, history_limit=limit + 1)
    client_id = (
        detail.session.provider_client.client_id
        if detail.session.provider_client
        else None
    )
    return SessionEvidence(
        detail=dataclasses.replace(
            detail,
            reviews=detail.reviews[:limit],
            audit_events=detail.audit_events[:limit],
        ),
        assurance=client_assurance_get(client_id=client_id, today=today)
        if client_id
        else None,
        reviews_truncated=len(detail.reviews) > limit,
        audit_truncated=len(detail.audit_events) > limit,
        notes=session_notes_get(session_id=pk, limit=limit),
        overrides=session_overrides_get(session_id=pk),
    )
