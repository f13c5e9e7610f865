"""The sync's write service: one page of provider records → rows, in bulk.

`session_upsert_batch` is the one way sessions, their checks, policy
assurances, tags and provider clients get into the database from a provider.
Contract:

- Call it inside a transaction: the caller (`runs.sync_page_commit`, the
  webhook refresh) commits the page together with what goes with it.
- The number of queries does not grow with the number of sessions: every
  table is written with one bulk statement per VERITY_SYNC_BATCH_SIZE rows,
  keyed on the database's unique constraints, so re-writing a page that is
  already in (a resumed run's overlap) duplicates nothing. Keys are
  de-duplicated first, the last record winning.
- A session whose digest (`session_digest`: its payload and its client's) and
  change marker equal the stored ones is not rewritten. A final session is not
  written at all; an unfinished one only gets `last_synced_at` bumped (one
  `UPDATE … WHERE id IN (…)` per batch), which moves the re-poll rotation
  (`schedule.refresh_ids`) along.
- `detail_read_at` (read in full, checks included) is set for every record
  read completely, written or not, never for one only listed as unchanged or
  read incompletely: it moves the children rotation (`schedule.children_due`).
- A session the adapter could not read completely (`SessionRecord.missing`)
  is stored with what was read but without its change marker, whatever the
  adapter put there, so the next pass fetches it in full again. An
  incomplete client record never overwrites a stored client.
- Invalid records (a session id with a NUL character among them) are
  quarantined (QuarantinedRecord), never allowed to fail the page. The same
  bad record (type, provider id or raw text, reason) is one row, counted when
  seen again (`quarantine_upsert`). Every value is cleaned by `values` (no NUL
  characters, clipped to its column's cap) before it is written.
- A written session's reasons are replaced by its record's, each classified
  (`reasons.session_reasons_replace`: the `SessionReason` rows).
- Credentials a provider's payloads carry (`providers/<name>/secrets.py`) are
  cut from every raw payload and quarantined text first (`sync/secrets.py`).
- Nothing is ever deleted because a provider stopped listing it or answers
  404 for it (`Page.gone_ids`): the mirror keeps what it saw. Review state
  (assignee, decisions), `first_seen_at` and admin-made client links are never
  overwritten: only the `*_SYNC_FIELDS` (below and in `related`) are the
  sync's. Outcome overrides are never written either; a rewritten session
  whose outcome moved under its active override reopens its case
  (`cases.overrides.outcome_overrides_provider_changed`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from django.utils import timezone

from ..models import (
    ProviderConnection,
    QuarantinedRecord,
    SyncRun,
    WorkflowSession,
)
from ..normalization import classify_check, classify_reason, in_rotation
from ..providers.base import QuarantineRecord, SessionRecord
from .follow import new_sessions_clock_start, rewritten_sessions_follow
from .quarantine import quarantine_row, quarantine_upsert
from .reasons import session_reasons_replace
from .related import (
    OUTCOME_VALUES,
    STATUS_VALUES,
    checks_upsert,
    external_rows_upsert,
    last_wins,
    policy_assurances_replace,
    provider_clients_upsert,
    session_tags_replace,
    tag_pairs,
)
from .schedule import in_rotation_q
from .secrets import quarantined_text_without_secrets, records_without_secrets
from .values import (
    ID_MAX,
    NAME_MAX,
    RAW_WORD_MAX,
    RECORD_TYPE_MAX,
    SOURCE_VERSION_MAX,
    URL_MAX,
    VERSION_MAX,
    aware,
    chunks,
    finite_number,
    json_clean,
    json_digest,
    json_text,
    text,
)

logger = logging.getLogger(__name__)

# Fields the sync owns on each model. Review state (assignee, decisions),
# first_seen_at and admin-made client links are never overwritten.
SESSION_SYNC_FIELDS = [
    "provider_client",
    "workflow_id",
    "workflow_name",
    "workflow_version",
    "status",
    "raw_status",
    "outcome",
    "raw_outcome",
    "reasons",
    "summary",
    "error",
    "dashboard_url",
    "user_reference",
    "decision",
    "risk_score",
    "link_expires_at",
    "provider_created_at",
    "provider_updated_at",
    "started_at",
    "completed_at",
    "raw_payload",
    "payload_hash",
    "source_version",
    "last_synced_at",
    "detail_read_at",
]


@dataclasses.dataclass
class BatchResult:
    """What one `session_upsert_batch` call did."""

    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    # Sessions the provider answered 404/410 for (kept, not counted as seen).
    gone: int = 0
    unknown_values: Counter[str] = dataclasses.field(default_factory=Counter)
    # external_id -> WorkflowSession.id of every session written or bumped.
    session_ids: dict[str, int] = dataclasses.field(default_factory=dict)


class _StoredSession(NamedTuple):
    """What the upsert compares an incoming session with."""

    pk: int
    digest: str
    version: str
    created: dt.datetime
    status: str
    raw_status: str
    detail_read_at: dt.datetime | None


def session_digest(record: SessionRecord) -> str:
    """Return the hash of everything a session's rows are built from.

    The client is part of it: a renamed applicant or a changed external
    reference must be written even when the session's own payload is the same.
    """
    client = record.client
    if client is None:
        return json_digest(record.raw, None)
    return json_digest(
        record.raw,
        [client.external_id, client.name, client.external_reference],
        client.raw,
    )


def _version(record: SessionRecord) -> str:
    """The change marker to store: none for a session read incompletely, so the
    next pass does not skip it as unchanged and fetches it in full again."""
    if record.missing:
        return ""
    return text(record.source_version, SOURCE_VERSION_MAX)


def _record_problem(record: SessionRecord) -> str:
    """Why a session record cannot be stored as is ("" when it can)."""
    if not isinstance(record.external_id, str) or not record.external_id.strip():
        return "session has no external id"
    if record.normalised.status not in STATUS_VALUES:
        return f"normalised status {record.normalised.status!r} is not a Verity status"
    if record.normalised.outcome not in OUTCOME_VALUES:
        return (
            f"normalised outcome {record.normalised.outcome!r} is not a Verity outcome"
        )
    if len(record.external_id) > ID_MAX:
        return f"external id is longer than {ID_MAX} characters"
    if "\x00" in record.external_id:  # PostgreSQL would fail the page, every pass
        return "external id contains a NUL character"
    return ""


def _listed_only(external_id: str, in_page: set[str]) -> bool:
    """Listed (unchanged or gone) apart from the page's records, and storable."""
    return (
        bool(external_id) and external_id not in in_page and "\x00" not in external_id
    )


