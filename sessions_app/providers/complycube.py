"""ComplyCube workflow sessions.

Contract: `/work/shared/providers/complycube/NOTES.md` (ComplyCube publishes
no OpenAPI spec). How this adapter reads it:

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
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from ..exceptions import ProviderNotFound, ProviderResponseInvalid
from ..normalization import COMPLYCUBE_OUTCOME, normalise_check, normalise_session
from .base import (
    Budget,
    CheckRecord,
    ClientRecord,
    ConnectionConfig,
    KnownVersions,
    Page,
    PolicyRecord,
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
    RETRY_IDS_MAX,
    SOFT_ERRORS,
    VERSION_MAX,
    Progress,
    as_text,
    build_or_quarantine,
    chunked,
    clean_id,
    format_timestamp,
    incomplete_ids_update,
    int_option,
    item_id,
    json_list,
    json_object,
    missing_reason,
    now_utc,
    page_of_items,
    parse_timestamp,
    pass_in_progress,
    retry_ids_of,
    snapshot,
    unknown_check_words,
    unknown_session_words,
    walk_offset_pages,
)
from .http import ProviderHTTP, connection_http, response_json

logger = logging.getLogger(__name__)

KIND = "complycube"
RECORD_TYPE = "workflow_session"
RATE_LIMIT_TYPE = "rate_limit_exceeded"
# ComplyCube's docs ask for an initial back-off of 30 s after a 429.
DEFAULT_RETRY_AFTER = 30.0
# A quota 429 will not clear for hours (the quota is monthly): come back later.
QUOTA_RETRY_AFTER = 3600.0
# The client object carries PII (date of birth, SSN, addresses); keep only
# what identifies it, its name and the shared reference.
CLIENT_KEYS = ("id", "type", "entityName", "externalId", "createdAt", "updatedAt")
# Where an undocumented policy object may keep its id, name and outcome.
POLICY_ID_KEYS = ("id", "policyId", "policy_id", "compliancePolicyId")
POLICY_NAME_KEYS = ("name", "policyName", "policy_name", "title", "description")
POLICY_OUTCOME_KEYS = ("outcome", "result", "status")


def complycube_error(response: requests.Response) -> tuple[str, str]:
    """Read ComplyCube's `{"type", "message", "param"}` error body."""
    body = response_json(response)
    if not isinstance(body, dict):
        return "", ""
    message = as_text(body.get("message"))
    param = as_text(body.get("param"))
    if param:
        message = f"{message} (param {param})".strip()
    return as_text(body.get("type")), message


def is_quota_error(error_type: str) -> bool:
    """Tell a service-quota 429 from a rate-limit 429 by the body's `type`."""
    return bool(error_type) and error_type != RATE_LIMIT_TYPE


def _path_id(value: str) -> str:
    return quote(value, safe="")


