"""ComplyCube has no published spec: its documented shapes, checked by hand.

Source: ComplyCube's public API reference and docs/providers/complycube.md (list envelope,
summaries vs full objects, strict date filters, error envelope, bare-key auth).
"""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.simulator.wire import parse_iso
from tests.helpers.simulator import Provider

SUMMARY_FIELDS = {
    "id",
    "clientId",
    "entityName",
    "status",
    "workflowTemplateName",
    "workflowTemplateId",
    "workflowId",
    "workflowVersion",
    "createdAt",
    "updatedAt",
}
DETAIL_ONLY_FIELDS = {
    "allRelatedChecks",
    "tasks",
    "policyAssurance",
    "compliancePolicies",
}
STATUSES = {"started", "processing", "complete", "abandoned", "cancelled"}


def _all_sessions(complycube: Provider, **params) -> list[dict]:
    items, page = [], 1
    while True:
        body = complycube.get(
            "/workflowSessions", params={"page": page, **params}
        ).json()
        items.extend(body["items"])
        if page >= body["pages"]:
            return items
        page += 1


def test_list_is_a_paged_envelope_of_summaries_newest_first(sim, complycube: Provider):
    response = complycube.get("/workflowSessions", params={"pageSize": 7})
    assert response.status_code == 200
    body = response.json()
    total = sim.state()["providers"]["complycube"]["counts"]["sessions"]
    assert set(body) == {"page", "pageSize", "totalItems", "pages", "items"}
    assert (body["page"], body["pageSize"], body["totalItems"]) == (1, 7, total)
    assert body["pages"] == -(-total // 7)
    assert len(body["items"]) == 7
    for item in body["items"]:
        assert SUMMARY_FIELDS <= set(item) <= SUMMARY_FIELDS | {"outcome"}
        assert not DETAIL_ONLY_FIELDS & set(item)
        assert item["status"] in STATUSES
        assert ("outcome" in item) == (item["status"] == "complete")
    everything = _all_sessions(complycube, pageSize=7)
    assert len(everything) == total == len({item["id"] for item in everything})
    created = [parse_iso(item["createdAt"]) for item in everything]
    assert created == sorted(created, reverse=True)


def test_default_page_size_and_pages_past_the_end(complycube: Provider):
    body = complycube.get("/workflowSessions").json()
    assert body["pageSize"] == 100
    assert body["pages"] == 1
    past = complycube.get("/workflowSessions", params={"page": 5}).json()
    assert past["items"] == []
    assert past["page"] == 5
    assert past["totalItems"] == body["totalItems"]


@pytest.mark.parametrize(
    ("param", "value"), [("pageSize", "0"), ("pageSize", "1001"), ("page", "zero")]
)
def test_bad_paging_is_an_invalid_request_naming_the_param(
    complycube: Provider, param, value
):
    response = complycube.get("/workflowSessions", params={param: value})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "invalid_request"
    assert body["param"] == param
    assert body["message"]


def test_page_size_limit_of_1000_is_accepted(complycube: Provider):
    assert (
        complycube.get("/workflowSessions", params={"pageSize": 1000}).status_code
        == 200
    )


def test_updated_after_and_created_after_are_strict(complycube: Provider):
    everything = _all_sessions(complycube)
    pivot = sorted(everything, key=lambda s: s["updatedAt"])[len(everything) // 2]
    newer = _all_sessions(complycube, updatedAfter=pivot["updatedAt"])
    expected = {
        s["id"]
        for s in everything
        if parse_iso(s["updatedAt"]) > parse_iso(pivot["updatedAt"])
    }
    assert {s["id"] for s in newer} == expected
    assert pivot["id"] not in expected

    created_pivot = everything[len(everything) // 2]["createdAt"]
    created_newer = _all_sessions(complycube, createdAfter=created_pivot)
    assert {s["id"] for s in created_newer} == {
        s["id"]
        for s in everything
        if parse_iso(s["createdAt"]) > parse_iso(created_pivot)
    }
    # An offset-qualified timestamp works too (one second before the pivot).
    earlier = (parse_iso(pivot["updatedAt"]) - dt.timedelta(seconds=1)).isoformat()
    assert pivot["id"] in {
        s["id"] for s in _all_sessions(complycube, updatedAfter=earlier)
    }


def test_a_malformed_filter_returns_200_and_nothing(complycube: Provider):
    """Documented ComplyCube behaviour: a bad filter looks like 'no changes'."""
    response = complycube.get(
        "/workflowSessions", params={"updatedAfter": "last tuesday"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "page": 1,
        "pageSize": 100,
        "totalItems": 0,
        "pages": 0,
        "items": [],
    }


def test_detail_has_checks_tasks_and_policies(sim, complycube: Provider):
    states = {s["id"]: s for s in sim.state()["providers"]["complycube"]["sessions"]}
    complete = next(s for s in states.values() if s["status"] == "complete")
    detail = complycube.get(f"/workflowSessions/{complete['id']}").json()
    assert SUMMARY_FIELDS | DETAIL_ONLY_FIELDS | {"completedAt", "outcome"} <= set(
        detail
    )
    assert detail["outcome"] == complete["outcome"]
    task_ids = {task["id"] for task in detail["tasks"]}
    assert detail["allRelatedChecks"]
    for related in detail["allRelatedChecks"]:
        assert set(related) == {"checkId", "type", "taskId"}
        assert related["taskId"] in task_ids
    for task in detail["tasks"]:
        assert set(task) == {"id", "type", "status"}
        assert task["status"] in {"pending", "complete"}
    assert detail["lastCompletedTaskId"] in task_ids
    assert detail["policyAssurance"]
    for policy in detail["policyAssurance"]:
        assert {"policyId", "policyName", "outcome"} <= set(policy)
        assert policy["outcome"] in {"clear", "attention", "rejected"}
    assert {p["policyId"] for p in detail["policyAssurance"]} == {
        c["id"] for c in detail["compliancePolicies"]
    }

    started = next(s for s in states.values() if s["status"] == "started")
    early = complycube.get(f"/workflowSessions/{started['id']}").json()
    assert early["allRelatedChecks"] == []
    assert early["policyAssurance"] == []
    assert "outcome" not in early
    assert "completedAt" not in early


def test_checks_carry_every_status_and_outcome(sim, complycube: Provider):
    statuses, outcomes = set(), set()
    for session in sim.state()["providers"]["complycube"]["sessions"]:
        detail = complycube.get(f"/workflowSessions/{session['id']}").json()
        for related in detail["allRelatedChecks"]:
            check = complycube.get(f"/checks/{related['checkId']}").json()
            assert check["id"] == related["checkId"]
            assert check["type"] == related["type"]
            assert check["clientId"] == detail["clientId"]
            statuses.add(check["status"])
            if check["status"] == "complete":
                assert set(check["result"]) == {"outcome", "breakdown"}
                outcomes.add(check["result"]["outcome"])
            else:
                assert "result" not in check
    assert statuses == {"pending", "complete", "failed"}
    assert outcomes == {"clear", "attention", "rejected", "match_confirmed"}


def test_clients_have_entity_name_external_id_and_person_details(
    sim, complycube: Provider
):
    seen_external = seen_without = 0
    for client in sim.state()["providers"]["complycube"]["clients"]:
        body = complycube.get(f"/clients/{client['id']}").json()
        assert body["entityName"] == client["name"]
        assert {"firstName", "lastName", "dob", "nationality"} <= set(
            body["personDetails"]
        )
        assert body["type"] == "person"
        if "externalId" in body:
            seen_external += 1
            assert body["externalId"] == client["reference"]
        else:
            seen_without += 1
    assert seen_external
    assert seen_without


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/workflowSessions/000000000000000000000000",
            "Invalid workflow session id '000000000000000000000000'",
        ),
        ("/checks/nope", "Invalid check id 'nope'"),
        ("/clients/nope", "Invalid client id 'nope'"),
    ],
)
def test_unknown_ids_are_resource_not_found(complycube: Provider, path, message):
    response = complycube.get(path)
    assert response.status_code == 404
    assert response.json() == {"type": "resource_not_found", "message": message}


@pytest.mark.parametrize("header", ["wrong-key", "Bearer sim-complycube-key", ""])
def test_auth_takes_the_bare_key_only(complycube: Provider, header):
    response = complycube.get("/workflowSessions", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["type"] == "unauthorized"
    assert set(response.json()) == {"type", "message"}
