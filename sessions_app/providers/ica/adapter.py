"""Illumina Connected Analytics (ICA v2) workflow sessions.

Contract facts: `docs/providers/ica.md` (and the public OpenAPI spec).
How this adapter reads it:

- Sessions live in projects. The projects are the `project_ids` option or,
  without it, every project `GET /api/projects` lists (cursor paging). Each
  project is a client (ProviderClient external id = project id).
- Per project, `POST /api/projects/{id}/workflowSessions:search` in cursor
  mode (`pageSize` + `pageToken`, no `sort`) until `nextPageToken` is null or
  "". ICA has no modified-since filter and no `timeModified` on sessions, so
  every pass walks every session; the change marker is a hash of the search
  item, and only changed sessions cost `POST .../{id}/analyses:search` (the
  session's analyses are its checks). An expired page token restarts that
  project's walk once.
- One failing project (404/403, or a 5xx, 400 or garbage of its own) is
  quarantined (record type `project`) and the others are synced; every pass
  walks every project, so the next one retries it. A 429, a transport failure,
  a 401, or the same failure on two projects in a row (or on the only one)
  is the provider's and stops the pass (`_project_failure`).
- There is no GET-by-id: `fetch_session` searches the hinted project (or all
  of them), narrowed by `userReference` when the hint carries one.
- Every call sends `Accept: application/vnd.illumina.v3+json` (ICA answers 400
  `ICA_API_004` without it) and POSTs send the same Content-Type.
- Both status vocabularies (V3 `INPROGRESS`, V4 `IN_PROGRESS`, ...) are in
  `rows.py`.
- A session whose analyses (or whose project, when it had to be fetched) could
  not be read (a client error or garbage) is returned with what was read, the
  reasons in `missing` and no change marker; every pass walks every session,
  so the next one fetches it again. 404/410 on its analyses means the session
  is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...exceptions import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderNotFound,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from ...sync.values import clean_id, format_timestamp
from ..base import (
    Budget,
    KnownVersions,
    Page,
    ProviderAdapter,
    SessionRecord,
    no_known_versions,
    payload_hash,
)
from ..common import (
    choice_option,
    int_option,
    list_option,
    page_of_items,
    path_id,
    quarantine,
    read_pool_of,
)
from ..walker import PassWalk, PhaseWalk, now_utc, resumable
from .cursor import IcaPass
from .http import MAX_SMALL_LIST_PAGES, ica_http, next_page_token, paged_envelope
from .records import CLIENT_FROM, KIND, SessionReader

logger = logging.getLogger(__name__)

RECORD_TYPE = "workflow_session"


class IcaAdapter(ProviderAdapter):
    """Workflow sessions of ICA projects, their analyses (checks) and projects (clients)."""

    kind = KIND
    http_factory = staticmethod(ica_http)
    # ICA's API (spec v2.40) has no DELETE for a workflow session, an
    # analysis or a project (a project can only be hidden, which deletes
    # nothing), and a project holds the runs of many people: Verity cannot ask
    # it to delete one person's data (docs/providers/ica.md).
    supports_client_deletion = False
    client_deletion_note = (
        "Not asked: ICA's API cannot delete a workflow session, an analysis "
        "or a project (a project can only be hidden), and a project holds "
        "many people's runs. Delete in ICA by hand if its data must go."
    )

    def configure(self, options: Mapping[str, Any]) -> None:
        self.project_ids = list_option(options, "project_ids")
        self.page_size = int_option(options, "page_size", 100, minimum=1, maximum=1000)
        self.batch_size = int_option(options, "batch_size", 25, minimum=1, maximum=1000)
        self.reader = SessionReader(
            self.http,
            page_size=self.page_size,
            client_from=choice_option(
                options, "client_from", "project", choices=CLIENT_FROM
            ),
        )
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
        """Yield pages of every session of every project (each pass walks them all).

        `full` changes nothing (there is no window to ignore) and `refresh_ids`
        are not needed (the walk re-reads unfinished sessions anyway).
        Cursor: `{"v": 1, "last_pass_started_at": iso}` between passes, plus
        `"pass"` (an `IcaPass`) while one is unfinished.
        """
        cursor = cursor if isinstance(cursor, Mapping) else {}
        state = resumable(IcaPass, cursor, True) or IcaPass(
            mode="full", started_at=format_timestamp(now_utc())
        )
        walk = PassWalk(
            state=state,
            budget=budget,
            fields={"last_pass_started_at": cursor.get("last_pass_started_at")},
        )
        yield from walk.run(
            [("projects", lambda: self._walk_projects(walk, known_versions))],
            closing=walk.closing_cursor,
        )

    def _walk_projects(
        self, walk: PassWalk[IcaPass], known_versions: KnownVersions
    ) -> PhaseWalk:
        """Walk every session of every project, project after project."""
        state = walk.state
        restarted: set[str] = set()
        # Projects that failed one after the other (`_project_failure`).
        failed_in_a_row = 0
        while True:
            if state.projects is None:
                if walk.exhausted():
                    return False
                state.projects = self._project_ids()
            # Checked before the budget: ending the pass costs no call.
            if state.index >= len(state.projects):
                return True
            if walk.exhausted():
                return False
            project_id = state.projects[state.index]
            try:
                envelope = self._search(project_id, state.page_token)
            except ProviderError as exc:
                if (
                    isinstance(exc, ProviderBadRequest)
                    and state.page_token
                    and project_id not in restarted
                ):
                    # Page tokens are opaque and their lifetime undocumented.
                    logger.warning(
                        "ICA page token of project %s refused (%s); restarting it.",
                        project_id,
                        exc,
                    )
                    restarted.add(project_id)
                    state.page_token, state.offset = None, 0
                    continue
                reason = self._project_failure(exc, state, failed_in_a_row)
                if reason is None:
                    raise
                # One project is broken, deleted or not shared with this key:
                # report it where operators look (the sync page, as a
                # quarantined "project" of this run), carry on with the rest;
                # every pass walks every project, so the next one retries it.
                failed_in_a_row += 1
                page = Page(
                    quarantined=[
                        quarantine(
                            "project",
                            f"{reason}: {exc}",
                            {"projectId": project_id},
                            external_id=project_id,
                        )
                    ]
                )
                state.next_project()
                yield from walk.emit(page)
                continue
            failed_in_a_row = 0
            items = envelope["items"]
            next_token = next_page_token(envelope)
            if next_token is not None and next_token == state.page_token:
                logger.warning(
                    "ICA project %s returned its own page token again; ending it.",
                    project_id,
                )
                next_token = None
            pending = items[state.offset :]
            first_chunk = True
            while True:
                if not first_chunk and walk.exhausted():
                    return False
                first_chunk = False
                chunk, pending = pending[: self.batch_size], pending[self.batch_size :]
                page = self._page_of(project_id, chunk, known_versions)
                if pending:
                    state.offset += len(chunk)
                elif next_token:
                    state.page_token, state.offset = next_token, 0
                else:
                    state.next_project()
                yield from walk.emit(page)
                if not pending:
                    break

    @staticmethod
    def _project_failure(
        exc: ProviderError, state: IcaPass, failed_in_a_row: int
    ) -> str | None:
        """Why one project is skipped this pass, or None when the pass must stop.

        404/410 and 403 are that project's (deleted, not shared with this
        key). A server error (5xx after the retries), a refused request or
        garbage is taken as that project's too, unless it is the only project
        or the project before it failed as well: then it looks like the
        provider's, and the pass stops as it would for a 429, a transport
        failure (no answer at all) or a 401 (the key itself), which always stop it.
        """
        if isinstance(exc, ProviderNotFound):
            return "project cannot be searched"
        if isinstance(exc, ProviderAuthError):
            return "project cannot be searched" if exc.status == 403 else None
        per_project = isinstance(exc, ProviderBadRequest | ProviderResponseInvalid) or (
            isinstance(exc, ProviderUnavailable) and exc.status is not None
        )
        if not per_project or failed_in_a_row or len(state.projects or ()) < 2:
            return None
        return "project could not be read this pass (retried next pass)"

    def _project_ids(self) -> list[str]:
        """Return the configured projects, or every project the key can list."""
        if self.project_ids:
            return list(self.project_ids)
        ids: list[str] = []
        token: str | None = None
        for _ in range(MAX_SMALL_LIST_PAGES):
            params: dict[str, Any] = {"pageSize": 1000}
            if token:
                params["pageToken"] = token
            envelope = paged_envelope(
                self.http,
                self.http.get_json("/api/projects", params=params),
                "GET /api/projects",
            )
            for project in envelope["items"]:
                project_id = (
                    clean_id(project.get("id")) if isinstance(project, dict) else None
                )
                if project_id and project_id not in ids:
                    ids.append(project_id)
                    self.reader.projects[project_id] = project
            next_token = next_page_token(envelope)
            if next_token is None or next_token == token:
                break
            token = next_token
        return ids

    def _search(
        self,
        project_id: str,
        page_token: str | None,
        query: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"pageSize": self.page_size}
        if page_token:
            params["pageToken"] = page_token
        path = f"/api/projects/{path_id(project_id)}/workflowSessions:search"
        return paged_envelope(
            self.http,
            self.http.post_json(path, json=dict(query or {}), params=params),
            f"POST {path}",
        )

    def _page_of(
        self, project_id: str, items: Sequence[Any], known_versions: KnownVersions
    ) -> Page:
        # Each listed item's hash is made once: compared with Verity's, then
        # stored as the version of the session built from it.
        versions: dict[int, str] = {}

        def version_of(item: dict[str, Any]) -> str:
            versions[id(item)] = version = payload_hash(item)
            return version

        return page_of_items(
            items,
            record_type=RECORD_TYPE,
            known_versions=known_versions,
            version_of=version_of,
            build=lambda ident, item: self.reader.record(
                project_id, ident, item, version=versions.get(id(item))
            ),
            pool=self.pool,
        )

    # One session ------------------------------------------------------------

    def fetch_session(
        self, external_id: str, *, hint: Mapping[str, Any] | None = None
    ) -> SessionRecord | None:
        """Find one session by searching its project; None if no project has it.

        `hint` may carry `project_id` (webhooks do) and `user_reference`, which
        narrows the search server-side.
        """
        hint = hint or {}
        project_id = hint.get("project_id") or hint.get("projectId")
        projects = [str(project_id)] if project_id else self._project_ids()
        reference = hint.get("user_reference") or hint.get("userReference")
        query = {"userReference": str(reference)} if reference else {}
        for project in projects:
            token: str | None = None
            while True:
                try:
                    envelope = self._search(project, token, query)
                except ProviderNotFound:
                    break
                except ProviderAuthError as exc:
                    if exc.status != 403:
                        raise  # 401: the key itself is wrong
                    # Not shared with this key: the pass quarantines it; here
                    # the session may still be in another project.
                    logger.warning(
                        "ICA project %s cannot be searched: %s", project, exc
                    )
                    break
                for item in envelope["items"]:
                    if (
                        isinstance(item, dict)
                        and clean_id(item.get("id")) == external_id
                    ):
                        return self.reader.record(project, external_id, item)
                next_token = next_page_token(envelope)
                if next_token is None or next_token == token:
                    break
                token = next_token
        return None

    def refresh_hint(self, stored_payload: Mapping[str, Any]) -> dict[str, Any]:
        """The project and `userReference` a stored session was read with
        (`SessionReader.record`'s raw), so `fetch_session` costs one narrowed
        search instead of walking every project."""
        session = stored_payload.get("session")
        reference = session.get("userReference") if isinstance(session, dict) else None
        project_id = stored_payload.get("project_id")
        hint: dict[str, Any] = {}
        if isinstance(project_id, str) and project_id:
            hint["project_id"] = project_id
        if isinstance(reference, str) and reference:
            hint["user_reference"] = reference
        return hint


ADAPTER = IcaAdapter
