"""ICA behaviour beyond the schema: Accept header, filters, analyses, problems.

Paging is in test_paging.py.
"""

from __future__ import annotations

import pytest

from sessions_app.simulator.ica.world import ICA_V3_SPELLING
from tests.helpers.simulator import Provider, ica_search


@pytest.mark.parametrize(
    "accept", [None, "", "*/*", "application/json", "application/vnd.illumina.v4+json"]
)
def test_a_missing_or_wrong_accept_header_is_ica_api_004(ica: Provider, accept):
    response = ica.get(
        "/api/projects", headers={"Accept": accept}
    )  # None: header absent
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "ICA_API_004"
    assert problem["detail"] == "Invalid Accept Header"
    assert {"type", "title", "status", "timestamp", "parameters"} <= set(problem)


def test_accept_may_list_several_types(ica: Provider):
    accept = "application/json, application/vnd.illumina.v3+json;q=0.9"
    assert ica.get("/api/projects", headers={"Accept": accept}).status_code == 200


def test_a_missing_api_key_is_401_problem(ica: Provider):
    response = ica.get("/api/projects", headers={"X-API-Key": ""})
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_the_search_answers_and_filters_v4_spellings_only(sim, ica: Provider):
    """The V4 search's `status` pattern has no V3 spelling (ICA's spec)."""
    sessions = sim.state()["providers"]["ica"]["sessions"]
    assert not {s["status"] for s in sessions} & set(ICA_V3_SPELLING.values())
    for v4_word, v3_word in ICA_V3_SPELLING.items():
        session = next(s for s in sessions if s["status"] == v4_word)
        project = session["client_id"]
        items = ica_search(ica, project, {"status": [v4_word]}).json()["items"]
        assert session["id"] in {item["id"] for item in items}
        assert {item["status"] for item in items} == {v4_word}
        assert ica_search(ica, project, {"status": [v3_word]}).json()["items"] == []


def test_user_reference_filter(sim, ica: Provider):
    project = sim.world.ica.projects[0].id
    some = ica_search(ica, project).json()["items"][0]
    items = ica_search(ica, project, {"userReference": some["userReference"]}).json()[
        "items"
    ]
    assert [item["id"] for item in items] == [some["id"]]


def test_sessions_have_v4_spellings_and_null_tags(sim):
    statuses = {s["status"] for s in sim.state()["providers"]["ica"]["sessions"]}
    assert {"IN_PROGRESS", "AWAITING_INPUT", "FAILED_FINAL"} <= statuses
    sessions = sim.world.ica.sessions
    assert any(s.technical_tags is None for s in sessions)
    assert any(s.user_tags is None for s in sessions)
    assert any(s.user_tags and None in s.user_tags for s in sessions)


def test_analyses_belong_to_their_session_and_project(sim, ica: Provider):
    session = next(
        s for s in sim.state()["providers"]["ica"]["sessions"] if s["checks"]
    )
    body = ica.post(
        f"/api/projects/{session['client_id']}/workflowSessions/{session['id']}/analyses:search",
        json={},
    ).json()
    assert {item["analysis"]["id"] for item in body["items"]} == {
        c["id"] for c in session["checks"]
    }
    for item in body["items"]:
        assert item["workflowSessionId"] == session["id"]
        assert item["project"]["id"] == session["client_id"]
    other_project = next(
        p.id for p in sim.world.ica.projects if p.id != session["client_id"]
    )
    wrong = ica.post(
        f"/api/projects/{other_project}/workflowSessions/{session['id']}/analyses:search",
        json={},
    )
    assert wrong.status_code == 404


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"status": "SUCCEEDED"}'])
def test_a_bad_search_body_is_a_400_problem(sim, ica: Provider, body):
    project = sim.world.ica.projects[0].id
    response = ica.post(
        f"/api/projects/{project}/workflowSessions:search",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_chunked_search_body_is_read_whole(sim, ica: Provider):
    project = sim.world.ica.projects[0].id
    sessions = [
        s
        for s in sim.state()["providers"]["ica"]["sessions"]
        if s["client_id"] == project
    ]
    wanted = sessions[0]["status"]
    path = f"/api/projects/{project}/workflowSessions:search"
    chunks = iter(
        [b'{"status": ', f'["{wanted}"]}}'.encode()]
    )  # a generator is sent chunked
    response = ica.post(path, data=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert {item["id"] for item in response.json()["items"]} == {
        s["id"] for s in sessions if s["status"] == wanted
    }
    assert len(response.json()["items"]) < len(sessions)
    # The connection is still in step for the next request.
    assert ica.post(path, json={}).status_code == 200


def test_problem_titles_carry_ica_error_codes_where_known(sim, ica: Provider):
    project = sim.world.ica.projects[0].id
    missing = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    cases = {
        "ICA_API_004": ica.get("/api/projects", headers={"Accept": "application/json"}),
        "ICA_SEC_001": ica.get("/api/projects", headers={"X-API-Key": "wrong"}),
        "ICA_GENR_003": ica.get(f"/api/projects/{missing}"),
        "ICA_API_010": ica.get("/api/projects", params={"pageToken": "expired"}),
    }
    analyses = ica.post(
        f"/api/projects/{project}/workflowSessions/{missing}/analyses:search", json={}
    )
    search = ica.post(f"/api/projects/{missing}/workflowSessions:search", json={})
    for code, response in cases.items():
        assert response.json()["title"] == code, response.json()
    assert analyses.json()["title"] == search.json()["title"] == "ICA_GENR_003"
    # No code is known for these: the HTTP reason phrase, as before.
    assert ica.get("/api/projects", params={"pageSize": "0"}).json()["title"] == (
        "Bad Request"
    )
    sim.set_faults("ica", rate_limit_burst=1)
    assert ica.get("/api/projects").json()["title"] == "Too Many Requests"
