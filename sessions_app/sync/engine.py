"""The sync engine: provider pages → normalised records → batched upserts → SyncRun.

Where things are (imports run one way: engine → children → runs → upsert →
schedule → values; `lease` is used by runs and the engine):

- `engine` (here): the passes. `provider_sync` runs one bounded sync of one
  connection, `provider_sync_pass` repeats it to the end of the pass
  (foreground use), `providers_sync_all` does that for every connection (what
  `manage.py sync_providers` runs). See also docs/operations.md.
- `refresh`: a webhook's targeted refresh (`session_refresh_from_provider`).
- `runs`: SyncRun start, page commit (rows + cursor + lease renewal in one
  transaction), finish, skipped; batching adapter pages into commits.
- `upsert` and `related`: the write service (`session_upsert_batch`).
- `children`: the children re-read after a pass (fresh checks under still sessions).
- `schedule`: what is due, full passes, the re-poll and children rotations,
  known versions.
- `lease`: the per-connection lease and its keeper thread.
- `planner_statistics`: PostgreSQL's statistics of the sessions table,
  refreshed after a run that created sessions of a connection new to them.
- `stopping`: the process's stop request and the signals that set it.
- `values`: value cleaning and the column caps (also used by the adapters).

Contract of the passes:

- One sync of one connection at a time. `provider_sync` first takes the
  connection's lease, renews it with every committed page and from a keeper
  thread while it runs (a short TTL: a killed holder blocks its connection
  for at most VERITY_SYNC_LEASE_SECONDS), and releases it in `finally`, only
  if still its own. A run that cannot take the lease is recorded as a
  `skipped` SyncRun and does nothing; one that takes an expired lease first
  marks the dead holder's run `interrupted`.
- Stopping: the run's Budget also answers "exhausted" once a stop is
  requested (`stopping.PROCESS_STOP`, set by SIGTERM/SIGINT) or the keeper
  found the lease gone, so the adapter ends its current page; the pages read
  are committed with their cursor and the run ends `interrupted` (or fails
  with LeaseLost). An exception that is not an Exception (a second signal's
  SystemExit or KeyboardInterrupt) rolls back the open page, marks the run
  interrupted and is raised on.
- A failure mid-run keeps the pages already committed (`runs`); the run ends
  `failed` with the error on it, and the next run resumes from the last
  committed cursor. A 429 ends the run `rate_limited` and is raised to the
  caller as SyncRateLimited, which carries the run and the provider's
  Retry-After (the Celery task reschedules, a foreground pass waits).
- A full pass (`full=True`) ignores every stored change marker.
- Fresh children (`children`): each run also re-reads in full, checks
  included, up to VERITY_SYNC_CHILDREN_LIMIT sessions in rotation, least
  recently read in full first. The adapter gets them as unknown (and as
  refresh ids), so a listing that returns them reads them in full; once the
  pass is done, those it did not read are fetched by id with what is left of
  the budget.
- A webhook's targeted refresh does not take the lease: it is one idempotent
  upsert recorded as a `webhook` SyncRun, and a long sync must not delay it.
  A page fetched just before it can commit an older copy over the refreshed
  one; that heals by itself, because the older copy is unfinished and the
  next run re-polls it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.utils import timezone

from ..exceptions import ProviderRateLimited
from ..models import (
    ProviderConnection,
    SyncRun,
    SyncRunState,
    SyncTrigger,
)
from ..providers import adapter_for
from ..providers.base import Budget, no_known_versions
from .children import (
    children_read_before,
    children_reread,
    pages_read_ids,
    pass_started_at,
)
from .collector import collection_paused
from .lease import (
    LeaseLost,
    connection_lease_acquire,
    connection_lease_release,
    lease_hold_limit,
    lease_kept,
)
from .planner_statistics import new_connection_statistics_refresh
from .runs import (
    OnPage,
    batches_committed,
    failure_log,
    sync_run_fail,
    sync_run_finish,
    sync_run_interrupted,
    sync_run_skipped,
    sync_run_start,
    sync_runs_interrupted_mark,
)
from .schedule import children_due, known_versions_for, refresh_ids
from .stopping import PROCESS_STOP, StoppableBudget, StopRequest
from .upsert import BatchResult

logger = logging.getLogger(__name__)


class SyncRateLimited(ProviderRateLimited):
    """A sync run ended `rate_limited`: the provider's 429 and the run it ended.

    Is a ProviderRateLimited (same message, `retry_after`, provider, status),
    so callers that only reschedule need nothing else; `run` is the finished
    SyncRun, for callers that report runs (`provider_sync_pass`).
    """

    def __init__(self, cause: ProviderRateLimited, *, run: SyncRun) -> None:
        super().__init__(
            cause.message,
            retry_after=cause.retry_after,
            provider=cause.provider,
            status=cause.status,
            error_type=cause.error_type,
            extra=cause.extra,
        )
        self.run = run


def provider_sync(
    *,
    connection: ProviderConnection,
    trigger: str = SyncTrigger.SCHEDULE,
    full: bool = False,
    budget: Budget | None = None,
    on_page: OnPage | None = None,
    stop: StopRequest = PROCESS_STOP,
) -> SyncRun:
    """Sync one connection within `budget`; return the finished SyncRun.

    Takes the connection's lease (a held lease → a `skipped` run, nothing else
    happens), reads pages from the adapter and commits each one with its
    cursor. States: `succeeded` (the pass reached its end), `partial` (the
    budget ran out; call again to continue from the cursor), `failed` (any
    error: earlier pages stay committed; the error text is on the run),
    `rate_limited` (raises SyncRateLimited, a ProviderRateLimited carrying
    the run, for the caller to reschedule after `retry_after`),
    `interrupted` (`stop` was requested: the pages read are committed, call
    again to continue from the cursor).
    """
    token = connection_lease_acquire(connection_id=connection.pk)
    if token is None:
        logger.info("Sync of %s skipped: another run holds the lease.", connection.slug)
        return sync_run_skipped(connection=connection, trigger=trigger)
    budget = budget or Budget(
        max_pages=settings.VERITY_SYNC_MAX_PAGES,
        max_seconds=settings.VERITY_SYNC_MAX_SECONDS,
    )
    try:
        with lease_kept(
            connection_id=connection.pk,
            token=token,
            hold_limit=lease_hold_limit(budget_seconds=budget.max_seconds),
        ) as keeper:
            run = _provider_sync_leased(
                connection=connection,
                trigger=trigger,
                full=full,
                budget=StoppableBudget.around(
                    budget,
                    should_stop=lambda: stop.requested or keeper.lost.is_set(),
                ),
                token=token,
                on_page=on_page,
                stop=stop,
            )
    finally:
        connection_lease_release(connection_id=connection.pk, token=token)
    if run.created:
        # A connection new to PostgreSQL's statistics is estimated at one row
        # until the table is analysed (autovacuum waits for a tenth of it to
        # change): the next run's look-ups need its real size.
        new_connection_statistics_refresh(connection)
    return run


def _provider_sync_leased(
    *,
    connection: ProviderConnection,
    trigger: str,
    full: bool,
    budget: StoppableBudget,
    token: str,
    on_page: OnPage | None,
    stop: StopRequest,
) -> SyncRun:
    connection.refresh_from_db()  # the cursor as the previous holder committed it
    now = timezone.now()
    dead = sync_runs_interrupted_mark(connection=connection, now=now)
    if dead:
        logger.warning(
            "Sync of %s: %d earlier run(s) died without finishing; resuming from "
            "the last committed page.",
            connection.slug,
            dead,
        )
    run = sync_run_start(connection=connection, trigger=trigger)
    ProviderConnection.objects.filter(pk=connection.pk).update(last_sync_started_at=now)
    connection.last_sync_started_at = now
    done = False
    # Sessions read in full since the pass began are not due again in it, nor
    # within one sync interval: each in-flight session is re-read at most
    # every other pass, not on every pass of a short interval.
    children_read_since = children_read_before(
        pass_started_at(connection.sync_cursor, full=full, now=now),
        now=now,
        interval_seconds=connection.sync_interval_seconds,
    )
    read: set[str] = set()
    try:
        # Collected once per committed batch, not every 700 allocations.
        with collection_paused():
            adapter = adapter_for(connection)
            children = children_due(
                connection=connection, read_before=children_read_since
            )
            pages = adapter.iter_pages(
                cursor=dict(connection.sync_cursor or {}),
                budget=budget,
                full=full,
                refresh_ids=list(dict.fromkeys([*refresh_ids(connection), *children])),
                # A full pass re-reads every session, whatever change marker it has;
                # sessions whose children are due are read in full whatever theirs.
                known_versions=no_known_versions
                if full
                else known_versions_for(connection, not_known=children),
            )
            for batch in batches_committed(
                connection=connection,
                run=run,
                pages=pages,
                token=token,
                on_page=on_page,
            ):
                read |= pages_read_ids(batch.page)
                if batch.error is not None:
                    raise batch.error
                if batch.page.done:
                    done = True
                    break
                if budget.exhausted(run.pages):
                    break  # the adapter should have stopped; the cursor is safe either way
            if not done and budget.should_stop():
                if not stop.requested:
                    raise LeaseLost(
                        f"The sync lease of {connection.slug!r} was released or taken "
                        "by another run; this run stopped after its last committed page."
                    )
                logger.warning(
                    "Sync of %s %s after %d page(s); the next run resumes from there.",
                    connection.slug,
                    stop.reason or "stopped",
                    run.pages,
                )
                return sync_run_interrupted(
                    connection=connection, run=run, reason=stop.reason or "stopped"
                )
            if done and not budget.exhausted(run.pages):
                children_reread(
                    connection=connection,
                    run=run,
                    adapter=adapter,
                    external_ids=[i for i in children if i not in read],
                    read_before=children_read_since,
                    budget=budget,
                    token=token,
                    on_page=on_page,
                )
    except ProviderRateLimited as exc:
        sync_run_fail(connection=connection, run=run, exc=exc)
        raise SyncRateLimited(exc, run=run) from exc
    except Exception as exc:
        failure_log(
            logger,
            exc,
            "Sync of %s failed after %d page(s)",
            connection.slug,
            run.pages,
        )
        return sync_run_fail(connection=connection, run=run, exc=exc)
    except BaseException:
        # A second signal (SystemExit, KeyboardInterrupt): the open page was
        # rolled back; say so on the run, then stop as asked.
        _interrupted_record(connection=connection, run=run, reason=stop.reason)
        raise
    state = SyncRunState.SUCCEEDED if done else SyncRunState.PARTIAL
    return sync_run_finish(connection=connection, run=run, state=state)


def _interrupted_record(
    *, connection: ProviderConnection, run: SyncRun, reason: str
) -> None:
    """Best effort on the way out: the database may be what failed."""
    try:
        sync_run_interrupted(
            connection=connection, run=run, reason=reason or "stopped at once"
        )
    except Exception:
        logger.exception("Could not mark sync run %s interrupted.", run.pk)


def provider_sync_pass(
    *,
    connection: ProviderConnection,
    trigger: str = SyncTrigger.MANUAL,
    full: bool = False,
    on_page: OnPage | None = None,
    max_runs: int = 10_000,
    max_rate_limit_waits: int = 3,
    max_wait_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    stop: StopRequest = PROCESS_STOP,
) -> list[SyncRun]:
    """Run syncs of one connection until its pass is done (foreground use).

    Continues while runs end `partial`; waits out short rate limits a few times.
    Stops at the first run that is not partial, or one that made no progress,
    or once a stop is requested.
    """
    runs: list[SyncRun] = []
    waits = 0
    while len(runs) < max_runs and not stop.requested:
        try:
            run = provider_sync(
                connection=connection,
                trigger=trigger,
                full=full,
                on_page=on_page,
                stop=stop,
            )
        except SyncRateLimited as exc:
            runs.append(exc.run)
            if (
                waits >= max_rate_limit_waits
                or exc.retry_after > max_wait_seconds
                or stop.requested
            ):
                break
            waits += 1
            sleep(max(exc.retry_after, 0.0))
            continue
        runs.append(run)
        if run.state != SyncRunState.PARTIAL or run.pages == 0:
            break
    return runs


@dataclasses.dataclass
class ConnectionPass:
    """One connection's pass as `providers_sync_all` ran it."""

    connection: ProviderConnection
    # The runs of the pass; if it crashed, the runs that committed a page before.
    runs: list[SyncRun]
    seconds: float
    # An error the engine's own handling let escape (a bug, the database gone).
    crash: Exception | None = None


