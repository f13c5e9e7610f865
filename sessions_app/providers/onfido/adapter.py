"""Onfido (Entrust IDV) Studio workflow runs.

Contract facts: `docs/providers/onfido.md` (and the official spec v3.6).
What makes Onfido awkward, and how this adapter copes:

- `GET /workflow_runs?page=N&sort=desc` is a bare array with no page size and
  no total: pages are read until one comes back empty.
- There is no "updated since" filter; `created_at_gt` takes a whole day. An
  incremental pass lists runs created since the day before the last pass
  started, minus `overlap_days` (default 1). Older runs that may still change
  (the unfinished ones Verity holds, `refresh_ids`) are then caught by listing
  the older runs in those statuses (`status=processing,...&created_at_lt=`, a
  page per 20 runs or so instead of a request per run); what that listing did
  not return (a run that has finished since, or was deleted) is re-fetched by
  id. The first pass, and `full=True`, list everything.
- A run's `updated_at` is its change marker (`source_version`): unchanged runs
  cost no further call. A changed run costs `GET /workflow_runs/{id}/tasks`,
  one `GET .../tasks/{task_id}` per task (verification results live in task
  `output`) and, once per applicant per adapter, `GET /applicants/{id}`.
- A run that answers 404/410 on refresh was deleted (rolling deletion, sandbox
  purge): it is reported in `Page.gone_ids`, not as an error; one that answers
  another client error, or garbage, is quarantined with the reason.
- A run whose tasks, a task or its applicant could not be read (a client error
  or garbage; a deleted applicant only loses its name) is returned with what
  was read, the reasons in `missing` and no change marker. Its id travels in
  the cursor (`retry_ids`) and the next pass fetches it again by id, since the
  day window would not list an older run again.
- The `region` option (eu, us, ca) must match the base URL's Onfido host
  (`region_problem`); the system check reports a mismatch at start-up.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...exceptions import (
    ProviderBadRequest,
    ProviderConfigurationError,
    ProviderNotFound,
    ProviderResponseInvalid,
)
from ...normalization import SESSION_STATUS, in_rotation
from ...sync.values import RAW_WORD_MAX, format_timestamp, parse_timestamp, text
from ..base import (
    Budget,
    DeletionAnswer,
    KnownVersions,
    Page,
    ProviderAdapter,
    SessionRecord,
    no_known_versions,
)
from ..common import (
    SOFT_ERRORS,
    identify,
    int_option,
    page_of_items,
    path_id,
    quarantine,
    read_pool_of,
)
from ..walker import ListingWalk, PhaseWalk, item_id, now_utc, resumable, retry_ids_of
from .cursor import OnfidoPass
from .http import onfido_http
from .options import region_problem
from .records import KIND, RunReader

logger = logging.getLogger(__name__)

RECORD_TYPE = "workflow_run"
# The run statuses the sync keeps re-polling (unfinished, or `review`, which a
# person may still decide), as `GET /workflow_runs?status=` takes them: every
# word of the spec's `workflow_run_status` enum. The parameter's description
# lists all but `awaiting_client_input`, which the enum (and the runs) have;
# a provider that refused it falls back to reading those runs by id.
FILTER_STATUSES = frozenset(
    (
        "processing",
        "awaiting_input",
        "awaiting_client_input",
        "approved",
        "declined",
        "review",
        "abandoned",
        "error",
    )
)
IN_ROTATION_STATUSES = tuple(
    sorted(
        word
        for word, (status, _) in SESSION_STATUS[KIND].items()
        if in_rotation(KIND, status, word) and word in FILTER_STATUSES
    )
)


class OnfidoAdapter(ProviderAdapter):
    """Workflow runs, their tasks (as checks) and applicants (as clients)."""

    kind = KIND
    http_factory = staticmethod(onfido_http)
    supports_client_deletion = True

    def delete_client(self, external_id: str) -> DeletionAnswer:
        """`DELETE /applicants/{id}` (204): Onfido deletes the applicant and
        what it holds of them (documents, photos, checks, reports, runs); a
        404/410 means it holds nothing under that id any more."""
        return self.http.delete(f"/applicants/{path_id(external_id)}")

    def configure(self, options: Mapping[str, Any]) -> None:
        problem = region_problem(self.config.base_url, options.get("region"))
        if problem is not None:
            raise ProviderConfigurationError(f"Option 'region': {problem}.")
        self.batch_size = int_option(options, "batch_size", 25, minimum=1, maximum=500)
        self.overlap_days = int_option(
            options, "overlap_days", 1, minimum=0, maximum=60
        )
        self.reader = RunReader(self.http)
        self.pool = read_pool_of(options, key=self.http.base_url)

    # The pass ---------------------------------------------------------------

    def iter_pages(
        self,
        *,
        cursor: Mapping[str, Any],
        budget: Budget,
        full: bool = False,
        refresh_ids: Sequence[str] = (),
        known_versions: KnownVersions = no_known_versions,
    ) -> Iterator[Page]:
        """Yield pages of runs: the (windowed) listing, the runs in rotation
        statuses when `refresh_ids` are left, then what is still left by id.

        Runs an earlier pass read incompletely (the cursor's `retry_ids`) are
        fetched by id like `refresh_ids` unless a listing returned them.
        Cursor: `{"v": 1, "last_pass_started_at": iso[, "retry_ids": [...]]}`
        between passes, plus `"pass"` (an `OnfidoPass`) while one is unfinished.
        """
        cursor = cursor if isinstance(cursor, Mapping) else {}
        state = resumable(OnfidoPass, cursor, full) or self._new_pass(cursor, full)
        walk = ListingWalk(
            state=state,
            budget=budget,
            fields={"last_pass_started_at": cursor.get("last_pass_started_at")},
        )
        seen: set[str] = set()
        rotating_ids = {i for i in refresh_ids if isinstance(i, str) and i}
        wanted = rotating_ids | set(state.retry_ids)
        if state.listed_refresh_ids:
            # Each call of a resumed pass brings its own refresh ids: keep only
            # the listed ones still wanted, so the cursor never outgrows them.
            state.listed_refresh_ids = sorted(
                wanted.intersection(state.listed_refresh_ids)
            )

        def listed_ids() -> set[str]:
            """The wanted ids a listing of this pass has already returned."""
            return set(state.listed_refresh_ids or [])

        def process(runs: Sequence[Any]) -> Page:
            # Remember, in the cursor, which refresh ids the listing already
            # handled, so a pass resumed over several calls never reads one
            # again by id (bounded by the refresh limit).
            listed = wanted.intersection(filter(None, map(item_id, runs)))
            if listed:
                state.listed_refresh_ids = sorted(listed | listed_ids())
            return self._page_of(runs, known_versions)

        def list_phase() -> PhaseWalk:
            finished = yield from walk.offset_listing(
                batch_size=self.batch_size,
                fetch=lambda page: (self._list_page(page, state.created_at_gt), False),
                process=process,
                seen=seen,
                record_type=RECORD_TYPE,
            )
            if finished:
                rotation = rotating_ids - seen - listed_ids()
                # Only when some run in rotation is still to be read: the
                # listing then costs a page per ~20 of them, not one per run,
                # and never more pages than the reads by id it replaces.
                state.phase = "unfinished" if rotation else "refresh"
                state.page, state.done_ids, state.prev_ids = 1, [], []
                state.unfinished_pages_max = len(rotation)
            return finished

        def fetch_unfinished(page: int) -> tuple[list[Any], bool]:
            if not rotating_ids - listed_ids():
                return [], True  # every run in rotation is read
            runs, stop = self._unfinished_page(page, state.created_at_gt)
            return runs, stop or page >= (state.unfinished_pages_max or 0)

        def process_unfinished(runs: Sequence[Any]) -> Page:
            # The runs this pass would otherwise read by id, and the others it
            # holds that the window cannot have listed (so none is read twice,
            # even over several calls): their refresh costs nothing if unchanged.
            pending = wanted - listed_ids()
            before_window = _window_start(state.created_at_gt)
            return process(
                [
                    run
                    for run in runs
                    if item_id(run) in pending or _created_before(run, before_window)
                ]
            )

        def unfinished_phase() -> PhaseWalk:
            finished = yield from walk.offset_listing(
                batch_size=self.batch_size,
                fetch=fetch_unfinished,
                process=process_unfinished,
                seen=seen,
                record_type=RECORD_TYPE,
            )
            if finished:
                state.phase, state.done_ids, state.prev_ids = "refresh", [], []
            return finished

        def refresh_phase() -> PhaseWalk:
            return walk.by_id(
                wanted - seen - listed_ids(),
                after="refresh_after",
                batch_size=self.batch_size,
                read=lambda ids: self._refresh_page(ids, known_versions),
                record_type=RECORD_TYPE,
            )

        yield from walk.run(
            [
                ("list", list_phase),
                ("unfinished", unfinished_phase),
                ("refresh", refresh_phase),
            ],
            closing=walk.closing_cursor,
        )

    def _new_pass(self, cursor: Mapping[str, Any], full: bool) -> OnfidoPass:
        started = now_utc()
        last_started = parse_timestamp(cursor.get("last_pass_started_at"))
        created_at_gt = None
        if not full and last_started is not None:
            # `created_at_gt` is a whole day: start the window a day before the
            # last pass began, minus the overlap, so no run falls between passes.
            day = last_started.astimezone(dt.UTC).date() - dt.timedelta(
                days=1 + self.overlap_days
            )
            created_at_gt = day.isoformat()
        return OnfidoPass(
            mode="full" if full or last_started is None else "incremental",
            started_at=format_timestamp(started),
            created_at_gt=created_at_gt,
            retry_ids=retry_ids_of(cursor),
        )

    def _list_page(self, page: int, created_at_gt: str | None) -> list[Any]:
        params: dict[str, Any] = {"page": page, "sort": "desc"}
        if created_at_gt:
            params["created_at_gt"] = created_at_gt
        runs = self.http.get_json("/workflow_runs", params=params)
        if not isinstance(runs, list):
            raise ProviderResponseInvalid(
                f"GET /workflow_runs page {page} is not a JSON array",
                provider=self.http.provider,
            )
        return runs

    def _unfinished_page(
        self, page: int, created_at_gt: str | None
    ) -> tuple[list[Any], bool]:
        """One page of the runs in `IN_ROTATION_STATUSES` created up to the
        window's first day (the window lists the later ones), and whether to stop.

        Its runs are read as the listing reads them (unchanged ones cost
        nothing more); the wanted ids it did not return are read by id after
        it. So the listing may end early at no risk: on a 400/422 (an API that
        refuses the filter), or after a page holding a run in another status
        (an API that ignores it, which would otherwise walk every run), the
        rest goes by id as it would without the listing.
        """
        params: dict[str, Any] = {
            "page": page,
            "sort": "desc",
            "status": ",".join(IN_ROTATION_STATUSES),
        }
        window_day = _window_day(created_at_gt)
        if window_day is not None:
            # Whole days: up to and including the window's day, so no run falls
            # between the two listings; of that day's runs, which the window
            # may have listed, only the still wanted ones are read.
            params["created_at_lt"] = (window_day + dt.timedelta(days=1)).isoformat()
        try:
            runs = self.http.get_json("/workflow_runs", params=params)
        except ProviderBadRequest as exc:
            logger.warning(
                "Onfido refused the status-filtered run listing (%s); "
                "reading unfinished runs by id.",
                exc,
            )
            return [], True
        if not isinstance(runs, list):
            raise ProviderResponseInvalid(
                f"GET /workflow_runs?status=... page {page} is not a JSON array",
                provider=self.http.provider,
            )
        others = sorted(
            {
                text(run.get("status"), limit=RAW_WORD_MAX)
                for run in runs
                if isinstance(run, dict)
            }
            - set(IN_ROTATION_STATUSES)
        )
        if others:
            logger.warning(
                "Onfido listed runs in status %s for status=%s; reading the "
                "remaining unfinished runs by id.",
                ", ".join(others),
                params["status"],
            )
        return runs, bool(others)

    def _page_of(self, runs: Sequence[Any], known_versions: KnownVersions) -> Page:
        return page_of_items(
            runs,
            record_type=RECORD_TYPE,
            known_versions=known_versions,
            version_of=self.reader.version,
            build=self.reader.record,
            pool=self.pool,
        )

    def _refresh_page(self, ids: Sequence[str], known_versions: KnownVersions) -> Page:
        """Fetch runs by id: 404/410 are gone, other client errors and garbage quarantined."""
        runs: list[Any] = []
        gone: list[str] = []
        bad: list[Any] = []
        # The runs are read concurrently, then handled in order as one by one.
        reads = self.pool.run(
            [
                lambda ident=ident: self.http.get_json(
                    f"/workflow_runs/{path_id(ident)}"
                )
                for ident in ids
            ],
            stops=lambda error: not isinstance(error, (ProviderNotFound, *SOFT_ERRORS)),
        )
        for ident, read in zip(ids, reads, strict=False):
            try:
                run = read.get()
            except ProviderNotFound:
                gone.append(ident)
                continue
            except SOFT_ERRORS as exc:
                # e.g. an id that is not a uuid any more: keep going with the others.
                bad.append(
                    quarantine(
                        RECORD_TYPE,
                        f"could not be refreshed: {exc}",
                        {"id": ident},
                        external_id=ident,
                    )
                )
                continue
            run_id, unusable = identify(run, RECORD_TYPE)
            if unusable is not None:
                unusable.reason = f"could not be refreshed: {unusable.reason}"
                unusable.external_id = ident
                bad.append(unusable)
            elif run_id != ident:
                bad.append(
                    quarantine(
                        RECORD_TYPE,
                        f"could not be refreshed: the reply is run {run_id}",
                        run,
                        external_id=ident,
                    )
                )
            else:
                runs.append(run)
        page = self._page_of(runs, known_versions)
        page.quarantined[:0] = bad
        page.gone_ids.extend(gone)
        return page

    # One run ----------------------------------------------------------------

    def fetch_session(
        self, external_id: str, *, hint: Mapping[str, Any] | None = None
    ) -> SessionRecord | None:
        """Fetch one run with its tasks and applicant; None on 404/410."""
        try:
            run = self.http.get_json(f"/workflow_runs/{path_id(external_id)}")
        except ProviderNotFound:
            return None
        ident, bad = identify(run, RECORD_TYPE)
        if bad is not None:
            raise ProviderResponseInvalid(
                f"workflow run {external_id}: {bad.reason}", provider=self.http.provider
            )
        try:
            return self.reader.record(ident, run)
        except ProviderNotFound:
            return None


def _window_day(created_at_gt: str | None) -> dt.date | None:
    """The window's day `created_at_gt` (None: no window, or not a date)."""
    try:
        return dt.date.fromisoformat(created_at_gt) if created_at_gt else None
    except ValueError:
        return None


def _window_start(created_at_gt: str | None) -> dt.datetime | None:
    """Midnight UTC starting the window's day (None: no window)."""
    day = _window_day(created_at_gt)
    return None if day is None else dt.datetime(*day.timetuple()[:3], tzinfo=dt.UTC)


def _created_before(run: Any, moment: dt.datetime | None) -> bool:
    """Whether the run was created before `moment` (False when unknown)."""
    if moment is None or not isinstance(run, dict):
        return False
    created = parse_timestamp(run.get("created_at"))
    return created is not None and created < moment


ADAPTER = OnfidoAdapter
