"""Every endpoint each adapter calls, times every way a provider can fail.

For each (endpoint, fault) the adapter must give the documented outcome
(docs/providers/README.md, "What a failing call does") and nothing else:

- a `ProviderError` subclass with the HTTP status, the provider's error type
  and message (`ProviderRateLimited` with `retry_after`), after exactly the
  documented number of attempts;
- or, for calls made for one session, a tolerated outcome: the session in
  `gone_ids`, a quarantine item, or the session kept as read with a `missing`
  reason and no change marker (plus, where an incremental listing would not
  return it again, its id in the closing cursor's `retry_ids`).

The fault answers every call to its endpoint; everything else is the recorded
fixtures. A clean run of the same scenario gives the reference records.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
import requests
import responses

from sessions_app.exceptions import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from sessions_app.providers.base import Budget, Page, ProviderAdapter, SessionRecord
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.ica.adapter import IcaAdapter
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from sessions_app.providers.pacing import RateLimiter
from tests.helpers.providers import (
    COMPLYCUBE_BASE,
    ICA_BASE,
    ONFIDO_BASE,
    FakeTime,
    load,
    make_adapter,
    register_complycube,
    register_ica,
    register_onfido,
)

R3 = "c1d2e3f4-0000-4111-8222-000000000003"
# R3 as the listing shows it (still processing; by id it has finished since).
R3_LISTED = load("onfido", "workflow_runs/page-1.json")[2]
S1 = "6650a1b2c3d4e5f6a7b8c901"
P1, P2 = "a1f0c8f2-1c1e-4c55-9b1a-0d3e5f6a7b01", "a1f0c8f2-1c1e-4c55-9b1a-0d3e5f6a7b02"
W1 = "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f01"
ADAPTERS: dict[str, type[ProviderAdapter]] = {
    "onfido": OnfidoAdapter,
    "complycube": ComplyCubeAdapter,
    "ica": IcaAdapter,
}
BASES = {"onfido": ONFIDO_BASE, "complycube": COMPLYCUBE_BASE, "ica": ICA_BASE}
# Without Retry-After, a 429 that outlasts the inline retries reports these.
DEFAULT_RETRY_AFTER = {"onfido": 60.0, "complycube": 30.0, "ica": 30.0}
RECORD_TYPES = {
    "onfido": "workflow_run",
    "complycube": "workflow_session",
    "ica": "workflow_session",
}
# The production default of VERITY_HTTP_MAX_INLINE_SLEEP (the test settings use 0).
INLINE_CAP = 5.0


# Faults --------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One way a provider answers (or does not)."""

    status: int | None = None  # None: the request itself fails (`raises`)
    retry_after: str | None = None
    raises: type[Exception] | None = None
    body: bytes | None = None  # a 200 body that is not what the contract says
    error_type: str | None = None  # overrides the provider-shaped error type


FAULTS: dict[str, Fault] = {
    "400": Fault(400),
    "401": Fault(401),
    "403": Fault(403),
    "404": Fault(404),
    "410": Fault(410),
    "422": Fault(422),
    "429": Fault(429),
    "429-retry-after-2": Fault(429, retry_after="2"),
    "429-retry-after-120": Fault(429, retry_after="120"),
    "429-quota": Fault(429, error_type="service_quota_exceeded"),  # ComplyCube only
    "500": Fault(500),
    "502": Fault(502),
    "503": Fault(503),
    "503-retry-after-30": Fault(503, retry_after="30"),
    "timeout": Fault(raises=requests.exceptions.ReadTimeout),
    "connection-error": Fault(raises=requests.exceptions.ConnectionError),
    "malformed": Fault(200, body=b'{"id": "c1d2e3f4-trunc'),
    "wrong-shape": Fault(200, body=b'"a JSON string where an object belongs"'),
}
# Requests made for one failing call: the HTTP client retries 502/503/504,
# time-outs and connection errors 3 times, a 2xx that is not JSON once, and
# waits out a 429 inline twice when the wait is at most INLINE_CAP.
ATTEMPTS = {
    "429": 3,
    "429-retry-after-2": 3,
    "502": 4,
    "503": 4,
    "timeout": 4,
    "connection-error": 4,
    "malformed": 2,
}
# What the fake clock slept for one failing call (jitter 0.5: 0.25, 0.5, 1 s).
SLEEPS = {
    "429": [1.0, 2.0],
    "429-retry-after-2": [2.0, 2.0],
    "502": [0.25, 0.5, 1.0],
    "503": [0.25, 0.5, 1.0],
    "timeout": [0.25, 0.5, 1.0],
    "connection-error": [0.25, 0.5, 1.0],
    "malformed": [0.25],
}


