"""The audit trail's hash chain: append, verify, and the last verification.

Each `AuditEvent` gets the next `sequence` (1, 2, 3, ... without gaps), the
previous event's hash (`prev_hash`; 64 zeros for the first) and its own
`hash`: the lowercase hex SHA-256 of its canonical content (`event_canonical`):

    {"action": ..., "actor_id": ..., "actor_label": ..., "after": {...},
     "before": {...}, "client_id": ..., "created_at": "2026-01-02T03:04:05.678901Z",
     "object_id": ..., "object_repr": ..., "object_type": ..., "prev_hash": ...,
     "sequence": ..., "source": ..., "v": 1}

as JSON with the keys sorted at every depth, no whitespace (`,` and `:`),
every non-ASCII character as a `\\uXXXX` escape, numbers that are whole as
integers (PostgreSQL's jsonb gives `1e16` back as `10000000000000000`), and
`created_at` in UTC with microseconds. Anyone can recompute it from the rows.

Appending (`chain_append`) runs inside the writing transaction: it first
advances the one-row `AuditChainHead` (`UPDATE ... RETURNING`), which takes
the row lock on PostgreSQL and the write lock on SQLite, so the tail it reads
is the one no other writer can change until this transaction ends; then it
computes the hash and inserts the event. Concurrent writers queue on that row,
for the rest of their transactions: record audit events at the end of a
service. `sequence` is unique, so even a writer that bypassed the head could
not fork the chain, only fail.

Verifying (`chain_walk`) streams the events in sequence order and stops at
the first break: a gap (an event deleted), a hash that does not match the
content (edited), an event whose link does not match its predecessor
(relinked), both (reordered), the event a previous verification anchored
rewritten since, or a head ahead of the events (the newest deleted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone

from ..models import (
    CHAIN_GENESIS_HASH,
    AuditChainHead,
    AuditChainVerification,
    AuditEvent,
)

CANONICAL_VERSION = 1
HEAD_PK = 1
# Events fetched per round trip while verifying (memory holds one chunk).
VERIFY_CHUNK_SIZE = 2000
# The columns the hash covers, in the order `chain_walk` reads them.
CHAIN_COLUMNS = (
    "id",
    "sequence",
    "prev_hash",
    "hash",
    "created_at",
    "actor_id",
    "actor_label",
    "source",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "client_id",
    "before",
    "after",
)


# --- The canonical form and the hash --------------------------------------------------


def _canonical_json_value(value: Any) -> Any:
    # Concrete types, not ABCs: this runs for every value of every event verified.
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {k: _canonical_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_json_value(v) for v in value]
    return value


def canonical_timestamp(value: dt.datetime) -> str:
    """`value` in UTC with microseconds and `Z`: 2026-01-02T03:04:05.678901Z."""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_canonical(fields: Mapping[str, Any]) -> bytes:
    """The canonical content of an event (a mapping of CHAIN_COLUMNS), as bytes."""
    document = {
        "v": CANONICAL_VERSION,
        "sequence": fields["sequence"],
        "prev_hash": fields["prev_hash"],
        "created_at": canonical_timestamp(fields["created_at"]),
        "actor_id": fields["actor_id"],
        "actor_label": fields["actor_label"],
        "source": fields["source"],
        "action": fields["action"],
        "object_type": fields["object_type"],
        "object_id": fields["object_id"],
        "object_repr": fields["object_repr"],
        "client_id": fields["client_id"],
        "before": fields["before"],
        "after": fields["after"],
    }
    # Only the JSON columns can hold floats; the other fields are ints and text.
    document["before"] = _canonical_json_value(document["before"])
    document["after"] = _canonical_json_value(document["after"])
    return json.dumps(
        document,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    ).encode("ascii")


def event_hash(fields: Mapping[str, Any]) -> str:
    """The SHA-256 (lowercase hex) of an event's canonical content."""
    return hashlib.sha256(event_canonical(fields)).hexdigest()


def _event_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CHAIN_COLUMNS}


def json_as_stored(value: Any) -> Any:
    """`value` as the database gives it back (a JSON round trip): what is hashed."""
    return json.loads(json.dumps(value, allow_nan=False))


# --- Appending ------------------------------------------------------------------------


