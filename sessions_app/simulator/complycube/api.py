"""ComplyCube API v1 workflow sessions, checks and clients, as its docs describe them.

Served under `/complycube/v1`: `GET /workflowSessions` (envelope `page,
pageSize, totalItems, pages, items`; items are summaries), `GET
/workflowSessions/{id}` (the full object), `GET /checks/{id}`,
`GET /clients/{id}`, `DELETE /clients/{id}` (204; the client, its sessions
and checks answer 404 from then on, as once ComplyCube has deleted them).

ComplyCube publishes no spec, so the undocumented nested objects have shapes of
the simulator's choosing (store them raw, parse tolerantly):
`compliancePolicies[] = {id, name, enabled}`, `policyAssurance[] = {policyId,
policyName, outcome (clear|attention|rejected), evaluatedAt, rules[{name,
outcome}]}` (empty until the session is complete), `tasks[] = {id, type,
status (pending|complete)}`. As documented, a malformed date filter returns
200 with no items rather than an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, ClassVar

from ..api import (
    GroundTruth,
    ProviderApi,
    WebhookError,
    WebhookPayload,
    served_status,
    visible,
    webhook_event_check,
)
from ..config import COMPLYCUBE_DEFAULT_PAGE_SIZE, COMPLYCUBE_MAX_PAGE_SIZE
from ..wire import SimRequest, SimResponse, View, iso_millis, parse_iso
from .world import CCCheck, CCSession

UNKNOWN_STATUS = "on_hold"
UNKNOWN_OUTCOME = "inconclusive"
POLICY_OUTCOME = {
    "clear": "clear",
    "attention": "attention",
    "review": "attention",
    "rejected": "rejected",
    "decline": "rejected",
}
SESSION_EVENTS = {
    "started": "workflow.session.started",
    "processing": "workflow.session.processing",
    "complete": "workflow.session.completed",
    "cancelled": "workflow.session.cancelled",
    "abandoned": "workflow.session.abandoned",
}
CHECK_EVENTS = {
    "check.pending": "pending",
    "check.completed": "complete",
    "check.failed": "failed",
}
EVENTS = (*SESSION_EVENTS.values(), "workflow.session.updated", *CHECK_EVENTS)
DATE_FILTERS = {
    "createdAfter": ("created", "after"),
    "createdBefore": ("created", "before"),
    "updatedAfter": ("updated", "after"),
    "updatedBefore": ("updated", "before"),
}


class ComplyCubeApi(ProviderApi):
    name = "complycube"
    extra_field_key = "simUnexpectedField"
    session_noun = "ComplyCube workflow session"
    routes: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("GET", r"/workflowSessions", "list_sessions"),
        ("GET", r"/workflowSessions/(?P<session_id>[^/]+)", "get_session"),
        ("GET", r"/checks/(?P<check_id>[^/]+)", "get_check"),
        ("GET", r"/clients/(?P<client_id>[^/]+)", "get_client"),
        ("DELETE", r"/clients/(?P<client_id>[^/]+)", "delete_client"),
    )

    # --- protocol ---------------------------------------------------------

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        # The bare key, no "Bearer" prefix (a prefixed key is rejected like a wrong one).
        if request.header("authorization") == self.credential:
            return None
        return self.error(401, "unauthorized", "Invalid or missing API key.")

    def error(self, status: int, code: str, message: str, **extra: Any) -> SimResponse:
        body: dict[str, Any] = {
            "type": "rate_limit_exceeded" if code == "rate_limit" else code,
            "message": message,
        }
        if extra.get("param"):
            body["param"] = extra["param"]
        return SimResponse(status, body)

    # --- rendering --------------------------------------------------------

    def session_status(self, session: CCSession, view: View) -> tuple[str, int] | None:
        if self.client_deleted(session.client.id):
            return None
        return served_status(
            session, view, salt="complycube-session", unknown_word=UNKNOWN_STATUS
        )

    def session_summary(self, session: CCSession, view: View) -> dict[str, Any]:
        word, since = session.timeline.at(view.t) or ("", 0)
        served, _ = self.session_status(session, view) or ("", 0)
        template = session.template
        data: dict[str, Any] = {
            "id": session.id,
            "clientId": session.client.id,
            "entityName": session.client.person.full_name,
            "status": served,
            "workflowTemplateName": template.name,
            "workflowTemplateId": template.id,
            "workflowId": template.workflow_id,
            "workflowVersion": template.version,
        }
        if word == "complete" and session.outcome:
            data["outcome"] = session.outcome
        data["createdAt"] = iso_millis(view.at(session.timeline.created))
        data["updatedAt"] = iso_millis(view.at(since))
        return data

    def visible_checks(self, session: CCSession, view: View) -> list[CCCheck]:
        return [check for check in session.checks if check.timeline.created <= view.t]

    def session_detail(self, session: CCSession, view: View) -> dict[str, Any]:
        data = self.session_summary(session, view)
        word, since = session.timeline.at(view.t) or ("", 0)
        template = session.template
        tasks = [
            {
                "id": task.id,
                "type": task.type,
                "status": "complete"
                if task.done is not None and task.done <= view.t
                else "pending",
            }
            for task in session.tasks
            if task.type in template.capture_tasks
            or any(c.task_id == task.id for c in self.visible_checks(session, view))
        ]
        done = [
            task
            for task in session.tasks
            if task.done is not None and task.done <= view.t
        ]
        complete = word == "complete"
        policies = []
        if complete:
            for position, (policy_id, policy_name) in enumerate(template.policies):
                outcome = (
                    POLICY_OUTCOME.get(session.outcome or "", "clear")
                    if position == 0
                    else "clear"
                )
                policies.append(
                    {
                        "policyId": policy_id,
                        "policyName": policy_name,
                        "outcome": outcome,
                        "evaluatedAt": iso_millis(view.at(since)),
                        "rules": [
                            {
                                "name": "All required checks completed",
                                "outcome": "clear",
                            },
                            {"name": "Risk threshold", "outcome": outcome},
                        ],
                    }
                )
        data.update(
            {
                "workflowTemplateDescription": template.description,
                "workflowDescription": template.version_description,
                "compliancePolicies": [
                    {"id": pid, "name": name, "enabled": True}
                    for pid, name in template.policies
                ],
                "allRelatedChecks": [
                    {"checkId": check.id, "type": check.type, "taskId": check.task_id}
                    for check in self.visible_checks(session, view)
                ],
                "policyAssurance": policies,
                "tasks": tasks,
            }
        )
        if done:
            data["lastCompletedTaskId"] = max(
                done, key=lambda task: (task.done, task.id)
            ).id
        if complete:
            data["completedAt"] = iso_millis(view.at(since))
        return data

    def check_status(self, check: CCCheck, view: View) -> tuple[str, int] | None:
        return check.timeline.at(view.t)

    def check_json(self, check: CCCheck, view: View) -> dict[str, Any]:
        status, since = self.check_status(check, view) or ("", 0)
        data: dict[str, Any] = {
            "id": check.id,
            "clientId": check.client.id,
            "entityName": check.client.person.full_name,
            "type": check.type,
            "enableMonitoring": check.enable_monitoring,
        }
        if check.document_id:
            data["documentId"] = check.document_id
        if check.live_photo_id:
            data["livePhotoId"] = check.live_photo_id
        data["status"] = status
        if status == "complete":
            outcome = (
                UNKNOWN_OUTCOME
                if view.unknown("complycube-check", check.id)
                else check.outcome
            )
            data["result"] = {"outcome": outcome, "breakdown": check.breakdown}
        data["createdAt"] = iso_millis(view.at(check.timeline.created))
        data["updatedAt"] = iso_millis(view.at(since))
        return data

    # --- handlers ---------------------------------------------------------

    def _int_param(
        self, request: SimRequest, name: str, default: int, high: int | None
    ) -> int | SimResponse:
        text = request.param(name)
        if text is None or text == "":
            return default
        if not text.isdigit() or int(text) < 1:
            return self.error(
                400,
                "invalid_request",
                f'"{name}" must be an integer greater than or equal to 1',
                param=name,
            )
        if high is not None and int(text) > high:
            return self.error(
                400,
                "invalid_request",
                f'"{name}" must be less than or equal to {high}',
                param=name,
            )
        return int(text)

    def list_sessions(self, request: SimRequest, view: View) -> SimResponse:
        page = self._int_param(request, "page", 1, None)
        if isinstance(page, SimResponse):
            return page
        page_size = self._int_param(
            request, "pageSize", COMPLYCUBE_DEFAULT_PAGE_SIZE, COMPLYCUBE_MAX_PAGE_SIZE
        )
        if isinstance(page_size, SimResponse):
            return page_size
        bounds: list[tuple[str, str, dt.datetime]] = []
        malformed = False
        for name, (field, direction) in DATE_FILTERS.items():
            value = request.param(name)
            if value is None:
                continue
            parsed = parse_iso(value)
            if parsed is None:
                malformed = True  # documented: a bad filter gives 200 and no results
            else:
                bounds.append((field, direction, parsed))
        exact = {
            name: request.param(name)
            for name in ("status", "outcome", "clientId", "workflowTemplateId")
        }

        def matching() -> list[tuple[int, str, dict[str, Any]]]:
            matches = []
            for session in [] if malformed else self.world.complycube.sessions:
                current = self.session_status(session, view)
                if current is None:
                    continue
                moments = {
                    "created": view.at(session.timeline.created),
                    "updated": view.at(current[1]),
                }
                if any(
                    not (
                        moments[field] > limit
                        if direction == "after"
                        else moments[field] < limit
                    )
                    for field, direction, limit in bounds
                ):
                    continue
                summary = self.session_summary(session, view)
                if any(
                    value is not None and summary.get(name) != value
                    for name, value in exact.items()
                ):
                    continue
                matches.append((session.timeline.created, session.id, summary))
            # Newest first.
            matches.sort(key=lambda item: (item[0], item[1]), reverse=True)
            return matches

        query = ("sessions", tuple(bounds), malformed, tuple(exact.items()))
        matches = self.listing(view, query, matching)
        total = len(matches)
        chunk = matches[(page - 1) * page_size : page * page_size]
        return SimResponse(
            200,
            {
                "page": page,
                "pageSize": page_size,
                "totalItems": total,
                "pages": -(-total // page_size),
                "items": [item[2] for item in chunk],
            },
            list_page=True,
        )

    def get_session(
        self, request: SimRequest, view: View, session_id: str
    ) -> SimResponse:
        session = visible(self.world.complycube.session_by_id, session_id, view)
        if session is None or self.client_deleted(session.client.id):
            return self.error(
                404, "resource_not_found", f"Invalid workflow session id '{session_id}'"
            )
        return SimResponse(200, self.session_detail(session, view), detail=True)

    def get_check(self, request: SimRequest, view: View, check_id: str) -> SimResponse:
        check = self.world.complycube.check_by_id.get(check_id)
        if (
            check is None
            or check.timeline.created > view.t
            or self.client_deleted(check.client.id)
        ):
            return self.error(
                404, "resource_not_found", f"Invalid check id '{check_id}'"
            )
        return SimResponse(200, self.check_json(check, view), detail=True)

    def get_client(
        self, request: SimRequest, view: View, client_id: str
    ) -> SimResponse:
        client = self._visible_client(client_id, view)
        if client is None:
            return self._client_not_found(client_id)
        person = client.person
        data: dict[str, Any] = {
            "id": client.id,
            "type": "person",
            "entityName": person.full_name,
            "email": person.email,
            "mobile": person.phone,
            "joinedDate": view.at(client.created).date().isoformat(),
            "personDetails": {
                "firstName": person.first_name,
                "lastName": person.last_name,
                "dob": person.dob,
                "nationality": person.country2,
            },
            "createdAt": iso_millis(view.at(client.created)),
            "updatedAt": iso_millis(view.at(client.created)),
        }
        if client.external_id:
            data["externalId"] = client.external_id
        return SimResponse(200, data, detail=True)

    def _visible_client(self, client_id: str, view: View) -> Any:
        client = self.world.complycube.client_by_id.get(client_id)
        if client is None or client.created > view.t or self.client_deleted(client_id):
            return None
        return client

    def _client_not_found(self, client_id: str) -> SimResponse:
        return self.error(404, "resource_not_found", f"Invalid client id '{client_id}'")

    def delete_client(
        self, request: SimRequest, view: View, client_id: str
    ) -> SimResponse:
        """204, and the client with its sessions and checks is gone; 404 if it is not there."""
        if self._visible_client(client_id, view) is None:
            return self._client_not_found(client_id)
        self.client_delete(client_id)
        return SimResponse(204, None)

    # --- ground truth -----------------------------------------------------

    def state(self, view: View, *, detail: bool = True) -> dict[str, Any]:
        truth = GroundTruth()
        policies = 0
        sessions = self.world.complycube.sessions
        for session, word, since in truth.served(sessions, self.session_status, view):
            client = session.client
            session_checks = []
            for check in self.visible_checks(session, view):
                data = self.check_json(check, view)
                record = {
                    "id": check.id,
                    "type": check.type,
                    "status": data["status"],
                    "outcome": data.get("result", {}).get("outcome") or "",
                }
                session_checks.append((record, data["status"] != "pending"))
            complete = session.timeline.at(view.t)[0] == "complete"
            policies += len(session.template.policies) if complete else 0
            truth.add_session(
                session_id=session.id,
                status=word,
                outcome=(session.outcome or "") if complete else "",
                client={
                    "id": client.id,
                    "name": client.person.full_name,
                    "reference": client.external_id or "",
                },
                created_at=iso_millis(view.at(session.timeline.created)),
                updated_at=iso_millis(view.at(since)),
                tags=[],
                checks=session_checks,
            )
        return truth.result(detail=detail, counts={"policy_assurances": policies})

    # --- webhooks ---------------------------------------------------------

    def _event_id(self, event: str, resource_id: str, since: int) -> str:
        return hashlib.sha256(
            f"{self.world.seed}:complycube:{event}:{resource_id}:{since}".encode()
        ).hexdigest()[:24]

    def webhook(
        self, view: View, *, event: str | None, session_id: str | None
    ) -> WebhookPayload:
        webhook_event_check("ComplyCube", event, EVENTS)
        if event in CHECK_EVENTS:
            wanted_status = CHECK_EVENTS[event]

            def has_check(session: CCSession, _word: str) -> bool:
                return any(
                    (self.check_status(c, view) or ("",))[0] == wanted_status
                    for c in session.checks
                )

            session = self.webhook_session(view, session_id, has_check)
            checks = [
                c
                for c in self.visible_checks(session, view)
                if self.check_status(c, view)[0] == wanted_status
            ]
            if not checks:
                raise WebhookError(
                    f"Workflow session {session.id} has no {wanted_status} check."
                )
            check = max(checks, key=lambda c: (self.check_status(c, view)[1], c.id))
            data = self.check_json(check, view)
            since = self.check_status(check, view)[1]
            body_payload: dict[str, Any] = {"id": check.id, "status": data["status"]}
            if data.get("result"):
                body_payload["outcome"] = data["result"]["outcome"]
            body_payload.update(
                createdAt=data["createdAt"], updatedAt=data["updatedAt"]
            )
            resource_type, resource_id = "check", check.id
        else:
            wanted_word = {v: k for k, v in SESSION_EVENTS.items()}.get(event or "")
            session = self.webhook_session(
                view,
                session_id,
                lambda _s, word: wanted_word is None or word == wanted_word,
            )
            data = self.session_summary(session, view)
            since = self.session_status(session, view)[1]
            if event is None:
                event = SESSION_EVENTS.get(data["status"], "workflow.session.updated")
            body_payload = {"id": session.id, "status": data["status"]}
            if "outcome" in data:
                body_payload["outcome"] = data["outcome"]
            body_payload.update(
                createdAt=data["createdAt"], updatedAt=data["updatedAt"]
            )
            resource_type, resource_id = "workflowSession", session.id
        event_id = self._event_id(event, resource_id, since)
        payload = {
            "id": event_id,
            "type": event,
            "resourceType": resource_type,
            "payload": body_payload,
            "createdAt": iso_millis(view.at(since)),
        }
        return WebhookPayload(
            event=event, session_id=session.id, payload=payload, delivery_id=event_id
        )
