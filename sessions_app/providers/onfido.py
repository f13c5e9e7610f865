"""Onfido (Entrust IDV) Studio workflow runs.

Contract: `/work/shared/providers/onfido/NOTES.md` and the official spec v3.6.
What makes Onfido awkward, and how this adapter copes:

- `GET /workflow_runs?page=N&sort=desc` is a bare array with no page size and
  no total: pages are read until one comes back empty.
- There is no "updated since" filter; `created_at_gt` takes a whole day. An
  incremental pass lists runs created since the day before the last pass
  started, minus `overlap_days` (default 1), and then re-fetches by id the
  unfinished runs Verity holds (`refresh_ids`), which is how older runs that
  changed are caught. The first pass, and `full=True`, list everything.
- A run's `updated_at` is its change marker (`source_version`): unchanged runs
  cost no further call. A changed run costs `GET /workflow_runs/{id}/tasks`,
  one `GET .../tasks/{task_id}` per task (verification results live in task
  `output`) and, once per applicant per adapter, `GET /applicants/{id}`.
- A run that answers 404/410 on refresh was deleted (rolling deletion, sandbox
  purge): it is reported in `Page.gone_ids`, not as an error.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from ..exceptions import ProviderBadRequest, ProviderNotFound, ProviderResponseInvalid
from ..normalization import normalise_check, normalise_session
from .base import (
    Budget,
    CheckRecord,
    ClientRecord,
    ConnectionConfig,
    KnownVersions,
    Page,
    ProviderAdapter,
    SessionRecord,
    no_known_versions,
    payload_hash,
)
from .common import (
    CHECK_TYPE_MAX,
    CURSOR_VERSION,
    ID_MAX,
    NAME_MAX,
    RAW_WORD_MAX,
    URL_MAX,
    VERSION_MAX,
    Progress,
    as_text,
    chunked,
    clean_id,
    format_timestamp,
    identify,
    int_option,
    item_id,
    json_list,
    json_object,
    now_utc,
    page_of_items,
    parse_timestamp,
    pass_in_progress,
    snapshot,
    tag_records,
    unknown_check_words,
    unknown_session_words,
    walk_offset_pages,
)
from .http import ProviderHTTP, connection_http, response_json

logger = logging.getLogger(__name__)

KIND = "onfido"
RECORD_TYPE = "workflow_run"
# Onfido's published live limit is 400 requests/minute (sandbox 30/minute) and
# its 429s carry no Retry-After: wait for the minute window to roll over.
DEFAULT_RETRY_AFTER = 60.0
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


def onfido_error(response: requests.Response) -> tuple[str, str]:
    """Read Onfido's `{"error": {"type", "message", "fields"}}` envelope."""
    body = response_json(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    message = as_text(error.get("message"))
    fields = error.get("fields")
    if isinstance(fields, dict) and fields:
        message = f"{message} {as_text(fields, limit=300)}".strip()
    return as_text(error.get("type")), message


def _path_id(value: str) -> str:
    return quote(value, safe="")


class OnfidoAdapter(ProviderAdapter):
    """Workflow runs, their tasks (as checks) and applicants (as clients)."""

    kind = KIND

    def __init__(
        self, config: ConnectionConfig, *, http: ProviderHTTP | None = None
    ) -> None:
        super().__init__(config, http=http)
        options = config.options
        self.batch_size = int_option(options, "batch_size", 25, minimum=1, maximum=500)
        self.overlap_days = int_option(
            options, "overlap_days", 1, minimum=0, maximum=60
        )
        self._applicants: dict[str, tuple[str, dict[str, Any]]] = {}

    @classmethod
    def make_http(cls, config: ConnectionConfig, **overrides: Any) -> ProviderHTTP:
        """Return the HTTP client for `config`; `overrides` reach ProviderHTTP (tests)."""
        return connection_http(
            config,
            overrides,
            headers={"Authorization": f"Token token={config.credential}"},
            error_parser=onfido_error,
            default_retry_after=DEFAULT_RETRY_AFTER,
        )

    def build_http(self) -> ProviderHTTP:
        return self.make_http(self.config)

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
        """Yield pages of runs: the (windowed) listing, then `refresh_ids` by id.

        Cursor: `{"v": 1, "last_pass_started_at": iso}` between passes, plus
        `"pass": {mode, started_at, created_at_gt, phase, page, done_ids,
        prev_ids, refresh_after}` while one is unfinished.
        """
        cursor = cursor if isinstance(cursor, Mapping) else {}
        state = self._pass_state(cursor, full)
        last_started = cursor.get("last_pass_started_at")

        def cursor_of() -> dict[str, Any]:
            return snapshot(
                {
                    "v": CURSOR_VERSION,
                    "last_pass_started_at": last_started,
                    "pass": state,
                }
            )

        progress = Progress()
        seen: set[str] = set()
        wanted = {i for i in refresh_ids if isinstance(i, str) and i}

        def process(runs: Sequence[Any]) -> Page:
            # Remember, in the cursor, which refresh ids the listing already
            # handled, so a pass resumed over several calls never reads one
            # again by id (bounded by the refresh limit).
            listed = wanted.intersection(filter(None, map(item_id, runs)))
            if listed:
                state["listed_refresh_ids"] = sorted(
                    listed.union(state.get("listed_refresh_ids") or [])
                )
            return self._page_of(runs, known_versions)

        finished = True
        if state["phase"] == "list":
            finished = yield from walk_offset_pages(
                state,
                budget=budget,
                progress=progress,
                batch_size=self.batch_size,
                fetch=lambda page: (
                    self._list_page(page, state["created_at_gt"]),
                    False,
                ),
                process=process,
                cursor_of=cursor_of,
                seen=seen,
            )
            if finished:
                state.update(phase="refresh", done_ids=[], prev_ids=[])
        if finished:
            pending = sorted(
                {i for i in wanted if i > state["refresh_after"]}
                - seen
                - set(state.get("listed_refresh_ids") or [])
            )
            for chunk in chunked(pending, self.batch_size):
                if budget.exhausted(progress.pages):
                    finished = False
                    break
                page = self._refresh_page(chunk, known_versions)
                state["refresh_after"] = chunk[-1]
                page.cursor = cursor_of()
                yield page
                progress.pages += 1
        if finished:
            yield Page(
                cursor={
                    "v": CURSOR_VERSION,
                    "last_pass_started_at": state["started_at"],
                },
                done=True,
            )
        elif progress.pages == 0:
            yield Page(cursor=cursor_of(), done=False)

    def _pass_state(self, cursor: Mapping[str, Any], full: bool) -> dict[str, Any]:
        current = pass_in_progress(cursor, full)
        if current is not None and self._valid_state(current):
            return current
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
        return {
            "mode": "full" if full or last_started is None else "incremental",
            "started_at": format_timestamp(started),
            "created_at_gt": created_at_gt,
            "phase": "list",
            "page": 1,
            "done_ids": [],
            "prev_ids": [],
            "refresh_after": "",
        }

    @staticmethod
    def _valid_state(state: dict[str, Any]) -> bool:
        return (
            state.get("phase") in ("list", "refresh")
            and isinstance(state.get("page"), int)
            and state["page"] >= 1
            and isinstance(state.get("done_ids"), list)
            and isinstance(state.get("prev_ids"), list)
            and isinstance(state.get("refresh_after"), str)
            and isinstance(state.get("listed_refresh_ids", []), list)
            and isinstance(state.get("started_at"), str)
            and (
                state.get("created_at_gt") is None
                or isinstance(state.get("created_at_gt"), str)
            )
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

    def _page_of(self, runs: Sequence[Any], known_versions: KnownVersions) -> Page:
        return page_of_items(
            runs,
            record_type=RECORD_TYPE,
            known_versions=known_versions,
            version_of=self._version,
            build=self._record,
        )

    def _refresh_page(self, ids: Sequence[str], known_versions: KnownVersions) -> Page:
        runs: list[Any] = []
        gone: list[str] = []
        for ident in ids:
            try:
                runs.append(self.http.get_json(f"/workflow_runs/{_path_id(ident)}"))
            except ProviderNotFound:
                gone.append(ident)
            except (ProviderBadRequest, ProviderResponseInvalid) as exc:
                # e.g. an id that is not a uuid any more: keep going with the others.
                logger.warning("Onfido run %s could not be refreshed: %s", ident, exc)
        page = self._page_of(runs, known_versions)
        page.gone_ids.extend(gone)
        return page

    # One run ----------------------------------------------------------------

    def fetch_session(
        self, external_id: str, *, hint: Mapping[str, Any] | None = None
    ) -> SessionRecord | None:
        """Fetch one run with its tasks and applicant; None on 404/410."""
        try:
            run = self.http.get_json(f"/workflow_runs/{_path_id(external_id)}")
        except ProviderNotFound:
            return None
        ident, bad = identify(run, RECORD_TYPE)
        if bad is not None:
            raise ProviderResponseInvalid(
                f"workflow run {external_id}: {bad.reason}", provider=self.http.provider
            )
        try:
            return self._record(ident, run)
        except ProviderNotFound:
            return None

    @staticmethod
    def _version(run: dict[str, Any]) -> str:
        updated = run.get("updated_at")
        if isinstance(updated, str) and updated.strip():
            return updated.strip()[:RAW_WORD_MAX]
        return payload_hash(run)

    def _record(self, ident: str, run: dict[str, Any]) -> SessionRecord:
        tasks = self._tasks(ident)
        raw_status = as_text(run.get("status"), limit=RAW_WORD_MAX)
        normalised = normalise_session(KIND, raw_status)
        unknown = unknown_session_words(KIND, raw_status)
        checks: list[CheckRecord] = []
        for task in tasks:
            checks.extend(self._checks_of(ident, task, unknown))
        dashboard_url = as_text(run.get("dashboard_url"))
        return SessionRecord(
            external_id=ident,
            raw_status=raw_status,
            normalised=normalised,
            # An Onfido run's outcome is its status word (approved, declined, review).
            raw_outcome=raw_status if normalised.outcome else "",
            client=self._client(run),
            workflow_id=as_text(run.get("workflow_id"), limit=ID_MAX),
            workflow_version=as_text(run.get("workflow_version_id"), limit=VERSION_MAX),
            reasons=[
                text
                for text in (as_text(r) for r in json_list(run.get("reasons")))
                if text
            ],
            error=self._error_text(run.get("error")),
            dashboard_url=dashboard_url if len(dashboard_url) <= URL_MAX else "",
            created_at=parse_timestamp(run.get("created_at")),
            updated_at=parse_timestamp(run.get("updated_at")),
            tags=tag_records(run.get("tags"), "user"),
            checks=checks,
            source_version=self._version(run),
            unknown_values=list(dict.fromkeys(unknown)),
            raw={"run": run, "tasks": tasks},
        )

    @staticmethod
    def _error_text(error: Any) -> str:
        if isinstance(error, dict):
            kind, message = as_text(error.get("type")), as_text(error.get("message"))
            return f"{kind}: {message}" if kind and message else kind or message
        return as_text(error)

    def _tasks(self, run_id: str) -> list[Any]:
        """Return the run's tasks in full (list item when the detail is unavailable)."""
        listed = self.http.get_json(f"/workflow_runs/{_path_id(run_id)}/tasks")
        if not isinstance(listed, list):
            raise ProviderResponseInvalid(
                f"tasks of workflow run {run_id} are not a JSON array",
                provider=self.http.provider,
            )
        tasks: list[Any] = []
        for item in listed:
            task_id = clean_id(item.get("id")) if isinstance(item, dict) else None
            if task_id is None:
                tasks.append(item)
                continue
            try:
                task = self.http.get_json(
                    f"/workflow_runs/{_path_id(run_id)}/tasks/{_path_id(task_id)}"
                )
            except (
                ProviderNotFound,
                ProviderBadRequest,
                ProviderResponseInvalid,
            ) as exc:
                logger.warning(
                    "Onfido task %s of run %s not readable: %s", task_id, run_id, exc
                )
                task = item
            tasks.append(task if isinstance(task, dict) else item)
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
        task_def = as_text(task.get("task_def_id")) or task_id
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
            raw_status = as_text(report.get("status"), limit=RAW_WORD_MAX)
            result = as_text(report.get("result"), limit=RAW_WORD_MAX)
            sub_result = as_text(report.get("sub_result"), limit=RAW_WORD_MAX)
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
                )
            )
        return checks

    def _client(self, run: dict[str, Any]) -> ClientRecord | None:
        applicant_id = clean_id(run.get("applicant_id"))
        if applicant_id is None:
            return None
        name, raw = self._applicant(applicant_id)
        return ClientRecord(
            external_id=applicant_id,
            name=name,
            external_reference=as_text(run.get("customer_user_id"), limit=NAME_MAX),
            raw=raw,
        )

    def _applicant(self, applicant_id: str) -> tuple[str, dict[str, Any]]:
        """Return (full name, trimmed applicant), once per applicant per adapter."""
        if applicant_id not in self._applicants:
            try:
                applicant = self.http.get_json(f"/applicants/{_path_id(applicant_id)}")
            except (
                ProviderNotFound,
                ProviderBadRequest,
                ProviderResponseInvalid,
            ) as exc:
                # A deleted applicant must not hide the run: no name, that's all.
                logger.info("Onfido applicant %s not readable: %s", applicant_id, exc)
                applicant = {}
            applicant = json_object(applicant)
            name = " ".join(
                part
                for part in (
                    as_text(applicant.get("first_name")),
                    as_text(applicant.get("last_name")),
                )
                if part
            )
            trimmed = {
                key: applicant[key] for key in APPLICANT_KEYS if key in applicant
            }
            self._applicants[applicant_id] = (name[:NAME_MAX], trimmed)
        return self._applicants[applicant_id]


def _is_report(value: Any) -> bool:
    return isinstance(value, dict) and not REPORT_KEYS.isdisjoint(value)
