"""The control API, and the ground truth it reports matching what the APIs serve."""

from __future__ import annotations

import datetime as dt

from sessions_app.simulator.app import Simulator
from sessions_app.simulator.wire import SimRequest, parse_iso
from tests.helpers.simulator import START, Provider


def _onfido_truth(onfido: Provider) -> dict:
    runs, page = [], 1
    while batch := onfido.get("/workflow_runs", params={"page": page}).json():
        runs.extend(batch)
        page += 1
    checks = complete = 0
    for run in runs:
        for item in onfido.get(f"/workflow_runs/{run['id']}/tasks").json():
            if item["task_def_id"] == "profile_data":
                continue
            checks += 1
            complete += (
                onfido.get(f"/workflow_runs/{run['id']}/tasks/{item['id']}").json()[
                    "output"
                ]
                is not None
            )
    return {
        "statuses": {run["id"]: run["status"] for run in runs},
        "counts": {
            "sessions": len(runs),
            "checks": checks,
            "checks_complete": complete,
            "clients": len({run["applicant_id"] for run in runs}),
            "tags": len({tag for run in runs for tag in run["tags"] or ()}),
        },
    }


def _complycube_truth(complycube: Provider) -> dict:
    items = complycube.get("/workflowSessions", params={"pageSize": 1000}).json()[
        "items"
    ]
    checks = complete = policies = 0
    for item in items:
        detail = complycube.get(f"/workflowSessions/{item['id']}").json()
        policies += len(detail["policyAssurance"])
        for related in detail["allRelatedChecks"]:
            checks += 1
            complete += (
                complycube.get(f"/checks/{related['checkId']}").json()["status"]
                != "pending"
            )
    return {
        "statuses": {item["id"]: item["status"] for item in items},
        "counts": {
            "sessions": len(items),
            "checks": checks,
            "checks_complete": complete,
            "clients": len({item["clientId"] for item in items}),
            "tags": 0,
            "policy_assurances": policies,
        },
    }


def _ica_truth(ica: Provider) -> dict:
    projects = ica.get("/api/projects", params={"pageSize": 1000}).json()["items"]
    sessions, checks, complete, clients, tags = {}, 0, 0, set(), set()
    for project in projects:
        path = f"/api/projects/{project['id']}/workflowSessions"
        for item in ica.post(
            f"{path}:search", params={"pageSize": 1000}, json={}
        ).json()["items"]:
            sessions[item["id"]] = item["status"]
            clients.add(project["id"])
            tags |= {(t, "technical") for t in item["tags"]["technicalTags"] or () if t}
            tags |= {(t, "user") for t in item["tags"]["userTags"] or () if t}
            analyses = ica.post(f"{path}/{item['id']}/analyses:search", json={}).json()[
                "items"
            ]
            checks += len(analyses)
            complete += sum(bool(a["analysis"]["endDate"]) for a in analyses)
    return {
        "statuses": sessions,
        "counts": {
            "sessions": len(sessions),
            "checks": checks,
            "checks_complete": complete,
            "clients": len(clients),
            "tags": len(tags),
        },
    }


def test_ground_truth_is_exactly_what_the_apis_serve(sim, http):
    sim.advance(240)  # some sessions mid-flight, some newly created
    providers = {
        kind: Provider(sim, http, kind) for kind in ("onfido", "complycube", "ica")
    }
    served = {
        "onfido": _onfido_truth(providers["onfido"]),
        "complycube": _complycube_truth(providers["complycube"]),
        "ica": _ica_truth(providers["ica"]),
    }
    state = http.get(f"{sim.url}/_sim/state", timeout=10).json()
    for kind, truth in served.items():
        reported = state["providers"][kind]
        assert {s["id"]: s["status"] for s in reported["sessions"]} == truth[
            "statuses"
        ], kind
        counts = {key: reported["counts"][key] for key in truth["counts"]}
        assert counts == truth["counts"], kind
        assert sum(reported["by_status"].values()) == truth["counts"]["sessions"]
        assert (
            reported["counts"]["sessions"] + reported["counts"]["not_yet_created"] == 30
        )


def test_state_without_detail_keeps_the_counts(sim, http):
    brief = http.get(f"{sim.url}/_sim/state", params={"detail": "0"}, timeout=10).json()
    full = sim.state()
    for kind, data in brief["providers"].items():
        assert "sessions" not in data
        assert data["counts"] == full["providers"][kind]["counts"]
    assert brief["shared_references"] == full["shared_references"]


def test_info_and_request_log(sim, http, onfido: Provider):
    info = http.get(f"{sim.url}/_sim/", timeout=5).json()
    assert info["credentials"] == sim.credentials
    assert info["base_urls"] == sim.base_urls
    assert info["ica_project_ids"] == [p.id for p in sim.world.ica.projects]
    onfido.get("/workflow_runs")
    onfido.get("/workflow_runs", headers={"Authorization": "nope"})
    log = http.get(f"{sim.url}/_sim/requests", timeout=5).json()
    assert log["counts"]["onfido"] == {"total": 2, "by_status": {"200": 1, "401": 1}}
    assert [entry["status"] for entry in log["recent"]] == [200, 401]
    first = log["recent"][0]
    assert (first["provider"], first["method"], first["path"]) == (
        "onfido",
        "GET",
        "/onfido/v3.6/workflow_runs",
    )
    assert first["query"] == {}
    assert first["fault"] == ""
    assert parse_iso(first["at"]) <= dt.datetime.now(dt.UTC)
    http.post(f"{sim.url}/_sim/reset", timeout=5)
    assert http.get(f"{sim.url}/_sim/requests", timeout=5).json()["recent"] == []


def test_unknown_paths_list_what_exists(sim, http):
    root = http.get(f"{sim.url}/nothing-here", timeout=5)
    assert root.status_code == 404
    assert root.json()["base_urls"] == sim.base_urls
    control = http.get(f"{sim.url}/_sim/nope", timeout=5)
    assert control.status_code == 404
    assert "GET /_sim/state" in control.json()["endpoints"]


def test_control_answers_loopback_clients_only_unless_allowed():
    request = SimRequest(method="GET", path="/_sim/state", client_host="10.1.2.3")
    local = Simulator(seed=1, sessions=3, speed=0, start=START)
    assert local.handle(request).status == 403
    assert (
        local.handle(
            SimRequest(method="GET", path="/_sim/state", client_host="::1")
        ).status
        == 200
    )
    assert (
        local.handle(
            SimRequest(method="GET", path="/_sim/state", client_host="::ffff:127.0.0.1")
        ).status
        == 200
    )
    remote = Simulator(
        seed=1, sessions=3, speed=0, start=START, allow_remote_control=True
    )
    assert remote.handle(request).status == 200


def test_the_shared_fixture_serves_all_three_providers(simulator, http):
    """tests/conftest.py's `simulator` fixture, as other test packages use it."""
    assert simulator.faults("complycube").rate_limit_rps is None
    assert simulator.state()["speed"] == 0
    for kind in ("onfido", "complycube", "ica"):
        provider = Provider(simulator, http, kind)
        if kind == "ica":
            response = provider.get("/api/projects")
        else:
            response = provider.get(
                "/workflow_runs" if kind == "onfido" else "/workflowSessions"
            )
        assert response.status_code == 200, kind