def error_type_of(kind: str, name: str, fault: Fault) -> str:
    if fault.error_type:
        return fault.error_type
    if kind == "complycube" and fault.status == 429:
        return "rate_limit_exceeded"  # ComplyCube's rate limit, not its quota
    if kind == "ica":
        return f"ICA_TEST_{name.split('-')[0]}"
    return f"fault_{name}"


def error_body(kind: str, name: str, fault: Fault) -> dict[str, Any]:
    """An error in the provider's own shape (what each error parser reads)."""
    error_type = error_type_of(kind, name, fault)
    message = f"simulated {name}"
    if kind == "onfido":
        return {"error": {"type": error_type, "message": message}}
    if kind == "complycube":
        return {"type": error_type, "message": message}
    return {
        "type": "about:blank",
        "title": error_type,
        "status": fault.status,
        "detail": message,
        "timestamp": "2025-06-04T10:00:00Z",
        "parameters": {},
    }


# Endpoints ----------------------------------------------------------------------
#
# Roles, i.e. what a tolerated fault of that endpoint does:
#   list    the listing itself: every fault raises
#   status-list  Onfido's listing of runs by rotation status: 400/422 (the
#           filter refused) read the wanted runs by id instead; the rest raises
#   session the session's own record (refresh by id, ComplyCube detail):
#           404/410 gone, other client errors and garbage quarantined
#   sub     a session-scoped list (Onfido tasks, ICA analyses): 404/410 gone,
#           other client errors and garbage `missing`
#   check   one check of a session that lists it: any client error or garbage `missing`
#   client  the applicant/client/project: 404/410 deleted (no name, complete),
#           other client errors and garbage `missing`
#   search  ICA's per-project session search: 403/404/410 quarantine the project
#   fetch   `fetch_session` by id: 404/410 None, every other fault raises
#   fetch-search  ICA `fetch_session`: 403/404/410 skip the project (None)


@dataclass(frozen=True)
class Endpoint:
    kind: str
    method: str
    path: str  # regular expression of the path under the base URL
    role: str
    options: Mapping[str, Any] = field(default_factory=dict)
    iter_kwargs: Mapping[str, Any] = field(default_factory=dict)
    onfido_pages: Any = None  # Onfido listing bodies (None: the recorded three)
    onfido_unfinished: Any = None  # its listing by status (None: one empty page)
    ica_projects: bool = True
    fetch: tuple[str, Mapping[str, Any]] | None = None  # (id, hint)
    # Which reference records the fault touches (tolerated outcomes).
    affected: Callable[[SessionRecord], bool] = lambda record: True
    label: str = ""  # how a `missing` reason of this endpoint starts


def _has_task_ids(record: SessionRecord) -> bool:
    return any(isinstance(t, dict) and t.get("id") for t in record.raw["tasks"])


def _has_checks(record: SessionRecord) -> bool:
    return bool(record.raw["session"].get("allRelatedChecks"))


