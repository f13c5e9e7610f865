"""The rows that hang off a session: provider clients, checks, policy
assurances and tags, written in bulk for one batch of changed sessions.

Part of the sync's write service (`upsert.session_upsert_batch` calls these
inside its transaction); split out so each module stays readable. Contract:

- Every table is written with one bulk statement per VERITY_SYNC_BATCH_SIZE
  rows, keyed on the database's unique constraints where the rows have a key
  (clients, checks, tags); rows without a stable key (policy assurances, tag
  links) are replaced for the changed sessions.
- Keys are de-duplicated first, the last record winning (`last_wins`):
  PostgreSQL's ON CONFLICT cannot touch one row twice in a statement.
- Admin-made client links are never changed; an automatic link follows a
  changed external reference. An incomplete client record creates a missing
  client but never overwrites a stored one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import models

from ..models import (
    Check,
    ClientLinkSource,
    Outcome,
    PolicyAssurance,
    ProviderClient,
    ProviderConnection,
    Status,
    Tag,
    TagKind,
    WorkflowSession,
)
from ..normalization import classify_check
from ..providers.base import ClientRecord, SessionRecord
from ..services import clients_link_by_reference
from .bulk_write import keyed_rows_upsert, rows_insert
from .values import (
    CHECK_TYPE_MAX,
    ID_MAX,
    NAME_MAX,
    RAW_WORD_MAX,
    aware,
    chunks,
    json_clean,
    json_digest,
    text,
)

CHECK_SYNC_FIELDS = [
    "session",
    "check_type",
    "kind",
    "status",
    "raw_status",
    "outcome",
    "raw_outcome",
    "task_id",
    "breakdown",
    "provider_created_at",
    "provider_updated_at",
    "document_expires_on",
    "raw_payload",
    "payload_hash",
    "last_synced_at",
]
# The vocabularies as sets: `Choices.values` builds a new list at each call,
# and a batch asks for each row.
STATUS_VALUES = frozenset(Status.values)
OUTCOME_VALUES = frozenset(Outcome.values)
TAG_KIND_VALUES = frozenset(TagKind.values)
PROVIDER_CLIENT_SYNC_FIELDS = [
    "name",
    "external_reference",
    "raw_payload",
    "payload_hash",
    "updated_at",
]


def external_rows_upsert(
    model: type[models.Model], rows: list[Any], *, update_fields: list[str]
) -> None:
    """Insert `rows`, or update `update_fields` of those whose (connection,
    external_id) exists already: one statement per VERITY_SYNC_BATCH_SIZE rows.

    The key is the unique constraint every mirrored model has, so concurrent
    writers of the same rows cannot create duplicates. Keys must be unique
    within `rows` (see `last_wins`): PostgreSQL's ON CONFLICT cannot touch
    one row twice in a statement.
    """
    keyed_rows_upsert(
        model,
        rows,
        update_fields=update_fields,
        batch_size=settings.VERITY_SYNC_BATCH_SIZE,
    )


def last_wins(items: Iterable[Any], key: Callable[[Any], Any]) -> list[Any]:
    """De-duplicate by key keeping the LAST occurrence (at its first position).

    PostgreSQL's ON CONFLICT cannot touch one row twice in a statement.
    """
    by_key: dict[Any, Any] = {}
    for item in items:
        by_key[key(item)] = item
    return list(by_key.values())


def provider_clients_upsert(
    *,
    connection: ProviderConnection,
    clients: list[ClientRecord],
    erased: set[str] | None = None,
) -> dict[str, int]:
    """Upsert provider clients (unchanged ones untouched), link them by reference.

    Return {external_id: ProviderClient.id}. Admin-made links are never changed;
    an automatic link follows a changed external reference. An incomplete
    client record (its provider record could not be fetched) creates a missing
    client but never overwrites a stored one. An erased one (its personal data
    erased at the end of retention or on request, privacy/erasure.py) is never
    written again: its external id is added to `erased`, and the caller leaves
    its sessions as they are.
    """
    clients = last_wins(
        (c for c in clients if c.external_id), key=lambda c: text(c.external_id, ID_MAX)
    )
    if not clients:
        return {}
    ids = [text(c.external_id, ID_MAX) for c in clients]
    # Their stored payloads are never read here: not loaded (nor parsed).
    existing = {
        pc.external_id: pc
        for pc in ProviderClient.objects.filter(
            connection=connection, external_id__in=ids
        ).defer("raw_payload")
    }
    to_write: list[ProviderClient] = []
    relink: list[int] = []
    for record, external_id in zip(clients, ids, strict=True):
        raw = json_clean(record.raw or {})
        digest = json_digest(record.raw or {})
        name = text(record.name, NAME_MAX)
        reference = text(record.external_reference, NAME_MAX)
        current = existing.get(external_id)
        if current is not None and current.erased_at is not None:
            if erased is not None:
                erased.add(external_id)
            continue
        if current is not None and record.incomplete:
            # Only what the session said about its client: keep the full copy.
            continue
        if current is not None:
            if (current.payload_hash, current.name, current.external_reference) == (
                digest,
                name,
                reference,
            ):
                continue
            if (
                current.external_reference != reference
                and current.link_source == ClientLinkSource.AUTOMATIC
                and current.client_id is not None
            ):
                relink.append(current.pk)
        to_write.append(
            ProviderClient(
                connection=connection,
                external_id=external_id,
                name=name,
                external_reference=reference,
                raw_payload=raw,
                payload_hash=digest,
            )
        )
    if to_write:
        external_rows_upsert(
            ProviderClient, to_write, update_fields=PROVIDER_CLIENT_SYNC_FIELDS
        )
    if relink:
        ProviderClient.objects.filter(
            pk__in=relink, link_source=ClientLinkSource.AUTOMATIC
        ).update(client=None)
    if to_write:
        written = [pc.external_id for pc in to_write]
        fresh = list(
            ProviderClient.objects.filter(
                connection=connection, external_id__in=written
            ).defer("raw_payload")
        )
        clients_link_by_reference(provider_clients=fresh)
        existing.update({pc.external_id: pc for pc in fresh})
    return {external_id: pc.pk for external_id, pc in existing.items()}


def session_tags_replace(*, session_tags: dict[int, list[tuple[str, str]]]) -> None:
    """Make each session's tags exactly the given (name, kind) pairs."""
    if not session_tags:
        return
    wanted = {pair for pairs in session_tags.values() for pair in pairs}
    tag_ids: dict[tuple[str, str], int] = {}
    if wanted:
        Tag.objects.bulk_create(
            [Tag(name=name, kind=kind) for name, kind in sorted(wanted)],
            ignore_conflicts=True,
            batch_size=settings.VERITY_SYNC_BATCH_SIZE,
        )
        names = sorted({name for name, _ in wanted})
        for chunk in chunks(names):
            for pk, name, kind in Tag.objects.filter(name__in=chunk).values_list(
                "pk", "name", "kind"
            ):
                tag_ids[(name, kind)] = pk
    through = WorkflowSession.tags.through
    through.objects.filter(workflowsession_id__in=list(session_tags)).delete()
    rows = [
        through(workflowsession_id=session_id, tag_id=tag_ids[pair])
        for session_id, pairs in session_tags.items()
        for pair in dict.fromkeys(pairs)
        if pair in tag_ids
    ]
    if rows:
        rows_insert(
            through,
            rows,
            ignore_conflicts=True,
            batch_size=settings.VERITY_SYNC_BATCH_SIZE,
        )


