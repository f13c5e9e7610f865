"""Fault switches: 429s, 5xx, slow replies, malformed JSON, unknown enums, extra fields."""

from __future__ import annotations

import json
import time

import pytest

from sessions_app.simulator.faults import FaultBoard, FaultError, fault_option_parse
from tests.helpers.simulator import Provider, make_sim

LISTS = {
    "onfido": ("GET", "/workflow_runs"),
    "complycube": ("GET", "/workflowSessions"),
}


def _list(provider: Provider, sim):
    if provider.kind == "ica":
        return provider.post(
            f"/api/projects/{sim.world.ica.projects[0].id}/workflowSessions:search",
            json={},
        )
    return provider.get(LISTS[provider.kind][1])


@pytest.fixture
def providers(sim, http) -> dict[str, Provider]:
    return {kind: Provider(sim, http, kind) for kind in ("onfido", "complycube", "ica")}


def test_a_429_burst_hits_only_its_provider_and_the_next_n_requests(sim, providers):
    sim.set_faults("complycube", rate_limit_burst=2)
    complycube = providers["complycube"]
    assert [complycube.get("/workflowSessions").status_code for _ in range(3)] == [
        429,
        429,
        200,
    ]
    assert providers["onfido"].get("/workflow_runs").status_code == 200


def test_429_shapes_and_retry_after_per_provider(sim, providers):
    sim.set_faults("all", rate_limit_burst=1)
    onfido = _list(providers["onfido"], sim)
    complycube = _list(providers["complycube"], sim)
    ica = _list(providers["ica"], sim)
    assert (onfido.status_code, complycube.status_code, ica.status_code) == (
        429,
        429,
        429,
    )
    assert onfido.json()["error"]["type"] == "rate_limit"
    assert "Retry-After" not in onfido.headers
    assert complycube.json()["type"] == "rate_limit_exceeded"
    assert complycube.headers["Retry-After"] == "1"
    assert ica.json()["status"] == 429
    assert ica.headers["Content-Type"] == "application/problem+json"
    assert "Retry-After" not in ica.headers
    sim.set_faults("onfido", rate_limit_burst=1, retry_after_seconds=7)
    assert _list(providers["onfido"], sim).headers["Retry-After"] == "7"


def test_rate_limit_probability(sim, providers):
    sim.set_faults("ica", rate_limit_probability=1.0)
    assert {_list(providers["ica"], sim).status_code for _ in range(3)} == {429}
    sim.set_faults("ica", rate_limit_probability=0.0)
    assert _list(providers["ica"], sim).status_code == 200


def test_steady_rate_limit_answers_429_with_retry_after(sim, providers):
    sim.set_faults("complycube", rate_limit_rps=1)
    statuses = [_list(providers["complycube"], sim) for _ in range(3)]
    assert statuses[0].status_code == 200
    limited = [r for r in statuses[1:] if r.status_code == 429]
    assert limited
    assert int(limited[0].headers["Retry-After"]) >= 1


def test_token_bucket_refills_with_time():
    now = [0.0]
    board = FaultBoard(seed=1, monotonic=lambda: now[0])
    board.update("complycube", {"rate_limit_rps": 2})
    decisions = [board.decide("complycube").rate_limited for _ in range(3)]
    assert decisions == [False, False, True]
    now[0] += 0.5  # one token back at 2 per second
    assert board.decide("complycube").rate_limited is False
    assert board.decide("complycube").rate_limited is True
    board.update("complycube", {"rate_limit_rps": None})
    assert not any(board.decide("complycube").rate_limited for _ in range(50))


def test_server_error_burst_and_status(sim, providers):
    sim.set_faults("onfido", server_error_burst=1, server_error_status=502)
    response = _list(providers["onfido"], sim)
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "internal_server_error"
    assert _list(providers["onfido"], sim).status_code == 200
    sim.set_faults("complycube", server_error_probability=1.0)
    failed = _list(providers["complycube"], sim)
    assert (failed.status_code, failed.json()["type"]) == (500, "internal_server_error")