ENDPOINTS: dict[str, Endpoint] = {
    "onfido list runs": Endpoint("onfido", "GET", r"/workflow_runs", "list"),
    # Only the listing by rotation status (its query names `status`), after an
    # empty window: the reference reads R3 from it, a refusal reads R3 by id.
    "onfido list runs by status": Endpoint(
        "onfido",
        "GET",
        r"/workflow_runs(?=\?(?:.*&)?status=)",
        "status-list",
        onfido_pages=[[]],
        onfido_unfinished=[[R3_LISTED], []],
        iter_kwargs={"refresh_ids": [R3]},
    ),
    "onfido run by id": Endpoint(
        "onfido",
        "GET",
        r"/workflow_runs/[^/]+",
        "session",
        onfido_pages=[[]],
        iter_kwargs={"refresh_ids": [R3]},
    ),
    "onfido tasks": Endpoint(
        "onfido", "GET", r"/workflow_runs/[^/]+/tasks", "sub", label="tasks"
    ),
    "onfido task by id": Endpoint(
        "onfido",
        "GET",
        r"/workflow_runs/[^/]+/tasks/[^/]+",
        "check",
        affected=_has_task_ids,
        label="task ",
    ),
    "onfido applicant": Endpoint(
        "onfido",
        "GET",
        r"/applicants/[^/]+",
        "client",
        affected=lambda record: record.client is not None,
        label="applicant ",
    ),
    "onfido fetch run by id": Endpoint(
        "onfido", "GET", r"/workflow_runs/[^/]+", "fetch", fetch=(R3, {})
    ),
    "complycube list sessions": Endpoint(
        "complycube", "GET", r"/workflowSessions", "list", options={"page_size": 2}
    ),
    "complycube session by id": Endpoint(
        "complycube",
        "GET",
        r"/workflowSessions/[^/]+",
        "session",
        options={"page_size": 2},
    ),
    "complycube check by id": Endpoint(
        "complycube",
        "GET",
        r"/checks/[^/]+",
        "check",
        options={"page_size": 2},
        affected=_has_checks,
        label="check ",
    ),
    "complycube client": Endpoint(
        "complycube",
        "GET",
        r"/clients/[^/]+",
        "client",
        options={"page_size": 2},
        affected=lambda record: record.client is not None,
        label="client ",
    ),
    "complycube fetch session by id": Endpoint(
        "complycube",
        "GET",
        r"/workflowSessions/[^/]+",
        "fetch",
        options={"page_size": 2},
        fetch=(S1, {}),
    ),
    "ica list projects": Endpoint("ica", "GET", r"/api/projects", "list"),
    "ica project by id": Endpoint(
        "ica",
        "GET",
        r"/api/projects/[^/]+",
        "client",
        options={"project_ids": [P1]},
        ica_projects=False,
        label="project ",
    ),
    "ica search sessions": Endpoint(
        "ica", "POST", r"/api/projects/[^/]+/workflowSessions:search", "search"
    ),
    "ica analyses": Endpoint(
        "ica",
        "POST",
        r"/api/projects/[^/]+/workflowSessions/[^/]+/analyses:search",
        "sub",
        label="analyses",
    ),
    # ICA has no session GET-by-id: `fetch_session` searches the hinted project.
    "ica fetch session (search)": Endpoint(
        "ica",
        "POST",
        r"/api/projects/[^/]+/workflowSessions:search",
        "fetch-search",
        fetch=(W1, {"project_id": P1}),
    ),
}

TOLERATED = {
    "session": {
        "404": "gone",
        "410": "gone",
        "400": "quarantine",
        "422": "quarantine",
        "malformed": "quarantine",
        "wrong-shape": "quarantine",
    },
    "sub": {
        "404": "gone",
        "410": "gone",
        "400": "missing",
        "422": "missing",
        "malformed": "missing",
        "wrong-shape": "missing",
    },
    "check": {
        "404": "missing",
        "410": "missing",
        "400": "missing",
        "422": "missing",
        "malformed": "missing",
        "wrong-shape": "missing",
    },
    "client": {
        "404": "deleted",
        "410": "deleted",
        "400": "missing",
        "422": "missing",
        "malformed": "missing",
        "wrong-shape": "missing",
    },
    "search": {"403": "project", "404": "project", "410": "project"},
    "fetch": {"404": "none", "410": "none"},
    "fetch-search": {"403": "none", "404": "none", "410": "none"},
    "list": {},
    "status-list": {"400": "by-id", "422": "by-id"},
}


