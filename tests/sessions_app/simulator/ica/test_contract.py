"""The simulator's ICA replies, validated against ICA's official OpenAPI spec.

Every request made here is a real HTTP exchange with the running simulator;
openapi-core validates the request and the response as the spec declares them
(tests/contracts/), strictly: the V4 search answers V4 status spellings only.
"""

from __future__ import annotations

from openapi_core import OpenAPI

from tests.helpers.simulator import Provider, assert_contract


def _ica_pages(
    ica: Provider, spec: OpenAPI, method: str, path: str, page_size: int
) -> list[dict]:
    items: list[dict] = []
    token = None
    while True:
        params = {"pageSize": page_size, **({"pageToken": token} if token else {})}
        if method == "GET":
            response = ica.get(path, params=params)
        else:
            response = ica.post(path, params=params, json={})
        assert response.status_code == 200, response.text
        assert_contract(spec, response)
        items.extend(response.json()["items"])
        token = response.json()["nextPageToken"]
        if not token:
            return items


def test_every_ica_endpoint_matches_the_spec(sim, ica: Provider, ica_contract):
    spec, _ = ica_contract
    projects = _ica_pages(ica, spec, "GET", "/api/projects", page_size=2)
    assert len(projects) == len(sim.world.ica.projects)
    sessions_total = analyses = 0
    analysed_statuses: set[str] = set()
    for project in projects:
        assert_contract(spec, ica.get(f"/api/projects/{project['id']}"))
        sessions = _ica_pages(
            ica,
            spec,
            "POST",
            f"/api/projects/{project['id']}/workflowSessions:search",
            4,
        )
        sessions_total += len(sessions)
        for session in sessions:
            if session["status"] in analysed_statuses:
                continue  # one session per status covers every analysis shape
            analysed_statuses.add(session["status"])
            response = ica.post(
                f"/api/projects/{project['id']}/workflowSessions/{session['id']}/analyses:search",
                json={},
            )
            assert_contract(spec, response)
            analyses += len(response.json()["items"])
    state = sim.state()["providers"]["ica"]
    assert sessions_total == state["counts"]["sessions"]
    assert analysed_statuses == set(state["by_status"])
    assert analyses > 0


def test_ica_search_filters_and_offset_paging_match_the_spec(
    sim, ica: Provider, ica_contract
):
    spec, _ = ica_contract
    project = sim.world.ica.projects[0].id
    path = f"/api/projects/{project}/workflowSessions:search"
    filtered = ica.post(
        path,
        json={"status": ["SUCCEEDED", "FAILED", "IN_PROGRESS"], "userReference": None},
    )
    assert_contract(spec, filtered)
    offset = ica.post(
        path,
        params={"sort": "startDate desc", "pageOffset": "0", "pageSize": "3"},
        json={},
    )
    assert_contract(spec, offset)
    assert offset.json()["nextPageToken"] == ""


def test_ica_error_replies_match_the_spec(sim, ica: Provider, ica_contract):
    spec, _ = ica_contract
    project = sim.world.ica.projects[0].id
    missing = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    cases = [
        (ica.get("/api/projects", headers={"X-API-Key": "wrong"}), 401, False),
        (ica.get("/api/projects", headers={"Accept": "application/json"}), 400, True),
        (ica.get(f"/api/projects/{missing}"), 404, True),
        (
            ica.post(f"/api/projects/{missing}/workflowSessions:search", json={}),
            404,
            True,
        ),
        (
            ica.post(
                f"/api/projects/{project}/workflowSessions/{missing}/analyses:search",
                json={},
            ),
            404,
            True,
        ),
        (ica.get("/api/projects", params={"pageToken": "not-a-token"}), 400, True),
    ]
    sim.set_faults("ica", rate_limit_burst=1)
    cases.append((ica.get("/api/projects"), 429, True))
    sim.set_faults("ica", server_error_burst=1)
    cases.append((ica.get("/api/projects"), 500, True))
    for response, status, valid_request in cases:
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == status
        assert_contract(spec, response, check_request=valid_request)
