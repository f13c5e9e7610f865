"""The sync engine: provider pages → normalised records → batched upserts → SyncRun.

Contract (see also docs/operations.md):

- One sync of one connection at a time. `provider_sync` first takes a lease on
  the ProviderConnection row with ONE conditional UPDATE (free or expired →
  ours), renews it with every committed page and releases it in `finally`,
  only if still ours. That works the same on SQLite and PostgreSQL and across
  any number of Celery workers, with no broker or cache involved. A run that
  cannot take the lease is recorded as a `skipped` SyncRun and does nothing.
- Each page is committed in ONE transaction together with the cursor that
  resumes after it, so the stored cursor only ever points past rows that are
  really in the database. A failure mid-run keeps the pages already committed;
  the next run resumes from the last committed cursor and the upserts (keyed on
  the database's unique constraints) absorb any overlap: nothing is lost,
  nothing is duplicated.
- Adapter pages are coalesced until they hold VERITY_SYNC_BATCH_SIZE sessions
  (or VERITY_SYNC_COMMIT_SECONDS have passed) and committed as one batch with
  the last page's cursor: a provider page of 5 to 25 sessions would otherwise
  cost a transaction, a lease renewal and a dozen statements each. When the
  adapter fails, the pages already read are committed before the error is
  handled, so no fetched work is thrown away.
- A session whose digest (its payload and its client's) and change marker
  equal the stored ones is not rewritten. A final session is not written at
  all; an unfinished one only gets `last_synced_at` bumped (one
  `UPDATE … WHERE id IN (…)` per batch), which is what moves the re-poll
  rotation of unfinished sessions (oldest `last_synced_at` first) along.
- A session the adapter could not read completely (`SessionRecord.missing`)
  is stored with what was read but without its change marker, so the next
  pass fetches it in full again. A full pass (`full=True`) ignores every
  stored change marker.
- A webhook refresh does not take the lease, so a page fetched just before it
  can commit an older copy over the refreshed one. That heals by itself: the
  older copy is unfinished, so the next run re-polls it.
- Nothing is ever deleted because a provider stopped listing it or answers
  404 for it (`Page.gone_ids`): the mirror keeps what it saw.
- A webhook's targeted refresh (`session_refresh_from_provider`) does not take
  the lease; it is one idempotent upsert recorded as a `webhook` SyncRun.
- One AuditEvent per sync run (source "sync"), never one per row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..exceptions import ApplicationError, ProviderRateLimited, ProviderUnavailable
from ..models import (
    FINAL_STATUSES,
    Check,
    ClientLinkSource,
    Outcome,
    PolicyAssurance,
    ProviderClient,
    ProviderConnection,
    QuarantinedRecord,
    Status,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    Tag,
    TagKind,
    WorkflowSession,
)
from ..normalization import in_rotation, reopenable_raw_statuses
from ..providers import adapter_for
from ..providers.base import (
    Budget,
    ClientRecord,
    Page,
    QuarantineRecord,
    SessionRecord,
    no_known_versions,
    payload_hash,
)
from ..services import audit_event_record, clients_link_by_reference

logger = logging.getLogger(__name__)

# Chunk size of `external_id IN (…)` look-ups (well inside every database's
# parameter limit).
LOOKUP_CHUNK = 500
# A sync error text is shown on the sync page and stored; keep it readable.
ERROR_MAX_CHARS = 4000
NON_FINAL_STATUSES = [s for s in Status.values if s not in FINAL_STATUSES]

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
    "provider_created_at",
    "provider_updated_at",
    "started_at",
    "completed_at",
    "raw_payload",
    "payload_hash",
    "source_version",
    "last_synced_at",
]
CHECK_SYNC_FIELDS = [
    "session",
    "check_type",
    "status",
    "raw_status",
    "outcome",
    "raw_outcome",
    "task_id",
    "breakdown",
    "provider_created_at",
    "provider_updated_at",
    "raw_payload",
    "payload_hash",
    "last_synced_at",
]
PROVIDER_CLIENT_SYNC_FIELDS = [
    "name",
    "external_reference",
    "raw_payload",
    "payload_hash",
    "updated_at",
]


class LeaseLost(RuntimeError):
    """The lease expired and another run took it: stop before writing a cursor."""


@dataclasses.dataclass
class PageBatch:
    """Consecutive adapter pages merged into one commit (see `pages_coalesced`)."""

    page: Page
    # How many adapter pages were merged (what SyncRun.pages counts).
    pages: int
    # The adapter's failure right after these pages: raise it once they are in.
    error: Exception | None = None


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


# --- Small helpers ---------------------------------------------------------------


def _max_lengths(model: type[models.Model]) -> dict[str, int]:
    return {
        f.attname: f.max_length
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField) and f.max_length
    }


_SESSION_LEN = _max_lengths(WorkflowSession)
_CHECK_LEN = _max_lengths(Check)
_POLICY_LEN = _max_lengths(PolicyAssurance)
_CLIENT_LEN = _max_lengths(ProviderClient)
_TAG_LEN = _max_lengths(Tag)


def _text(value: Any, limit: int | None = None) -> str:
    """Return `value` as a database-safe string: no NUL bytes, clipped to `limit`.

    PostgreSQL refuses NUL characters in text, and a provider string longer than
    the column would fail the whole page: neither may stop a sync.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text[:limit] if limit else text