# Faults one ICA project may answer alone (`IcaAdapter._project_failure`): an
# answer, but an error or garbage; a 429, a transport failure or a 401 is the
# provider's own.
ICA_PROJECT_FAULTS = frozenset(
    {"400", "422", "500", "502", "503", "malformed", "wrong-shape"}
)


def raised_class(name: str, fault: Fault) -> type[ProviderError]:
    """The documented exception of a fault that is not tolerated."""
    if name in ("malformed", "wrong-shape"):
        return ProviderResponseInvalid
    if fault.raises is not None or fault.status in (500, 502, 503):
        if fault.retry_after is not None:
            return ProviderRateLimited  # a 503 with Retry-After is a rate limit
        return ProviderUnavailable
    return {
        400: ProviderBadRequest,
        401: ProviderAuthError,
        403: ProviderAuthError,
        404: ProviderNotFound,
        410: ProviderNotFound,
        422: ProviderBadRequest,
        429: ProviderRateLimited,
    }[fault.status]


# Running a scenario ----------------------------------------------------------------


@dataclass
class Outcome:
    pages: list[Page] = field(default_factory=list)
    fetched: SessionRecord | None = None
    error: ProviderError | None = None
    urls: list[str] = field(default_factory=list)  # requests to the faulted endpoint

    @property
    def records(self) -> dict[str, SessionRecord]:
        found = {r.external_id: r for page in self.pages for r in page.sessions}
        if self.fetched is not None:
            found[self.fetched.external_id] = self.fetched
        return found

    def every(self, attribute: str) -> list[Any]:
        return [item for page in self.pages for item in getattr(page, attribute)]


def _register(
    rsps: responses.RequestsMock, endpoint: Endpoint, *, faulted: bool
) -> None:
    if endpoint.kind == "onfido":
        # A faulted status listing is answered by the fault alone.
        unfinished = endpoint.onfido_unfinished
        if faulted and endpoint.role == "status-list":
            unfinished = []
        register_onfido(rsps, pages=endpoint.onfido_pages, unfinished=unfinished)
    elif endpoint.kind == "complycube":
        register_complycube(rsps)
    else:
        register_ica(rsps, projects=endpoint.ica_projects)


def _fault_callback(kind: str, name: str, fault: Fault):
    def answer(request):
        if fault.raises is not None:
            raise fault.raises(f"simulated {name}")
        headers = {"Content-Type": "application/json"}
        if fault.retry_after is not None:
            headers["Retry-After"] = fault.retry_after
        if fault.body is not None:
            return fault.status, headers, fault.body
        body = json.dumps(error_body(kind, name, fault))
        return fault.status, headers, body

    return answer


def run_scenario(
    endpoint: Endpoint,
    fault_name: str | None,
    fake_time: FakeTime,
    *,
    concurrency: int = 1,
) -> Outcome:
    """Run `endpoint`'s scenario with `fault_name` answering its every call (None: clean).

    One session read at a time by default, so that each request the matrix
    counts is the sequential loop's; `test_concurrent_reads_end_every_scenario_as_sequential_reads`
    runs every scenario on four lanes too and compares the results.
    """
    adapter = make_adapter(
        ADAPTERS[endpoint.kind],
        fake_time,
        base_url=BASES[endpoint.kind],
        options={**endpoint.options, "concurrency": concurrency},
        # No spacing: the fake clock only sees waits (and the holds of 429s).
        rate_limiter=RateLimiter(0.0, clock=fake_time.clock),
        max_inline_sleep=INLINE_CAP,
    )
    base = BASES[endpoint.kind]
    url_pattern = re.compile(re.escape(base) + endpoint.path + r"(?:\?.*)?$")
    outcome = Outcome()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _register(rsps, endpoint, faulted=fault_name is not None)
        if fault_name is not None:
            for registered in list(rsps.registered()):
                if registered.method == endpoint.method and url_pattern.match(
                    str(registered.url)
                ):
                    rsps.remove(registered)
            rsps.add_callback(
                endpoint.method,
                url_pattern,
                callback=_fault_callback(endpoint.kind, fault_name, FAULTS[fault_name]),
            )
        try:
            if endpoint.fetch is not None:
                ident, hint = endpoint.fetch
                outcome.fetched = adapter.fetch_session(ident, hint=hint)
            else:
                outcome.pages = list(
                    adapter.iter_pages(
                        cursor={}, budget=Budget(), **dict(endpoint.iter_kwargs)
                    )
                )
        except ProviderError as error:  # anything else fails the test
            outcome.error = error
        outcome.urls = [
            call.request.url
            for call in rsps.calls
            if call.request.method == endpoint.method
            and url_pattern.match(call.request.url)
        ]
    return outcome


