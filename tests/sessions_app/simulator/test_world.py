"""The simulated data: deterministic, complete for Verity's vocabulary, linked across providers."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import requests

from sessions_app.models import Outcome
from sessions_app.normalization import (
    SESSION_STATUS,
    normalise_check,
    normalise_session,
)
from sessions_app.simulator.app import Simulator
from sessions_app.simulator.ica.world import ICA_V3_SPELLING
from sessions_app.simulator.world import build_world
from tests.helpers.simulator import START, Provider, make_sim


def _raw_lists(sim) -> list[bytes]:
    with requests.Session() as http:
        onfido, complycube, ica = (
            Provider(sim, http, kind) for kind in ("onfido", "complycube", "ica")
        )
        project = sim.world.ica.projects[0].id
        return [
            onfido.get("/workflow_runs").content,
            complycube.get("/workflowSessions").content,
            ica.post(
                f"/api/projects/{project}/workflowSessions:search", json={}
            ).content,
        ]


def test_same_seed_same_data_byte_for_byte():
    first, second = make_sim(seed=5).start(), make_sim(seed=5).start()
    try:
        assert _raw_lists(first) == _raw_lists(second)
        one, two = first.state(), second.state()
        for state in (one, two):
            state.pop("base_urls")
        assert one == two
    finally:
        first.stop()
        second.stop()


def test_another_seed_gives_other_data():
    one = Simulator(seed=1, sessions=30, speed=0, start=START).state()
    two = Simulator(seed=2, sessions=30, speed=0, start=START).state()
    for kind in ("onfido", "complycube", "ica"):
        ids_one = {s["id"] for s in one["providers"][kind]["sessions"]}
        ids_two = {s["id"] for s in two["providers"][kind]["sessions"]}
        assert not ids_one & ids_two


def test_the_start_instant_only_shifts_timestamps():
    early = build_world(seed=3, sessions=20, start=START)
    late = build_world(seed=3, sessions=20, start=START + dt.timedelta(days=40))
    assert [r.id for r in early.onfido.sessions] == [r.id for r in late.onfido.sessions]
    assert [r.timeline for r in early.onfido.sessions] == [
        r.timeline for r in late.onfido.sessions
    ]
    assert [s.client.person for s in early.complycube.sessions] == [
        s.client.person for s in late.complycube.sessions
    ]


@pytest.mark.parametrize("sessions", [15, 30, 60])
def test_every_status_of_verity_s_table_is_served_at_start(sessions):
    state = Simulator(seed=9, sessions=sessions, speed=0, start=START).state()[
        "providers"
    ]
    for kind in ("onfido", "complycube"):
        assert set(state[kind]["by_status"]) == set(SESSION_STATUS[kind]), kind
    # ICA's V4 search serves V4 spellings only; the table keeps V3's too.
    v3_only = set(ICA_V3_SPELLING.values())
    assert set(state["ica"]["by_status"]) == set(SESSION_STATUS["ica"]) - v3_only
    cc_outcomes = {
        s["outcome"]
        for s in state["complycube"]["sessions"]
        if s["status"] == "complete"
    }
    assert cc_outcomes == {"clear", "attention", "review", "rejected", "decline"}


def test_everything_served_normalises_to_a_known_word_with_every_outcome(sim):
    state = sim.state()["providers"]
    session_outcomes, check_outcomes = set(), set()
    for kind, data in state.items():
        for session in data["sessions"]:
            normalised = normalise_session(kind, session["status"], session["outcome"])
            assert normalised.known, (kind, session["status"], session["outcome"])
            session_outcomes.add(normalised.outcome)
            for check in session["checks"]:
                if kind == "onfido":
                    result = normalise_check(
                        kind, check["status"], check["result"], check["sub_result"]
                    )
                elif kind == "complycube":
                    result = normalise_check(kind, check["status"], check["outcome"])
                else:
                    result = normalise_check(kind, check["status"])
                assert result.known, (kind, check)
                check_outcomes.add(result.outcome)
    wanted = {Outcome.CLEAR, Outcome.ATTENTION, Outcome.REJECTED}
    assert wanted <= session_outcomes
    assert wanted <= check_outcomes


def test_onfido_and_complycube_share_clients_by_external_reference(sim, http):
    onfido, complycube = (
        Provider(sim, http, "onfido"),
        Provider(sim, http, "complycube"),
    )
    shared = sim.state()["shared_references"]
    assert len(shared) >= 2
    runs = [
        run
        for page in range(1, 4)
        for run in onfido.get("/workflow_runs", params={"page": page}).json()
    ]
    state = sim.state()["providers"]
    for reference in shared:
        run = next(r for r in runs if r.get("customer_user_id") == reference)
        applicant = onfido.get(f"/applicants/{run['applicant_id']}").json()
        client = next(
            c for c in state["complycube"]["clients"] if c["reference"] == reference
        )
        body = complycube.get(f"/clients/{client['id']}").json()
        assert body["externalId"] == reference
        assert (
            body["entityName"] == f"{applicant['first_name']} {applicant['last_name']}"
        )
    # References are otherwise unique: one provider client per reference and provider.
    for kind in ("onfido", "complycube"):
        references = [c["reference"] for c in state[kind]["clients"] if c["reference"]]
        assert len(references) == len(set(references))
        assert len(references) < len(state[kind]["clients"])  # some clients have none


def test_clients_have_several_sessions(sim):
    for kind, data in sim.state()["providers"].items():
        per_client = Counter(s["client_id"] for s in data["sessions"])
        assert len(per_client) == data["counts"]["clients"]
        assert max(per_client.values()) >= 3, kind


def test_some_names_exercise_escaping(sim):
    names = [c["name"] for c in sim.state()["providers"]["complycube"]["clients"]]
    assert any(name.startswith("=") for name in names)  # a CSV formula
    assert any("<" in name for name in names)
    assert any(not name.isascii() for name in names)


def test_tags_include_nulls_and_both_kinds(sim):
    state = sim.state()["providers"]
    assert {t["kind"] for t in state["ica"]["tags"]} == {"user", "technical"}
    assert state["onfido"]["counts"]["tags"] > 0
    assert state["complycube"]["counts"]["tags"] == 0
    assert any(run.tags is None for run in sim.world.onfido.sessions)
    assert any(run.tags == () for run in sim.world.onfido.sessions)
    names = [(t["name"], t["kind"]) for p in state.values() for t in p["tags"]]
    assert (
        sim.state()["tags_total"] == len(set(names)) == len(names)
    )  # vocabularies do not collide
