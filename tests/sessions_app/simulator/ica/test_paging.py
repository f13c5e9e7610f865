"""ICA paging beyond the schema: cursor tokens and offset mode with sort."""

from __future__ import annotations

from tests.helpers.simulator import Provider, ica_search


def test_cursor_paging_returns_every_session_once(sim, ica: Provider):
    project = sim.world.ica.projects[0].id
    expected = {
        s["id"]
        for s in sim.state()["providers"]["ica"]["sessions"]
        if s["client_id"] == project
    }
    seen, remaining, token = [], [], None
    while True:
        body = ica_search(
            ica, project, pageSize=2, **({"pageToken": token} if token else {})
        ).json()
        assert "totalItemCount" not in body
        seen.extend(item["id"] for item in body["items"])
        remaining.append(body["remainingRecords"])
        token = body["nextPageToken"]
        if token is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    assert remaining[-1] == 0
    assert remaining == sorted(remaining, reverse=True)


def test_a_tampered_page_token_is_rejected(sim, ica: Provider):
    project = sim.world.ica.projects[0].id
    token = ica_search(ica, project, pageSize=1).json()["nextPageToken"]
    other_project = sim.world.ica.projects[1].id
    for bad in (token[:-2] + "xx", "garbage"):
        assert ica_search(ica, project, pageSize=1, pageToken=bad).status_code == 400
    # A token belongs to its own listing.
    assert (
        ica_search(ica, other_project, pageSize=1, pageToken=token).status_code == 400
    )


def test_offset_paging_with_sort(sim, ica: Provider):
    project = sim.world.ica.projects[0].id
    first = ica_search(
        ica, project, sort="userReference desc", pageSize=3, pageOffset=0
    ).json()
    second = ica_search(
        ica, project, sort="userReference desc", pageSize=3, pageOffset=3
    ).json()
    assert first["nextPageToken"] == ""
    assert second["nextPageToken"] == ""
    total = first["totalItemCount"]
    references = [i["userReference"] for i in first["items"] + second["items"]]
    assert references == sorted(references, reverse=True)
    assert len(references) == min(6, total)
    assert ica_search(ica, project, sort="timeModified").status_code == 400