@cache
def reference(endpoint_name: str) -> Outcome:
    """The scenario without a fault (computed once per endpoint)."""
    outcome = run_scenario(ENDPOINTS[endpoint_name], None, FakeTime())
    assert outcome.error is None
    assert outcome.urls, "the scenario never calls its endpoint"
    return outcome


CASES = [
    pytest.param(endpoint_name, fault_name, id=f"{endpoint_name}-{fault_name}")
    for endpoint_name, endpoint in ENDPOINTS.items()
    for fault_name in FAULTS
    if fault_name != "429-quota" or endpoint.kind == "complycube"
]


# The matrix ------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint_name", "fault_name"), CASES)
def test_every_endpoint_gives_the_documented_outcome_for_every_fault(
    endpoint_name, fault_name
):
    endpoint, fault = ENDPOINTS[endpoint_name], FAULTS[fault_name]
    fake_time = FakeTime()
    clean = reference(endpoint_name)

    outcome = run_scenario(endpoint, fault_name, fake_time)

    assert outcome.urls, "the fault never hit"
    tolerated = TOLERATED[endpoint.role].get(fault_name)
    if tolerated is None:
        assert_raised(endpoint, fault_name, fault, outcome, fake_time)
    else:
        assert outcome.error is None, f"{type(outcome.error).__name__}: {outcome.error}"
        # Each distinct request failed once, with only the retries documented
        # (an applicant or client that failed is not asked again).
        attempts = ATTEMPTS.get(fault_name, 1)
        assert set(Counter(outcome.urls).values()) == {attempts}
        TOLERATED_CHECKS[tolerated](endpoint, fault_name, fault, outcome, clean)


def assert_raised(
    endpoint: Endpoint,
    name: str,
    fault: Fault,
    outcome: Outcome,
    fake_time: FakeTime,
) -> None:
    error = outcome.error
    expected = raised_class(name, fault)
    if endpoint.kind == "complycube" and name == "429-quota":
        expected = ProviderRateLimited
    assert type(error) is expected, f"got {type(error).__name__}: {error}"
    assert outcome.pages == []
    assert outcome.fetched is None
    # One failing call, tried exactly as often as documented; an ICA project
    # answering an error of its own is skipped, and the pass stops when the
    # next project fails too (the provider's, not the project's).
    calls = 2 if endpoint.role == "search" and name in ICA_PROJECT_FAULTS else 1
    assert len(outcome.urls) == ATTEMPTS.get(name, 1) * calls
    assert len(set(outcome.urls)) == calls
    assert fake_time.sleeps == SLEEPS.get(name, []) * calls
    assert error.provider == f"{endpoint.kind}-test"
    where = f"({endpoint.method} /"
    if fault.raises is not None:
        assert error.status is None
        assert error.error_type == ""
        assert fault.raises.__name__ in error.message
        assert f"({endpoint.method} /" in error.message
        assert error.message.endswith(f", {ATTEMPTS[name]} attempts)")
    elif name == "malformed":
        assert error.status == 200
        assert "not valid JSON" in error.message
    elif name == "wrong-shape":
        assert error.status is None  # the reply was JSON, not what was promised
        assert re.search(r"is not a |expected a JSON object", error.message)
    else:
        assert error.status == fault.status
        assert error.error_type == error_type_of(endpoint.kind, name, fault)
        assert f"simulated {name}" in error.message
        assert where in error.message
    if expected is ProviderRateLimited:
        if name == "429-quota":
            assert error.retry_after == 3600.0
        elif fault.retry_after is not None:
            assert error.retry_after == float(fault.retry_after)
        else:
            assert error.retry_after == DEFAULT_RETRY_AFTER[endpoint.kind]


