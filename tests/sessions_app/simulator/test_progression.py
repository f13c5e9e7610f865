"""Sessions move through their statuses as simulated time passes."""

from __future__ import annotations

import pytest

from sessions_app.simulator.clock import SimClock
from sessions_app.simulator.wire import iso_millis, iso_seconds
from tests.helpers.simulator import START, Provider, make_sim


def _in_flight_run(sim):
    """A run whose next status change is still to come, and when it comes."""
    for run in sim.world.onfido.sessions:
        now = run.timeline.at(0)
        if now is None:
            continue
        upcoming = [when for when, _ in run.timeline.steps if when > 0]
        if upcoming:
            return run, upcoming[0]
    raise AssertionError("no run in flight at start")


def test_a_status_change_moves_updated_at(sim, onfido: Provider):
    run, change_at = _in_flight_run(sim)
    before = onfido.get(f"/workflow_runs/{run.id}").json()
    sim.advance(change_at - 1)  # still the same status, one second earlier
    same = onfido.get(f"/workflow_runs/{run.id}").json()
    assert (same["status"], same["updated_at"]) == (
        before["status"],
        before["updated_at"],
    )
    sim.advance(1)
    after = onfido.get(f"/workflow_runs/{run.id}").json()
    assert after["status"] == run.timeline.at(change_at)[0] != before["status"]
    assert after["updated_at"] == iso_seconds(sim.world.timestamp(change_at))
    assert after["created_at"] == before["created_at"]


def test_new_sessions_appear_and_all_settle(sim):
    start = sim.state(detail=False)["providers"]
    assert all(p["counts"]["not_yet_created"] > 0 for p in start.values())
    sim.advance(6 * 3600)
    later = sim.state()["providers"]
    for kind, data in later.items():
        assert data["counts"]["not_yet_created"] == 0
        assert data["counts"]["sessions"] == 30
        assert data["counts"]["sessions"] > start[kind]["counts"]["sessions"]
    finals = {run.id: run.timeline.final for run in sim.world.onfido.sessions}
    assert {s["id"]: s["status"] for s in later["onfido"]["sessions"]} == finals


def test_complycube_checks_complete_when_the_session_does(sim, complycube: Provider):
    session = next(
        s
        for s in sim.world.complycube.sessions
        if s.timeline.final == "complete" and s.timeline.created > 0
    )
    assert (
        complycube.get(f"/workflowSessions/{session.id}").status_code == 404
    )  # not created yet
    sim.advance(session.timeline.reached("processing") + 5)
    detail = complycube.get(f"/workflowSessions/{session.id}").json()
    assert detail["status"] == "processing"
    statuses = {
        complycube.get(f"/checks/{c['checkId']}").json()["status"]
        for c in detail["allRelatedChecks"]
    }
    assert statuses == {"pending"}
    sim.advance(
        session.timeline.reached("complete") - session.timeline.reached("processing")
    )
    detail = complycube.get(f"/workflowSessions/{session.id}").json()
    assert detail["status"] == "complete"
    assert detail["updatedAt"] == iso_millis(
        sim.world.timestamp(session.timeline.reached("complete"))
    )
    statuses = {
        complycube.get(f"/checks/{c['checkId']}").json()["status"]
        for c in detail["allRelatedChecks"]
    }
    assert statuses <= {"complete", "failed"}
    assert detail["policyAssurance"]


def test_ica_analyses_appear_once_the_session_runs(sim, ica: Provider):
    session = next(
        s
        for s in sim.world.ica.sessions
        if s.analyses and s.timeline.reached("IN_PROGRESS") > 0
    )
    path = f"/api/projects/{session.project.id}/workflowSessions/{session.id}/analyses:search"
    running = session.timeline.reached("IN_PROGRESS")
    sim.advance(running - 1)
    assert ica.post(path, json={}).json()["items"] == []
    sim.advance(1)
    items = ica.post(path, json={}).json()["items"]
    assert [i["analysis"]["status"] for i in items] == ["REQUESTED"]
    sim.advance(3600)
    assert len(ica.post(path, json={}).json()["items"]) == len(session.analyses)


def test_speed_scales_real_time(http):
    fake_now = [1000.0]
    clock = SimClock(start=START, speed=60, monotonic=lambda: fake_now[0])
    sim = make_sim(clock=clock).start()
    try:
        assert sim.now() == START
        fake_now[0] += 10  # ten real seconds
        assert (sim.now() - START).total_seconds() == 600
        sim.set_speed(0)
        fake_now[0] += 10
        assert (sim.now() - START).total_seconds() == 600
        state = http.get(f"{sim.url}/_sim/clock", timeout=5).json()
        assert state["elapsed_seconds"] == 600
    finally:
        sim.stop()


def test_clock_control_api(sim, http):
    response = http.post(f"{sim.url}/_sim/clock", json={"advance": 90}, timeout=5)
    assert response.json()["elapsed_seconds"] == 90
    assert (
        http.post(f"{sim.url}/_sim/clock", json={"advance": -5}, timeout=5).status_code
        == 400
    )
    assert (
        http.post(f"{sim.url}/_sim/clock", json={"rewind": 5}, timeout=5).status_code
        == 400
    )
    assert (
        http.post(f"{sim.url}/_sim/clock", json={"speed": 2}, timeout=5).json()["speed"]
        == 2
    )


def test_the_clock_never_goes_back():
    clock = SimClock(start=START, speed=0)
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(start=START.replace(tzinfo=None))
