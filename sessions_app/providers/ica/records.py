"""How one ICA workflow session is read: its analyses (the checks) and project (the client).

A changed session costs `POST .../workflowSessions/{id}/analyses:search` (all
pages); its project comes from the project listing or, once per reader,
`GET /api/projects/{id}`. A session whose analyses (or whose project, when it
had to be fetched) could not be read (a client error or garbage) is returned
with what was read, the reasons in `missing` and no change marker; 404/410 on
its analyses means the session is gone. Both status vocabularies (V3
`INPROGRESS`, V4 `IN_PROGRESS`, ...) are in `rows.py`.
Contract facts: `docs/providers/ica.md`.
"""

from __future__ import annotations

from typing import Any

from ...exceptions import ProviderNotFound
from ...normalization import normalise_check, normalise_session
from ...sync.values import (
    CHECK_TYPE_MAX,
    ID_MAX,
    NAME_MAX,
    RAW_WORD_MAX,
    clean_id,
    json_object,
    parse_timestamp,
    text,
)
from ..base import CheckRecord, ClientRecord, SessionRecord, payload_hash
from ..common import (
    SOFT_ERRORS,
    missing_reason,
    object_read,
    path_id,
    tag_records,
    unknown_check_words,
    unknown_session_words,
)
from ..concurrency import FetchOnce
from ..http import ProviderHTTP
from .http import MAX_SMALL_LIST_PAGES, next_page_token, paged_envelope
from .reasons import reason_words

KIND = "ica"
# What an ICA session's client (its ProviderClient) is: its project (the
# default), or its `userReference` when it has one (`client_from` option).
CLIENT_FROM = ("project", "user_reference")
# The provider id of a user-reference identity: never a project id (a uuid).
USER_REFERENCE_ID_PREFIX = "userReference:"