def _unknown_values_count(
    provider_kind: str, record: SessionRecord, counter: Counter[str]
) -> None:
    """Count the raw words of a session and its checks that normalised to unknown,
    check types and reason words that classify as `other` among them."""
    words = list(record.unknown_values)
    if not words and not record.normalised.known:
        words.append(record.raw_status)
    words += [
        check.raw_status
        for check in record.checks
        if not check.normalised.known and check.raw_status not in words
    ]
    words += [
        check.check_type
        for check in record.checks
        if not classify_check(provider_kind, check.check_type).known
        and check.check_type not in words
    ]
    words += [
        reason
        for reason in (text(r) for r in record.reasons or [])
        if reason
        and not classify_reason(provider_kind, reason).known
        and reason not in words
    ]
    for word in dict.fromkeys(words):  # once per session, however many checks
        counter[text(word, RAW_WORD_MAX) or "(empty)"] += 1


def _session_row(
    *,
    connection: ProviderConnection,
    record: SessionRecord,
    digest: str,
    client_ids: Mapping[str, int],
    first_seen_created: dt.datetime,
    detail_read_before: dt.datetime | None,
    now: dt.datetime,
) -> WorkflowSession:
    """Build the row for a new or changed session (not saved); an incomplete
    record keeps the stored `detail_read_at` (`detail_read_before`)."""
    client_key = text(record.client.external_id, ID_MAX) if record.client else ""
    return WorkflowSession(
        connection=connection,
        external_id=record.external_id,
        provider_client_id=client_ids.get(client_key) if client_key else None,
        workflow_id=text(record.workflow_id, ID_MAX),
        workflow_name=text(record.workflow_name, NAME_MAX),
        workflow_version=text(record.workflow_version, VERSION_MAX),
        status=record.normalised.status,
        raw_status=text(record.raw_status, RAW_WORD_MAX),
        outcome=record.normalised.outcome,
        raw_outcome=text(record.raw_outcome, RAW_WORD_MAX),
        reasons=json_clean([text(r) for r in record.reasons or []]),
        summary=text(record.summary),
        error=text(record.error),
        dashboard_url=text(record.dashboard_url, URL_MAX),
        user_reference=text(record.user_reference, ID_MAX),
        decision=text(record.decision, RAW_WORD_MAX),
        risk_score=finite_number(record.risk_score),
        link_expires_at=aware(record.link_expires_at),
        # NOT NULL sort keys: the provider's time, else when Verity first saw it.
        provider_created_at=aware(record.created_at) or first_seen_created,
        provider_updated_at=aware(record.updated_at) or now,
        started_at=aware(record.started_at),
        completed_at=aware(record.completed_at),
        raw_payload=json_clean(record.raw),
        payload_hash=digest,
        source_version=_version(record),
        last_synced_at=now,
        detail_read_at=detail_read_before if record.missing else now,
    )