def tag_pairs(record: SessionRecord) -> list[tuple[str, str]]:
    pairs = []
    for tag in record.tags:
        name = text(getattr(tag, "name", ""), NAME_MAX).strip()
        if not name:
            continue
        kind = tag.kind if tag.kind in TAG_KIND_VALUES else TagKind.USER
        pairs.append((name, kind))
    return pairs


def checks_upsert(
    *,
    connection: ProviderConnection,
    changed: list[tuple[SessionRecord, str]],
    session_pks: dict[str, int],
    now: dt.datetime,
) -> None:
    rows = []
    for record, _ in changed:
        session_pk = session_pks[record.external_id]
        for check in record.checks:
            external_id = text(check.external_id, ID_MAX)
            if not external_id:
                continue
            status = (
                check.normalised.status
                if check.normalised.status in STATUS_VALUES
                else Status.UNKNOWN
            )
            outcome = (
                check.normalised.outcome
                if check.normalised.outcome in OUTCOME_VALUES
                else ""
            )
            rows.append(
                Check(
                    connection=connection,
                    session_id=session_pk,
                    external_id=external_id,
                    check_type=text(check.check_type, CHECK_TYPE_MAX),
                    kind=classify_check(connection.kind, check.check_type).kind,
                    status=status,
                    raw_status=text(check.raw_status, RAW_WORD_MAX),
                    outcome=outcome,
                    raw_outcome=text(check.raw_outcome, RAW_WORD_MAX),
                    task_id=text(check.task_id, ID_MAX),
                    breakdown=json_clean(check.breakdown or {}),
                    provider_created_at=aware(check.created_at),
                    provider_updated_at=aware(check.updated_at),
                    document_expires_on=check.document_expires_on,
                    raw_payload=json_clean(check.raw or {}),
                    payload_hash=json_digest(check.raw or {}),
                    last_synced_at=now,
                )
            )
    rows = last_wins(rows, key=lambda c: c.external_id)
    if rows:
        external_rows_upsert(Check, rows, update_fields=CHECK_SYNC_FIELDS)


def policy_assurances_replace(
    *, changed: list[tuple[SessionRecord, str]], session_pks: dict[str, int]
) -> None:
    """Replace the policy assurance of every changed session (it has no stable key)."""
    PolicyAssurance.objects.filter(session_id__in=list(session_pks.values())).delete()
    rows = [
        PolicyAssurance(
            session_id=session_pks[record.external_id],
            policy_id=text(policy.policy_id, ID_MAX),
            policy_name=text(policy.policy_name, NAME_MAX),
            outcome=policy.outcome if policy.outcome in OUTCOME_VALUES else "",
            raw_outcome=text(policy.raw_outcome, RAW_WORD_MAX),
            details=json_clean(policy.details or {}),
            evaluated=policy.evaluated,
            position=position,
        )
        for record, _ in changed
        for position, policy in enumerate(record.policies)
    ]
    if rows:
        # ignore_conflicts: a webhook refresh replacing the same session's rows
        # at the same moment must not fail this page (both copies are fresh).
        rows_insert(
            PolicyAssurance,
            rows,
            batch_size=settings.VERITY_SYNC_BATCH_SIZE,
            ignore_conflicts=True,
        )
