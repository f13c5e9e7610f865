"""SyncRun bookkeeping: start a run, commit its pages, finish it.

Contract:

- Every sync, scheduled, manual, full or a webhook's refresh, is one SyncRun,
  started by `sync_run_start` and closed by `sync_run_finish`, which stamps
  the connection (not for webhook refreshes or skipped runs) and writes the
  run's ONE AuditEvent (source "sync"), never one per row.
- A sync that cannot take the lease is recorded as a `skipped` run that did
  nothing (`sync_run_skipped`).
- Each batch of pages is committed in ONE transaction together with the cursor
  that resumes after it (`sync_page_commit`), so the stored cursor only ever
  points past rows that are really in the database. A failure mid-run keeps
  the pages already committed; the next run resumes from the last committed
  cursor and the upserts (keyed on the database's unique constraints) absorb
  any overlap: nothing is lost, nothing is duplicated. The cursor write is
  also the lease renewal: a run that lost its lease rolls its page back.
- Adapter pages are coalesced until they hold VERITY_SYNC_BATCH_SIZE sessions
  (or VERITY_SYNC_COMMIT_SECONDS have passed) and committed as one batch with
  the last page's cursor (`pages_coalesced`): a provider page of 5 to 25
  sessions would otherwise cost a transaction, a lease renewal and a dozen
  statements each. When the adapter fails, the pages already read are
  committed before the error is handled, so no fetched work is thrown away.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..exceptions import (
    ApplicationError,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConfigurationError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from ..models import ProviderConnection, SyncRun, SyncRunState, SyncTrigger
from ..models.connections import SyncErrorKind
from ..providers.base import Page
from ..services import audit_event_record
from .collector import after_batch
from .lease import (
    LeaseLost,
    connection_lease_expires_at,
    connection_lease_renew,
    lease_hold_limit,
)
from .upsert import BatchResult, session_upsert_batch
from .values import ERROR_MAX_CHARS, json_clean, json_dumps_shared, text

logger = logging.getLogger(__name__)

RUN_COUNT_FIELDS = [
    "seen",
    "created",
    "updated",
    "unchanged",
    "quarantined",
    "pages",
    "unknown_values",
]


# --- Batching adapter pages into commits ------------------------------------------


@dataclasses.dataclass
class PageBatch:
    """Consecutive adapter pages merged into one commit (see `pages_coalesced`)."""

    page: Page
    # How many adapter pages were merged (what SyncRun.pages counts).
    pages: int
    # The adapter's failure right after these pages: raise it once they are in.
    error: Exception | None = None


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


# --- Runs -----------------------------------------------------------------------------


def error_text(exc: BaseException) -> str:
    """A readable one-line error: Verity's own errors as they are, others with their type."""
    if isinstance(exc, ApplicationError):
        message = str(exc) or type(exc).__name__
    else:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text(message, ERROR_MAX_CHARS)


# Network failures as `requests`/urllib3 word them (ProviderUnavailable
# without a status carries that text), most specific first.
_NETWORK_KINDS: tuple[tuple[SyncErrorKind, tuple[str, ...]], ...] = (
    (SyncErrorKind.REFUSED, ("connection refused", "errno 111", "econnrefused")),
    (
        SyncErrorKind.DNS,
        (
            "nameresolutionerror",
            "name or service not known",
            "nodename nor servname",
            "temporary failure in name resolution",
            "getaddrinfo failed",
            "no address associated",
        ),
    ),
    (SyncErrorKind.TLS, ("sslerror", "certificate verify failed", "ssl:")),
    (SyncErrorKind.TIMEOUT, ("timeout", "timed out")),
    (
        SyncErrorKind.DROPPED,
        (
            "connection reset",
            "connection aborted",
            "remotedisconnected",
            "chunkedencodingerror",
            "contentdecodingerror",
            "broken pipe",
        ),
    ),
)


