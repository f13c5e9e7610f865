"""Erasing a client's personal data in Verity, and opening the provider deletions.

`client_erase` runs at the end of the retention clock (the daily task) or on
an accepted erasure request. In one transaction it:

1. blanks the personal data of every row that belongs to the client
   (`personal_data_blank`, below): the rows stay, so counts, statuses,
   outcomes, dates and decisions remain for the statistics and the audit
   trail, but no name, payload, free text or document detail;
2. marks the client and its provider identities erased (`erased_at`): the
   sync never writes them or their sessions again (`sync/related.py`);
3. opens one `ProviderErasure` per provider identity: `pending` where the
   provider can delete (the Celery task `provider_erasure_attempt` asks it,
   `privacy/provider_erasure.py`), `not_supported` with the reason where it
   cannot;
4. writes one `client.erase` AuditEvent saying what was erased (counts and
   ids, never the values). Old events are never rewritten (the audit trail is
   a hash chain): see docs/data-protection.md for what they still hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..cases.models import Approval, Note, OutcomeOverride
from ..models import (
    Check,
    Client,
    ProviderClient,
    ProviderErasure,
    ProviderErasureOutcome,
    QuarantinedRecord,
    Review,
    WebhookDelivery,
    WorkflowSession,
)
from ..providers import adapter_class
from ..saved_views.models import SavedView
from ..services import audit_event_record

if TYPE_CHECKING:
    from ..models import ErasureRequest

# What an erased payload is replaced with: says what happened, holds nothing.
ERASED_PAYLOAD: dict[str, Any] = {"erased": True}
# What an erased note says (a note's text cannot be blank): the thread keeps
# who wrote when, not what.
ERASED_NOTE_TEXT = "[Erased with the client's personal data.]"


@dataclasses.dataclass(frozen=True, slots=True)
class ErasureResult:
    client_id: int
    erased_at: dt.datetime
    # Rows blanked, per kind (the audit event's `erased`).
    counts: dict[str, int]
    # The provider deletions to ask for now (`pending` ones).
    pending_erasure_ids: list[int]


def personal_data_blank(
    *, client: Client, provider_clients: QuerySet[ProviderClient], now: dt.datetime
) -> dict[str, int]:
    """Blank every personal value Verity holds about `client`; return counts.

    The one place that decides what erasure blanks. Today it blanks whole
    payloads and every column that can carry a name, an identifier of the
    person or free text, so it needs no list of personal fields; a finer
    anonymisation (keep the non-personal parts of a payload) would point this
    at the per-provider definition of what is personal.
    """
    sessions = WorkflowSession.objects.filter(provider_client__in=provider_clients)
    checks = Check.objects.filter(session__in=sessions)
    # Read before the identities are blanked: what a saved view may name.
    terms = _personal_terms(client=client, provider_clients=provider_clients)
    counts = {
        "provider_clients": provider_clients.update(
            name="",
            external_reference="",
            raw_payload=ERASED_PAYLOAD,
            payload_hash="",
            erased_at=now,
        ),
        "sessions": sessions.update(
            raw_payload=ERASED_PAYLOAD,
            payload_hash="",
            summary="",
            error="",
            user_reference="",
            reasons=[],
        ),
        "checks": checks.update(
            raw_payload=ERASED_PAYLOAD,
            payload_hash="",
            breakdown={},
            document_expires_on=None,
        ),
        # Reviewers' free text may name the person; the decision stays.
        "review_comments": Review.objects.filter(session__in=sessions)
        .exclude(comment="")
        .update(comment=""),
        # The same for four-eyes requests (the maker's and the checker's
        # words), outcome overrides, and the notes on the client and on its
        # sessions.
        "approval_comments": Approval.objects.filter(session__in=sessions)
        .filter(~Q(comment="") | ~Q(checker_comment=""))
        .update(comment="", checker_comment=""),
        "override_comments": OutcomeOverride.objects.filter(session__in=sessions)
        .filter(~Q(comment="") | ~Q(end_comment=""))
        .update(comment="", end_comment=""),
        "notes": Note.objects.filter(Q(client=client) | Q(session__in=sessions))
        .exclude(text=ERASED_NOTE_TEXT)
        .update(text=ERASED_NOTE_TEXT),
    }
    # What arrived about those sessions outside the mirror: webhook bodies and
    # quarantined records (kept verbatim for diagnosis), matched by provider id.
    deliveries = quarantined = 0
    for connection_id in set(provider_clients.values_list("connection_id", flat=True)):
        session_ids = sessions.filter(connection_id=connection_id).values("external_id")
        deliveries += WebhookDelivery.objects.filter(
            connection_id=connection_id, resource_id__in=session_ids
        ).update(body="", hint={})
        ids = [
            *session_ids.values_list("external_id", flat=True),
            *checks.filter(connection_id=connection_id).values_list(
                "external_id", flat=True
            ),
            *provider_clients.filter(connection_id=connection_id).values_list(
                "external_id", flat=True
            ),
        ]
        quarantined += QuarantinedRecord.objects.filter(
            connection_id=connection_id, external_id__in=ids
        ).update(raw="")
    counts["webhook_deliveries"] = deliveries
    counts["quarantined_records"] = quarantined
    counts["saved_views"] = _saved_views_forget(terms)
    Client.objects.filter(pk=client.pk).update(
        display_name="", reference="", erased_at=now, updated_at=now
    )
    counts["clients"] = 1
    return counts


# A search shorter than this names nobody in particular ("al" is in many names).
PERSONAL_TERM_MIN_LENGTH = 3


def _personal_terms(
    *, client: Client, provider_clients: QuerySet[ProviderClient]
) -> set[str]:
    """The client's names and references, casefolded: what a user may have
    typed into the queue's search and saved."""
    values = [client.display_name, client.reference]
    for name, reference in provider_clients.values_list("name", "external_reference"):
        values += [name, reference]
    return {
        value.strip().casefold()
        for value in values
        if value and len(value.strip()) >= PERSONAL_TERM_MIN_LENGTH
    }