def _json(value: Any) -> Any:
    """Return JSON data without NUL characters (PostgreSQL jsonb refuses them).

    Most payloads hold none: one C-speed serialisation (which writes any NUL,
    in a key or a value, as the escape \\u0000) finds that out and returns
    them as they are, instead of rebuilding every dict and list in Python.
    """
    if isinstance(value, dict | list):
        try:
            if "\\u0000" not in json.dumps(value, ensure_ascii=False, default=str):
                return value
        except (TypeError, ValueError):
            pass  # not serialisable as is: clean it element by element
    return _json_cleaned(value)


def _json_cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_json_cleaned(k): _json_cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_cleaned(v) for v in value]
    return value


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or not isinstance(value, dt.datetime):
        return None
    if timezone.is_naive(value):
        return timezone.make_aware(value, dt.UTC)
    return value


def _error_text(exc: BaseException) -> str:
    """A readable one-line error: Verity's own errors as they are, others with their type."""
    if isinstance(exc, ApplicationError):
        text = str(exc) or type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return _text(text, ERROR_MAX_CHARS)


def _chunks(items: Sequence[str], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _last_wins(items: Iterable[Any], key: Callable[[Any], Any]) -> list[Any]:
    """De-duplicate by key keeping the LAST occurrence (at its first position).

    PostgreSQL's ON CONFLICT cannot touch one row twice in a statement.
    """
    by_key: dict[Any, Any] = {}
    for item in items:
        by_key[key(item)] = item
    return list(by_key.values())


def _pages_merged(pages: Sequence[Page]) -> Page:
    if len(pages) == 1:
        return pages[0]
    return Page(
        sessions=[s for p in pages for s in p.sessions],
        quarantined=[q for p in pages for q in p.quarantined],
        unchanged_ids=[i for p in pages for i in p.unchanged_ids],
        gone_ids=[i for p in pages for i in p.gone_ids],
        cursor=pages[-1].cursor,
        done=pages[-1].done,
    )


def pages_coalesced(
    pages: Iterable[Page],
    *,
    min_sessions: int,
    max_seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[PageBatch]:
    """Merge consecutive adapter pages into batches worth one commit each.

    A batch closes when it holds `min_sessions` sessions (changed or listed
    unchanged), when `max_seconds` have passed since the previous batch (a
    slow, rate-limited provider still checkpoints and renews the lease
    often), or at the page that ends the pass. It carries its last page's
    cursor, so committing it is exactly as safe as committing its pages one
    by one. If the adapter raises, the pages read so far are yielded first
    with the error attached (`PageBatch.error`): the caller commits them,
    then raises it.
    """
    buffered: list[Page] = []
    since = clock()
    iterator = iter(pages)
    while True:
        try:
            page = next(iterator)
        except StopIteration:
            break
        except Exception as exc:
            if not buffered:
                raise
            yield PageBatch(_pages_merged(buffered), len(buffered), error=exc)
            return
        buffered.append(page)
        held = sum(len(p.sessions) + len(p.unchanged_ids) for p in buffered)
        if page.done or held >= min_sessions or clock() - since >= max_seconds:
            yield PageBatch(_pages_merged(buffered), len(buffered))
            buffered = []
            since = clock()
    if buffered:
        yield PageBatch(_pages_merged(buffered), len(buffered))


# --- The lease -------------------------------------------------------------------


def lease_seconds() -> int:
    """Return the lease TTL: never shorter than the task's hard time limit."""
    hard_limit = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 0) or 0)
    return max(int(settings.VERITY_SYNC_LEASE_SECONDS), hard_limit + 30)


def connection_lease_acquire(
    *, connection_id: int, ttl_seconds: int | None = None
) -> str | None:
    """Take the connection's sync lease; return its token, or None if it is held.

    ONE conditional UPDATE does the test-and-set, so two workers racing for the
    same connection cannot both win, on SQLite or PostgreSQL.
    """
    token = secrets.token_hex(16)
    now = timezone.now()
    ttl = ttl_seconds if ttl_seconds is not None else lease_seconds()
    taken = ProviderConnection.objects.filter(
        Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lt=now), pk=connection_id
    ).update(lock_token=token, lock_expires_at=now + dt.timedelta(seconds=ttl))
    return token if taken else None


def connection_lease_release(*, connection_id: int, token: str) -> bool:
    """Release the lease if `token` still holds it (a later holder keeps theirs)."""
    return bool(
        ProviderConnection.objects.filter(pk=connection_id, lock_token=token).update(
            lock_token="", lock_expires_at=None
        )
    )