class ComplyCubeAdapter(ProviderAdapter):
    """Workflow sessions, their related checks, policies and clients."""

    kind = KIND

    def __init__(
        self, config: ConnectionConfig, *, http: ProviderHTTP | None = None
    ) -> None:
        super().__init__(config, http=http)
        options = config.options
        self.page_size = int_option(options, "page_size", 100, minimum=1, maximum=1000)
        self.batch_size = int_option(options, "batch_size", 25, minimum=1, maximum=1000)
        self.lookback = dt.timedelta(
            minutes=int_option(
                options, "lookback_minutes", 10, minimum=0, maximum=7 * 24 * 60
            )
        )
        # client id -> (trimmed client, why it was unreadable or "").
        self._clients: dict[str, tuple[dict[str, Any], str]] = {}

    @classmethod
    def make_http(cls, config: ConnectionConfig, **overrides: Any) -> ProviderHTTP:
        """Return the HTTP client for `config`; `overrides` reach ProviderHTTP (tests)."""
        return connection_http(
            config,
            overrides,
            # The bare key, no "Bearer" (ComplyCube's documented scheme).
            headers={"Authorization": config.credential},
            error_parser=complycube_error,
            default_retry_after=DEFAULT_RETRY_AFTER,
            quota_error=is_quota_error,
            quota_retry_after=QUOTA_RETRY_AFTER,
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
        """Yield pages of sessions updated since the high-water mark (all if `full`).

        `refresh_ids` are not needed: `updatedAfter` finds every change. After
        the listing, sessions an earlier pass read incompletely (the cursor's
        `retry_ids`) and this listing did not return are fetched by id.
        Cursor: `{"v": 1, "high_water": iso, "last_pass_started_at": iso[,
        "retry_ids": [...]]}` between passes, plus `"pass": {mode, started_at,
        updated_after, phase, page, done_ids, prev_ids, max_updated, retry_ids,
        listed_retry_ids, retry_after, incomplete_ids}` while one is unfinished.
        """
        cursor = cursor if isinstance(cursor, Mapping) else {}
        high_water = (
            cursor.get("high_water")
            if isinstance(cursor.get("high_water"), str)
            else None
        )
        state = self._pass_state(cursor, full, high_water)

        def cursor_of() -> dict[str, Any]:
            return snapshot(
                {
                    "v": CURSOR_VERSION,
                    "high_water": high_water,
                    "last_pass_started_at": cursor.get("last_pass_started_at"),
                    "pass": state,
                }
            )

        progress = Progress()
        retry = set(state["retry_ids"])

        def process(items: Sequence[Any]) -> Page:
            listed = retry.intersection(filter(None, map(item_id, items)))
            if listed:
                state["listed_retry_ids"] = sorted(
                    listed.union(state["listed_retry_ids"])
                )
            page = self._page_of(items, known_versions, state)
            incomplete_ids_update(state, page, RECORD_TYPE)
            return page

        finished = True
        if state["phase"] == "list":
            finished = yield from walk_offset_pages(
                state,
                budget=budget,
                progress=progress,
                batch_size=self.batch_size,
                fetch=lambda page: self._list_page(page, state["updated_after"]),
                process=process,
                cursor_of=cursor_of,
                seen=set(),
            )
            if finished:
                state["phase"] = "retry"
        if finished:
            pending = sorted(
                i
                for i in retry.difference(state["listed_retry_ids"])
                if i > state["retry_after"]
            )
            for chunk in chunked(pending, self.batch_size):
                if budget.exhausted(progress.pages):
                    finished = False
                    break
                page = self._retry_page(chunk)
                incomplete_ids_update(state, page, RECORD_TYPE)
                state["retry_after"] = chunk[-1]
                page.cursor = cursor_of()
                yield page
                progress.pages += 1
        if finished:
            closing: dict[str, Any] = {
                "v": CURSOR_VERSION,
                "high_water": self._next_high_water(high_water, state),
                "last_pass_started_at": state["started_at"],
            }
            if state["incomplete_ids"]:
                closing["retry_ids"] = list(state["incomplete_ids"])
            yield Page(cursor=closing, done=True)
        elif progress.pages == 0:
            yield Page(cursor=cursor_of(), done=False)

    def _retry_page(self, ids: Sequence[str]) -> Page:
        """Fetch by id sessions an earlier pass read incompletely (404/410: gone)."""
        page = Page()
        for ident in ids:
            build_or_quarantine(
                page,
                record_type=RECORD_TYPE,
                ident=ident,
                raw={"id": ident},
                build=lambda ident=ident: self._record(ident, {}),
            )
        return page

    def _pass_state(
        self, cursor: Mapping[str, Any], full: bool, high_water: str | None
    ) -> dict[str, Any]:
        current = pass_in_progress(cursor, full)
        if current is not None and self._valid_state(current):
            for key, empty in (
                ("phase", "list"),
                ("retry_ids", []),
                ("listed_retry_ids", []),
                ("retry_after", ""),
                ("incomplete_ids", []),
            ):
                current.setdefault(key, empty)
            return current
        since = parse_timestamp(high_water)
        updated_after = None
        if not full and since is not None:
            updated_after = format_timestamp(since - self.lookback)
        return {
            "mode": "full" if updated_after is None else "incremental",
            "started_at": format_timestamp(now_utc()),
            "updated_after": updated_after,
            "phase": "list",
            "page": 1,
            "done_ids": [],
            "prev_ids": [],
            "max_updated": None,
            "retry_ids": retry_ids_of(cursor),
            "listed_retry_ids": [],
            "retry_after": "",
            "incomplete_ids": [],
        }

    @staticmethod
    def _valid_state(state: dict[str, Any]) -> bool:
        return (
            isinstance(state.get("page"), int)
            and state["page"] >= 1
            and isinstance(state.get("done_ids"), list)
            and isinstance(state.get("prev_ids"), list)
            and parse_timestamp(state.get("started_at")) is not None
            and state.get("phase", "list") in ("list", "retry")
            and isinstance(state.get("retry_ids", []), list)
            and len(state.get("retry_ids", [])) <= RETRY_IDS_MAX
            and all(isinstance(i, str) for i in state.get("retry_ids", []))
            and isinstance(state.get("listed_retry_ids", []), list)
            and isinstance(state.get("retry_after", ""), str)
            and isinstance(state.get("incomplete_ids", []), list)
            and (
                state.get("updated_after") is None
                or isinstance(state.get("updated_after"), str)
            )
        )

    @staticmethod
    def _next_high_water(previous: str | None, state: dict[str, Any]) -> str | None:
        """Return the newest `updatedAt` seen, capped at the pass start, never going back."""
        seen = parse_timestamp(state.get("max_updated"))
        started = parse_timestamp(state["started_at"])
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
        self, items: Sequence[Any], known_versions: KnownVersions, state: dict[str, Any]
    ) -> Page:
        newest = parse_timestamp(state.get("max_updated"))
        for item in items:
            updated = (
                parse_timestamp(item.get("updatedAt"))
                if isinstance(item, dict)
                else None
            )
            if updated is not None and (newest is None or updated > newest):
                newest = updated
        if newest is not None:
            state["max_updated"] = format_timestamp(newest)
        return page_of_items(
            items,
            record_type=RECORD_TYPE,
            known_versions=known_versions,
            version_of=self._version,
            build=self._record,
        )

    # One session ------------------------------------------------------------

    def fetch_session(
        self, external_id: str, *, hint: Mapping[str, Any] | None = None
    ) -> SessionRecord | None:
        """Fetch one session with its checks, policies and client; None on 404/410."""
        try:
            return self._record(external_id, {})
        except ProviderNotFound:
            return None

    @staticmethod
    def _version(session: dict[str, Any]) -> str:
        updated = session.get("updatedAt")
        if isinstance(updated, str) and updated.strip():
            return updated.strip()[:RAW_WORD_MAX]
        return payload_hash(session)

    def _record(self, ident: str, summary: dict[str, Any]) -> SessionRecord:
        detail = self.http.get_json(f"/workflowSessions/{_path_id(ident)}")
        if not isinstance(detail, dict):
            raise ProviderResponseInvalid(
                f"workflow session {ident} is not a JSON object",
                provider=self.http.provider,
            )
        session = {**summary, **detail}
        raw_status = as_text(session.get("status"), limit=RAW_WORD_MAX)
        raw_outcome = as_text(session.get("outcome"), limit=RAW_WORD_MAX)
        unknown = unknown_session_words(KIND, raw_status, raw_outcome)
        missing: list[str] = []
        checks, check_payloads = self._checks(session, unknown, missing)
        client = self._client(session, missing)
        return SessionRecord(
            external_id=ident,
            raw_status=raw_status,
            normalised=normalise_session(KIND, raw_status, raw_outcome),
            raw_outcome=raw_outcome,
            client=client,
            # The template is what officers filter on; the version id stays raw.
            workflow_id=as_text(session.get("workflowTemplateId"), limit=ID_MAX),
            workflow_name=as_text(session.get("workflowTemplateName"), limit=NAME_MAX),
            workflow_version=as_text(session.get("workflowVersion"), limit=VERSION_MAX),
            created_at=parse_timestamp(session.get("createdAt")),
            updated_at=parse_timestamp(session.get("updatedAt")),
            completed_at=parse_timestamp(session.get("completedAt")),
            checks=checks,
            policies=policy_records(session, unknown),
            source_version="" if missing else self._version(session),
            missing=missing,
            unknown_values=list(dict.fromkeys(unknown)),
            raw={"session": session, "checks": check_payloads},
        )

    def _checks(
        self, session: dict[str, Any], unknown: list[str], missing: list[str]
    ) -> tuple[list[CheckRecord], list[Any]]:
        """Return the session's related checks; what could not be read goes to `missing`."""
        checks: list[CheckRecord] = []
        payloads: list[Any] = []
        for related in json_list(session.get("allRelatedChecks")):
            related = json_object(related)
            check_id = clean_id(related.get("checkId"))
            if check_id is None:
                continue
            path = f"/checks/{_path_id(check_id)}"
            try:
                check = self.http.get_json(path)
            except (ProviderNotFound, *SOFT_ERRORS) as exc:
                # Even a 404: the session relates this check, so it exists.
                missing.append(missing_reason(f"check {check_id}", exc))
                continue
            if not isinstance(check, dict):
                missing.append(
                    missing_reason(
                        f"check {check_id}", f"GET {path} is not a JSON object"
                    )
                )
                continue
            payloads.append(check)
            result = json_object(check.get("result"))
            raw_status = as_text(check.get("status"), limit=RAW_WORD_MAX)
            raw_outcome = as_text(result.get("outcome"), limit=RAW_WORD_MAX)
            unknown.extend(unknown_check_words(KIND, raw_status, raw_outcome))
            checks.append(
                CheckRecord(
                    external_id=check_id,
                    check_type=as_text(
                        check.get("type") or related.get("type"), limit=CHECK_TYPE_MAX
                    ),
                    raw_status=raw_status,
                    raw_outcome=raw_outcome,
                    normalised=normalise_check(KIND, raw_status, raw_outcome),
                    task_id=as_text(related.get("taskId"), limit=ID_MAX),
                    breakdown=json_object(result.get("breakdown")),
                    created_at=parse_timestamp(check.get("createdAt")),
                    updated_at=parse_timestamp(check.get("updatedAt")),
                    raw=check,
                )
            )
        return checks, payloads

    def _client(
        self, session: dict[str, Any], missing: list[str]
    ) -> ClientRecord | None:
        client_id = clean_id(session.get("clientId"))
        if client_id is None:
            return None
        client, problem = self._client_payload(client_id)
        if problem:
            missing.append(missing_reason(f"client {client_id}", problem))
        return ClientRecord(
            external_id=client_id,
            name=as_text(
                client.get("entityName") or session.get("entityName"), limit=NAME_MAX
            ),
            external_reference=as_text(client.get("externalId"), limit=NAME_MAX),
            raw=client,
            incomplete=bool(problem),
        )

    def _client_payload(self, client_id: str) -> tuple[dict[str, Any], str]:
        """Return (trimmed client, why unreadable or ""), fetched once per client per adapter.

        A deleted client (404/410) is not a failure: the session's entityName
        still names it. Other client errors and garbage are reported.
        """
        if client_id not in self._clients:
            path = f"/clients/{_path_id(client_id)}"
            problem = ""
            try:
                client = self.http.get_json(path)
            except ProviderNotFound as exc:
                logger.info("ComplyCube client %s is gone: %s", client_id, exc)
                client = {}
            except SOFT_ERRORS as exc:
                problem, client = str(exc), {}
            if not isinstance(client, dict):
                problem, client = f"GET {path} is not a JSON object", {}
            self._clients[client_id] = (
                {key: client[key] for key in CLIENT_KEYS if key in client},
                problem,
            )
        return self._clients[client_id]