def _head_advance(cursor: Any, table: str) -> tuple[int, str] | None:
    """Take the next sequence from the head row (locking it); None if it is missing."""
    cursor.execute(
        f"UPDATE {table} SET sequence = sequence + 1 WHERE id = %s "  # noqa: S608
        "RETURNING sequence, hash",
        [HEAD_PK],
    )
    row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _head_create(using: str) -> None:
    """Create the head row from the newest event (a database emptied by a flush,
    or a head row deleted); a concurrent creator wins and this one is a no-op."""
    tail = (
        AuditEvent.objects.using(using)
        .order_by("-sequence")
        .values_list("sequence", "hash")
        .first()
    ) or (0, CHAIN_GENESIS_HASH)
    AuditChainHead.objects.using(using).bulk_create(
        [AuditChainHead(pk=HEAD_PK, sequence=tail[0], hash=tail[1])],
        ignore_conflicts=True,
    )


def chain_append(event: AuditEvent) -> AuditEvent:
    """Give an unsaved event its place in the chain and insert it.

    Call inside the transaction of the change it records (outside one, it
    opens its own); see the module docstring for the locking.
    """
    using = router.db_for_write(AuditEvent)
    connection = connections[using]
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    # No savepoint of its own: a failed append fails the whole transaction.
    with (
        transaction.atomic(using=using, savepoint=False),
        connection.cursor() as cursor,
    ):
        head = _head_advance(cursor, table)
        if head is None:
            _head_create(using)
            head = _head_advance(cursor, table)
            assert head is not None  # noqa: S101 (just created)
        event.sequence, event.prev_hash = head
        event.before = json_as_stored(event.before)
        event.after = json_as_stored(event.after)
        event.hash = event_hash(_event_fields(event))
        event.save(using=using, force_insert=True)
        cursor.execute(
            f"UPDATE {table} SET hash = %s WHERE id = %s",  # noqa: S608
            [event.hash, HEAD_PK],
        )
    return event


# --- Verifying ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChainFinding:
    """What a walk of the chain found: intact, or where it first breaks."""

    intact: bool
    events_checked: int
    last_sequence: int
    last_hash: str
    break_sequence: int | None = None
    break_event_id: int | None = None
    break_kind: str = ""
    break_detail: str = ""


# The kinds of break, as the command and the /sync/ page name them.
BREAK_EDITED = "edited"
BREAK_DELETED = "deleted"
BREAK_RELINKED = "relinked"
BREAK_REORDERED = "reordered"
BREAK_REWRITTEN = "rewritten"
BREAK_HEAD = "head"


def _break(
    checked: int,
    last: tuple[int, str],
    row: Mapping[str, Any] | None,
    kind: str,
    detail: str,
) -> ChainFinding:
    return ChainFinding(
        intact=False,
        events_checked=checked,
        last_sequence=last[0],
        last_hash=last[1],
        break_sequence=None if row is None else row["sequence"],
        break_event_id=None if row is None else row["id"],
        break_kind=kind,
        break_detail=detail,
    )


def _row_break(
    row: Mapping[str, Any],
    expected: int,
    prev_hash: str,
    anchor: tuple[int, str] | None,
) -> tuple[str, str] | None:
    """The break at this row, (kind, detail), or None if it follows the chain."""
    sequence = row["sequence"]
    if sequence != expected:
        missing = (
            f"sequence {expected}"
            if sequence == expected + 1
            else f"sequences {expected} to {sequence - 1}"
        )
        return BREAK_DELETED, f"{missing} missing before event {row['id']}: deleted"
    content_ok = event_hash(row) == row["hash"]
    link_ok = row["prev_hash"] == prev_hash
    if not content_ok and not link_ok:
        return (
            BREAK_REORDERED,
            "neither its hash nor its link to the previous event matches: "
            "moved to another place in the chain (reordered) or its chain fields changed",
        )
    if not content_ok:
        return BREAK_EDITED, "its content does not match its hash: edited"
    if not link_ok:
        return (
            BREAK_RELINKED,
            "its content matches its hash but it does not follow the previous "
            "event: relinked, or an event before it was replaced",
        )
    if anchor is not None and sequence == anchor[0] and row["hash"] != anchor[1]:
        return (
            BREAK_REWRITTEN,
            "its hash differs from the one an earlier verification recorded: "
            "the chain was recomputed from here on (rewritten)",
        )
    return None