# --- Reads the engine needs --------------------------------------------------------


def connections_due(*, now: dt.datetime | None = None) -> list[int]:
    """Return ids of enabled connections whose interval has elapsed and that are not leased."""
    now = now or timezone.now()
    due: list[int] = []
    rows = ProviderConnection.objects.filter(enabled=True).values_list(
        "pk", "last_sync_started_at", "sync_interval_seconds", "lock_expires_at"
    )
    for pk, started, interval, lock_expires in rows:
        if lock_expires is not None and lock_expires >= now:
            continue
        if started is None or started + dt.timedelta(seconds=interval) <= now:
            due.append(pk)
    return due


def connection_full_sync_due(
    *, connection_id: int, now: dt.datetime | None = None
) -> bool:
    """Return True if the connection's scheduled pass should be a full one.

    Incremental passes cannot see everything (a client renamed while its
    sessions stayed the same, clock skew, a change a provider's window
    missed), so every VERITY_FULL_SYNC_INTERVAL_DAYS the schedule runs a full
    pass instead (0 turns this off). A connection that never finished a sync
    is not due: its first pass reads everything anyway.
    """
    days = settings.VERITY_FULL_SYNC_INTERVAL_DAYS
    if days <= 0:
        return False
    now = now or timezone.now()
    finished = SyncRun.objects.filter(
        connection_id=connection_id, state=SyncRunState.SUCCEEDED
    ).exclude(trigger=SyncTrigger.WEBHOOK)
    if not finished.exists():
        return False
    last_full = (
        finished.filter(trigger=SyncTrigger.FULL)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if last_full is None:
        first = finished.order_by("started_at").values_list("started_at", flat=True)
        last_full = first.first()
    return last_full + dt.timedelta(days=days) <= now


def connection_is_due(
    connection: ProviderConnection, *, now: dt.datetime | None = None
) -> bool:
    now = now or timezone.now()
    started = connection.last_sync_started_at
    return (
        started is None
        or started + dt.timedelta(seconds=connection.sync_interval_seconds) <= now
    )


def _in_rotation_q(kind: str) -> Q:
    """Sessions that can still change, so the sync re-polls them
    (`normalization.in_rotation` as a query).

    "Unfinished" includes final-looking raw statuses a person at the provider
    may still change (Onfido `review`, see REOPENABLE_RAW_STATUSES).
    """
    return Q(status__in=NON_FINAL_STATUSES) | Q(
        raw_status__in=sorted(reopenable_raw_statuses(kind))
    )


def _refresh_ids(connection: ProviderConnection) -> list[str]:
    """Unfinished sessions to re-poll by id: least recently synced first, bounded."""
    return list(
        WorkflowSession.objects.filter(
            _in_rotation_q(connection.kind), connection=connection
        )
        .order_by(F("last_synced_at").asc(nulls_first=True), "id")
        .values_list("external_id", flat=True)[: settings.VERITY_SYNC_REFRESH_LIMIT]
    )


def _known_versions_for(
    connection: ProviderConnection,
) -> Callable[[Sequence[str]], Mapping[str, str]]:
    def known_versions(ids: Sequence[str]) -> Mapping[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            found.update(
                WorkflowSession.objects.filter(
                    connection=connection, external_id__in=chunk
                )
                .exclude(source_version="")
                .order_by()  # one call per provider page: no sort
                .values_list("external_id", "source_version")
            )
        return found

    return known_versions


# --- The batched upsert ----------------------------------------------------------------


class _StoredSession(NamedTuple):
    """What the upsert compares an incoming session with."""

    pk: int
    digest: str
    version: str
    created: dt.datetime
    status: str
    raw_status: str


def session_digest(record: SessionRecord) -> str:
    """Return the hash of everything a session's rows are built from.

    The client is part of it: a renamed applicant or a changed external
    reference must be written even when the session's own payload is the same.
    """
    client = record.client
    return payload_hash(
        {
            "session": record.raw,
            "client": None
            if client is None
            else [
                client.external_id,
                client.name,
                client.external_reference,
                client.raw,
            ],
        }
    )


def _version(record: SessionRecord) -> str:
    """The change marker to store: none for a session read incompletely, so the
    next pass does not skip it as unchanged and fetches it in full again."""
    if record.missing:
        return ""
    return _text(record.source_version, _SESSION_LEN["source_version"])


def _record_problem(record: SessionRecord) -> str:
    """Why a session record cannot be stored as is ("" when it can)."""
    if not isinstance(record.external_id, str) or not record.external_id.strip():
        return "session has no external id"
    if record.normalised.status not in Status.values:
        return f"normalised status {record.normalised.status!r} is not a Verity status"
    if record.normalised.outcome not in Outcome.values:
        return (
            f"normalised outcome {record.normalised.outcome!r} is not a Verity outcome"
        )
    if len(record.external_id) > _SESSION_LEN["external_id"]:
        return "external id is longer than 255 characters"
    return ""


def _provider_clients_upsert(
    *, connection: ProviderConnection, clients: list[ClientRecord]
) -> dict[str, int]:
    """Upsert provider clients (unchanged ones untouched), link them by reference.

    Return {external_id: ProviderClient.id}. Admin-made links are never changed;
    an automatic link follows a changed external reference. An incomplete
    client record (its provider record could not be fetched) creates a missing
    client but never overwrites a stored one.
    """
    clients = _last_wins(
        (c for c in clients if c.external_id), key=lambda c: _text(c.external_id, 255)
    )
    if not clients:
        return {}
    ids = [_text(c.external_id, _CLIENT_LEN["external_id"]) for c in clients]
    existing = {
        pc.external_id: pc
        for pc in ProviderClient.objects.filter(
            connection=connection, external_id__in=ids
        )
    }
    to_write: list[ProviderClient] = []
    relink: list[int] = []
    for record, external_id in zip(clients, ids, strict=True):
        raw = _json(record.raw or {})
        digest = payload_hash(record.raw or {})
        name = _text(record.name, _CLIENT_LEN["name"])
        reference = _text(record.external_reference, _CLIENT_LEN["external_reference"])
        current = existing.get(external_id)
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
        ProviderClient.objects.bulk_create(
            to_write,
            update_conflicts=True,
            unique_fields=["connection", "external_id"],
            update_fields=PROVIDER_CLIENT_SYNC_FIELDS,
            batch_size=settings.VERITY_SYNC_BATCH_SIZE,
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
            )
        )
        clients_link_by_reference(provider_clients=fresh)
        existing.update({pc.external_id: pc for pc in fresh})
    return {external_id: pc.pk for external_id, pc in existing.items()}


def _tags_replace(*, session_tags: dict[int, list[tuple[str, str]]]) -> None:
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
        for chunk in _chunks(names):
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
        through.objects.bulk_create(
            rows, ignore_conflicts=True, batch_size=settings.VERITY_SYNC_BATCH_SIZE
        )


def _tag_pairs(record: SessionRecord) -> list[tuple[str, str]]:
    pairs = []
    for tag in record.tags:
        name = _text(getattr(tag, "name", ""), _TAG_LEN["name"]).strip()
        if not name:
            continue
        kind = tag.kind if tag.kind in TagKind.values else TagKind.USER
        pairs.append((name, kind))
    return pairs


def _unknown_values_count(record: SessionRecord, counter: Counter[str]) -> None:
    """Count the raw words of a session and its checks that normalised to unknown."""
    words = list(record.unknown_values)
    if not words and not record.normalised.known:
        words.append(record.raw_status)
    words += [
        check.raw_status
        for check in record.checks
        if not check.normalised.known and check.raw_status not in words
    ]
    for word in words:
        counter[_text(word, 100) or "(empty)"] += 1


def _session_row(
    *,
    connection: ProviderConnection,
    record: SessionRecord,
    digest: str,
    client_ids: Mapping[str, int],
    first_seen_created: dt.datetime,
    now: dt.datetime,
) -> WorkflowSession:
    """Build the row for a new or changed session (not saved)."""
    client_key = _text(record.client.external_id, 255) if record.client else ""
    limit = _SESSION_LEN
    return WorkflowSession(
        connection=connection,
        external_id=record.external_id,
        provider_client_id=client_ids.get(client_key) if client_key else None,
        workflow_id=_text(record.workflow_id, limit["workflow_id"]),
        workflow_name=_text(record.workflow_name, limit["workflow_name"]),
        workflow_version=_text(record.workflow_version, limit["workflow_version"]),
        status=record.normalised.status,
        raw_status=_text(record.raw_status, limit["raw_status"]),
        outcome=record.normalised.outcome,
        raw_outcome=_text(record.raw_outcome, limit["raw_outcome"]),
        reasons=_json([_text(r) for r in record.reasons or []]),
        summary=_text(record.summary),
        error=_text(record.error),
        dashboard_url=_text(record.dashboard_url, limit["dashboard_url"]),
        # NOT NULL sort keys: the provider's time, else when Verity first saw it.
        provider_created_at=_aware(record.created_at) or first_seen_created,
        provider_updated_at=_aware(record.updated_at) or now,
        started_at=_aware(record.started_at),
        completed_at=_aware(record.completed_at),
        raw_payload=_json(record.raw),
        payload_hash=digest,
        source_version=_version(record),
        last_synced_at=now,
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
    quarantine_rows: list[QuarantinedRecord] = [
        QuarantinedRecord(
            connection=connection,
            sync_run=sync_run,
            record_type=_text(q.record_type, 50) or "record",
            external_id=_text(q.external_id, 255),
            reason=_text(q.reason) or "unreadable",
            raw=_text(q.raw),
        )
        for q in quarantined
    ]

    valid: list[SessionRecord] = []
    for record in records:
        problem = _record_problem(record)
        if problem:
            quarantine_rows.append(
                QuarantinedRecord(
                    connection=connection,
                    sync_run=sync_run,
                    record_type="session",
                    external_id=_text(record.external_id, 255),
                    reason=problem,
                    raw=_text(_safe_dump(record.raw)),
                )
            )
            continue
        valid.append(record)
    records = _last_wins(valid, key=lambda r: r.external_id)
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
        i for i in dict.fromkeys(unchanged_ids) if i and i not in in_page
    ]
    gone = [i for i in dict.fromkeys(gone_ids) if i and i not in in_page]
    result.gone = len(gone)

    existing: dict[str, _StoredSession] = {}
    for chunk in _chunks(record_ids):
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
        ):
            existing[row[0]] = _StoredSession(*row[1:])

    changed: list[tuple[SessionRecord, str]] = []
    unchanged_pks: list[int] = []
    for record in records:
        digest = session_digest(record)
        _unknown_values_count(record, result.unknown_values)
        current = existing.get(record.external_id)
        if (
            current is not None
            and current.digest == digest
            and current.version == _version(record)
        ):
            result.unchanged += 1
            result.session_ids[record.external_id] = current.pk
            if in_rotation(connection.kind, current.status, current.raw_status):
                unchanged_pks.append(current.pk)
        else:
            changed.append((record, digest))

    result.seen = len(records) + len(listed_unchanged)
    result.unchanged += len(listed_unchanged)

    # Final sessions seen unchanged are not written at all. Unfinished ones get
    # last_synced_at bumped (one UPDATE per batch): that moves the re-poll
    # rotation along, and so do sessions gone at the provider.
    if listed_unchanged or gone:
        for chunk in _chunks(listed_unchanged + gone):
            WorkflowSession.objects.filter(
                _in_rotation_q(connection.kind),
                connection=connection,
                external_id__in=chunk,
            ).update(last_synced_at=now)
    if unchanged_pks:
        WorkflowSession.objects.filter(pk__in=unchanged_pks).update(last_synced_at=now)

    if changed:
        client_ids = _provider_clients_upsert(
            connection=connection,
            clients=[r.client for r, _ in changed if r.client is not None],
        )
        rows = [
            _session_row(
                connection=connection,
                record=record,
                digest=digest,
                client_ids=client_ids,
                first_seen_created=existing[record.external_id].created
                if record.external_id in existing
                else now,
                now=now,
            )
            for record, digest in changed
        ]
        WorkflowSession.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["connection", "external_id"],
            update_fields=SESSION_SYNC_FIELDS,
            batch_size=settings.VERITY_SYNC_BATCH_SIZE,
        )
        if any(row.pk is None for row in rows):  # databases without RETURNING
            pks = dict(
                WorkflowSession.objects.filter(
                    connection=connection,
                    external_id__in=[row.external_id for row in rows],
                ).values_list("external_id", "pk")
            )
            for row in rows:
                row.pk = pks[row.external_id]
        changed_pks = {row.external_id: row.pk for row in rows}
        result.session_ids.update(changed_pks)
        for record, _ in changed:
            if record.external_id in existing:
                result.updated += 1
            else:
                result.created += 1

        _checks_upsert(
            connection=connection, changed=changed, session_pks=changed_pks, now=now
        )
        _policies_replace(changed=changed, session_pks=changed_pks)
        _tags_replace(
            session_tags={changed_pks[r.external_id]: _tag_pairs(r) for r, _ in changed}
        )

    if quarantine_rows:
        QuarantinedRecord.objects.bulk_create(
            quarantine_rows, batch_size=settings.VERITY_SYNC_BATCH_SIZE
        )
    result.quarantined = len(quarantine_rows)
    return result