def test_slow_replies(sim, providers):
    sim.set_faults("ica", delay_seconds=0.3)
    started = time.monotonic()
    assert _list(providers["ica"], sim).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert _list(providers["onfido"], sim).status_code == 200
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize("kind", ["onfido", "complycube", "ica"])
def test_malformed_json_on_list_pages_only(sim, providers, kind):
    provider = providers[kind]
    sim.set_faults(kind, malformed_burst=1)
    broken = _list(provider, sim)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    assert _list(provider, sim).json()  # the burst is spent
    sim.set_faults(kind, malformed_probability=1.0)
    detail = {
        "onfido": lambda: provider.get(
            f"/workflow_runs/{sim.world.onfido.sessions[0].id}"
        ),
        "complycube": lambda: provider.get(
            f"/workflowSessions/{sim.world.complycube.sessions[0].id}"
        ),
        "ica": lambda: provider.get(f"/api/projects/{sim.world.ica.projects[0].id}"),
    }[kind]()
    assert detail.json()["id"]  # detail replies stay whole


def test_unknown_enum_values_are_stable_and_in_the_ground_truth(sim, providers):
    sim.set_faults("all", unknown_enum_probability=1.0)
    onfido_run = _list(providers["onfido"], sim).json()[0]
    assert onfido_run["status"] == "paused_by_compliance"
    cc_item = _list(providers["complycube"], sim).json()["items"][0]
    assert cc_item["status"] == "on_hold"
    ica_item = _list(providers["ica"], sim).json()["items"][0]
    assert ica_item["status"] == "SUSPENDED"
    state = sim.state()["providers"]
    assert state["onfido"]["by_status"] == {
        "paused_by_compliance": state["onfido"]["counts"]["sessions"]
    }
    assert set(state["ica"]["by_status"]) == {"SUSPENDED"}
    cc_check = next(
        c
        for s in state["complycube"]["sessions"]
        for c in s["checks"]
        if c["status"] == "complete"
    )
    assert cc_check["outcome"] == "inconclusive"

    sim.set_faults("all", unknown_enum_probability=0.3)
    first = {
        s["id"]: s["status"] for s in sim.state()["providers"]["onfido"]["sessions"]
    }
    second = {
        s["id"]: s["status"] for s in sim.state()["providers"]["onfido"]["sessions"]
    }
    assert first == second  # the same sessions stay unknown
    assert 0 < list(first.values()).count("paused_by_compliance") < len(first)


def test_extra_fields_on_envelopes_and_items(sim, providers):
    sim.set_faults("all", extra_fields=True)
    assert "sim_unexpected_field" in _list(providers["onfido"], sim).json()[0]
    cc = _list(providers["complycube"], sim).json()
    assert "simUnexpectedField" in cc
    assert "simUnexpectedField" in cc["items"][0]
    ica = _list(providers["ica"], sim).json()
    assert "simUnexpectedField" in ica
    assert "simUnexpectedField" in ica["items"][0]
    error = providers["onfido"].get("/workflow_runs/nope")
    assert "sim_unexpected_field" not in error.json()  # errors keep their exact shape