class PassObserver:
    """What `providers_sync_all` reports as it goes; override what you show.

    `pass_started` and `pass_finished` bracket each connection's pass;
    `page_committed` follows every committed batch of pages;
    `pass_abandoned` replaces `pass_finished` when the process is being
    stopped (Ctrl-C, SystemExit) in the middle of a pass.
    """

    def pass_started(self, connection: ProviderConnection) -> None:
        pass

    def page_committed(
        self, connection: ProviderConnection, run: SyncRun, result: BatchResult
    ) -> None:
        pass

    def pass_finished(self, outcome: ConnectionPass) -> None:
        pass

    def pass_abandoned(self, connection: ProviderConnection) -> None:
        pass


def providers_sync_all(
    *,
    trigger: str = SyncTrigger.MANUAL,
    full: bool = False,
    slugs: Sequence[str] = (),
    observer: PassObserver | None = None,
    stop: StopRequest = PROCESS_STOP,
) -> dict[str, ConnectionPass]:
    """Sync every enabled connection (or the named ones, even if disabled) to
    the end of its pass; return each connection's pass by slug.

    One provider failing never stops the others: each failure is recorded on
    its own SyncRun, and an error escaping a pass is logged and kept on its
    ConnectionPass (`crash`). A stop request ends the current pass after its
    page (its run `interrupted`) and starts no other: the connections not
    reached are missing from the result.
    """
    observer = observer or PassObserver()
    connections = ProviderConnection.objects.all()
    connections = (
        connections.filter(slug__in=slugs)
        if slugs
        else connections.filter(enabled=True)
    )
    outcome: dict[str, ConnectionPass] = {}
    for connection in connections:
        if stop.requested:
            break
        started = time.monotonic()
        committed: list[SyncRun] = []

        def on_page(
            run: SyncRun,
            result: BatchResult,
            connection: ProviderConnection = connection,
            committed: list[SyncRun] = committed,
        ) -> None:
            if not committed or committed[-1].pk != run.pk:
                committed.append(run)
            observer.page_committed(connection, run, result)

        runs: list[SyncRun] = committed
        crash: Exception | None = None
        try:
            # The observer's start is inside the try too: a progress display
            # that cannot start fails this provider only, like any other error.
            observer.pass_started(connection)
            runs = provider_sync_pass(
                connection=connection,
                trigger=trigger,
                full=full,
                on_page=on_page,
                stop=stop,
            )
        except Exception as exc:  # a bug must not stop the other providers either
            logger.exception("Sync of %s crashed.", connection.slug)
            runs, crash = committed, exc
        except BaseException:  # Ctrl-C, SystemExit: stop, but close what was opened
            observer.pass_abandoned(connection)
            raise
        outcome[connection.slug] = ConnectionPass(
            connection=connection,
            runs=runs,
            seconds=time.monotonic() - started,
            crash=crash,
        )
        observer.pass_finished(outcome[connection.slug])
    return outcome


# --- Targeted refresh (webhooks) ------------------------------------------------------