def _safe_dump(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(raw)


def _checks_upsert(
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
            external_id = _text(check.external_id, _CHECK_LEN["external_id"])
            if not external_id:
                continue
            status = (
                check.normalised.status
                if check.normalised.status in Status.values
                else Status.UNKNOWN
            )
            outcome = (
                check.normalised.outcome
                if check.normalised.outcome in Outcome.values
                else ""
            )
            rows.append(
                Check(
                    connection=connection,
                    session_id=session_pk,
                    external_id=external_id,
                    check_type=_text(check.check_type, _CHECK_LEN["check_type"]),
                    status=status,
                    raw_status=_text(check.raw_status, _CHECK_LEN["raw_status"]),
                    outcome=outcome,
                    raw_outcome=_text(check.raw_outcome, _CHECK_LEN["raw_outcome"]),
                    task_id=_text(check.task_id, _CHECK_LEN["task_id"]),
                    breakdown=_json(check.breakdown or {}),
                    provider_created_at=_aware(check.created_at),
                    provider_updated_at=_aware(check.updated_at),
                    raw_payload=_json(check.raw or {}),
                    payload_hash=payload_hash(check.raw or {}),
                    last_synced_at=now,
                )
            )
    rows = _last_wins(rows, key=lambda c: c.external_id)
    if rows:
        Check.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["connection", "external_id"],
            update_fields=CHECK_SYNC_FIELDS,
            batch_size=settings.VERITY_SYNC_BATCH_SIZE,
        )


def _policies_replace(
    *, changed: list[tuple[SessionRecord, str]], session_pks: dict[str, int]
) -> None:
    """Replace the policy assurance of every changed session (it has no stable key)."""
    PolicyAssurance.objects.filter(session_id__in=list(session_pks.values())).delete()
    rows = [
        PolicyAssurance(
            session_id=session_pks[record.external_id],
            policy_id=_text(policy.policy_id, _POLICY_LEN["policy_id"]),
            policy_name=_text(policy.policy_name, _POLICY_LEN["policy_name"]),
            outcome=policy.outcome if policy.outcome in Outcome.values else "",
            raw_outcome=_text(policy.raw_outcome, _POLICY_LEN["raw_outcome"]),
            details=_json(policy.details or {}),
            position=position,
        )
        for record, _ in changed
        for position, policy in enumerate(record.policies)
    ]
    if rows:
        # ignore_conflicts: a webhook refresh replacing the same session's rows
        # at the same moment must not fail this page (both copies are fresh).
        PolicyAssurance.objects.bulk_create(
            rows, batch_size=settings.VERITY_SYNC_BATCH_SIZE, ignore_conflicts=True
        )


# --- Runs ------------------------------------------------------------------------------


def _run_add(run: SyncRun, result: BatchResult) -> None:
    run.seen += result.seen
    run.created += result.created
    run.updated += result.updated
    run.unchanged += result.unchanged
    run.quarantined += result.quarantined
    if result.unknown_values:
        merged = Counter(run.unknown_values or {})
        merged.update(result.unknown_values)
        run.unknown_values = dict(merged)


RUN_COUNT_FIELDS = [
    "seen",
    "created",
    "updated",
    "unchanged",
    "quarantined",
    "pages",
    "unknown_values",
]


def sync_page_commit(
    *,
    connection: ProviderConnection,
    run: SyncRun,
    page: Page,
    token: str,
    pages: int = 1,
) -> BatchResult:
    """Commit one page (`pages` adapter pages merged): its rows, the run's
    counts and the cursor, atomically.

    The cursor write is also the lease renewal, conditional on still holding the
    lease: if another run took it (this one outlived its TTL), the page is
    rolled back and LeaseLost raised, so two holders can never both advance
    the cursor.
    """
    now = timezone.now()
    with transaction.atomic(durable=True):
        result = session_upsert_batch(
            connection=connection,
            records=page.sessions,
            unchanged_ids=page.unchanged_ids,
            gone_ids=getattr(page, "gone_ids", ()),
            quarantined=page.quarantined,
            sync_run=run,
            now=now,
        )
        cursor = _json(dict(page.cursor or {}))
        renewed = ProviderConnection.objects.filter(
            pk=connection.pk, lock_token=token
        ).update(
            sync_cursor=cursor,
            lock_expires_at=now + dt.timedelta(seconds=lease_seconds()),
        )
        if not renewed:
            raise LeaseLost(
                f"The sync lease of {connection.slug!r} expired and was taken by another run; "
                "this page was rolled back."
            )
        _run_add(run, result)
        run.pages += pages
        run.cursor_after = cursor
        if result.gone:
            logger.info(
                "%s: %d session(s) gone at the provider (kept).",
                connection.slug,
                result.gone,
            )
        run.save(update_fields=[*RUN_COUNT_FIELDS, "cursor_after"])
    connection.sync_cursor = cursor
    return result


def _run_finish(
    *, connection: ProviderConnection, run: SyncRun, state: str, error: str = ""
) -> SyncRun:
    """Close a run, stamp the connection and write the run's one audit event."""
    now = timezone.now()
    with transaction.atomic():
        run.state = state
        run.error = error
        run.finished_at = now
        run.save(update_fields=["state", "error", "finished_at"])
        if run.trigger != SyncTrigger.WEBHOOK and state != SyncRunState.SKIPPED:
            stamp: dict[str, Any] = {"last_sync_finished_at": now}
            if state in {SyncRunState.SUCCEEDED, SyncRunState.PARTIAL}:
                stamp["last_success_at"] = now
            ProviderConnection.objects.filter(pk=connection.pk).update(**stamp)
            for key, value in stamp.items():
                setattr(connection, key, value)
        audit_event_record(
            actor=None,
            source="sync",
            action=f"sync.{state}",
            obj=run,
            object_repr=f"{connection.slug} sync run {run.pk}",
            after={
                "connection": connection.slug,
                "trigger": run.trigger,
                "state": state,
                "seen": run.seen,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "quarantined": run.quarantined,
                "pages": run.pages,
                "unknown_values": run.unknown_values,
                "error": error[:500],
            },
        )
    return run


def sync_run_skipped(*, connection: ProviderConnection, trigger: str) -> SyncRun:
    """Record that a sync did not run because another holds the lease."""
    holder_until = (
        ProviderConnection.objects.filter(pk=connection.pk)
        .values_list("lock_expires_at", flat=True)
        .first()
    )
    run = SyncRun.objects.create(
        connection=connection,
        trigger=trigger,
        state=SyncRunState.SKIPPED,
        cursor_before=connection.sync_cursor or {},
        cursor_after=connection.sync_cursor or {},
    )
    until = (
        f" (lease held until {holder_until:%Y-%m-%d %H:%M:%S} UTC)"
        if holder_until
        else ""
    )
    return _run_finish(
        connection=connection,
        run=run,
        state=SyncRunState.SKIPPED,
        error=f"Another sync of {connection.slug!r} is running{until}.",
    )


def provider_sync(
    *,
    connection: ProviderConnection,
    trigger: str = SyncTrigger.SCHEDULE,
    full: bool = False,
    budget: Budget | None = None,
    on_page: Callable[[SyncRun, BatchResult], None] | None = None,
) -> SyncRun:
    """Sync one connection within `budget`; return the finished SyncRun.

    Takes the connection's lease (a held lease → a `skipped` run, nothing else
    happens), reads pages from the adapter and commits each one with its
    cursor. States: `succeeded` (the pass reached its end), `partial` (the
    budget ran out; call again to continue from the cursor), `failed` (any
    error: earlier pages stay committed; the error text is on the run),
    `rate_limited` (the ProviderRateLimited is re-raised for the caller to
    reschedule after `retry_after`).
    """
    token = connection_lease_acquire(connection_id=connection.pk)
    if token is None:
        logger.info("Sync of %s skipped: another run holds the lease.", connection.slug)
        return sync_run_skipped(connection=connection, trigger=trigger)
    try:
        return _provider_sync_leased(
            connection=connection,
            trigger=trigger,
            full=full,
            budget=budget,
            token=token,
            on_page=on_page,
        )
    finally:
        connection_lease_release(connection_id=connection.pk, token=token)


def _provider_sync_leased(
    *,
    connection: ProviderConnection,
    trigger: str,
    full: bool,
    budget: Budget | None,
    token: str,
    on_page: Callable[[SyncRun, BatchResult], None] | None,
) -> SyncRun:
    connection.refresh_from_db()  # the cursor as the previous holder committed it
    now = timezone.now()
    # Holding the lease proves no other scheduled/manual run is alive: runs still
    # marked running were interrupted (worker killed, lease expired). Webhook
    # refreshes run without the lease; one older than a lease died too.
    stale = dt.timedelta(seconds=lease_seconds())
    SyncRun.objects.filter(connection=connection, state=SyncRunState.RUNNING).filter(
        ~Q(trigger=SyncTrigger.WEBHOOK) | Q(started_at__lt=now - stale)
    ).update(
        state=SyncRunState.FAILED,
        finished_at=now,
        error="Interrupted: the process running this sync stopped before it finished.",
    )
    run = SyncRun.objects.create(
        connection=connection,
        trigger=trigger,
        state=SyncRunState.RUNNING,
        cursor_before=connection.sync_cursor or {},
        cursor_after=connection.sync_cursor or {},
    )
    ProviderConnection.objects.filter(pk=connection.pk).update(last_sync_started_at=now)
    connection.last_sync_started_at = now
    budget = budget or Budget(
        max_pages=settings.VERITY_SYNC_MAX_PAGES,
        max_seconds=settings.VERITY_SYNC_MAX_SECONDS,
    )
    done = False
    try:
        adapter = adapter_for(connection)
        pages = adapter.iter_pages(
            cursor=dict(connection.sync_cursor or {}),
            budget=budget,
            full=full,
            refresh_ids=_refresh_ids(connection),
            # A full pass re-reads every session, whatever change marker it has.
            known_versions=no_known_versions
            if full
            else _known_versions_for(connection),
        )
        batches = pages_coalesced(
            pages,
            min_sessions=settings.VERITY_SYNC_BATCH_SIZE,
            max_seconds=settings.VERITY_SYNC_COMMIT_SECONDS,
        )
        for batch in batches:
            result = sync_page_commit(
                connection=connection,
                run=run,
                page=batch.page,
                token=token,
                pages=batch.pages,
            )
            if on_page is not None:
                on_page(run, result)
            if batch.error is not None:
                raise batch.error
            if batch.page.done:
                done = True
                break
            if budget.exhausted(run.pages):
                break  # the adapter should have stopped; the cursor is safe either way
    except ProviderRateLimited as exc:
        _run_finish(
            connection=connection,
            run=run,
            state=SyncRunState.RATE_LIMITED,
            error=_error_text(exc),
        )
        exc.sync_run = run  # type: ignore[attr-defined]  # for foreground callers
        raise
    except Exception as exc:
        logger.exception(
            "Sync of %s failed after %d page(s).", connection.slug, run.pages
        )
        return _run_finish(
            connection=connection,
            run=run,
            state=SyncRunState.FAILED,
            error=_error_text(exc),
        )
    state = SyncRunState.SUCCEEDED if done else SyncRunState.PARTIAL
    return _run_finish(connection=connection, run=run, state=state)


def provider_sync_pass(
    *,
    connection: ProviderConnection,
    trigger: str = SyncTrigger.MANUAL,
    full: bool = False,
    on_page: Callable[[SyncRun, BatchResult], None] | None = None,
    max_runs: int = 10_000,
    max_rate_limit_waits: int = 3,
    max_wait_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SyncRun]:
    """Run syncs of one connection until its pass is done (foreground use).

    Continues while runs end `partial`; waits out short rate limits a few times.
    Stops at the first run that is not partial, or one that made no progress.
    """
    runs: list[SyncRun] = []
    waits = 0
    while len(runs) < max_runs:
        try:
            run = provider_sync(
                connection=connection, trigger=trigger, full=full, on_page=on_page
            )
        except ProviderRateLimited as exc:
            runs.append(exc.sync_run)  # type: ignore[attr-defined]
            if waits >= max_rate_limit_waits or exc.retry_after > max_wait_seconds:
                break
            waits += 1
            sleep(max(exc.retry_after, 0.0))
            continue
        runs.append(run)
        if run.state != SyncRunState.PARTIAL or run.pages == 0:
            break
    return runs


def providers_sync_all(
    *, trigger: str = SyncTrigger.MANUAL, full: bool = False, slugs: Sequence[str] = ()
) -> dict[str, list[SyncRun]]:
    """Sync every enabled connection (or the named ones) to the end of its pass.

    One provider failing never stops the others: each failure is recorded on
    its own SyncRun.
    """
    connections = ProviderConnection.objects.all()
    connections = (
        connections.filter(slug__in=slugs)
        if slugs
        else connections.filter(enabled=True)
    )
    outcome: dict[str, list[SyncRun]] = {}
    for connection in connections:
        try:
            outcome[connection.slug] = provider_sync_pass(
                connection=connection, trigger=trigger, full=full
            )
        except Exception:  # a bug must not stop the other providers either
            logger.exception("Sync of %s crashed.", connection.slug)
            outcome[connection.slug] = list(
                SyncRun.objects.filter(connection=connection).order_by("-pk")[:1]
            )
    return outcome


# --- Targeted refresh (webhooks) ----------------------------------------------------------------


def session_refresh_from_provider(
    *,
    connection: ProviderConnection,
    external_id: str,
    hint: Mapping[str, Any] | None = None,
    delivery_id: int | None = None,
) -> SyncRun:
    """Fetch one session from the provider and upsert it; record a `webhook` SyncRun.

    Does not take the connection's lease: a refresh is one idempotent upsert of
    fresh data, and a long sync must not delay it. A concurrent sync that
    commits an older copy is corrected by the next sync, because unfinished
    sessions are re-polled. A session the provider no longer has is left as
    is (nothing is deleted); the run and the delivery say so. Re-raises
    ProviderRateLimited and ProviderUnavailable (after recording them) so the
    task can retry; any other failure is recorded and returned.
    """
    from ..models import WebhookDelivery

    run = SyncRun.objects.create(
        connection=connection,
        trigger=SyncTrigger.WEBHOOK,
        state=SyncRunState.RUNNING,
        cursor_before=connection.sync_cursor or {},
        cursor_after=connection.sync_cursor or {},
    )
    deliveries = WebhookDelivery.objects.filter(pk=delivery_id) if delivery_id else None
    try:
        adapter = adapter_for(connection)
        record = adapter.fetch_session(external_id, hint=dict(hint or {}))
        note = ""
        with transaction.atomic():
            if record is None:
                note = f"Session {external_id!r} was not found at the provider; nothing changed."
                logger.info("Refresh of %s %s: %s", connection.slug, external_id, note)
            else:
                result = session_upsert_batch(
                    connection=connection, records=[record], sync_run=run
                )
                _run_add(run, result)
                run.pages = 1
                run.save(update_fields=RUN_COUNT_FIELDS)
            if deliveries is not None:
                deliveries.update(processed_at=timezone.now(), error=note)
        return _run_finish(
            connection=connection, run=run, state=SyncRunState.SUCCEEDED, error=note
        )
    except (ProviderRateLimited, ProviderUnavailable) as exc:
        state = (
            SyncRunState.RATE_LIMITED
            if isinstance(exc, ProviderRateLimited)
            else SyncRunState.FAILED
        )
        _run_finish(connection=connection, run=run, state=state, error=_error_text(exc))
        if deliveries is not None:
            deliveries.update(error=_error_text(exc))
        raise
    except Exception as exc:
        logger.exception("Refresh of %s %s failed.", connection.slug, external_id)
        if deliveries is not None:
            deliveries.update(error=_error_text(exc))
        return _run_finish(
            connection=connection,
            run=run,
            state=SyncRunState.FAILED,
            error=_error_text(exc),
        )
