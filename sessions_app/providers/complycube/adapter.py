"""ComplyCube workflow sessions.

Contract facts: `docs/providers/complycube.md` (ComplyCube publishes no
OpenAPI spec). How this adapter reads it:

- `GET /workflowSessions?page=N&pageSize=P&updatedAfter=T` returns
  `{page, pageSize, totalItems, pages, items}`, newest first; the walk stops at
  `page >= pages` (or `pages == 0`). Items are summaries.
- Change detection is `updatedAt`: an incremental pass asks for sessions
  updated after the high-water mark minus `lookback_minutes` (default 10), and
  a listed session whose `updatedAt` equals what Verity holds costs nothing
  more. A changed one costs `GET /workflowSessions/{id}` (checks, tasks,
  policies), `GET /checks/{checkId}` per related check and, once per client
  per adapter, `GET /clients/{clientId}` (its `externalId` joins clients
  across providers).
- The high-water mark becomes the newest `updatedAt` seen, but never later
  than the moment the pass started: a session created or updated while the
  pass walked the (offset-paged, shifting) list may have been missed, and its
  `updatedAt` is after that moment, so the next pass still asks for it.
- `policyAssurance`, `compliancePolicies` and `tasks` have undocumented shapes:
  they are kept raw and mapped to PolicyRecords tolerantly.
- A 429 is either the rate limit (`type: rate_limit_exceeded`) or the monthly
  service quota; the quota gets no inline retry and a long `retry_after`.
- A session whose related check or client could not be read (a client error or
  garbage; a deleted client only loses its name) is returned with what was
  read, the reasons in `missing` and no change marker; one whose own detail
  could not be read is quarantined. Either way its id travels in the cursor
  (`retry_ids`) and the next pass fetches it again by id after the listing:
  `updatedAfter` would not list it again unless it changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...exceptions import ProviderNotFound, ProviderResponseInvalid
from ...sync.values import format_timestamp, parse_timestamp
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
    builds_or_quarantine,
    int_option,
    page_of_items,
    path_id,
    read_pool_of,
)
from ..walker import ListingWalk, PhaseWalk, item_id, now_utc, resumable, retry_ids_of
from .cursor import ComplyCubePass
from .http import complycube_http
from .records import KIND, SessionReader

RECORD_TYPE = "workflow_session"


class ComplyCubeAdapter(ProviderAdapter):
    """Workflow sessions, their related checks, policies and clients."""

    kind = KIND
    http_factory = staticmethod(complycube_http)
    supports_client_deletion = True

    def delete_client(self, external_id: str) -> DeletionAnswer:
        """`DELETE /clients/{id}` (204): ComplyCube deletes the client with its
        documents, checks and sessions; a 404/410 means it holds nothing under
        that id any more."""
        return self.http.delete(f"/clients/{path_id(external_id)}")

    def configure(self, options: Mapping[str, Any]) -> None:
        self.page_size = int_option(options, "page_size", 100, minimum=1, maximum=1000)
        self.batch_size = int_option(options, "batch_size", 25, minimum=1, maximum=1000)
        self.lookback = dt.timedelta(
            minutes=int_option(
                options, "lookback_minutes", 10, minimum=0, maximum=7 * 24 * 60
            )
        )
        self.reader = SessionReader(self.http)
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
        """Yield pages of sessions updated since the high-water mark (all if `full`).

        `refresh_ids` are not needed: `updatedAfter` finds every change. After
        the listing, sessions an earlier pass read incompletely (the cursor's
        `retry_ids`) and this listing did not return are fetched by id.
        Cursor: `{"v": 1, "high_water": iso, "last_pass_started_at": iso[,
        "retry_ids": [...]]}` between passes, plus `"pass"` (a
        `ComplyCubePass`) while one is unfinished.
        """
        cursor = cursor if isinstance(cursor, Mapping) else {}
        high_water = (
            cursor.get("high_water")
            if isinstance(cursor.get("high_water"), str)
            else None
        )
        state = resumable(ComplyCubePass, cursor, full) or self._new_pass(
            cursor, full, high_water
        )
        walk = ListingWalk(
            state=state,
            budget=budget,
            fields={
                "high_water": high_water,
                "last_pass_started_at": cursor.get("last_pass_started_at"),
            },
        )
        retry = set(state.retry_ids)

        def process(items: Sequence[Any]) -> Page:
            listed = retry.intersection(filter(None, map(item_id, items)))
            if listed:
                state.listed_retry_ids = sorted(listed.union(state.listed_retry_ids))
            return self._page_of(items, known_versions, state)

        def list_phase() -> PhaseWalk:
            finished = yield from walk.offset_listing(
                batch_size=self.batch_size,
                fetch=lambda page: self._list_page(page, state.updated_after),
                process=process,
                seen=set(),
                record_type=RECORD_TYPE,
            )
            if finished:
                state.phase = "retry"
            return finished

        def retry_phase() -> PhaseWalk:
            return walk.by_id(
                retry.difference(state.listed_retry_ids),
                after="retry_after",
                batch_size=self.batch_size,
                read=self._retry_page,
                record_type=RECORD_TYPE,
            )

        yield from walk.run(
            [("list", list_phase), ("retry", retry_phase)],
            closing=lambda: walk.closing_cursor(
                high_water=self._next_high_water(high_water, state)
            ),
        )

    def _retry_page(self, ids: Sequence[str]) -> Page:
        """Fetch by id sessions an earlier pass read incompletely (404/410: gone)."""
        page = Page()
        builds_or_quarantine(
            page,
            record_type=RECORD_TYPE,
            builds=[
                (
                    ident,
                    {"id": ident},
                    lambda ident=ident: self.reader.record(ident, {}),
                )
                for ident in ids
            ],
            pool=self.pool,
        )
        return page

    def _new_pass(
        self, cursor: Mapping[str, Any], full: bool, high_water: str | None
    ) -> ComplyCubePass:
        since = parse_timestamp(high_water)
        updated_after = None
        if not full and since is not None:
            updated_after = format_timestamp(since - self.lookback)
        return ComplyCubePass(
            mode="full" if updated_after is None else "incremental",
            started_at=format_timestamp(now_utc()),
            updated_after=updated_after,
            retry_ids=retry_ids_of(cursor),
        )

    @staticmethod
    def _next_high_water(previous: str | None, state: ComplyCubePass) -> str | None:
        """Return the newest `updatedAt` seen, capped at the pass start, never going back."""
        seen = parse_timestamp(state.max_updated)
        started = parse_timestamp(state.started_at)
        candidates = [
            t
            for t in (
                parse_timestamp(previous),
                min(seen, started) if seen and started else None,
            )
            if t
        ]
        return format_timestamp(max(candidates)) if candidates else previous

    def _list_page(
        self, page: int, updated_after: str | None
    ) -> tuple[list[Any], bool]:
        params: dict[str, Any] = {"page": page, "pageSize": self.page_size}
        if updated_after:
            params["updatedAfter"] = updated_after
        envelope = self.http.get_json("/workflowSessions", params=params)
        if not isinstance(envelope, dict) or not isinstance(
            envelope.get("items"), list
        ):
            raise ProviderResponseInvalid(
                f"GET /workflowSessions page {page} is not a page envelope with items",
                provider=self.http.provider,
            )
        items = envelope["items"]
        pages = envelope.get("pages")
        if isinstance(pages, int) and not isinstance(pages, bool):
            last = pages == 0 or page >= pages
        else:
            last = len(items) < self.page_size
        return items, last

    def _page_of(
        self, items: Sequence[Any], known_versions: KnownVersions, state: ComplyCubePass
    ) -> Page:
        newest = parse_timestamp(state.max_updated)
        for item in items:
            updated = (
                parse_timestamp(item.get("updatedAt"))
                if isinstance(item, dict)
                else None
            )
            if updated is not None and (newest is None or updated > newest):
                newest = updated
        if newest is not None:
            state.max_updated = format_timestamp(newest)
        return page_of_items(
            items,
            record_type=RECORD_TYPE,
            known_versions=known_versions,
            version_of=self.reader.version,
            build=self.reader.record,
            pool=self.pool,
        )

    # One session ------------------------------------------------------------

    def fetch_session(
        self, external_id: str, *, hint: Mapping[str, Any] | None = None
    ) -> SessionRecord | None:
        """Fetch one session with its checks, policies and client; None on 404/410."""
        try:
            return self.reader.record(external_id, {})
        except ProviderNotFound:
            return None


ADAPTER = ComplyCubeAdapter
