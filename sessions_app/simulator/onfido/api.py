"""Onfido API v3.6 workflow runs, as the official OpenAPI spec describes them.

Served under `/onfido/v3.6`: `GET /workflow_runs` (a bare JSON array, 20 runs a
page, an empty array after the last page), `GET /workflow_runs/{id}`,
`GET /workflow_runs/{id}/tasks`, `GET /workflow_runs/{id}/tasks/{task_id}`,
`GET /applicants/{id}`, `DELETE /applicants/{id}` (204; the applicant and
its runs answer 404 from then on, as once Onfido has deleted them).

Choices where Onfido documents nothing: `sort` orders by `created_at` (then
id); `created_at_gt=D` keeps runs created on a later UTC day than D and
`created_at_lt=D` runs created on an earlier day (whole days, strictly), so
incremental windows must overlap; a malformed filter is a 422
`validation_error`; unknown query parameters are ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any, ClassVar

from ..api import (
    GroundTruth,
    ProviderApi,
    WebhookError,
    WebhookPayload,
    served_status,
    tag_records,
    visible,
    webhook_event_check,
)
from ..config import ONFIDO_PAGE_SIZE
from ..wire import SimRequest, SimResponse, View, iso_seconds
from .world import OnfidoRun, OnfidoTask

TERMINAL = frozenset({"approved", "declined", "review", "abandoned", "error"})
UNKNOWN_STATUS = "paused_by_compliance"
UNKNOWN_RESULT = "indeterminate"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EVENTS = ("workflow_run.completed", "workflow_task.started", "workflow_task.completed")


class OnfidoApi(ProviderApi):
    name = "onfido"
    extra_field_key = "sim_unexpected_field"
    session_noun = "Onfido workflow run"
    routes: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("GET", r"/workflow_runs", "list_runs"),
        ("GET", r"/workflow_runs/(?P<run_id>[^/]+)", "get_run"),
        ("GET", r"/workflow_runs/(?P<run_id>[^/]+)/tasks", "list_tasks"),
        (
            "GET",
            r"/workflow_runs/(?P<run_id>[^/]+)/tasks/(?P<task_id>[^/]+)",
            "get_task",
        ),
        ("GET", r"/applicants/(?P<applicant_id>[^/]+)", "get_applicant"),
        ("DELETE", r"/applicants/(?P<applicant_id>[^/]+)", "delete_applicant"),
    )

    # --- protocol ---------------------------------------------------------

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if request.header("authorization") == f"Token token={self.credential}":
            return None
        return self.error(
            401,
            "authorization_error",
            "Authorization error: please re-check your credentials",
        )

    def error(self, status: int, code: str, message: str, **extra: Any) -> SimResponse:
        return SimResponse(
            status,
            {
                "error": {
                    "type": code,
                    "message": message,
                    "fields": extra.get("fields", {}),
                }
            },
        )

    # --- rendering --------------------------------------------------------

    def session_status(self, run: OnfidoRun, view: View) -> tuple[str, int] | None:
        """The served status word and since when (None while the run does not
        exist, or once its applicant is deleted)."""
        if self.client_deleted(run.applicant.id):
            return None
        return served_status(run, view, salt="onfido-run", unknown_word=UNKNOWN_STATUS)

    def run_json(self, run: OnfidoRun, view: View) -> dict[str, Any]:
        word, since = run.timeline.at(view.t) or ("", 0)
        served, _ = self.session_status(run, view) or ("", 0)
        final = since == run.timeline.steps[-1][0]
        created = view.at(run.timeline.created)
        data: dict[str, Any] = {
            "id": run.id,
            "applicant_id": run.applicant.id,
            "workflow_id": run.workflow_id,
            "workflow_version_id": run.workflow_version_id,
            "status": served,
            "dashboard_url": f"https://dashboard.onfido.com/results/{run.id}",
            "output": dict(run.output) if final else {},
            "reasons": list(run.reasons) if final else [],
            "tags": list(run.tags) if run.tags is not None else None,
            "link": {
                "url": f"https://eu.onfido.app/l/{run.link_token}",
                "completed_redirect_url": None,
                "expired_redirect_url": None,
                "expires_at": iso_seconds(created + dt.timedelta(days=7)),
                "language": "en_US",
            },
            "created_at": iso_seconds(created),
            "updated_at": iso_seconds(view.at(since)),
            # A credential (the SDK acts as the applicant with it) while the
            # run still waits for the applicant; Verity must never store it.
            "sdk_token": None if final else f"sim-sdk-token.{run.link_token}",
        }
        if run.applicant.reference:
            data["customer_user_id"] = run.applicant.reference
        if word == "error" and run.error:
            data["error"] = dict(run.error)
        return data

    @staticmethod
    def visible_tasks(run: OnfidoRun, view: View) -> list[OnfidoTask]:
        tasks = [task for task in run.tasks if task.started <= view.t]
        return sorted(tasks, key=lambda task: (task.started, task.id))

    @staticmethod
    def task_done(task: OnfidoTask, view: View) -> bool:
        return task.completed is not None and task.completed <= view.t

    def task_item_json(
        self, run: OnfidoRun, task: OnfidoTask, view: View
    ) -> dict[str, Any]:
        updated = task.completed if self.task_done(task, view) else task.started
        return {
            "id": task.id,
            "workflow_run_id": run.id,
            "task_def_id": task.task_def_id,
            "task_def_version": task.task_def_version,
            "created_at": iso_seconds(view.at(task.started)),
            "updated_at": iso_seconds(view.at(updated)),
        }

    def task_output(self, task: OnfidoTask, view: View) -> dict[str, Any] | None:
        if not self.task_done(task, view) or task.output is None:
            return None
        output = dict(task.output)
        if task.report and view.unknown("onfido-task", task.id):
            output["result"] = UNKNOWN_RESULT
        return output

    def task_json(self, run: OnfidoRun, task: OnfidoTask, view: View) -> dict[str, Any]:
        return {
            **self.task_item_json(run, task, view),
            "input": dict(task.input),
            "output": self.task_output(task, view),
        }

    # --- handlers ---------------------------------------------------------

    def _visible_run(self, run_id: str, view: View) -> OnfidoRun | None:
        run = visible(self.world.onfido.session_by_id, run_id, view)
        if run is None or self.client_deleted(run.applicant.id):
            return None
        return run

    def _run_not_found(self, run_id: str) -> SimResponse:
        return self.error(
            404, "resource_not_found", f"Workflow run {run_id} was not found."
        )

    def list_runs(self, request: SimRequest, view: View) -> SimResponse:
        fields: dict[str, list[str]] = {}
        page_text = request.param("page") or "1"
        page = int(page_text) if page_text.isdigit() else 0
        if page < 1:
            fields["page"] = ["must be a positive integer"]
        sort = request.param("sort") or "desc"
        if sort not in {"asc", "desc"}:
            fields["sort"] = ["must be one of: desc, asc"]
        days: dict[str, dt.date] = {}
        for name in ("created_at_gt", "created_at_lt"):
            value = request.param(name)
            if value is None or value == "":
                continue
            try:
                if not DATE.fullmatch(value):
                    raise ValueError(value)
                days[name] = dt.date.fromisoformat(value)
            except ValueError:
                fields[name] = ["must be a date in the format YYYY-MM-DD"]
        if fields:
            return self.error(
                422,
                "validation_error",
                "There was a validation error on this request",
                fields=fields,
            )

        statuses = {
            s.strip() for s in (request.param("status") or "").split(",") if s.strip()
        }
        applicant_id = request.param("applicant_id")
        wanted_tags = {
            t.strip()
            for value in request.query.get("tags", [])
            for t in value.split(",")
            if t.strip()
        }

        def matching() -> list[OnfidoRun]:
            matches = []
            for run in self.world.onfido.sessions:
                current = self.session_status(run, view)
                if current is None:
                    continue
                created_day = view.at(run.timeline.created).date()
                if statuses and current[0] not in statuses:
                    continue
                if "created_at_gt" in days and not created_day > days["created_at_gt"]:
                    continue
                if "created_at_lt" in days and not created_day < days["created_at_lt"]:
                    continue
                if applicant_id and run.applicant.id != applicant_id:
                    continue
                if wanted_tags and not wanted_tags <= set(run.tags or ()):
                    continue
                matches.append(run)
            matches.sort(
                key=lambda r: (r.timeline.created, r.id), reverse=sort == "desc"
            )
            return matches

        query = (
            "runs",
            frozenset(statuses),
            tuple(sorted(days.items())),
            applicant_id,
            frozenset(wanted_tags),
            sort,
        )
        matches = self.listing(view, query, matching)
        chunk = matches[(page - 1) * ONFIDO_PAGE_SIZE : page * ONFIDO_PAGE_SIZE]
        return SimResponse(
            200, [self.run_json(run, view) for run in chunk], list_page=True
        )

    def get_run(self, request: SimRequest, view: View, run_id: str) -> SimResponse:
        run = self._visible_run(run_id, view)
        if run is None:
            return self._run_not_found(run_id)
        return SimResponse(200, self.run_json(run, view), detail=True)

    def list_tasks(self, request: SimRequest, view: View, run_id: str) -> SimResponse:
        run = self._visible_run(run_id, view)
        if run is None:
            return self._run_not_found(run_id)
        return SimResponse(
            200,
            [
                self.task_item_json(run, task, view)
                for task in self.visible_tasks(run, view)
            ],
            detail=True,
        )

    def get_task(
        self, request: SimRequest, view: View, run_id: str, task_id: str
    ) -> SimResponse:
        run = self._visible_run(run_id, view)
        if run is None:
            return self._run_not_found(run_id)
        for task in self.visible_tasks(run, view):
            if task.id == task_id:
                return SimResponse(200, self.task_json(run, task, view), detail=True)
        return self.error(404, "resource_not_found", f"Task {task_id} was not found.")

    def get_applicant(
        self, request: SimRequest, view: View, applicant_id: str
    ) -> SimResponse:
        applicant = self._visible_applicant(applicant_id, view)
        if applicant is None:
            return self._applicant_not_found(applicant_id)
        person = applicant.person
        return SimResponse(
            200,
            {
                "id": applicant.id,
                "created_at": iso_seconds(view.at(applicant.created)),
                "href": f"/v3.6/applicants/{applicant.id}",
                "sandbox": False,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "dob": person.dob,
                "phone_number": person.phone,
                "id_numbers": [],
                "address": {
                    "street": person.street,
                    "town": person.town,
                    "postcode": person.postcode,
                    "country": person.country3,
                },
                "location": {"country_of_residence": person.country3},
            },
            detail=True,
        )

    def _visible_applicant(self, applicant_id: str, view: View) -> Any:
        applicant = self.world.onfido.client_by_id.get(applicant_id)
        if (
            applicant is None
            or applicant.created > view.t
            or self.client_deleted(applicant_id)
        ):
            return None
        return applicant

    def _applicant_not_found(self, applicant_id: str) -> SimResponse:
        return self.error(
            404, "resource_not_found", f"Applicant {applicant_id} was not found."
        )

    def delete_applicant(
        self, request: SimRequest, view: View, applicant_id: str
    ) -> SimResponse:
        """204, and the applicant with its runs is gone; 404 if it is not there."""
        if self._visible_applicant(applicant_id, view) is None:
            return self._applicant_not_found(applicant_id)
        self.client_delete(applicant_id)
        return SimResponse(204, None)

    # --- ground truth -----------------------------------------------------

    def state(self, view: View, *, detail: bool = True) -> dict[str, Any]:
        truth = GroundTruth()
        for run, word, since in truth.served(
            self.world.onfido.sessions, self.session_status, view
        ):
            applicant = run.applicant
            run_checks = []
            for task in self.visible_tasks(run, view):
                if not task.report:
                    continue
                output = self.task_output(task, view)
                record = {
                    "id": task.id,
                    "report_id": (task.output or {}).get("uuid", ""),
                    "type": task.task_def_id,
                    "status": output["status"] if output else "started",
                    "result": output["result"] if output else "",
                    "sub_result": (output or {}).get("sub_result") or "",
                }
                run_checks.append((record, output is not None))
            truth.add_session(
                session_id=run.id,
                status=word,
                outcome="",
                client={
                    "id": applicant.id,
                    "name": applicant.person.full_name,
                    "reference": applicant.reference or "",
                },
                created_at=iso_seconds(view.at(run.timeline.created)),
                updated_at=iso_seconds(view.at(since)),
                tags=tag_records(run.tags, "user"),
                checks=run_checks,
            )
        return truth.result(detail=detail)

    # --- webhooks ---------------------------------------------------------

    def webhook(
        self, view: View, *, event: str | None, session_id: str | None
    ) -> WebhookPayload:
        event = event or "workflow_run.completed"
        webhook_event_check("Onfido", event, EVENTS)
        base = f"{view.base_url}{self.prefix}"
        if event == "workflow_run.completed":
            run = self.webhook_session(
                view, session_id, lambda _run, word: word in TERMINAL
            )
            data = self.run_json(run, view)
            payload = {
                "resource_type": "workflow_run",
                "action": event,
                "object": {
                    "id": run.id,
                    "status": data["status"],
                    "started_at_iso8601": data["created_at"],
                    "completed_at_iso8601": data["updated_at"],
                    "href": f"{base}/workflow_runs/{run.id}",
                },
                "resource": {
                    **data,
                    "workflow_run_id": run.id,
                    "tags": data["tags"] or [],
                },
            }
            return WebhookPayload(
                event=event,
                session_id=run.id,
                payload={"payload": payload},
                delivery_id=None,
            )

        completed = event == "workflow_task.completed"

        def has_task(run: OnfidoRun, _word: str) -> bool:
            return any(
                t.report and (not completed or self.task_done(t, view))
                for t in self.visible_tasks(run, view)
            )

        run = self.webhook_session(view, session_id, has_task)
        tasks = [
            t
            for t in self.visible_tasks(run, view)
            if t.report and (not completed or self.task_done(t, view))
        ]
        if not tasks:
            raise WebhookError(f"Workflow run {run.id} has no report task for {event}.")
        task = max(
            tasks, key=lambda t: ((t.completed or 0) if completed else t.started, t.id)
        )
        item = self.task_json(run, task, view)
        status = "completed" if completed else "started"
        task_object: dict[str, Any] = {
            "id": task.id,
            "status": status,
            "started_at_iso8601": item["created_at"],
            "href": f"{base}/workflow_runs/{run.id}/tasks/{task.id}",
            # Undeclared in the spec, present in real task events.
            "task_spec_id": task.id,
            "task_def_id": task.task_def_id,
            "workflow_run_id": run.id,
        }
        if completed:
            task_object["completed_at_iso8601"] = item["updated_at"]
        payload = {
            "resource_type": "workflow_task",
            "action": event,
            "object": task_object,
            "resource": {**item, "applicant_id": run.applicant.id, "status": status},
        }
        return WebhookPayload(
            event=event,
            session_id=run.id,
            payload={"payload": payload},
            delivery_id=None,
        )


def body_digest(body: bytes) -> str:
    """Onfido sends no delivery id; receivers can key deliveries on the body's SHA-256."""
    return hashlib.sha256(body).hexdigest()
