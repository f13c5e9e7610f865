"""Fresh children: re-reading the checks of sessions that hold still.

Each adapter decides "unchanged" from the session alone: ComplyCube's
`updatedAt`, an Onfido run's `updated_at`, a hash of ICA's search item. None
of them moves when a check progresses (a ComplyCube check completes, an
Onfido report task starts or completes, an ICA analysis goes from REQUESTED
to IN_PROGRESS), so without this a session in flight would show the checks
it had when it last changed.

Contract (the engine calls this module; `schedule` chooses):

- `WorkflowSession.detail_read_at` is when a session was last read in full,
  checks included (set by `upsert`, by a pass or a webhook refresh; never by
  a listing that found it unchanged).
- Each run chooses up to VERITY_SYNC_CHILDREN_LIMIT sessions in rotation
  (`schedule.in_rotation_q`: never a final one) not read in full since the
  pass it continues began nor within one sync interval
  (`children_read_before`), least recently read first, never read first
  (`schedule.children_due`). The adapter gets them as unknown
  (`known_versions_for(..., not_known=...)`) and among its refresh ids, so a
  listing that returns them reads them in full at no extra listing cost: ICA
  lists every session each pass, Onfido lists its rotation by status.
- When the pass is done and budget is left, `children_reread` fetches by id
  (`adapter.fetch_session`, with the adapter's `refresh_hint` from the stored
  payload, e.g. ICA's project and userReference; as many at once as the
  connection's read pool allows) those the pass did not read
  and that are still in rotation and unread (`schedule.children_unread`):
  what ComplyCube's `updatedAfter` and Onfido's day window never list.
  Pages are committed like adapter pages (`runs.sync_page_commit`, the lease
  renewed), with the cursor the pass ended on, so the stored cursor never
  changes here.
- Resumable and idempotent: a read session's `detail_read_at` moves it to
  the back; what the budget or a failure leaves is still the least recently
  read, so the next run takes it first. Nothing is read twice in one pass
  (the pass's own reads are skipped, by id and by `detail_read_at`).
- Cost: one session read in full each (ComplyCube: the session and each
  check; Onfido: the run, its task list and each task; ICA: one narrowed
  search when fetched by id, plus the analyses). Measured per pass in
  docs/PERFORMANCE.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..models import ProviderConnection, SyncRun
from ..providers.base import Budget, Page, ProviderAdapter
from ..providers.common import builds_or_quarantine
from ..providers.concurrency import ReadPool
from ..providers.walker import pass_in_progress
from .runs import OnPage, batches_committed
from .schedule import children_unread
from .values import chunks, parse_timestamp

# Sessions per page of the re-read (what the adapters read by id per page).
CHILDREN_PAGE_SIZE = 25


def pass_started_at(
    cursor: Mapping[str, Any] | None, *, full: bool, now: dt.datetime
) -> dt.datetime:
    """When the pass a run continues began (the walker's `pass.started_at`);
    `now` when the run starts a new pass."""
    current = pass_in_progress(cursor or {}, full)
    started = parse_timestamp(current.get("started_at")) if current else None
    return min(started, now) if started is not None else now


def children_read_before(
    pass_started: dt.datetime, *, now: dt.datetime, interval_seconds: int
) -> dt.datetime:
    """Sessions read in full since this moment are not due: the pass's start,
    or one sync interval ago if that is earlier.

    A session read during pass N is then due again at pass N + 2 at the
    latest (N + 1 when N + 1 starts more than an interval after the read), so
    a check that moves under a still session is shown within two incremental
    passes, whatever the interval, while a short interval (the demo's 30 s)
    does not re-read every in-flight session on every pass, and a re-sync
    right after a sync re-reads nothing.
    """
    return min(pass_started, now - dt.timedelta(seconds=max(interval_seconds, 0)))


def pages_read_ids(page: Page) -> set[str]:
    """The sessions a page read: in full or not, gone, or quarantined by id."""
    return {
        *(record.external_id for record in page.sessions),
        *page.gone_ids,
        *(bad.external_id for bad in page.quarantined if bad.external_id),
    }


def children_reread(
    *,
    connection: ProviderConnection,
    run: SyncRun,
    adapter: ProviderAdapter,
    external_ids: Sequence[str],
    read_before: dt.datetime,
    budget: Budget,
    token: str,
    on_page: OnPage | None = None,
) -> None:
    """Read in full by id those of `external_ids` still in rotation and not
    read since `read_before`, in that order, within `budget`; commit them with
    the connection's current cursor. Raises what the adapter raises besides a
    404 (gone) or an unusable answer (quarantined), after committing the
    pages read before it."""
    targets = children_unread(
        connection=connection, external_ids=external_ids, read_before=read_before
    )
    if not targets:
        return
    pages = _pages_by_id(
        adapter,
        targets,
        budget=budget,
        pages_before=run.pages,
        cursor=dict(connection.sync_cursor or {}),
    )
    for batch in batches_committed(
        connection=connection, run=run, pages=pages, token=token, on_page=on_page
    ):
        if batch.error is not None:
            raise batch.error


def _pages_by_id(
    adapter: ProviderAdapter,
    targets: Sequence[tuple[str, dict[str, Any]]],
    *,
    budget: Budget,
    pages_before: int,
    cursor: dict[str, Any],
) -> Iterator[Page]:
    """Pages of sessions fetched by id, CHILDREN_PAGE_SIZE each, until the
    budget is spent (checked before every round of reads).

    A round is as many reads as the connection's read pool runs at once (its
    `concurrency`), so the re-read goes at the connection's pace, not one
    request at a time; each read is handled as a listed session's detail is
    (`build_or_quarantine`: 404 gone, garbage quarantined, an outage or a
    429 raised).
    """
    pool = getattr(adapter, "pool", None) or ReadPool()
    pages = pages_before
    for chunk in chunks(targets, CHILDREN_PAGE_SIZE):
        page = Page(cursor=cursor)
        for lanes in chunks(chunk, pool.size):
            if budget.exhausted(pages):
                break
            builds_or_quarantine(
                page,
                record_type="session",
                builds=[
                    (
                        ident,
                        {"id": ident},
                        lambda ident=ident, stored=stored: adapter.fetch_session(
                            ident, hint=adapter.refresh_hint(stored or {})
                        ),
                    )
                    for ident, stored in lanes
                ],
                pool=pool,
            )
        if page.sessions or page.gone_ids or page.quarantined:
            yield page
            pages += 1
        if budget.exhausted(pages):
            return