def chain_walk(
    *,
    rows: Iterable[Mapping[str, Any]],
    head: tuple[int, str],
    anchor: tuple[int, str] | None = None,
) -> ChainFinding:
    """Walk `rows` (events by sequence, each a mapping of CHAIN_COLUMNS) up to
    the head (sequence, hash); return the first break, or that it is intact.

    `anchor` is a (sequence, hash) an earlier verification found: the event at
    that sequence must still carry that hash.
    """
    checked, last = 0, (0, CHAIN_GENESIS_HASH)
    for row in rows:
        found = _row_break(row, last[0] + 1, last[1], anchor)
        if found is not None:
            return _break(checked, last, row, *found)
        checked += 1
        last = (row["sequence"], row["hash"])
    if anchor is not None and last[0] < anchor[0]:
        return _break(
            checked,
            last,
            None,
            BREAK_DELETED,
            f"the chain ends at sequence {last[0]}, but an earlier verification "
            f"saw it reach {anchor[0]}: the newest events were deleted",
        )
    if head[0] > last[0]:
        return _break(
            checked,
            last,
            None,
            BREAK_DELETED,
            f"sequences {last[0] + 1} to {head[0]} missing at the end "
            f"(the chain head says {head[0]}): the newest events were deleted",
        )
    if head != last:
        return _break(
            checked,
            last,
            None,
            BREAK_HEAD,
            f"the chain head (sequence {head[0]}) does not match the last event "
            f"(sequence {last[0]}): the head row was changed",
        )
    return ChainFinding(
        intact=True, events_checked=checked, last_sequence=last[0], last_hash=last[1]
    )


def _head_read() -> tuple[int, str]:
    head = AuditChainHead.objects.filter(pk=HEAD_PK).values_list("sequence", "hash")
    return head.first() or (0, CHAIN_GENESIS_HASH)


def chain_verify(*, chunk_size: int = VERIFY_CHUNK_SIZE) -> ChainFinding:
    """Walk the stored chain, streaming (one chunk in memory), against the head
    as it was when the walk began and the last intact verification's tail."""
    # The head first: an event appended during the walk is after it, and every
    # event up to it was committed with it (the same transaction).
    head = _head_read()
    anchor = (
        AuditChainVerification.objects.filter(intact=True, last_sequence__gt=0)
        .order_by("-finished_at", "-id")
        .values_list("last_sequence", "last_hash")
        .first()
    )
    rows = (
        AuditEvent.objects.filter(sequence__lte=head[0])
        .order_by("sequence")
        .values(*CHAIN_COLUMNS)
        .iterator(chunk_size=chunk_size)
    )
    return chain_walk(rows=rows, head=head, anchor=anchor)


def chain_verification_record(
    *, finding: ChainFinding, started_at: dt.datetime
) -> AuditChainVerification:
    """Store a walk's finding (the /sync/ page shows the newest)."""
    return AuditChainVerification.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        intact=finding.intact,
        events_checked=finding.events_checked,
        last_sequence=finding.last_sequence,
        last_hash=finding.last_hash,
        break_sequence=finding.break_sequence,
        break_event_id=finding.break_event_id,
        break_kind=finding.break_kind,
        break_detail=finding.break_detail,
    )


def chain_verification_latest() -> AuditChainVerification | None:
    """The newest recorded verification (one query), or None if there is none."""
    return AuditChainVerification.objects.order_by("-finished_at", "-id").first()


def finding_summary(finding: ChainFinding | AuditChainVerification) -> str:
    """One line: intact with the count, or where the chain first breaks."""
    if finding.intact:
        return (
            f"Audit chain intact: {finding.events_checked} event(s), up to sequence "
            f"{finding.last_sequence}."
        )
    where = (
        f"at sequence {finding.break_sequence} (event id {finding.break_event_id})"
        if finding.break_sequence is not None
        else f"after sequence {finding.last_sequence}"
    )
    return (
        f"Audit chain BROKEN {where}: {finding.break_kind}: {finding.break_detail}. "
        f"{finding.events_checked} event(s) before it are intact."
    )


def audit_chain_verify(
    *, chunk_size: int = VERIFY_CHUNK_SIZE
) -> AuditChainVerification:
    """Walk the chain, record the finding, and write it to the chain itself
    (`audit_chain.verify`, source "command"), so the trail shows each check."""
    started_at = timezone.now()
    finding = chain_verify(chunk_size=chunk_size)
    with transaction.atomic():
        verification = chain_verification_record(finding=finding, started_at=started_at)
        chain_append(
            AuditEvent(
                actor_label="audit_verify",
                source="command",
                action="audit_chain.verify",
                object_type=AuditChainVerification._meta.label_lower,
                object_id=str(verification.pk),
                object_repr=finding_summary(finding)[:255],
                after=dataclasses.asdict(finding),
            )
        )
    return verification
