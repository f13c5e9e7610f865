"""ComplyCubeAdapter against recorded ComplyCube responses (shaped as docs/providers/complycube.md describes)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from responses import matchers

from sessions_app.exceptions import ProviderRateLimited, ProviderResponseInvalid
from sessions_app.providers.base import Budget
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.complycube.records import policy_records
from tests.helpers.providers import (
    COMPLYCUBE_BASE,
    TOKEN,
    calls_to,
    load,
    make_adapter,
    register_complycube,
    register_complycube_details,
    run_pass,
    run_to_end,
    session_ids,
)

S1, S2, S3 = (
    "6650a1b2c3d4e5f6a7b8c901",
    "6650a1b2c3d4e5f6a7b8c902",
    "6650a1b2c3d4e5f6a7b8c903",
)
C1 = "5f8e3a2b1c4d5e6f7a8b9c01"
ALL = [S1, S2, S3]


@pytest.fixture
def adapter(fake_time):
    return make_adapter(
        ComplyCubeAdapter, fake_time, base_url=COMPLYCUBE_BASE, options={"page_size": 2}
    )


def by_id(pages):
    return {record.external_id: record for page in pages for record in page.sessions}


def test_first_pass_walks_the_envelope_pages(rsps, adapter):
    register_complycube(rsps)

    pages = run_pass(adapter)

    assert session_ids(pages) == ALL
    assert pages[-1].done is True
    assert [c.request.params for c in calls_to(rsps, r"/workflowSessions\?")] == [
        {"page": "1", "pageSize": "2"},
        {"page": "2", "pageSize": "2"},
    ]  # page 2 of 2 is the last: no third request
    assert all(
        c.request.headers["Authorization"] == TOKEN for c in rsps.calls
    )  # no "Bearer"
    # The high-water mark is the newest updatedAt seen.
    assert pages[-1].cursor == {
        "v": 1,
        "high_water": "2025-06-03T11:00:00.000Z",
        "last_pass_started_at": pages[-1].cursor["last_pass_started_at"],
    }
    for page in pages:
        json.dumps(page.cursor)


def test_a_complete_session_with_checks_policies_and_client(rsps, adapter):
    register_complycube(rsps)

    session = by_id(run_pass(adapter))[S1]

    assert (session.raw_status, session.raw_outcome) == ("complete", "clear")
    assert (session.normalised.status, session.normalised.outcome) == (
        "completed",
        "clear",
    )
    assert session.workflow_id == "64f0a0b0c0d0e0f0a0b0c0d1"
    assert session.workflow_name == "Standard onboarding"
    assert session.workflow_version == "3"
    assert session.created_at == dt.datetime(2025, 6, 3, 10, 0, tzinfo=dt.UTC)
    assert session.completed_at == dt.datetime(2025, 6, 3, 10, 58, tzinfo=dt.UTC)
    assert session.source_version == "2025-06-03T11:00:00.000Z"
    assert session.client.external_id == C1
    assert session.client.name == "Jane Doe"
    assert (
        session.client.external_reference == "cust-1001"
    )  # joins the Onfido applicant
    assert "personDetails" not in session.client.raw  # PII is not mirrored
    checks = {check.check_type: check for check in session.checks}
    assert set(checks) == {
        "document_check",
        "identity_check",
        "extensive_screening_check",
    }
    screening = checks["extensive_screening_check"]
    assert screening.external_id == "66a0b1c2d3e4f5a6b7c8d9e3"
    assert screening.task_id == "task_scr_3"
    assert (screening.normalised.status, screening.normalised.outcome) == (
        "completed",
        "attention",
    )
    assert screening.breakdown["summary"]["pep"]["level1"] == "attention"
    # Policies: names filled in from compliancePolicies, outcomes mapped.
    assert [
        (p.policy_id, p.policy_name, p.raw_outcome, p.outcome) for p in session.policies
    ] == [
        ("pol_kyc_standard", "KYC standard", "clear", "clear"),
        ("pol_aml_screening", "AML screening", "attention", "attention"),
    ]
    assert session.policies[0].details["rules"] == [
        {"rule": "doc_clear", "passed": True}
    ]
    assert (
        session.raw["session"]["tasks"][0]["id"] == "task_doc_1"
    )  # undocumented block kept raw
    assert len(session.raw["checks"]) == 3
    assert session.unknown_values == []


def test_missing_blocks_pending_checks_and_sdk_outcome_words(rsps, adapter):
    register_complycube(rsps)

    sessions = by_id(run_pass(adapter))

    processing = sessions[S2]
    assert (processing.normalised.status, processing.normalised.outcome) == (
        "in_progress",
        "",
    )
    assert processing.raw_outcome == ""
    assert processing.policies == []  # no policyAssurance / compliancePolicies yet
    assert processing.completed_at is None
    [pending] = processing.checks
    assert (pending.raw_status, pending.raw_outcome, pending.breakdown) == (
        "pending",
        "",
        {},
    )
    assert pending.normalised.status == "pending"
    reviewed = sessions[S3]
    assert reviewed.raw_outcome == "review"  # the SDK's word for attention
    assert reviewed.normalised.outcome == "attention"
    [confirmed] = reviewed.checks
    assert confirmed.normalised.outcome == "rejected"  # match_confirmed
    # An assurance entry of an unrecognisable shape is kept whole, outcome empty;
    # enabled policies are not evaluations and only stay in the raw payload.
    [unknown_shape] = reviewed.policies
    assert (
        unknown_shape.policy_id,
        unknown_shape.policy_name,
        unknown_shape.outcome,
    ) == ("", "", "")
    assert unknown_shape.details == {
        "evaluation": {"score": 0.42},
        "notes": ["manual review advised"],
    }
    assert reviewed.raw["session"]["compliancePolicies"] == [
        {"policyId": "pol_pep", "policyName": "PEP policy"}
    ]


def test_each_client_is_fetched_once(rsps, adapter):
    register_complycube(rsps)
    run_pass(adapter)
    assert len(calls_to(rsps, r"/clients/")) == 2  # S1 and S3 share a client


def test_incremental_pass_asks_for_updates_after_the_high_water_mark_minus_lookback(
    rsps, adapter
):
    register_complycube(
        rsps,
        pages=[load("complycube", "workflowSessions/empty.json")],
        query={"updatedAfter": "2025-06-03T10:50:00.000Z"},
    )

    pages = run_pass(adapter, cursor={"v": 1, "high_water": "2025-06-03T11:00:00.000Z"})

    assert len(pages) == 1  # nothing updated: only the closing page
    assert pages[-1].done is True
    assert (
        pages[-1].cursor["high_water"] == "2025-06-03T11:00:00.000Z"
    )  # nothing newer: kept


def test_high_water_mark_never_passes_the_start_of_the_pass(rsps, adapter):
    """A session updated while the pass walked the list may have been missed."""
    page = load("complycube", "workflowSessions/page-2.json")
    page.update(page=1, pages=1)
    page["items"][0]["updatedAt"] = "2099-01-01T00:00:00.000Z"
    register_complycube(rsps, pages=[page])

    before = dt.datetime.now(dt.UTC)
    [_, closing] = run_pass(
        adapter, cursor={"v": 1, "high_water": "2025-06-01T00:00:00.000Z"}, full=True
    )

    high_water = dt.datetime.fromisoformat(closing.cursor["high_water"])
    assert before - dt.timedelta(seconds=1) <= high_water <= dt.datetime.now(dt.UTC)


def test_unchanged_sessions_cost_no_detail_calls(rsps, adapter):
    register_complycube(rsps)

    pages = run_pass(
        adapter,
        known_versions=lambda ids: {S1: "2025-06-03T11:00:00.000Z", S3: "stale"},
    )

    assert [i for page in pages for i in page.unchanged_ids] == [S1]
    assert session_ids(pages) == [S2, S3]
    assert calls_to(rsps, rf"/workflowSessions/{S1}") == []
    assert calls_to(rsps, r"/checks/66a0b1c2d3e4f5a6b7c8d9e1") == []


def test_budget_exhaustion_resumes_without_duplicates(rsps, fake_time):
    adapter = make_adapter(
        ComplyCubeAdapter,
        fake_time,
        base_url=COMPLYCUBE_BASE,
        options={"page_size": "2", "batch_size": "1"},
    )
    register_complycube(rsps)

    pages, calls = run_to_end(adapter, max_pages=1)

    assert session_ids(pages) == ALL
    assert calls == 3  # one session per call; the closing page rides with the last
    assert pages[-1].cursor["high_water"] == "2025-06-03T11:00:00.000Z"
    # The max updatedAt of page 1 survived the interruptions inside the cursor.
    assert pages[1].cursor["pass"]["max_updated"] == "2025-06-03T11:00:00.000Z"


def test_unknown_status_and_outcome(rsps, adapter):
    page = load("complycube", "workflowSessions/page-1.json")
    register_complycube(rsps, pages=[{**page, "pages": 1}])
    detail = load("complycube", f"workflowSessions/{S1}.json")
    detail.update(status="complete", outcome="escalated_to_mlro")
    detail["policyAssurance"][0]["outcome"] = "waived"
    rsps.replace("GET", f"{COMPLYCUBE_BASE}/workflowSessions/{S1}", json=detail)
    detail2 = load("complycube", f"workflowSessions/{S2}.json")
    detail2["status"] = "on_hold"
    rsps.replace("GET", f"{COMPLYCUBE_BASE}/workflowSessions/{S2}", json=detail2)

    sessions = by_id(run_pass(adapter))

    assert sessions[S1].normalised.status == "completed"
    assert sessions[S1].normalised.outcome == ""
    assert sessions[S1].normalised.known is False
    assert sessions[S1].unknown_values == ["escalated_to_mlro", "waived"]
    assert sessions[S2].normalised.status == "unknown"
    assert sessions[S2].unknown_values == ["on_hold"]


def test_bad_items_are_quarantined_and_page_mates_survive(rsps, adapter):
    page = load("complycube", "workflowSessions/page-1.json")
    page["items"] += [
        None,
        {"clientId": C1, "status": "complete"},
        {"id": "nul\x00id", "clientId": C1, "status": "complete"},
    ]
    register_complycube(rsps, pages=[{**page, "pages": 1}])
    rsps.replace(
        "GET",
        f"{COMPLYCUBE_BASE}/workflowSessions/{S2}",
        status=400,
        json=load("complycube", "errors/invalid_request.json"),
    )

    [first, _closing] = run_pass(adapter)

    assert session_ids([first]) == [S1]
    assert [(q.external_id, q.reason.split(":")[0]) for q in first.quarantined] == [
        ("", "expected a JSON object, got NoneType"),
        ("", "missing 'id'"),
        ("", "unusable 'id' (str, nulid)"),  # a NUL: PostgreSQL refuses it anywhere
        (S2, "details could not be read"),
    ]
    assert "invalid_request" in first.quarantined[3].reason


def test_a_session_deleted_between_list_and_detail_is_reported_gone(rsps, adapter):
    page = load("complycube", "workflowSessions/page-1.json")
    register_complycube(rsps, pages=[{**page, "pages": 1}])
    rsps.replace(
        "GET",
        f"{COMPLYCUBE_BASE}/workflowSessions/{S2}",
        status=404,
        json=load("complycube", "errors/not_found.json"),
    )

    [first, _] = run_pass(adapter)

    assert session_ids([first]) == [S1]
    assert first.gone_ids == [S2]


def test_a_check_that_cannot_be_read_is_skipped(rsps, adapter):
    page = load("complycube", "workflowSessions/page-1.json")
    register_complycube(rsps, pages=[{**page, "pages": 1}])
    rsps.replace(
        "GET", f"{COMPLYCUBE_BASE}/checks/66a0b1c2d3e4f5a6b7c8d9e2", status=404, json={}
    )
    rsps.replace(
        "GET",
        f"{COMPLYCUBE_BASE}/clients/{C1}",
        status=404,
        json=load("complycube", "errors/not_found.json"),
    )

    session = by_id(run_pass(adapter))[S1]

    assert {c.check_type for c in session.checks} == {
        "document_check",
        "extensive_screening_check",
    }
    assert session.client.name == "Jane Doe"  # entityName of the session
    assert session.client.external_reference == ""


def test_an_envelope_without_items_is_invalid(rsps, adapter):
    rsps.get(f"{COMPLYCUBE_BASE}/workflowSessions", json=[{"id": S1}])
    with pytest.raises(ProviderResponseInvalid):
        run_pass(adapter)


def test_rate_limit_429_reports_the_documented_initial_delay(rsps, adapter):
    rsps.get(
        f"{COMPLYCUBE_BASE}/workflowSessions",
        status=429,
        json=load("complycube", "errors/rate_limited.json"),
    )
    with pytest.raises(ProviderRateLimited) as caught:
        run_pass(adapter)
    assert caught.value.retry_after == 30.0
    assert caught.value.extra.get("quota") is None


def test_fetch_session(rsps, adapter):
    register_complycube_details(rsps)
    rsps.get(
        f"{COMPLYCUBE_BASE}/workflowSessions/0000",
        status=404,
        json=load("complycube", "errors/not_found.json"),
    )

    session = adapter.fetch_session(S1)

    assert session.external_id == S1
    assert len(session.checks) == 3
    assert session.client.external_reference == "cust-1001"
    assert adapter.fetch_session("0000") is None


def test_works_against_a_simulator_base_url(rsps, fake_time):
    base = "http://127.0.0.1:8765/complycube/v1"
    adapter = make_adapter(
        ComplyCubeAdapter, fake_time, base_url=base, options={"page_size": 2}
    )
    register_complycube(rsps, base)
    assert session_ids(run_pass(adapter)) == ALL


def test_page_size_goes_up_to_1000(rsps, fake_time):
    adapter = make_adapter(
        ComplyCubeAdapter,
        fake_time,
        base_url=COMPLYCUBE_BASE,
        options={"page_size": 1000},
    )
    rsps.get(
        f"{COMPLYCUBE_BASE}/workflowSessions",
        json=load("complycube", "workflowSessions/empty.json"),
        match=[matchers.query_param_matcher({"page": "1", "pageSize": "1000"})],
    )
    assert run_pass(adapter)[-1].done is True


@pytest.mark.parametrize(
    ("session", "expected"),
    [
        ({}, []),
        ({"policyAssurance": None, "compliancePolicies": None}, []),
        ({"policyAssurance": "clear"}, [("", "clear", "", "")]),
        (
            {"policyAssurance": {"id": "p1", "result": {"outcome": "rejected"}}},
            [("p1", "", "rejected", "rejected")],
        ),
        (
            {
                "policyAssurance": [
                    {"policy": {"id": "p2", "name": "Nested"}, "status": "decline"}
                ]
            },
            [("p2", "Nested", "decline", "rejected")],
        ),
        (
            {
                "compliancePolicies": [
                    {"id": "p3", "name": "Enabled", "status": "active"}
                ],
                "policyAssurance": [{"id": "p3", "outcome": "attention"}, {"id": "p4"}],
            },
            [("p3", "Enabled", "attention", "attention"), ("p4", "", "", "")],
        ),
        (
            {"compliancePolicies": [{"id": "p5", "name": "Only enabled"}]},
            [("p5", "Only enabled", "", "")],
        ),
        ({"policyAssurance": [42]}, [("", "", "", "")]),
    ],
)
def test_policy_mapping_is_tolerant(session, expected):
    unknown: list[str] = []
    records = policy_records(session, unknown)
    assert [
        (p.policy_id, p.policy_name, p.raw_outcome, p.outcome) for p in records
    ] == expected
    assert unknown == []


def test_enabled_policies_without_an_evaluation_say_not_evaluated_yet():
    session = {
        "compliancePolicies": [
            {"id": "p1", "name": "KYC"},
            {"id": "p2", "name": "AML"},
        ],
        "policyAssurance": [{"id": "p1", "outcome": "clear"}],
    }

    records = policy_records(session, [])

    assert [(p.policy_id, p.policy_name, p.evaluated) for p in records] == [
        ("p1", "KYC", True),
        ("p2", "AML", False),
    ]
    # An evaluation without an id could be either policy's: nothing is added.
    session["policyAssurance"].append({"outcome": "attention"})
    assert [p.evaluated for p in policy_records(session, [])] == [True, True]


def test_budget_spent_before_the_first_page(rsps, adapter):
    pages = run_pass(adapter, budget=Budget(max_pages=0))
    assert [page.done for page in pages] == [False]
    assert pages[0].cursor["pass"]["page"] == 1
    assert len(rsps.calls) == 0
