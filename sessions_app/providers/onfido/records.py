"""How one Onfido workflow run is read: its tasks (the checks) and applicant (the client).

A changed run costs `GET /workflow_runs/{id}/tasks`, one `GET .../tasks/{task_id}`
per task (verification results live in task `output`) and, once per applicant
per reader, `GET /applicants/{id}`. A run whose tasks, a task or its applicant
could not be read (a client error or garbage; a deleted applicant only loses
its name) is returned with what was read, the reasons in `missing` and no
change marker. Contract facts: `docs/providers/onfido.md`.
"""

from __future__ import annotations

from typing import Any

from ...normalization import normalise_check, normalise_session
from ...payload_paths import PathSet
from ...sync.values import (
    CHECK_TYPE_MAX,
    ID_MAX,
    NAME_MAX,
    RAW_WORD_MAX,
    VERSION_MAX,
    clean_id,
    finite_number,
    https_url_on,
    json_list,
    json_object,
    parse_date,
    parse_timestamp,
    text,
)
from ..base import CheckRecord, ClientRecord, SessionRecord
from ..common import (
    SOFT_ERRORS,
    change_marker,
    missing_reason,
    object_read,
    path_id,
    tag_records,
    unknown_check_words,
    unknown_session_words,
)
from ..concurrency import FetchOnce
from ..http import ProviderHTTP
from .secrets import SECRET_PATHS

KIND = "onfido"
# Credentials a run and its tasks carry (`sdk_token`, the run's `link.url`):
# declared in `secrets.py`, cut here before any record is built (and again by
# the sync before anything is stored, for every provider).
_RUN_SECRETS = PathSet(SECRET_PATHS["listed"])
_TASK_SECRETS = PathSet(SECRET_PATHS["check"])
# Where `dashboard_url` may point: the Onfido Dashboard of each region (EU
# `dashboard.onfido.com` as in the spec's examples; US and CA under their
# region, as the API hosts are). Anything else is dropped, never linked.
DASHBOARD_HOSTS = frozenset(
    {"dashboard.onfido.com", "dashboard.us.onfido.com", "dashboard.ca.onfido.com"}
)
# Keys of a task output (or of one of its values) that mark a report.
REPORT_KEYS = frozenset({"result", "sub_result", "status", "breakdown"})
# Task definitions that verify something (Onfido's report names, as Studio
# names its tasks); a started one is a check before it has an output.
REPORT_TASK_PREFIXES = (
    "document_check",
    "document_video",
    "facial_similarity",
    "known_faces",
    "identity_enhanced",
    "watchlist",
    "proof_of_address",
    "us_driving_licence",
    "device_intelligence",
    "india_pan",
)
# The applicant object carries PII (date of birth, address, ID numbers); keep
# only what identifies it and its name.
APPLICANT_KEYS = (
    "id",
    "first_name",
    "last_name",
    "created_at",
    "delete_at",
    "href",
    "sandbox",
)


