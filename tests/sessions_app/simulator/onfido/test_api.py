"""Onfido behaviour beyond the schema: paging, day filters, tasks, auth."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.simulator.config import ONFIDO_PAGE_SIZE
from sessions_app.simulator.wire import parse_iso
from tests.helpers.simulator import Provider

REPORT_OUTPUT_KEYS = {
    "status",
    "result",
    "sub_result",
    "uuid",
    "breakdown",
    "properties",
}


def _pages(onfido: Provider, **params) -> list[list[dict]]:
    pages, page = [], 1
    while True:
        body = onfido.get("/workflow_runs", params={"page": page, **params}).json()
        pages.append(body)
        if not body:
            return pages
        page += 1


def test_pages_are_bare_arrays_of_twenty_then_an_empty_array(sim, onfido: Provider):
    total = sim.state()["providers"]["onfido"]["counts"]["sessions"]
    pages = _pages(onfido)
    assert [len(page) for page in pages] == [
        ONFIDO_PAGE_SIZE,
        total - ONFIDO_PAGE_SIZE,
        0,
    ]
    runs = [run for page in pages for run in page]
    assert len({run["id"] for run in runs}) == total
    created = [parse_iso(run["created_at"]) for run in runs]
    assert created == sorted(created, reverse=True)  # default sort desc
    ascending = [run for page in _pages(onfido, sort="asc") for run in page]
    assert [r["id"] for r in ascending] == [r["id"] for r in reversed(runs)]


def test_created_at_filters_compare_whole_days_strictly(sim, onfido: Provider):
    runs = [run for page in _pages(onfido) for run in page]
    days = sorted({parse_iso(run["created_at"]).date() for run in runs})
    pivot = days[len(days) // 2]
    after = {
        r["id"]
        for page in _pages(onfido, created_at_gt=pivot.isoformat())
        for r in page
    }
    before = {
        r["id"]
        for page in _pages(onfido, created_at_lt=pivot.isoformat())
        for r in page
    }
    on_pivot = {r["id"] for r in runs if parse_iso(r["created_at"]).date() == pivot}
    assert on_pivot, "the pivot day has runs"
    assert after == {r["id"] for r in runs if parse_iso(r["created_at"]).date() > pivot}
    assert before == {
        r["id"] for r in runs if parse_iso(r["created_at"]).date() < pivot
    }
    # Runs created on the pivot day itself are in neither window: windows must overlap.
    assert not on_pivot & (after | before)
    window = {
        r["id"]
        for page in _pages(
            onfido,
            created_at_gt=(pivot - dt.timedelta(days=1)).isoformat(),
            created_at_lt=(pivot + dt.timedelta(days=1)).isoformat(),
        )
        for r in page
    }
    assert window == on_pivot


def test_status_filter_takes_a_comma_separated_list(onfido: Provider):
    runs = [run for page in _pages(onfido, status="approved,review") for run in page]
    assert runs
    assert {run["status"] for run in runs} == {"approved", "review"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"sort": "sideways"}, "sort"),
        ({"created_at_lt": "01/03/2026"}, "created_at_lt"),
    ],
)
def test_bad_list_parameters_are_validation_errors(onfido: Provider, params, field):
    response = onfido.get("/workflow_runs", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    assert field in error["fields"]


def test_tasks_are_listed_oldest_first_and_reports_carry_results(sim, onfido: Provider):
    approved = next(
        s
        for s in sim.state()["providers"]["onfido"]["sessions"]
        if s["status"] == "approved"
    )
    tasks = onfido.get(f"/workflow_runs/{approved['id']}/tasks").json()
    created = [parse_iso(task["created_at"]) for task in tasks]
    assert created == sorted(created)
    assert tasks[0]["task_def_id"] == "profile_data"
    reports = []
    for item in tasks:
        task = onfido.get(f"/workflow_runs/{approved['id']}/tasks/{item['id']}").json()
        assert task["workflow_run_id"] == approved["id"]
        if item["task_def_id"] != "profile_data":
            reports.append(task)
    assert {r["id"] for r in reports} == {c["id"] for c in approved["checks"]}
    for report in reports:
        assert set(report["output"]) == REPORT_OUTPUT_KEYS
        assert report["output"]["status"] == "complete"
        assert report["output"]["result"] == "clear"


def test_run_fields_follow_the_status(sim, onfido: Provider):
    sessions = sim.state()["providers"]["onfido"]["sessions"]
    errored = next(s for s in sessions if s["status"] == "error")
    declined = next(s for s in sessions if s["status"] == "declined")
    processing = next(s for s in sessions if s["status"] == "processing")
    assert (
        onfido.get(f"/workflow_runs/{errored['id']}").json()["error"]["type"]
        == "task_error"
    )
    declined_run = onfido.get(f"/workflow_runs/{declined['id']}").json()
    assert declined_run["reasons"] == ["document_rejected"]
    assert "error" not in declined_run
    assert onfido.get(f"/workflow_runs/{processing['id']}").json()["output"] == {}


def test_applicant_names_the_person(sim, onfido: Provider):
    client = sim.state()["providers"]["onfido"]["clients"][0]
    applicant = onfido.get(f"/applicants/{client['id']}").json()
    assert f"{applicant['first_name']} {applicant['last_name']}" == client["name"]


@pytest.mark.parametrize(
    "header", ["Token token=wrong", "sim-onfido-token", "Bearer sim-onfido-token"]
)
def test_auth_needs_the_token_scheme(onfido: Provider, header):
    response = onfido.get("/workflow_runs", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authorization_error"


def test_unknown_paths_and_methods_answer_in_onfido_shape(onfido: Provider):
    missing = onfido.get("/workflow_runs/x/y/z")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "resource_not_found"
    wrong_method = onfido.post("/workflow_runs/abc")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "method_not_allowed"
