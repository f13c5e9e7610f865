"""Illumina ICA v2 workflow sessions, as the official OpenAPI spec describes them.

Served under `/ica/rest`: `GET /api/projects`, `GET /api/projects/{projectId}`,
`POST /api/projects/{projectId}/workflowSessions:search` and
`POST /api/projects/{projectId}/workflowSessions/{id}/analyses:search`.
Every request needs `X-API-Key` and `Accept: application/vnd.illumina.v3+json`
(else 400, title `ICA_API_004`); errors are `application/problem+json` with
ICA's own error code in `title` where one is known (`ERROR_CODES`), the HTTP
reason phrase otherwise.

Paging: cursor mode by default (`pageSize` + `pageToken`; the reply carries
`nextPageToken`, null on the last page, and `remainingRecords`); offset mode
when `sort` or `pageOffset` is given (`nextPageToken` is "" and
`totalItemCount` is set). Cursor order is creation order, so sessions created
while a client pages appear on later pages and none is skipped.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from .api import ProviderApi, WebhookError, WebhookPayload, tag_records
from .config import (
    ICA_DEFAULT_PAGE_SIZE,
    ICA_MAX_PAGE_SIZE,
    ICA_MEDIA_TYPE,
    ICA_PROBLEM_MEDIA_TYPE,
)
from .wire import SimRequest, SimResponse, View, iso_millis
from .world import (
    ICA_TERMINAL,
    ICA_V3_SPELLING,
    ICA_V4_SPELLING,
    IcaAnalysis,
    IcaProject,
    IcaSession,
)

UNKNOWN_STATUS = "SUSPENDED"
UNKNOWN_ANALYSIS_STATUS = "PAUSED"
EVENTS = {
    "ICA_WFS_001": "Workflow session started",
    "ICA_WFS_002": "Workflow session failed",
    "ICA_WFS_003": "Workflow session succeeded",
}
# ICA puts its own error code in a Problem's `title` (providers/ica/NOTES.md §4).
# ICA_API_004 (missing or wrong Accept) is documented there; the other three
# are those of the ICA replies recorded in tests/fixtures/providers/ica/errors/,
# which no public source confirms. Errors without a known code (parameter
# validation, 405, throttling, 5xx) keep the HTTP reason phrase (`TITLES`).
ERROR_CODES = {
    "invalid_accept": "ICA_API_004",
    "unauthorized": "ICA_SEC_001",
    "not_found": "ICA_GENR_003",
    "invalid_page_token": "ICA_API_010",
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
SESSION_SORT = {
    "reference": lambda item: "",
    "userReference": lambda item: item["userReference"],
    "pipeline": lambda item: "",
    "status": lambda item: item["status"],
    "startDate": lambda item: item.get("startDate") or "",
    "endDate": lambda item: item.get("endDate") or "",
    "workflow": lambda item: item["workflow"]["code"],
}
ANALYSIS_SORT = {
    "reference": lambda item: item["analysis"]["reference"],
    "userReference": lambda item: item["analysis"]["userReference"],
    "pipeline": lambda item: item["analysis"]["pipeline"]["code"],
    "status": lambda item: item["analysis"]["status"],
    "startDate": lambda item: item["analysis"].get("startDate") or "",
    "endDate": lambda item: item["analysis"].get("endDate") or "",
    "summary": lambda item: item["analysis"].get("summary") or "",
}
PROJECT_SORT = {
    "name": lambda item: item["name"],
    "shortDescription": lambda item: item.get("shortDescription") or "",
    "information": lambda item: item.get("information") or "",
}


def canonical_status(word: str) -> str:
    """The V4 spelling of an ICA status word."""
    return ICA_V4_SPELLING.get(word, word)


def _derived_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "verity-sim:" + ":".join(parts)))


class IcaApi(ProviderApi):
    name = "ica"
    extra_field_key = "simUnexpectedField"
    routes: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("GET", r"/api/projects", "list_projects"),
        ("GET", r"/api/projects/(?P<project_id>[^/]+)", "get_project"),
        (
            "POST",
            r"/api/projects/(?P<project_id>[^/]+)/workflowSessions:search",
            "search_sessions",
        ),
        (
            "POST",
            r"/api/projects/(?P<project_id>[^/]+)/workflowSessions/(?P<session_id>[^/]+)/analyses:search",
            "search_analyses",
        ),
    )

    # --- protocol ---------------------------------------------------------

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if request.header("x-api-key") != self.credential:
            return self.error(
                401, "unauthorized", "Missing or invalid API key (X-API-Key)."
            )
        accepted = {
            part.split(";")[0].strip().lower()
            for part in (request.header("accept") or "").split(",")
        }
        if ICA_MEDIA_TYPE not in accepted:
            return self.error(400, "invalid_accept", "Invalid Accept Header")
        return None

    def error(self, status: int, code: str, message: str, **extra: Any) -> SimResponse:
        problem = {
            "type": "about:blank",
            "title": extra.get("title")
            or ERROR_CODES.get(code)
            or TITLES.get(status, "Error"),
            "status": status,
            "detail": message,
            "timestamp": iso_millis(dt.datetime.now(dt.UTC)),
            "parameters": extra.get("parameters", {}),
        }
        return SimResponse(status, problem, content_type=ICA_PROBLEM_MEDIA_TYPE)

    # --- rendering --------------------------------------------------------

    def session_status(self, session: IcaSession, view: View) -> tuple[str, int] | None:
        """The served status word (V3 spelling for V3 sessions) and since when."""
        current = session.timeline.at(view.t)
        if current is None:
            return None
        word, since = current
        if view.unknown("ica-session", session.id):
            return UNKNOWN_STATUS, since
        if session.v3:
            word = ICA_V3_SPELLING.get(word, word)
        return word, since

    def session_json(self, session: IcaSession, view: View) -> dict[str, Any]:
        word, since = session.timeline.at(view.t) or ("", 0)
        served, _ = self.session_status(session, view) or ("", 0)
        started = session.timeline.reached("INITIALIZING")
        workflow = session.workflow
        final = since == session.timeline.steps[-1][0]
        data: dict[str, Any] = {
            "id": session.id,
            "timeCreated": iso_millis(view.at(session.timeline.created)),
            "owner": {"id": session.owner_id},
            "tenant": {
                "id": self.world.ica_tenant_id,
                "name": self.world.ica_tenant_name,
            },
            "userReference": session.user_reference,
            "workflow": {
                "id": workflow.id,
                "code": workflow.code,
                "urn": f"urn:ilmn:ica:workflow:{workflow.id}#{workflow.code}",
                "description": workflow.description,
                "languageVersion": {
                    "id": workflow.language_version_id,
                    "name": workflow.language_version_name,
                    "language": "NEXTFLOW",
                },
                "workflowTags": {"technicalTags": ["auto-launch"]},
                "analysisStorage": {
                    "id": workflow.storage_id,
                    "name": workflow.storage_name,
                    "description": "Medium analysis storage",
                },
            },
            "status": served,
            "startDate": iso_millis(view.at(started))
            if started is not None and started <= view.t
            else None,
            "endDate": iso_millis(view.at(since)) if word in ICA_TERMINAL else None,
            "summary": session.summary
            if final
            else ("" if session.summary is not None else None),
            "tags": {
                "technicalTags": list(session.technical_tags)
                if session.technical_tags is not None
                else None,
                "userTags": list(session.user_tags)
                if session.user_tags is not None
                else None,
            },
        }
        if session.application:
            data["application"] = {"id": _derived_uuid("application"), "name": "ICA"}
        return data

    def _region_json(self) -> dict[str, Any]:
        world = self.world
        created = iso_millis(world.start - dt.timedelta(days=720))
        common = {
            "timeCreated": created,
            "timeModified": created,
            "ownerId": _derived_uuid("illumina-owner"),
            "tenantId": _derived_uuid("illumina-tenant"),
            "tenantName": "illumina",
        }
        return {
            "id": world.ica_region_id,
            **common,
            "code": "EU",
            "country": {
                "id": _derived_uuid("country-de"),
                **common,
                "code": "DE",
                "name": "Germany",
                "region": "EU",
            },
            "cityName": "Frankfurt",
        }

    def project_json(self, project: IcaProject, view: View) -> dict[str, Any]:
        created = iso_millis(view.at(project.created))
        return {
            "id": project.id,
            "timeCreated": created,
            "timeModified": created,
            "ownerId": project.owner_id,
            "tenantId": self.world.ica_tenant_id,
            "tenantName": self.world.ica_tenant_name,
            "urn": f"urn:ilmn:ica:project:{project.id}#{project.name}",
            "name": project.name,
            "active": True,
            "baseEnabled": False,
            "shortDescription": project.short_description,
            "information": None,
            "region": self._region_json(),
            "billingMode": "PROJECT",
            "dataSharingEnabled": False,
            "tags": {
                "technicalTags": list(project.technical_tags),
                "userTags": list(project.user_tags),
            },
            "analysisPriority": "MEDIUM",
            "projectOwner": project.owner_id,
        }

    def analysis_status(
        self, analysis: IcaAnalysis, view: View
    ) -> tuple[str, int] | None:
        current = analysis.timeline.at(view.t)
        if current is None:
            return None
        if view.unknown("ica-analysis", analysis.id):
            return UNKNOWN_ANALYSIS_STATUS, current[1]
        return current

    def analysis_json(
        self, session: IcaSession, analysis: IcaAnalysis, view: View
    ) -> dict[str, Any]:
        word, since = analysis.timeline.at(view.t) or ("", 0)
        served, _ = self.analysis_status(analysis, view) or ("", 0)
        pipeline = analysis.pipeline
        tenant = {"id": self.world.ica_tenant_id, "name": self.world.ica_tenant_name}
        storage = {
            "id": session.workflow.storage_id,
            "name": session.workflow.storage_name,
            "description": "Medium analysis storage",
        }
        pipeline_created = iso_millis(view.at(pipeline.created))
        running = analysis.timeline.reached("IN_PROGRESS")
        return {
            "analysis": {
                "id": analysis.id,
                "timeCreated": iso_millis(view.at(analysis.timeline.created)),
                "timeModified": iso_millis(view.at(since)),
                "owner": {"id": analysis.owner_id},
                "tenant": tenant,
                "reference": analysis.reference,
                "userReference": analysis.user_reference,
                "pipeline": {
                    "id": pipeline.id,
                    "urn": f"urn:ilmn:ica:pipeline:{pipeline.id}#{pipeline.code}",
                    "timeCreated": pipeline_created,
                    "timeModified": pipeline_created,
                    "owner": {"id": analysis.owner_id},
                    "tenant": tenant,
                    "code": pipeline.code,
                    "description": pipeline.description,
                    "status": "RELEASED",
                    "statusAsString": "Released",
                    "language": "NEXTFLOW",
                    "pipelineTags": {"technicalTags": []},
                    "analysisStorage": storage,
                    "proprietary": False,
                    "inputFormType": "JSON",
                },
                "status": served,
                "startDate": iso_millis(view.at(running))
                if running is not None and running <= view.t
                else None,
                "endDate": iso_millis(view.at(since)) if word in ICA_TERMINAL else None,
                "summary": ""
                if word not in ICA_TERMINAL
                else f"{pipeline.code} {word.lower()}",
                "analysisStorage": storage,
                "analysisPriority": "MEDIUM",
                "tags": {
                    "technicalTags": [session.user_reference],
                    "userTags": [],
                    "referenceTags": [],
                },
            },
            "project": self.project_json(session.project, view),
            "workflowSessionId": session.id,
        }

    # --- paging -----------------------------------------------------------

    def _token(self, kind: str, offset: int) -> str:
        raw = f"{kind}:{offset}"
        check = hashlib.sha256(f"{self.world.seed}:{raw}".encode()).hexdigest()[:8]
        return base64.urlsafe_b64encode(f"{raw}:{check}".encode()).decode().rstrip("=")

    def _untoken(self, kind: str, token: str) -> int | None:
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        token_kind, _, rest = text.partition(":")
        offset_text, _, _check = rest.partition(":")
        if (
            token_kind != kind
            or not offset_text.isdigit()
            or self._token(kind, int(offset_text)) != token
        ):
            return None
        return int(offset_text)

    def _paged(
        self,
        request: SimRequest,
        kind: str,
        items: Sequence[Any],
        render: Callable[[Any], dict[str, Any]],
        sorts: dict[str, Callable[[dict[str, Any]], Any]],
        list_page: bool = False,
        detail: bool = False,
    ) -> SimResponse:
        size_text = request.param("pageSize")
        if size_text in (None, ""):
            size = ICA_DEFAULT_PAGE_SIZE
        elif size_text.isdigit() and int(size_text) >= 1:
            size = min(int(size_text), ICA_MAX_PAGE_SIZE)
        else:
            return self.error(
                400,
                "bad_request",
                "pageSize must be a positive integer.",
                parameters={"pageSize": size_text},
            )
        sort = request.param("sort")
        offset_text = request.param("pageOffset")
        if sort or offset_text not in (None, ""):
            if offset_text in (None, ""):
                offset = 0
            elif offset_text.isdigit():
                offset = int(offset_text)
            else:
                return self.error(
                    400,
                    "bad_request",
                    "pageOffset must be a non-negative integer.",
                    parameters={"pageOffset": offset_text},
                )
            rendered = [render(item) for item in items]
            for clause in reversed(
                [c.strip() for c in (sort or "").split(",") if c.strip()]
            ):
                attribute, _, direction = clause.partition(" ")
                if attribute not in sorts or direction.strip().lower() not in {
                    "",
                    "asc",
                    "desc",
                }:
                    return self.error(
                        400,
                        "bad_request",
                        f"Sorting on {clause!r} is not supported.",
                        parameters={"sort": sort or ""},
                    )
                rendered.sort(
                    key=sorts[attribute], reverse=direction.strip().lower() == "desc"
                )
            page = rendered[offset : offset + size]
            payload = {
                "items": page,
                "nextPageToken": "",
                "totalItemCount": len(rendered),
            }
            return SimResponse(
                200,
                payload,
                content_type=ICA_MEDIA_TYPE,
                list_page=list_page,
                detail=detail,
            )
        token = request.param("pageToken")
        offset = 0
        if token:
            decoded = self._untoken(kind, token)
            if decoded is None:
                return self.error(
                    400,
                    "invalid_page_token",
                    "The page token is invalid or expired.",
                    parameters={"pageToken": token},
                )
            offset = decoded
        chunk = list(items[offset : offset + size])
        following = offset + len(chunk)
        remaining = max(0, len(items) - following)
        payload = {
            "items": [render(item) for item in chunk],
            "nextPageToken": self._token(kind, following) if remaining else None,
            "remainingRecords": remaining,
        }
        return SimResponse(
            200,
            payload,
            content_type=ICA_MEDIA_TYPE,
            list_page=list_page,
            detail=detail,
        )

    def _query(self, request: SimRequest) -> dict[str, Any] | SimResponse:
        if not request.body.strip():
            return {}
        try:
            query = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return self.error(400, "bad_request", "The request body is not valid JSON.")
        if not isinstance(query, dict):
            return self.error(
                400, "bad_request", "The request body must be a JSON object."
            )
        for name in ("status", "userTags", "technicalTags", "referenceTags"):
            value = query.get(name)
            if value is not None and (
                not isinstance(value, list)
                or not all(isinstance(v, str | None) for v in value)
            ):
                return self.error(
                    400,
                    "bad_request",
                    f"{name} must be an array of strings.",
                    parameters={name: str(value)},
                )
        return query

    @staticmethod
    def _status_filter(query: dict[str, Any]) -> set[str]:
        return {canonical_status(word) for word in query.get("status") or () if word}

    # --- handlers ---------------------------------------------------------

    def _project(self, project_id: str) -> IcaProject | None:
        return self.world.ica_project_by_id.get(project_id)

    def _project_not_found(self, project_id: str) -> SimResponse:
        return self.error(
            404,
            "not_found",
            f"Project {project_id} was not found.",
            parameters={"projectId": project_id},
        )

    def list_projects(self, request: SimRequest, view: View) -> SimResponse:
        projects = [p for p in self.world.ica_projects if p.created <= view.t]
        return self._paged(
            request,
            "projects",
            projects,
            lambda p: self.project_json(p, view),
            PROJECT_SORT,
        )

    def get_project(
        self, request: SimRequest, view: View, project_id: str
    ) -> SimResponse:
        project = self._project(project_id)
        if project is None or project.created > view.t:
            return self._project_not_found(project_id)
        data = self.project_json(project, view)
        etag = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[
            :16
        ]
        return SimResponse(
            200,
            data,
            content_type=ICA_MEDIA_TYPE,
            headers={"ETag": f'"{etag}"'},
            detail=True,
        )

    def search_sessions(
        self, request: SimRequest, view: View, project_id: str
    ) -> SimResponse:
        project = self._project(project_id)
        if project is None:
            return self._project_not_found(project_id)
        query = self._query(request)
        if isinstance(query, SimResponse):
            return query
        statuses = self._status_filter(query)
        user_reference = query.get("userReference")
        user_tags = {t for t in query.get("userTags") or () if t}
        technical_tags = {t for t in query.get("technicalTags") or () if t}
        matches = []
        for session in self.world.ica_sessions:
            if session.project.id != project_id:
                continue
            current = self.session_status(session, view)
            if current is None:
                continue
            if statuses and canonical_status(current[0]) not in statuses:
                continue
            if user_reference and session.user_reference != user_reference:
                continue
            if user_tags and not user_tags <= set(session.user_tags or ()):
                continue
            if technical_tags and not technical_tags <= set(
                session.technical_tags or ()
            ):
                continue
            matches.append(session)
        return self._paged(
            request,
            f"sessions/{project_id}",
            matches,
            lambda s: self.session_json(s, view),
            SESSION_SORT,
            list_page=True,
        )

    def search_analyses(
        self, request: SimRequest, view: View, project_id: str, session_id: str
    ) -> SimResponse:
        if self._project(project_id) is None:
            return self._project_not_found(project_id)
        session = self.world.ica_session_by_id.get(session_id)
        if (
            session is None
            or session.project.id != project_id
            or session.timeline.at(view.t) is None
        ):
            return self.error(
                404,
                "not_found",
                f"Workflow session {session_id} was not found.",
                parameters={"workflowSessionId": session_id},
            )
        query = self._query(request)
        if isinstance(query, SimResponse):
            return query
        statuses = self._status_filter(query)
        analyses = []
        for analysis in session.analyses:
            current = self.analysis_status(analysis, view)
            if current is None or (
                statuses and canonical_status(current[0]) not in statuses
            ):
                continue
            analyses.append(analysis)
        return self._paged(
            request,
            f"analyses/{session_id}",
            analyses,
            lambda a: self.analysis_json(session, a, view),
            ANALYSIS_SORT,
            detail=True,
        )

    # --- ground truth -----------------------------------------------------

    def state(self, view: View, *, detail: bool = True) -> dict[str, Any]:
        sessions = []
        clients: dict[str, dict[str, Any]] = {}
        tags: dict[tuple[str, str], dict[str, str]] = {}
        by_status: dict[str, int] = {}
        checks = checks_complete = pending = 0
        for session in self.world.ica_sessions:
            current = self.session_status(session, view)
            if current is None:
                pending += 1
                continue
            word, since = current
            by_status[word] = by_status.get(word, 0) + 1
            project = session.project
            clients[project.id] = {
                "id": project.id,
                "name": project.name,
                "reference": "",
            }
            session_tags = tag_records(
                session.technical_tags, "technical"
            ) + tag_records(session.user_tags, "user")
            for tag in session_tags:
                tags[tag["name"], tag["kind"]] = tag
            session_checks = []
            for analysis in session.analyses:
                status = self.analysis_status(analysis, view)
                if status is None:
                    continue
                checks += 1
                checks_complete += analysis.timeline.at(view.t)[0] in ICA_TERMINAL
                session_checks.append(
                    {
                        "id": analysis.id,
                        "type": analysis.pipeline.code,
                        "status": status[0],
                    }
                )
            sessions.append(
                {
                    "id": session.id,
                    "status": word,
                    "outcome": "",
                    "client_id": project.id,
                    "client_reference": "",
                    "created_at": iso_millis(view.at(session.timeline.created)),
                    "updated_at": iso_millis(view.at(since)),
                    "tags": session_tags,
                    "checks": session_checks,
                }
            )
        result: dict[str, Any] = {
            "counts": {
                "sessions": len(sessions),
                "checks": checks,
                "checks_complete": checks_complete,
                "clients": len(clients),
                "tags": len(tags),
                "not_yet_created": pending,
            },
            "by_status": dict(sorted(by_status.items())),
            "project_ids": [project.id for project in self.world.ica_projects],
        }
        if detail:
            result["sessions"] = sessions
            result["clients"] = sorted(clients.values(), key=lambda c: c["id"])
            result["tags"] = sorted(tags.values(), key=lambda t: (t["kind"], t["name"]))
        return result

    # --- webhooks ---------------------------------------------------------

    @staticmethod
    def event_for(word: str) -> str:
        canonical = canonical_status(word)
        if canonical == "SUCCEEDED":
            return "ICA_WFS_003"
        if canonical in {"FAILED", "FAILED_FINAL"}:
            return "ICA_WFS_002"
        return "ICA_WFS_001"

    def webhook(
        self, view: View, *, event: str | None, session_id: str | None
    ) -> WebhookPayload:
        if event is not None and event not in EVENTS:
            raise WebhookError(
                f"Unsupported ICA event {event!r}; use one of {', '.join(EVENTS)}."
            )
        if session_id is not None:
            session = self.world.ica_session_by_id.get(session_id)
            if session is None or session.timeline.at(view.t) is None:
                raise WebhookError(f"No ICA workflow session {session_id} exists yet.")
        else:
            candidates = []
            for candidate in self.world.ica_sessions:
                current = self.session_status(candidate, view)
                if current is not None and (
                    event is None or self.event_for(current[0]) == event
                ):
                    candidates.append((current[1], candidate.id, candidate))
            if not candidates:
                raise WebhookError("No ICA workflow session fits that event yet.")
            session = max(candidates, key=lambda item: (item[0], item[1]))[2]
        word, since = self.session_status(session, view)
        event = event or self.event_for(word)
        correlation_id = _derived_uuid(
            str(self.world.seed), "ica-event", event, session.id, str(since)
        )
        payload = {
            "correlationId": correlation_id,
            "timestamp": iso_millis(view.at(since)),
            "eventCode": event,
            "description": EVENTS[event],
            "projectId": session.project.id,
            "payloadVersion": "v4",
            "payload": self.session_json(session, view),
        }
        return WebhookPayload(
            event=event,
            session_id=session.id,
            payload=payload,
            delivery_id=correlation_id,
        )