class RunReader:
    """Reads runs in full; remembers each applicant it fetched (once per reader)."""

    def __init__(self, http: ProviderHTTP) -> None:
        self.http = http
        # applicant id -> (full name, trimmed applicant, why it was unreadable
        # or ""); read by concurrent run reads, each applicant fetched once.
        self._applicants: FetchOnce[str, tuple[str, dict[str, Any], str]] = FetchOnce()

    @staticmethod
    def version(run: dict[str, Any]) -> str:
        return change_marker(run, "updated_at")

    def record(self, ident: str, run: dict[str, Any]) -> SessionRecord:
        missing: list[str] = []
        run = without_credentials(run)
        tasks = _TASK_SECRETS.cut(self._tasks(ident, missing))
        raw_status = text(run.get("status"), limit=RAW_WORD_MAX)
        normalised = normalise_session(KIND, raw_status)
        unknown = unknown_session_words(KIND, raw_status)
        checks: list[CheckRecord] = []
        for task in tasks:
            checks.extend(self._checks_of(ident, task, unknown))
        # The run's `output` holds what its workflow version configures; these
        # two are the keys Verity shows (the rest stays in the raw payload).
        output = json_object(run.get("output"))
        return SessionRecord(
            external_id=ident,
            raw_status=raw_status,
            normalised=normalised,
            # An Onfido run's outcome is its status word (approved, declined, review).
            raw_outcome=raw_status if normalised.outcome else "",
            client=self._client(run, missing),
            workflow_id=text(run.get("workflow_id"), limit=ID_MAX),
            workflow_version=text(run.get("workflow_version_id"), limit=VERSION_MAX),
            reasons=[
                reason
                for reason in (text(r) for r in json_list(run.get("reasons")))
                if reason
            ],
            error=self._error_text(run.get("error")),
            dashboard_url=https_url_on(run.get("dashboard_url"), DASHBOARD_HOSTS),
            decision=_word(output.get("decision")),
            risk_score=finite_number(output.get("risk_score")),
            link_expires_at=parse_timestamp(
                json_object(run.get("link")).get("expires_at")
            ),
            created_at=parse_timestamp(run.get("created_at")),
            updated_at=parse_timestamp(run.get("updated_at")),
            tags=tag_records(run.get("tags"), "user"),
            checks=checks,
            source_version="" if missing else self.version(run),
            missing=missing,
            unknown_values=list(dict.fromkeys(unknown)),
            raw={"run": run, "tasks": tasks},
        )

    @staticmethod
    def _error_text(error: Any) -> str:
        if isinstance(error, dict):
            kind, message = text(error.get("type")), text(error.get("message"))
            return f"{kind}: {message}" if kind and message else kind or message
        return text(error)

    def _tasks(self, run_id: str, missing: list[str]) -> list[Any]:
        """Return the run's tasks in full (the list item where a detail is unreadable).

        What could not be read is appended to `missing`. A 404/410 for the list
        itself propagates: the run was deleted after it was listed.
        """
        path = f"/workflow_runs/{path_id(run_id)}/tasks"
        try:
            listed = self.http.get_json(path)
        except SOFT_ERRORS as exc:
            missing.append(missing_reason("tasks", exc))
            return []
        if not isinstance(listed, list):
            missing.append(missing_reason("tasks", f"GET {path} is not a JSON array"))
            return []
        tasks: list[Any] = []
        for item in listed:
            task_id = clean_id(item.get("id")) if isinstance(item, dict) else None
            if task_id is None:
                tasks.append(item)
                continue
            # Even a 404 is a reason: the run lists this task, so it exists; the
            # detail (where results live) is what could not be read, this time.
            task, problem = object_read(self.http, f"{path}/{path_id(task_id)}")
            if problem:
                missing.append(missing_reason(f"task {task_id}", problem))
                task = item
            tasks.append(task)
        return tasks

    def _checks_of(
        self, run_id: str, task: Any, unknown: list[str]
    ) -> list[CheckRecord]:
        """Return a check per report of a task (none for data-collection tasks).

        A task is a check when its output looks like a report, or when its
        definition is a verification (`REPORT_TASK_PREFIXES`) that has not
        reported yet: Onfido lists a task once started and fills `output` only
        when it completes, so such a task is a check in state `started` (the
        word Onfido's task webhooks use). The check id is `<run id>:<task id>`,
        stable over that lifecycle (the report `uuid` appears only at the end
        and stays in the raw task). Unknown raw words are appended to `unknown`.
        """
        if not isinstance(task, dict):
            return []
        task_id = clean_id(task.get("id")) or ""
        task_def = text(task.get("task_def_id")) or task_id
        output = task.get("output")
        reports: list[tuple[str, dict[str, Any]]] = []
        if _is_report(output):
            reports.append(("", output))
        elif isinstance(output, dict):
            # A task may wrap several reports, e.g. {"doc": {...}, "selfie": {...}}.
            reports.extend(
                (key, value) for key, value in output.items() if _is_report(value)
            )
        # Only a task read in full says "no output yet"; a bare list item (its
        # detail was unreadable) must not turn a stored result back to started.
        started = "output" in task and output in (None, {})
        if not reports and started and task_def.startswith(REPORT_TASK_PREFIXES):
            reports.append(("", {"status": "started"}))
        checks = []
        for key, report in reports:
            raw_status = text(report.get("status"), limit=RAW_WORD_MAX)
            result = text(report.get("result"), limit=RAW_WORD_MAX)
            sub_result = text(report.get("sub_result"), limit=RAW_WORD_MAX)
            unknown.extend(unknown_check_words(KIND, raw_status, result))
            suffix = f":{key}" if key else ""
            checks.append(
                CheckRecord(
                    external_id=f"{run_id}:{task_id}{suffix}"[:ID_MAX],
                    check_type=f"{task_def}{suffix}"[:CHECK_TYPE_MAX],
                    raw_status=raw_status,
                    raw_outcome=(f"{result}/{sub_result}" if sub_result else result)[
                        :RAW_WORD_MAX
                    ],
                    normalised=normalise_check(KIND, raw_status, result, sub_result),
                    task_id=task_id,
                    breakdown=json_object(report.get("breakdown")),
                    created_at=parse_timestamp(
                        report.get("created_at") or task.get("created_at")
                    ),
                    updated_at=parse_timestamp(task.get("updated_at")),
                    raw=task,
                    document_expires_on=parse_date(
                        json_object(report.get("properties")).get("date_of_expiry")
                    ),
                )
            )
        return checks

    def _client(self, run: dict[str, Any], missing: list[str]) -> ClientRecord | None:
        applicant_id = clean_id(run.get("applicant_id"))
        if applicant_id is None:
            return None
        name, raw, problem = self._applicant(applicant_id)
        if problem:
            missing.append(missing_reason(f"applicant {applicant_id}", problem))
        return ClientRecord(
            external_id=applicant_id,
            name=name,
            external_reference=text(run.get("customer_user_id"), limit=NAME_MAX),
            raw=raw,
            incomplete=bool(problem),
        )

    def _applicant(self, applicant_id: str) -> tuple[str, dict[str, Any], str]:
        """Return (full name, trimmed applicant, why unreadable or ""), once per applicant.

        A deleted applicant (404/410) is not a failure: its runs simply have
        no name. Other client errors and garbage are reported, for every run
        of that applicant this adapter reads.
        """

        def fetch() -> tuple[str, dict[str, Any], str]:
            # A deleted applicant must not hide the run: no name, that's all.
            applicant, problem = object_read(
                self.http,
                f"/applicants/{path_id(applicant_id)}",
                gone=f"Onfido applicant {applicant_id}",
            )
            name = " ".join(
                part
                for part in (
                    text(applicant.get("first_name")),
                    text(applicant.get("last_name")),
                )
                if part
            )
            trimmed = {
                key: applicant[key] for key in APPLICANT_KEYS if key in applicant
            }
            return name[:NAME_MAX], trimmed, problem

        return self._applicants.get(applicant_id, fetch)


def without_credentials(run: Any) -> Any:
    """Return a run (as listed, or a webhook's run resource) without its
    credentials (`secrets.py`): `sdk_token` at any depth and the link's `url`;
    the rest of the link (its expiry, language, redirects) is kept."""
    return _RUN_SECRETS.cut(run)


def _word(value: Any) -> str:
    """A word the provider sent as a string ("" for anything else)."""
    return text(value, limit=RAW_WORD_MAX).strip() if isinstance(value, str) else ""


def _is_report(value: Any) -> bool:
    return isinstance(value, dict) and not REPORT_KEYS.isdisjoint(value)