def error_kind_of(exc: BaseException) -> str:
    """Return the SyncErrorKind of the exception that ended a run."""
    if isinstance(exc, ProviderRateLimited):
        quota = exc.extra.get("quota")
        return SyncErrorKind.QUOTA if quota else SyncErrorKind.RATE_LIMITED
    if isinstance(exc, ProviderUnavailable):
        if exc.status is not None:
            return SyncErrorKind.SERVER_ERROR
        # The HTTP client names the failure from the exception itself
        # (`providers.transport.transport_failure`); the text is the fallback.
        transport = (exc.extra or {}).get("transport")
        if transport in SyncErrorKind.__members__.values():
            return SyncErrorKind(transport)
        words = str(exc).lower()
        for kind, needles in _NETWORK_KINDS:
            if any(needle in words for needle in needles):
                return kind
        return SyncErrorKind.UNREACHABLE
    for cls, kind in (
        (ProviderAuthError, SyncErrorKind.AUTH),
        (ProviderNotFound, SyncErrorKind.NOT_FOUND),
        (ProviderBadRequest, SyncErrorKind.BAD_REQUEST),
        (ProviderResponseInvalid, SyncErrorKind.INVALID_RESPONSE),
        (ProviderError, SyncErrorKind.PROVIDER),
        (ProviderConfigurationError, SyncErrorKind.CONFIGURATION),
        (LeaseLost, SyncErrorKind.LEASE_LOST),
    ):
        if isinstance(exc, cls):
            return kind
    return SyncErrorKind.INTERNAL


def error_is_ordinary(exc: BaseException) -> bool:
    """True for failures of the world, not of Verity: the provider answered an
    error or could not be reached, the connection is misconfigured, the lease
    ran out. These are logged as one line; anything else is a bug and keeps
    its traceback."""
    return isinstance(exc, (ProviderError, ProviderConfigurationError, LeaseLost))


def sync_run_start(
    *,
    connection: ProviderConnection,
    trigger: str,
    state: str = SyncRunState.RUNNING,
) -> SyncRun:
    """Create the connection's SyncRun, starting from its stored cursor."""
    return SyncRun.objects.create(
        connection=connection,
        trigger=trigger,
        state=state,
        cursor_before=connection.sync_cursor or {},
        cursor_after=connection.sync_cursor or {},
    )


def sync_runs_interrupted_mark(
    *, connection: ProviderConnection, now: dt.datetime
) -> int:
    """Mark the connection's runs that died while running as `interrupted`;
    return how many.

    Call while holding the lease: holding it proves no other scheduled or
    manual run is alive (a live one keeps its lease renewed), so runs still
    marked running died (SIGKILL, a lost machine) and their lease expired.
    They keep their counts; the pages they committed stay, and this run
    resumes from their cursor. Webhook refreshes run without the lease; one
    older than the longest a task may live died too.
    """
    stale = dt.timedelta(seconds=lease_hold_limit())
    return (
        SyncRun.objects.filter(connection=connection, state=SyncRunState.RUNNING)
        .filter(~Q(trigger=SyncTrigger.WEBHOOK) | Q(started_at__lt=now - stale))
        .update(
            state=SyncRunState.INTERRUPTED,
            finished_at=now,
            error=(
                "Interrupted: the process running this sync stopped before it "
                "finished (its lease expired); the next run resumed from its "
                "last committed page."
            ),
            error_kind=SyncErrorKind.INTERRUPTED,
        )
    )


def sync_run_interrupted(
    *, connection: ProviderConnection, run: SyncRun, reason: str
) -> SyncRun:
    """Close a run that was asked to stop (a signal, a shutdown): `interrupted`,
    its counts and committed pages kept; the next run resumes from its cursor."""
    return sync_run_finish(
        connection=connection,
        run=run,
        state=SyncRunState.INTERRUPTED,
        error=f"Interrupted ({reason}) after {run.pages} page(s); "
        "the next run resumes from the last committed page.",
        error_kind=SyncErrorKind.INTERRUPTED,
    )


