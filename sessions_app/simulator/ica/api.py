"""Illumina ICA v2 workflow sessions, as the official OpenAPI spec describes them.

Served under `/ica/rest`: `GET /api/projects`, `GET /api/projects/{projectId}`,
`POST /api/projects/{projectId}/workflowSessions:search` and
`POST /api/projects/{projectId}/workflowSessions/{id}/analyses:search`.
Every request needs `X-API-Key` and `Accept: application/vnd.illumina.v3+json`
(else 400, title `ICA_API_004`); errors are `application/problem+json` with
ICA's own error code in `title` where one is known (`render.ERROR_CODES`), the
HTTP reason phrase otherwise.

This module routes, authenticates, filters and reports the ground truth;
`render.py` turns the records into ICA's JSON and `paging.py` pages every
listing (cursor mode by default, offset mode when `sort` or `pageOffset` is
given; see there).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from ..api import (
    GroundTruth,
    ProviderApi,
    WebhookPayload,
    tag_records,
    visible,
    webhook_event_check,
)
from ..config import ICA_MEDIA_TYPE
from ..wire import SimRequest, SimResponse, View, iso_millis
from .paging import paged_response
from .render import (
    analysis_json,
    analysis_status,
    derived_uuid,
    problem,
    project_json,
    session_json,
    session_status,
)
from .world import ICA_TERMINAL, IcaProject, IcaSession

EVENTS = {
    "ICA_WFS_001": "Workflow session started",
    "ICA_WFS_002": "Workflow session failed",
    "ICA_WFS_003": "Workflow session succeeded",
}
# Attributes the offset mode sorts on, as keys over the rendered items.
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


class IcaApi(ProviderApi):
    name = "ica"
    extra_field_key = "simUnexpectedField"
    session_noun = "ICA workflow session"
    session_status = staticmethod(session_status)
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
        return problem(status, code, message, **extra)

    # --- request bodies ---------------------------------------------------

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
        # V4 words only, as the V4 search's `status` takes them: a V3
        # spelling matches nothing.
        return {word for word in query.get("status") or () if word}

    # --- handlers ---------------------------------------------------------

    def _project(self, project_id: str) -> IcaProject | None:
        return self.world.ica.client_by_id.get(project_id)

    def _project_not_found(self, project_id: str) -> SimResponse:
        return self.error(
            404,
            "not_found",
            f"Project {project_id} was not found.",
            parameters={"projectId": project_id},
        )

    def list_projects(self, request: SimRequest, view: View) -> SimResponse:
        projects = [p for p in self.world.ica.projects if p.created <= view.t]
        return paged_response(
            request,
            seed=self.world.seed,
            kind="projects",
            items=projects,
            render=lambda p: project_json(self.world, p, view),
            sorts=PROJECT_SORT,
        )

    def get_project(
        self, request: SimRequest, view: View, project_id: str
    ) -> SimResponse:
        project = self._project(project_id)
        if project is None or project.created > view.t:
            return self._project_not_found(project_id)
        data = project_json(self.world, project, view)
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

        def matching() -> list[IcaSession]:
            matches = []
            for session in self.world.ica.sessions:
                if session.project.id != project_id:
                    continue
                current = session_status(session, view)
                if current is None:
                    continue
                if statuses and current[0] not in statuses:
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
            return matches

        matches = self.listing(
            view,
            (
                "sessions",
                project_id,
                frozenset(statuses),
                user_reference,
                frozenset(user_tags),
                frozenset(technical_tags),
            ),
            matching,
        )
        return paged_response(
            request,
            seed=self.world.seed,
            kind=f"sessions/{project_id}",
            items=matches,
            render=lambda s: session_json(self.world, s, view),
            sorts=SESSION_SORT,
            list_page=True,
        )

    def search_analyses(
        self, request: SimRequest, view: View, project_id: str, session_id: str
    ) -> SimResponse:
        if self._project(project_id) is None:
            return self._project_not_found(project_id)
        session = visible(self.world.ica.session_by_id, session_id, view)
        if session is None or session.project.id != project_id:
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
            current = analysis_status(analysis, view)
            if current is None or (statuses and current[0] not in statuses):
                continue
            analyses.append(analysis)
        return paged_response(
            request,
            seed=self.world.seed,
            kind=f"analyses/{session_id}",
            items=analyses,
            render=lambda a: analysis_json(self.world, session, a, view),
            sorts=ANALYSIS_SORT,
            detail=True,
        )

    # --- ground truth -----------------------------------------------------

    def state(self, view: View, *, detail: bool = True) -> dict[str, Any]:
        truth = GroundTruth()
        for session, word, since in truth.served(
            self.world.ica.sessions, session_status, view
        ):
            project = session.project
            session_checks = []
            for analysis in session.analyses:
                status = analysis_status(analysis, view)
                if status is None:
                    continue
                record = {
                    "id": analysis.id,
                    "type": analysis.pipeline.code,
                    "status": status[0],
                }
                complete = analysis.timeline.at(view.t)[0] in ICA_TERMINAL
                session_checks.append((record, complete))
            truth.add_session(
                session_id=session.id,
                status=word,
                outcome="",
                client={"id": project.id, "name": project.name, "reference": ""},
                created_at=iso_millis(view.at(session.timeline.created)),
                updated_at=iso_millis(view.at(since)),
                tags=tag_records(session.technical_tags, "technical")
                + tag_records(session.user_tags, "user"),
                checks=session_checks,
            )
        project_ids = [project.id for project in self.world.ica.projects]
        return truth.result(detail=detail, extra={"project_ids": project_ids})

    # --- webhooks ---------------------------------------------------------

    @staticmethod
    def event_for(word: str) -> str:
        if word == "SUCCEEDED":
            return "ICA_WFS_003"
        if word in {"FAILED", "FAILED_FINAL"}:
            return "ICA_WFS_002"
        return "ICA_WFS_001"

    def webhook(
        self, view: View, *, event: str | None, session_id: str | None
    ) -> WebhookPayload:
        webhook_event_check("ICA", event, EVENTS)
        session = self.webhook_session(
            view,
            session_id,
            lambda _session, word: event is None or self.event_for(word) == event,
        )
        word, since = session_status(session, view)
        event = event or self.event_for(word)
        correlation_id = derived_uuid(
            str(self.world.seed), "ica-event", event, session.id, str(since)
        )
        payload = {
            "correlationId": correlation_id,
            "timestamp": iso_millis(view.at(since)),
            "eventCode": event,
            "description": EVENTS[event],
            "projectId": session.project.id,
            "payloadVersion": "v4",
            "payload": session_json(self.world, session, view),
        }
        return WebhookPayload(
            event=event,
            session_id=session.id,
            payload=payload,
            delivery_id=correlation_id,
        )