class SessionReader:
    """Reads sessions in full; remembers each project it saw or fetched."""

    def __init__(
        self, http: ProviderHTTP, *, page_size: int, client_from: str = "project"
    ) -> None:
        self.http = http
        self.page_size = page_size
        self.client_from = client_from
        # project id -> project (from the listing).
        self.projects: dict[str, dict[str, Any]] = {}
        # Projects not listed, fetched by id: project id -> (project, why it
        # could not be read or ""); read by concurrent session reads, each
        # project fetched once.
        self._fetched: FetchOnce[str, tuple[dict[str, Any], str]] = FetchOnce()

    def record(
        self,
        project_id: str,
        ident: str,
        item: dict[str, Any],
        *,
        version: str | None = None,
    ) -> SessionRecord:
        """The session `item` in full; `version` is its `payload_hash` when
        the caller already made it (a listing compares it with Verity's)."""
        missing: list[str] = []
        analyses = self._analyses(project_id, ident, missing)
        raw_status = text(item.get("status"), limit=RAW_WORD_MAX)
        normalised = normalise_session(KIND, raw_status)
        unknown = unknown_session_words(KIND, raw_status)
        checks = [
            check for check in (self._check(a, unknown) for a in analyses) if check
        ]
        workflow = json_object(item.get("workflow"))
        tags = json_object(item.get("tags"))
        created = parse_timestamp(item.get("timeCreated"))
        started = parse_timestamp(item.get("startDate"))
        ended = parse_timestamp(item.get("endDate"))
        moments = [moment for moment in (created, started, ended) if moment]
        raw = {"session": item, "analyses": analyses, "project_id": project_id}
        return SessionRecord(
            external_id=ident,
            raw_status=raw_status,
            normalised=normalised,
            raw_outcome=raw_status if normalised.outcome else "",
            client=self._client(project_id, item, missing),
            workflow_id=text(workflow.get("id"), limit=ID_MAX),
            workflow_name=text(workflow.get("code"), limit=NAME_MAX),
            summary=text(item.get("summary")),
            reasons=reason_words(raw, ()),
            created_at=created,
            # Sessions have no timeModified: the latest moment known stands in.
            updated_at=max(moments) if moments else None,
            started_at=started,
            # ICA may set endDate on a session still awaiting input or running
            # again; only a final status completes it.
            completed_at=ended if normalised.is_final else None,
            user_reference=text(item.get("userReference"), limit=ID_MAX),
            tags=tag_records(tags.get("technicalTags"), "technical")
            + tag_records(tags.get("userTags"), "user"),
            checks=checks,
            source_version=""
            if missing
            else (version if version is not None else payload_hash(item)),
            missing=missing,
            unknown_values=list(dict.fromkeys(unknown)),
            raw=raw,
        )

    def _analyses(
        self, project_id: str, session_id: str, missing: list[str]
    ) -> list[Any]:
        """Return the analyses the session orchestrated (all pages).

        A first page answering 404/410 propagates (the session is gone); any
        other client error or garbage ends the walk, keeps the analyses read
        so far and is appended to `missing`.
        """
        path = f"/api/projects/{path_id(project_id)}/workflowSessions/{path_id(session_id)}/analyses:search"
        analyses: list[Any] = []
        token: str | None = None
        for _ in range(MAX_SMALL_LIST_PAGES):
            params: dict[str, Any] = {"pageSize": self.page_size}
            if token:
                params["pageToken"] = token
            try:
                envelope = paged_envelope(
                    self.http,
                    self.http.post_json(path, json={}, params=params),
                    f"POST {path}",
                )
            except ProviderNotFound as exc:
                if token is None:
                    raise
                missing.append(missing_reason("analyses", exc))
                break
            except SOFT_ERRORS as exc:
                missing.append(missing_reason("analyses", exc))
                break
            analyses.extend(envelope["items"])
            next_token = next_page_token(envelope)
            if next_token is None or next_token == token:
                break
            token = next_token
        return analyses

    @staticmethod
    def _check(item: Any, unknown: list[str]) -> CheckRecord | None:
        # Items are {analysis, project, workflowSessionId}; accept a bare analysis too.
        analysis = (
            json_object(item.get("analysis"))
            if isinstance(item, dict) and "analysis" in item
            else item
        )
        if not isinstance(analysis, dict):
            return None
        analysis_id = clean_id(analysis.get("id"))
        if analysis_id is None:
            return None
        pipeline = json_object(analysis.get("pipeline"))
        raw_status = text(analysis.get("status"), limit=RAW_WORD_MAX)
        normalised = normalise_check(KIND, raw_status)
        unknown.extend(unknown_check_words(KIND, raw_status))
        summary = text(analysis.get("summary"))
        return CheckRecord(
            external_id=analysis_id,
            check_type=text(
                pipeline.get("code")
                or analysis.get("analysisType")
                or analysis.get("userReference"),
                limit=CHECK_TYPE_MAX,
            ),
            raw_status=raw_status,
            raw_outcome=raw_status if normalised.outcome else "",
            normalised=normalised,
            breakdown={"summary": summary} if summary else {},
            created_at=parse_timestamp(analysis.get("timeCreated")),
            updated_at=parse_timestamp(analysis.get("timeModified")),
            raw=analysis,
        )

    def _client(
        self, project_id: str, item: dict[str, Any], missing: list[str]
    ) -> ClientRecord:
        """The session's project; or, with `client_from=user_reference`, its
        `userReference` (sessions without one keep their project): an identity
        whose external reference is the user reference, so it joins the
        Verity client of that reference like an Onfido `customer_user_id`."""
        reference = text(item.get("userReference"), limit=NAME_MAX)
        if self.client_from == "user_reference" and reference:
            return ClientRecord(
                external_id=text(USER_REFERENCE_ID_PREFIX + reference, limit=ID_MAX),
                name=reference,
                external_reference=reference,
                raw={"userReference": reference, "projectId": project_id},
            )
        project, problem = self._project(project_id)
        if problem:
            missing.append(missing_reason(f"project {project_id}", problem))
        return ClientRecord(
            external_id=project_id,
            name=text(project.get("name"), limit=NAME_MAX),
            raw=project,
            incomplete=bool(problem),
        )

    def _project(self, project_id: str) -> tuple[dict[str, Any], str]:
        """Return (the project, why it could not be read or ""): from the
        listing, else fetched once per reader.

        A project that answers 404/410 only has no name; other client errors
        and garbage are the reason returned, for every session of it.
        """
        listed = self.projects.get(project_id)
        if listed is not None:
            return listed, ""
        return self._fetched.get(
            project_id,
            lambda: object_read(
                self.http,
                f"/api/projects/{path_id(project_id)}",
                gone=f"ICA project {project_id}",
            ),
        )
