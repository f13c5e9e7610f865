"""How one ComplyCube workflow session is read: its checks, policies and client.

A changed session costs `GET /workflowSessions/{id}` (checks, tasks,
policies), `GET /checks/{checkId}` per related check and, once per client per
reader, `GET /clients/{clientId}` (its `externalId` joins clients across
providers). `policyAssurance`, `compliancePolicies` and `tasks` have
undocumented shapes: they are kept raw and mapped to PolicyRecords tolerantly.
A session whose related check or client could not be read (a client error or
garbage; a deleted client only loses its name) is returned with what was
read, the reasons in `missing` and no change marker.
Contract facts: `docs/providers/complycube.md`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...exceptions import ProviderResponseInvalid
from ...normalization import normalise_check, normalise_session
from ...sync.values import (
    CHECK_TYPE_MAX,
    ID_MAX,
    NAME_MAX,
    RAW_WORD_MAX,
    VERSION_MAX,
    clean_id,
    json_list,
    json_object,
    parse_timestamp,
    text,
)
from ..base import CheckRecord, ClientRecord, PolicyRecord, SessionRecord
from ..common import (
    change_marker,
    missing_reason,
    object_read,
    path_id,
    unknown_check_words,
    unknown_session_words,
)
from ..concurrency import FetchOnce
from ..http import ProviderHTTP
from .reasons import reason_words
from .rows import SESSION_OUTCOME

KIND = "complycube"
# The client object carries PII (date of birth, SSN, addresses); keep only
# what identifies it, its name and the shared reference.
CLIENT_KEYS = ("id", "type", "entityName", "externalId", "createdAt", "updatedAt")
# Where an undocumented policy object may keep its id, name and outcome.
POLICY_ID_KEYS = ("id", "policyId", "policy_id", "compliancePolicyId")
POLICY_NAME_KEYS = ("name", "policyName", "policy_name", "title", "description")
POLICY_OUTCOME_KEYS = ("outcome", "result", "status")


class SessionReader:
    """Reads sessions in full; remembers each client it fetched (once per reader)."""

    def __init__(self, http: ProviderHTTP) -> None:
        self.http = http
        # client id -> (trimmed client, why it was unreadable or ""); read by
        # concurrent session reads, each client fetched once.
        self._clients: FetchOnce[str, tuple[dict[str, Any], str]] = FetchOnce()

    @staticmethod
    def version(session: dict[str, Any]) -> str:
        return change_marker(session, "updatedAt")

    def record(self, ident: str, summary: dict[str, Any]) -> SessionRecord:
        detail = self.http.get_json(f"/workflowSessions/{path_id(ident)}")
        if not isinstance(detail, dict):
            raise ProviderResponseInvalid(
                f"workflow session {ident} is not a JSON object",
                provider=self.http.provider,
            )
        session = {**summary, **detail}
        raw_status = text(session.get("status"), limit=RAW_WORD_MAX)
        raw_outcome = text(session.get("outcome"), limit=RAW_WORD_MAX)
        unknown = unknown_session_words(KIND, raw_status, raw_outcome)
        missing: list[str] = []
        checks, check_payloads = self._checks(session, unknown, missing)
        client = self._client(session, missing)
        raw = {"session": session, "checks": check_payloads}
        return SessionRecord(
            external_id=ident,
            raw_status=raw_status,
            normalised=normalise_session(KIND, raw_status, raw_outcome),
            raw_outcome=raw_outcome,
            client=client,
            # The template is what officers filter on; the version id stays raw.
            workflow_id=text(session.get("workflowTemplateId"), limit=ID_MAX),
            workflow_name=text(session.get("workflowTemplateName"), limit=NAME_MAX),
            workflow_version=text(session.get("workflowVersion"), limit=VERSION_MAX),
            created_at=parse_timestamp(session.get("createdAt")),
            updated_at=parse_timestamp(session.get("updatedAt")),
            completed_at=parse_timestamp(session.get("completedAt")),
            checks=checks,
            reasons=reason_words(raw, ()),
            policies=policy_records(session, unknown),
            source_version="" if missing else self.version(session),
            missing=missing,
            unknown_values=list(dict.fromkeys(unknown)),
            raw=raw,
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
            # Even a 404 is a reason: the session relates this check, so it exists.
            check, problem = object_read(self.http, f"/checks/{path_id(check_id)}")
            if problem:
                missing.append(missing_reason(f"check {check_id}", problem))
                continue
            payloads.append(check)
            result = json_object(check.get("result"))
            raw_status = text(check.get("status"), limit=RAW_WORD_MAX)
            raw_outcome = text(result.get("outcome"), limit=RAW_WORD_MAX)
            unknown.extend(unknown_check_words(KIND, raw_status, raw_outcome))
            checks.append(
                CheckRecord(
                    external_id=check_id,
                    check_type=text(
                        check.get("type") or related.get("type"), limit=CHECK_TYPE_MAX
                    ),
                    raw_status=raw_status,
                    raw_outcome=raw_outcome,
                    normalised=normalise_check(KIND, raw_status, raw_outcome),
                    task_id=text(related.get("taskId"), limit=ID_MAX),
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
            name=text(
                client.get("entityName") or session.get("entityName"), limit=NAME_MAX
            ),
            external_reference=text(client.get("externalId"), limit=NAME_MAX),
            raw=client,
            incomplete=bool(problem),
        )

    def _client_payload(self, client_id: str) -> tuple[dict[str, Any], str]:
        """Return (trimmed client, why unreadable or ""), fetched once per client per adapter.

        A deleted client (404/410) is not a failure: the session's entityName
        still names it. Other client errors and garbage are reported.
        """

        def fetch() -> tuple[dict[str, Any], str]:
            client, problem = object_read(
                self.http,
                f"/clients/{path_id(client_id)}",
                gone=f"ComplyCube client {client_id}",
            )
            return {key: client[key] for key in CLIENT_KEYS if key in client}, problem

        return self._clients.get(client_id, fetch)


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
            policy_name=text(item, limit=NAME_MAX) if isinstance(item, str) else "",
            raw_outcome="",
            outcome="",
            details={"value": item},
        )
    nested = json_object(item.get("policy"))
    outcome_value = _first(item, POLICY_OUTCOME_KEYS)
    if isinstance(outcome_value, dict):  # e.g. {"result": {"outcome": "clear"}}
        outcome_value = _first(outcome_value, POLICY_OUTCOME_KEYS)
    raw_outcome = (
        text(outcome_value, limit=RAW_WORD_MAX)
        if isinstance(outcome_value, str)
        else ""
    )
    return PolicyRecord(
        policy_id=text(
            _first(item, POLICY_ID_KEYS) or _first(nested, ("id",)), limit=ID_MAX
        ),
        policy_name=text(
            _first(item, POLICY_NAME_KEYS) or _first(nested, ("name",)), limit=NAME_MAX
        ),
        raw_outcome=raw_outcome,
        outcome=SESSION_OUTCOME.get(raw_outcome.lower(), ""),
        details=item,
    )


def _policy_items(value: Any) -> list[Any]:
    # Documented as an array of objects; anything else there is one entry.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_records(session: dict[str, Any], unknown: list[str]) -> list[PolicyRecord]:
    """Return one PolicyRecord per `policyAssurance` entry, recognisable or not,
    then one (not evaluated) per enabled policy that has no evaluation yet.

    `compliancePolicies` (the policies enabled on the session, no outcome)
    also fills in names the assurance entries lack; both arrays stay whole in
    the raw payload. Unknown outcome words are appended to `unknown`.
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
    evaluated = {record.policy_id for record in records if record.policy_id}
    if len(evaluated) < len(records):
        # An evaluation without an id may be any enabled policy's: say nothing.
        return records
    for policy in enabled:
        if policy.policy_id and policy.policy_id not in evaluated:
            evaluated.add(policy.policy_id)
            records.append(
                PolicyRecord(
                    policy_id=policy.policy_id,
                    policy_name=policy.policy_name,
                    raw_outcome="",
                    outcome="",
                    evaluated=False,
                )
            )
    return records