def _first(item: dict[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = item.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def policy_record(item: Any) -> PolicyRecord:
    """Map one undocumented policy object tolerantly; unknown shapes keep everything raw."""
    if not isinstance(item, dict):
        return PolicyRecord(
            policy_id="",
            policy_name=as_text(item, limit=NAME_MAX) if isinstance(item, str) else "",
            raw_outcome="",
            outcome="",
            details={"value": item},
        )
    nested = json_object(item.get("policy"))
    outcome_value = _first(item, POLICY_OUTCOME_KEYS)
    if isinstance(outcome_value, dict):  # e.g. {"result": {"outcome": "clear"}}
        outcome_value = _first(outcome_value, POLICY_OUTCOME_KEYS)
    raw_outcome = (
        as_text(outcome_value, limit=RAW_WORD_MAX)
        if isinstance(outcome_value, str)
        else ""
    )
    return PolicyRecord(
        policy_id=as_text(
            _first(item, POLICY_ID_KEYS) or _first(nested, ("id",)), limit=ID_MAX
        ),
        policy_name=as_text(
            _first(item, POLICY_NAME_KEYS) or _first(nested, ("name",)), limit=NAME_MAX
        ),
        raw_outcome=raw_outcome,
        outcome=COMPLYCUBE_OUTCOME.get(raw_outcome.lower(), ""),
        details=item,
    )


def _policy_items(value: Any) -> list[Any]:
    # Documented as an array of objects; anything else there is one entry.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_records(session: dict[str, Any], unknown: list[str]) -> list[PolicyRecord]:
    """Return one PolicyRecord per `policyAssurance` entry, recognisable or not.

    `compliancePolicies` (the policies enabled on the session, no outcome)
    only fills in names the assurance entries lack: a policy row is an
    evaluation, and both arrays stay whole in the raw payload. Unknown outcome
    words are appended to `unknown`.
    """
    records = [
        policy_record(item) for item in _policy_items(session.get("policyAssurance"))
    ]
    enabled = [
        policy_record(item) for item in _policy_items(session.get("compliancePolicies"))
    ]
    names = {
        policy.policy_id: policy.policy_name for policy in enabled if policy.policy_id
    }
    for record in records:
        if not record.policy_name and record.policy_id in names:
            record.policy_name = names[record.policy_id]
        if record.raw_outcome and not record.outcome:
            unknown.append(record.raw_outcome)
    return records