def session_upsert_batch(
    *,
    connection: ProviderConnection,
    records: Sequence[SessionRecord],
    unchanged_ids: Sequence[str] = (),
    gone_ids: Sequence[str] = (),
    quarantined: Sequence[QuarantineRecord] = (),
    sync_run: SyncRun | None = None,
    now: dt.datetime | None = None,
) -> BatchResult:
    """Upsert one page of sessions with their clients, checks, policies and tags.

    Call inside a transaction (the caller commits the page and its cursor
    together). The number of queries does not grow with the number of sessions:
    every table is written with one bulk statement per batch of
    VERITY_SYNC_BATCH_SIZE rows. Keys are de-duplicated first (the last record
    wins). Sessions whose payload hash and change marker equal the stored ones
    are not rewritten; only their `last_synced_at` is bumped. Invalid records
    are quarantined, never allowed to fail the page. Sessions the provider
    reports gone (404/410) are kept as they are, nothing is deleted; their
    `last_synced_at` is bumped too so they move to the back of the re-poll
    rotation instead of crowding out sessions that can still change.
    """
    now = now or timezone.now()
    result = BatchResult()
    records = records_without_secrets(connection.kind, records)
    quarantine_rows: list[QuarantinedRecord] = [
        quarantine_row(
            connection=connection,
            record_type=text(q.record_type, RECORD_TYPE_MAX) or "record",
            external_id=text(q.external_id, ID_MAX),
            reason=text(q.reason) or "unreadable",
            raw=text(quarantined_text_without_secrets(connection.kind, q.raw)),
        )
        for q in quarantined
    ]

    valid: list[SessionRecord] = []
    for record in records:
        problem = _record_problem(record)
        if problem:
            quarantine_rows.append(
                quarantine_row(
                    connection=connection,
                    record_type="session",
                    external_id=text(record.external_id, ID_MAX),
                    reason=problem,
                    raw=text(json_text(record.raw)),
                )
            )
            continue
        valid.append(record)
    records = last_wins(valid, key=lambda r: r.external_id)
    for record in records:
        if record.missing:
            logger.warning(
                "%s: session %s was read incompletely (%s); stored as read, it is "
                "fetched again by the next pass.",
                connection.slug,
                record.external_id,
                "; ".join(record.missing),
            )
    record_ids = [r.external_id for r in records]
    in_page = set(record_ids)
    listed_unchanged = [
        i for i in dict.fromkeys(unchanged_ids) if _listed_only(i, in_page)
    ]
    gone = [i for i in dict.fromkeys(gone_ids) if _listed_only(i, in_page)]
    result.gone = len(gone)

    existing: dict[str, _StoredSession] = {}
    for chunk in chunks(record_ids):
        for row in WorkflowSession.objects.filter(
            connection=connection, external_id__in=chunk
        ).values_list(
            "external_id",
            "pk",
            "payload_hash",
            "source_version",
            "provider_created_at",
            "status",
            "raw_status",
            "detail_read_at",
        ):
            existing[row[0]] = _StoredSession(*row[1:])

    changed: list[tuple[SessionRecord, str]] = []
    unchanged_pks: list[int] = []
    unchanged_read_pks: list[int] = []  # read in full: `detail_read_at` too
    for record in records:
        digest = session_digest(record)
        _unknown_values_count(connection.kind, record, result.unknown_values)
        current = existing.get(record.external_id)
        if (
            current is not None
            and current.digest == digest
            and current.version == _version(record)
        ):
            result.unchanged += 1
            result.session_ids[record.external_id] = current.pk
            if in_rotation(connection.kind, current.status, current.raw_status):
                if record.missing:
                    unchanged_pks.append(current.pk)
                else:
                    unchanged_read_pks.append(current.pk)
        else:
            changed.append((record, digest))

    result.seen = len(records) + len(listed_unchanged)
    result.unchanged += len(listed_unchanged)

    # Final sessions seen unchanged are not written at all. Unfinished ones get
    # last_synced_at bumped (one UPDATE per batch): that moves the re-poll
    # rotation along, and so do sessions gone at the provider.
    if listed_unchanged or gone:
        for chunk in chunks(listed_unchanged + gone):
            WorkflowSession.objects.filter(
                in_rotation_q(connection.kind),
                connection=connection,
                external_id__in=chunk,
            ).update(last_synced_at=now)
    if unchanged_pks:
        WorkflowSession.objects.filter(pk__in=unchanged_pks).update(last_synced_at=now)
    if unchanged_read_pks:
        WorkflowSession.objects.filter(pk__in=unchanged_read_pks).update(
            last_synced_at=now, detail_read_at=now
        )

    if changed:
        erased_clients: set[str] = set()
        client_ids = provider_clients_upsert(
            connection=connection,
            clients=[r.client for r, _ in changed if r.client is not None],
            erased=erased_clients,
        )
        if erased_clients:
            # The sessions of an erased identity keep no personal data: a
            # provider that still serves them (its deletion pending) does not
            # write it back. Seen, counted unchanged, not rewritten.
            held = {
                record.external_id
                for record, _ in changed
                if record.client
                and text(record.client.external_id, ID_MAX) in erased_clients
            }
            for external_id in held & existing.keys():
                result.session_ids[external_id] = existing[external_id].pk
            result.unchanged += len(held)
            changed = [pair for pair in changed if pair[0].external_id not in held]
    if changed:
        rows = [
            _session_row(
                connection=connection,
                record=record,
                digest=digest,
                client_ids=client_ids,
                first_seen_created=existing[record.external_id].created
                if record.external_id in existing
                else now,
                detail_read_before=existing[record.external_id].detail_read_at
                if record.external_id in existing
                else None,
                now=now,
            )
            for record, digest in changed
        ]
        new_sessions_clock_start(
            (row for row in rows if row.external_id not in existing), now=now
        )
        # Every row comes back with its id (`bulk_write` reads them back with
        # their keys, or raises).
        external_rows_upsert(WorkflowSession, rows, update_fields=SESSION_SYNC_FIELDS)
        changed_pks = {row.external_id: row.pk for row in rows}
        result.session_ids.update(changed_pks)
        for record, _ in changed:
            if record.external_id in existing:
                result.updated += 1
            else:
                result.created += 1

        checks_upsert(
            connection=connection, changed=changed, session_pks=changed_pks, now=now
        )
        policy_assurances_replace(changed=changed, session_pks=changed_pks)
        session_reasons_replace(
            provider_kind=connection.kind,
            session_words={
                changed_pks[record.external_id]: record.reasons or []
                for record, _ in changed
            },
        )
        session_tags_replace(
            session_tags={changed_pks[r.external_id]: tag_pairs(r) for r, _ in changed}
        )
        rewritten_sessions_follow(
            session_ids=changed_pks.values(),
            rewritten_ids=[
                changed_pks[r.external_id]
                for r, _ in changed
                if r.external_id in existing
            ],
            provider_client_ids={row.provider_client_id for row in rows} - {None},
            now=now,
        )

    if quarantine_rows:
        quarantine_upsert(
            connection=connection, rows=quarantine_rows, sync_run=sync_run, now=now
        )
    # Every record quarantined in this batch, whether its row is new or not.
    result.quarantined = len(quarantine_rows)
    return result