def _reason_signature(name: str, fault: Fault) -> str:
    if name == "malformed":
        return "not valid JSON"
    if name == "wrong-shape":
        return "not a "  # "is not a JSON object/array", "is not a paged list"
    return f"HTTP {fault.status} "


def _split(endpoint: Endpoint, clean: Outcome) -> tuple[set[str], set[str]]:
    hit = {i for i, r in clean.records.items() if endpoint.affected(r)}
    assert hit, "no reference record is touched by this endpoint"
    return hit, set(clean.records) - hit


def _retry_ids(outcome: Outcome) -> list[str]:
    closing = outcome.pages[-1]
    assert closing.done
    return closing.cursor.get("retry_ids", [])


def check_missing(endpoint, name, fault, outcome, clean) -> None:
    hit, spared = _split(endpoint, clean)
    records = outcome.records
    assert set(records) == set(clean.records)  # no session lost
    assert outcome.every("quarantined") == []
    assert outcome.every("gone_ids") == []
    signature = _reason_signature(name, fault)
    for ident in hit:
        record, before = records[ident], clean.records[ident]
        assert record.missing, ident
        assert all(reason.startswith(endpoint.label) for reason in record.missing)
        assert any(signature in reason for reason in record.missing), record.missing
        assert record.source_version == ""
        # What the session itself said is kept.
        assert (record.raw_status, record.normalised) == (
            before.raw_status,
            before.normalised,
        )
        assert (record.client and record.client.external_id) == (
            before.client and before.client.external_id
        )
        if endpoint.role == "client":
            assert record.client.incomplete is True
            assert record.checks == before.checks
        else:
            assert len(record.checks) < len(before.checks) or before.checks == []
    for ident in spared:
        assert records[ident].missing == []
        assert records[ident].source_version == clean.records[ident].source_version
    if endpoint.kind != "ica":  # ICA walks every session on every pass anyway
        assert sorted(_retry_ids(outcome)) == sorted(hit)


def check_deleted_client(endpoint, name, fault, outcome, clean) -> None:
    records = outcome.records
    assert set(records) == set(clean.records)
    for ident, record in records.items():
        before = clean.records[ident]
        assert record.missing == []
        assert record.source_version == before.source_version
        assert record.client.external_id == before.client.external_id
        assert record.client.incomplete is False
        assert record.client.raw == {}
        if endpoint.kind == "complycube":  # the session's entityName still names it
            assert record.client.name == before.raw["session"]["entityName"]
        else:
            assert record.client.name == ""
    assert "retry_ids" not in outcome.pages[-1].cursor


def check_gone(endpoint, name, fault, outcome, clean) -> None:
    assert outcome.every("sessions") == []
    assert sorted(outcome.every("gone_ids")) == sorted(clean.records)
    assert outcome.every("quarantined") == []
    assert "retry_ids" not in outcome.pages[-1].cursor


def check_quarantined(endpoint, name, fault, outcome, clean) -> None:
    assert outcome.every("sessions") == []
    quarantined = outcome.every("quarantined")
    assert sorted(q.external_id for q in quarantined) == sorted(clean.records)
    signature = _reason_signature(name, fault)
    for item in quarantined:
        assert item.record_type == RECORD_TYPES[endpoint.kind]
        assert signature in item.reason or "expected a JSON object" in item.reason
        assert item.raw  # what was received, verbatim
    # The next pass fetches them again by id.
    assert sorted(_retry_ids(outcome)) == sorted(clean.records)