def _saved_views_forget(terms: set[str]) -> int:
    """Drop the search (`q`) from every saved view whose search names the
    erased client (either holds the other), and rename a view whose name does;
    return how many views changed. The filters and the owner stay."""
    changed = 0
    if not terms:
        return changed
    for view in SavedView.objects.select_for_update().order_by("pk"):
        params = parse_qsl(view.query, keep_blank_values=True)
        kept = [
            (key, value)
            for key, value in params
            if key != "q" or not _names_one_of(value, terms)
        ]
        fields = []
        if len(kept) != len(params):
            view.query = urlencode(kept)
            fields.append("query")
        if _names_one_of(view.name, terms, whole=False):
            view.name = f"Saved view {view.pk}"
            fields.append("name")
        if fields:
            view.save(update_fields=[*fields, "updated_at"])
            changed += 1
    return changed


def _names_one_of(text: str, terms: set[str], *, whole: bool = True) -> bool:
    """Whether `text` names one of `terms`: contains one, or (a search, `whole`)
    is a long enough part of one."""
    folded = text.strip().casefold()
    if not folded:
        return False
    return any(
        term in folded
        or (whole and len(folded) >= PERSONAL_TERM_MIN_LENGTH and folded in term)
        for term in terms
    )


def _provider_erasures_open(
    *, client: Client, provider_clients: list[ProviderClient], now: dt.datetime
) -> list[ProviderErasure]:
    """One ProviderErasure per identity (an existing one is reused: idempotent)."""
    erasures = []
    for pc in provider_clients:
        adapter = adapter_class(pc.connection.kind)
        supported = adapter.supports_client_deletion
        erasure, created = ProviderErasure.objects.get_or_create(
            connection_id=pc.connection_id,
            external_id=pc.external_id,
            defaults={
                "provider_client": pc,
                "client": client,
                "requested_at": now,
                "outcome": ProviderErasureOutcome.PENDING
                if supported
                else ProviderErasureOutcome.NOT_SUPPORTED,
                "answered_at": None if supported else now,
                "response_excerpt": "" if supported else adapter.client_deletion_note,
            },
        )
        if not created and erasure.outcome == ProviderErasureOutcome.FAILED:
            # Asked before and given up: ask again.
            erasure.outcome = ProviderErasureOutcome.PENDING
            erasure.save(update_fields=["outcome"])
        erasures.append(erasure)
    return erasures


@transaction.atomic
def client_erase(
    *,
    client: Client,
    actor: Any,
    source: str,
    reason: str,
    erasure_request: ErasureRequest | None = None,
) -> ErasureResult:
    """Erase `client`'s personal data in Verity and open the provider deletions;
    audited. `reason`: "retention" (the daily task) or "erasure_request".

    The caller decides that the retention clock allows it
    (`retention.client_retention_state`); the caller enqueues the
    `pending_erasure_ids` (the daily task also picks up any left pending).
    """
    now = timezone.now()
    locked = Client.objects.select_for_update().get(pk=client.pk)
    identities = ProviderClient.objects.filter(client=locked)
    identity_rows = list(identities.select_related("connection").order_by("pk"))
    before = {
        "relationship_ended_on": locked.relationship_ended_on,
        "legal_hold": locked.legal_hold,
    }
    counts = personal_data_blank(client=locked, provider_clients=identities, now=now)
    erasures = _provider_erasures_open(
        client=locked, provider_clients=identity_rows, now=now
    )
    audit_event_record(
        actor=actor,
        source=source,
        action="client.erase",
        object_type=Client._meta.label_lower,
        object_id=str(locked.pk),
        object_repr=f"Client {locked.pk}",
        client=locked,
        before=before,
        after={
            "reason": reason,
            "erasure_request_id": erasure_request.pk if erasure_request else None,
            "erased_at": now,
            "erased": counts,
            "provider_erasures": [
                {
                    "id": e.pk,
                    "connection_id": e.connection_id,
                    "external_id": e.external_id,
                    "outcome": e.outcome,
                }
                for e in erasures
            ],
        },
    )
    client.erased_at, client.display_name, client.reference = now, "", ""
    return ErasureResult(
        client_id=locked.pk,
        erased_at=now,
        counts=counts,
        pending_erasure_ids=[
            e.pk for e in erasures if e.outcome == ProviderErasureOutcome.PENDING
        ],
    )
