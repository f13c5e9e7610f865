"""The simulator's Onfido replies, validated against Onfido's official OpenAPI spec.

Every request made here is a real HTTP exchange with the running simulator;
openapi-core validates the request and the response as the spec declares them
(tests/contracts/). ComplyCube has no spec: complycube/test_api.py checks its
documented shapes by hand.
"""

from __future__ import annotations

from tests.helpers.simulator import Provider, assert_contract, contract_errors


def test_every_onfido_endpoint_matches_the_spec(sim, onfido: Provider, onfido_contract):
    spec, _ = onfido_contract
    runs: list[dict] = []
    page = 1
    while True:
        response = onfido.get("/workflow_runs", params={"page": page})
        assert_contract(spec, response)
        if not response.json():
            break
        runs.extend(response.json())
        page += 1
    assert len(runs) == sim.state()["providers"]["onfido"]["counts"]["sessions"]

    # The list pages validated every run; the other endpoints are validated for
    # one run of each status (which covers every shape a run or task takes).
    one_per_status = list({run["status"]: run for run in runs}.values())
    assert len(one_per_status) == 8
    tasks_seen = reports_seen = 0
    for run in one_per_status:
        assert_contract(spec, onfido.get(f"/workflow_runs/{run['id']}"))
        tasks = onfido.get(f"/workflow_runs/{run['id']}/tasks")
        assert_contract(spec, tasks)
        for task in tasks.json():
            detail = onfido.get(f"/workflow_runs/{run['id']}/tasks/{task['id']}")
            assert_contract(spec, detail)
            tasks_seen += 1
            reports_seen += bool(
                detail.json()["output"] and "result" in detail.json()["output"]
            )
    for applicant_id in {run["applicant_id"] for run in one_per_status}:
        assert_contract(spec, onfido.get(f"/applicants/{applicant_id}"))
    assert tasks_seen > len(one_per_status)
    assert reports_seen > 0


def test_onfido_list_filters_are_spec_requests(onfido: Provider, onfido_contract):
    spec, _ = onfido_contract
    params = {
        "status": "approved,declined,review",
        "sort": "asc",
        "created_at_gt": "2026-01-01",
        "created_at_lt": "2026-03-02",
        "tags": "vip",
    }
    response = onfido.get("/workflow_runs", params=params)
    assert_contract(spec, response)
    assert response.json(), "the filters should still match some runs"


def test_onfido_error_replies_match_the_spec(sim, onfido: Provider, onfido_contract):
    spec, _ = onfido_contract
    run_id = onfido.get("/workflow_runs").json()[0]["id"]
    missing = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    cases = [
        (
            onfido.get(
                "/workflow_runs", headers={"Authorization": "Token token=wrong"}
            ),
            401,
            False,
        ),
        (onfido.get(f"/workflow_runs/{missing}"), 404, True),
        (onfido.get(f"/workflow_runs/{run_id}/tasks/nope_12345"), 404, True),
        (onfido.get(f"/applicants/{missing}"), 404, True),
        (onfido.get("/workflow_runs", params={"page": 0}), 422, True),
    ]
    sim.set_faults("onfido", rate_limit_burst=1)
    cases.append((onfido.get("/workflow_runs"), 429, True))
    sim.set_faults("onfido", server_error_burst=1, server_error_status=503)
    cases.append((onfido.get("/workflow_runs"), 503, True))
    for response, status, valid_request in cases:
        assert response.status_code == status
        assert set(response.json()["error"]) == {"type", "message", "fields"}
        assert_contract(spec, response, check_request=valid_request)


def test_a_datetime_where_onfido_wants_a_day_is_rejected_by_both(
    onfido: Provider, onfido_contract
):
    spec, _ = onfido_contract
    response = onfido.get(
        "/workflow_runs", params={"created_at_gt": "2026-03-01T00:00:00Z"}
    )
    assert response.status_code == 422
    assert "created_at_gt" in response.json()["error"]["fields"]
    errors = contract_errors(spec, response)
    assert [kind for kind, *_ in errors if kind == "request"] == [
        "request"
    ]  # the spec agrees
    assert_contract(spec, response, check_request=False)


def test_the_contract_check_catches_unknown_enum_values(
    sim, onfido: Provider, onfido_contract
):
    """The validation is live: the unknown-enum fault breaks exactly the status enum."""
    spec, _ = onfido_contract
    sim.set_faults("onfido", unknown_enum_probability=1.0)
    errors = contract_errors(spec, onfido.get("/workflow_runs"))
    assert errors
    assert {error.instance for error in errors} == {"paused_by_compliance"}