def sync_run_add(*, run: SyncRun, result: BatchResult) -> None:
    """Add one batch's counts to the run (in memory; the caller saves it)."""
    run.seen += result.seen
    run.created += result.created
    run.updated += result.updated
    run.unchanged += result.unchanged
    run.quarantined += result.quarantined
    if result.unknown_values:
        merged = Counter(run.unknown_values or {})
        merged.update(result.unknown_values)
        run.unknown_values = dict(merged)


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
    with transaction.atomic(durable=True), json_dumps_shared():
        result = session_upsert_batch(
            connection=connection,
            records=page.sessions,
            unchanged_ids=page.unchanged_ids,
            gone_ids=getattr(page, "gone_ids", ()),
            quarantined=page.quarantined,
            sync_run=run,
            now=now,
        )
        cursor = json_clean(dict(page.cursor or {}))
        renewed = connection_lease_renew(
            connection_id=connection.pk, token=token, now=now, sync_cursor=cursor
        )
        if not renewed:
            raise LeaseLost(
                f"The sync lease of {connection.slug!r} is no longer this run's (it "
                "expired and another run took it, or an admin released it); this "
                "page was rolled back."
            )
        sync_run_add(run=run, result=result)
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


# Called after every committed batch of pages with the run and what it did.
OnPage = Callable[[SyncRun, BatchResult], None]


def batches_committed(
    *,
    connection: ProviderConnection,
    run: SyncRun,
    pages: Iterable[Page],
    token: str,
    on_page: OnPage | None = None,
) -> Iterator[PageBatch]:
    """Merge `pages` into batches (`pages_coalesced`), commit each with its
    cursor (`sync_page_commit`), report it to `on_page`, then yield it.

    A batch that ended on an adapter error is committed like the others and
    yielded with its `error`: the caller decides what to record before
    raising it.
    """
    for batch in pages_coalesced(
        pages,
        min_sessions=settings.VERITY_SYNC_BATCH_SIZE,
        max_seconds=settings.VERITY_SYNC_COMMIT_SECONDS,
    ):
        result = sync_page_commit(
            connection=connection,
            run=run,
            page=batch.page,
            token=token,
            pages=batch.pages,
        )
        after_batch()
        if on_page is not None:
            on_page(run, result)
        yield batch


def sync_run_finish(
    *,
    connection: ProviderConnection,
    run: SyncRun,
    state: str,
    error: str = "",
    error_kind: str = "",
) -> SyncRun:
    """Close a run, stamp the connection and write the run's one audit event.

    `error_kind` (a SyncErrorKind, from `error_kind_of`) is what the sync page
    turns into words; leave it blank for runs that did not fail.
    """
    now = timezone.now()
    with transaction.atomic():
        run.state = state
        run.error = error
        run.error_kind = error_kind
        run.finished_at = now
        run.save(update_fields=["state", "error", "error_kind", "finished_at"])
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
                "error_kind": error_kind,
            },
        )
    return run


def sync_run_fail(
    *, connection: ProviderConnection, run: SyncRun, exc: BaseException
) -> SyncRun:
    """Close a run that `exc` ended: `rate_limited` for a provider's 429, else
    `failed`, with the error's text and kind (what the sync page says)."""
    return sync_run_finish(
        connection=connection,
        run=run,
        state=SyncRunState.RATE_LIMITED
        if isinstance(exc, ProviderRateLimited)
        else SyncRunState.FAILED,
        error=error_text(exc),
        error_kind=error_kind_of(exc),
    )


def sync_run_skipped(*, connection: ProviderConnection, trigger: str) -> SyncRun:
    """Record that a sync did not run because another holds the lease."""
    holder_until = connection_lease_expires_at(connection_id=connection.pk)
    run = sync_run_start(
        connection=connection, trigger=trigger, state=SyncRunState.SKIPPED
    )
    until = (
        f" (lease held until {holder_until:%Y-%m-%d %H:%M:%S} UTC)"
        if holder_until
        else ""
    )
    return sync_run_finish(
        connection=connection,
        run=run,
        state=SyncRunState.SKIPPED,
        error=f"Another sync of {connection.slug!r} is running{until}.",
    )


def failure_log(
    log: logging.Logger, exc: Exception, message: str, *args: object
) -> None:
    """Log a failed run: one warning line for an ordinary failure (a 401, a
    refused connection: the run records it, a traceback says nothing more),
    the traceback for anything else (a bug)."""
    if error_is_ordinary(exc):
        log.warning(message + ": %s", *args, error_text(exc))
    else:
        log.exception(message + ".", *args)