def test_control_api_sets_reads_validates_and_resets(sim, http):
    url = f"{sim.url}/_sim/faults"
    response = http.post(
        url,
        json={"provider": "ica", "server_error_burst": 2, "delay_seconds": 0},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json()["ica"]["server_error_burst"] == 2
    assert response.json()["onfido"]["server_error_burst"] == 0
    assert http.get(url, timeout=5).json()["ica"]["server_error_burst"] == 2
    for bad in (
        {"rate_limit_burst": -1},
        {"frobnicate": 1},
        {"provider": "acme", "extra_fields": True},
    ):
        answer = http.post(url, json=bad, timeout=5)
        assert answer.status_code == 400
        assert answer.json()["error"]
    assert (
        http.post(f"{sim.url}/_sim/reset", timeout=5).json()["ica"][
            "server_error_burst"
        ]
        == 0
    )


def test_reset_returns_to_the_start_up_settings():
    sim = make_sim(
        faults={"complycube": {"extra_fields": True}}, rate_limits={"onfido": 5}
    )
    try:
        sim.set_faults("all", extra_fields=False, rate_limit_rps=None)
        sim.reset()
        assert sim.faults("complycube").extra_fields is True
        assert sim.faults("onfido").rate_limit_rps == 5
        assert sim.faults("ica").rate_limit_rps == 20  # the provider default
    finally:
        sim.stop()


def test_cli_fault_options_parse():
    assert fault_option_parse("complycube.rate_limit_rps=10") == (
        "complycube",
        {"rate_limit_rps": 10.0},
    )
    assert fault_option_parse("rate_limit_rps=none") == (
        "all",
        {"rate_limit_rps": None},
    )
    assert fault_option_parse("ica.extra_fields=true") == (
        "ica",
        {"extra_fields": True},
    )
    for bad in (
        "complycube.rate_limit_burst",
        "acme.extra_fields=true",
        "delay_seconds=soon",
    ):
        with pytest.raises(FaultError):
            fault_option_parse(bad)


def _detail_calls(provider: Provider, sim) -> dict[str, object]:
    """One call per detail endpoint of `provider` (path under the prefix -> call)."""
    truth = sim.state()["providers"][provider.kind]["sessions"]
    session = next(s for s in truth if s["checks"] and s["client_id"])
    sid, check, client = session["id"], session["checks"][0]["id"], session["client_id"]
    if provider.kind == "onfido":
        paths = [
            f"/workflow_runs/{sid}",
            f"/workflow_runs/{sid}/tasks",
            f"/workflow_runs/{sid}/tasks/{check}",
            f"/applicants/{client}",
        ]
        return {path: (lambda p=path: provider.get(p)) for path in paths}
    if provider.kind == "complycube":
        paths = [f"/workflowSessions/{sid}", f"/checks/{check}", f"/clients/{client}"]
        return {path: (lambda p=path: provider.get(p)) for path in paths}
    analyses = f"/api/projects/{client}/workflowSessions/{sid}/analyses:search"
    return {
        f"/api/projects/{client}": lambda: provider.get(f"/api/projects/{client}"),
        analyses: lambda: provider.post(analyses, json={}),
    }


def _truncated(response) -> bool:
    assert response.status_code == 200
    try:
        json.loads(response.content)
    except json.JSONDecodeError:
        return True
    return False


@pytest.mark.parametrize("kind", ["onfido", "complycube", "ica"])
def test_malformed_json_on_detail_replies(sim, providers, kind):
    provider = providers[kind]
    calls = _detail_calls(provider, sim)
    sim.set_faults(kind, detail_malformed_burst=len(calls))

    assert [_truncated(call()) for call in calls.values()] == [True] * len(calls)
    assert not _truncated(_list(provider, sim))  # list pages are not detail replies
    assert sim.faults(kind).detail_malformed_burst == 0
    assert [_truncated(call()) for call in calls.values()] == [False] * len(calls)
    logged = [e for e in sim.requests_log()["recent"] if e["fault"] == "malformed"]
    assert len(logged) == len(calls)

    sim.set_faults(kind, detail_malformed_probability=1.0)
    assert all(_truncated(call()) for call in calls.values())
    assert not _truncated(_list(provider, sim))
    sim.set_faults(kind, malformed_probability=1.0, detail_malformed_probability=0.0)
    assert not any(_truncated(call()) for call in calls.values())


@pytest.mark.parametrize("kind", ["onfido", "complycube", "ica"])
def test_detail_malformed_path_narrows_the_fault_to_matching_replies(
    sim, providers, kind
):
    provider = providers[kind]
    calls = _detail_calls(provider, sim)
    target = list(calls)[-1]  # a sub-resource: task, client or analyses
    pattern = {
        "onfido": r"^/applicants/",
        "complycube": r"^/clients/",
        "ica": r"/analyses:search$",
    }[kind]
    sim.set_faults(kind, detail_malformed_burst=1, detail_malformed_path=pattern)

    others = [_truncated(call()) for path, call in calls.items() if path != target]
    assert others == [False] * (len(calls) - 1)
    assert sim.faults(kind).detail_malformed_burst == 1  # not spent on the others
    assert _truncated(calls[target]())
    assert not _truncated(calls[target]())  # the burst is spent


def test_detail_malformed_settings_are_validated(sim, http):
    board = FaultBoard(seed=1)
    for bad in ({"detail_malformed_path": "("}, {"detail_malformed_path": ""}):
        with pytest.raises(FaultError, match="detail_malformed_path"):
            board.update("onfido", bad)
    with pytest.raises(FaultError, match="detail_malformed_probability"):
        board.update("onfido", {"detail_malformed_probability": 2})
    board.update("onfido", {"detail_malformed_path": "/tasks/"})
    board.update("onfido", {"detail_malformed_path": None})
    assert board.settings("onfido").detail_malformed_path is None
    answer = http.post(
        f"{sim.url}/_sim/faults",
        json={"provider": "complycube", "detail_malformed_path": "[unclosed"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert "detail_malformed_path" in answer.json()["error"]
    assert fault_option_parse("onfido.detail_malformed_path=/tasks/[^/]+$") == (
        "onfido",
        {"detail_malformed_path": "/tasks/[^/]+$"},
    )
