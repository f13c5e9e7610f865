"""Listings read page by page (`ProviderApi.listing`): the world is scanned
once per query and instant, and every page still shows what is served now."""

from __future__ import annotations

from tests.helpers.simulator import Provider, ica_search


def _ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_a_listing_read_page_by_page_scans_the_world_once(
    sim, complycube: Provider, monkeypatch
):
    api = sim.simulator.apis["complycube"]
    scanned = []
    status = api.session_status
    monkeypatch.setattr(
        api, "session_status", lambda s, view: scanned.append(s.id) or status(s, view)
    )

    first = complycube.get("/workflowSessions", params={"pageSize": 5}).json()
    after_first = len(scanned)
    second = complycube.get(
        "/workflowSessions", params={"pageSize": 5, "page": 2}
    ).json()

    assert after_first >= 30  # every session looked at once
    assert len(scanned) == after_first  # the second page scanned nothing
    whole = complycube.get("/workflowSessions", params={"pageSize": 10}).json()
    assert _ids(first) + _ids(second) == _ids(whole)
    # Another query is its own listing.
    complycube.get("/workflowSessions", params={"pageSize": 5, "status": "completed"})
    assert len(scanned) > after_first


def test_a_client_deleted_between_pages_is_gone_from_the_next_one(
    sim, complycube: Provider
):
    before = complycube.get("/workflowSessions", params={"pageSize": 1000}).json()
    client_id = before["items"][0]["clientId"]
    theirs = [i["id"] for i in before["items"] if i["clientId"] == client_id]

    deleted = complycube.http.delete(
        f"{complycube.base}/clients/{client_id}", headers=complycube.headers, timeout=10
    )
    after = complycube.get("/workflowSessions", params={"pageSize": 1000}).json()

    assert deleted.status_code == 204
    assert after["totalItems"] == before["totalItems"] - len(theirs)
    assert not set(theirs) & set(_ids(after))
    sim.simulator.reset()  # deletions forgotten: served again
    again = complycube.get("/workflowSessions", params={"pageSize": 1000}).json()
    assert _ids(again) == _ids(before)


def test_a_listing_follows_the_clock_and_the_data_faults(sim, onfido: Provider):
    now = onfido.get("/workflow_runs").json()
    sim.advance(90 * 86400)
    later = onfido.get("/workflow_runs").json()
    assert {run["id"] for run in later} != {run["id"] for run in now}

    sim.simulator.faults.update("onfido", {"unknown_enum_probability": 1.0})
    unknown = onfido.get("/workflow_runs").json()
    assert [run["id"] for run in unknown] == [run["id"] for run in later]
    assert {run["status"] for run in unknown} != {run["status"] for run in later}


def test_an_ica_search_with_a_filter_sent_as_an_array_is_answered(sim, ica: Provider):
    project = sim.simulator.world.ica.projects[0].id
    plain = ica_search(ica, project, {"userReference": None})
    odd = ica_search(ica, project, {"userReference": ["x"]})
    assert plain.status_code == 200
    assert odd.status_code == 200
    assert odd.json()["items"] == []