def check_project_quarantined(endpoint, name, fault, outcome, clean) -> None:
    assert outcome.every("sessions") == []
    quarantined = outcome.every("quarantined")
    assert [(q.record_type, q.external_id) for q in quarantined] == [
        ("project", P1),
        ("project", P2),
    ]
    for item in quarantined:
        assert f"HTTP {fault.status} " in item.reason
        assert error_type_of(endpoint.kind, name, fault) in item.reason
    assert outcome.pages[-1].done


def check_none(endpoint, name, fault, outcome, clean) -> None:
    assert clean.fetched is not None
    assert outcome.fetched is None


def check_read_by_id(endpoint, name, fault, outcome, clean) -> None:
    # The reference read R3 from the listing (processing); without the
    # listing it is read by id, where it has finished since.
    assert clean.records[R3].raw_status == "processing"
    assert set(outcome.records) == {R3}
    assert outcome.records[R3].raw_status == "approved"
    assert outcome.every("quarantined") == []
    assert outcome.every("gone_ids") == []
    assert outcome.pages[-1].done


TOLERATED_CHECKS = {
    "by-id": check_read_by_id,
    "missing": check_missing,
    "deleted": check_deleted_client,
    "gone": check_gone,
    "quarantine": check_quarantined,
    "project": check_project_quarantined,
    "none": check_none,
}


def test_the_matrix_covers_every_endpoint_and_fault_the_brief_names():
    endpoints = {(e.kind, e.method, e.path) for e in ENDPOINTS.values()}
    assert len(endpoints) == len(ENDPOINTS) - 3  # three by-id paths repeat a pass's
    assert {
        "400",
        "401",
        "403",
        "404",
        "410",
        "422",
        "429",
        "429-retry-after-2",
        "429-retry-after-120",
        "500",
        "502",
        "503",
        "timeout",
        "connection-error",
        "malformed",
    } <= set(FAULTS)


def _timeless(value: Any) -> Any:
    """A cursor without the wall-clock moment its pass started."""
    if isinstance(value, dict):
        return {
            key: _timeless(item)
            for key, item in value.items()
            if key not in ("started_at", "last_pass_started_at")
        }
    return value


def _result(outcome: Outcome) -> tuple[Any, ...]:
    """What a scenario ended with, requests aside: pages (records, quarantines,
    unchanged and gone ids, cursors), the record fetched, the error raised."""
    error = outcome.error
    message, extra = (
        (str(error), getattr(error, "extra", None)) if error else ("", None)
    )
    if isinstance(error, ProviderRateLimited):
        # Which of the reads in flight met the 429 first is up to timing (the
        # others find the connection held and report that 429): the same
        # error, but not necessarily the same request's.
        message = re.sub(r" \((GET|POST) [^)]*\)$", "", message)
        extra = {k: v for k, v in extra.items() if k not in ("path", "held")}
    return (
        [
            dataclasses.replace(page, cursor=_timeless(page.cursor))
            for page in outcome.pages
        ],
        outcome.fetched,
        None
        if error is None
        else (type(error), message, getattr(error, "retry_after", None), extra),
    )


@pytest.mark.parametrize(("endpoint_name", "fault_name"), CASES)
def test_concurrent_reads_end_every_scenario_as_sequential_reads(
    endpoint_name, fault_name, settings
):
    """Four lanes, one failing request kind: the same pages (same quarantines,
    same `missing`, same gone ids, same cursors) and the same error as one lane."""
    endpoint = ENDPOINTS[endpoint_name]
    settings.VERITY_SYNC_LANES_ROUND_TRIP = 0  # lanes open at once

    sequential = run_scenario(endpoint, fault_name, FakeTime(), concurrency=1)
    concurrent = run_scenario(endpoint, fault_name, FakeTime(), concurrency=4)

    assert _result(concurrent) == _result(sequential)
