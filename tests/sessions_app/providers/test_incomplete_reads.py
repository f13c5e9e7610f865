"""A failed sub-request never loses data for good (`SessionRecord.missing`).

A session whose tasks, checks, analyses, applicant, client or project could
not be read comes back with what was read, a readable reason per gap and no
change marker. The next pass, given the change markers as the sync engine
stores them (none for such a session), fetches it again, even when its
incremental listing would not show it: Onfido and ComplyCube carry its id in
the cursor (`retry_ids`) and fetch it by id.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from sessions_app.exceptions import ProviderAuthError
from sessions_app.normalization import Normalised
from sessions_app.providers.base import Page, QuarantineRecord, SessionRecord
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.ica.adapter import IcaAdapter
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from sessions_app.providers.walker import (
    RETRY_IDS_MAX,
    incomplete_ids_update,
    retry_ids_of,
)
from tests.helpers.providers import (
    COMPLYCUBE_BASE,
    ICA_BASE,
    ONFIDO_BASE,
    calls_to,
    load,
    make_adapter,
    register_complycube,
    register_ica,
    register_onfido,
    run_pass,
    run_to_end,
)

R1 = "b48fdff9-66a1-405d-9912-54780799bd68"
R2 = "c1d2e3f4-0000-4111-8222-000000000002"
R3 = "c1d2e3f4-0000-4111-8222-000000000003"
A1 = "0a1b2c3d-4e5f-4a6b-8c7d-000000000001"
S1, S2, S3 = (
    "6650a1b2c3d4e5f6a7b8c901",
    "6650a1b2c3d4e5f6a7b8c902",
    "6650a1b2c3d4e5f6a7b8c903",
)
CHECK_OF_S3 = "66a0b1c2d3e4f5a6b7c8d9e5"
P1, P2 = "a1f0c8f2-1c1e-4c55-9b1a-0d3e5f6a7b01", "a1f0c8f2-1c1e-4c55-9b1a-0d3e5f6a7b02"
W2 = "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f02"
MEDIA = "application/vnd.illumina.v3+json"


def records(pages: list[Page]) -> dict[str, SessionRecord]:
    return {r.external_id: r for page in pages for r in page.sessions}


def stored_versions(mirror: dict[str, SessionRecord]):
    """`known_versions` as the sync engine answers it: no marker for an incomplete read."""
    return lambda ids: {
        i: mirror[i].source_version
        for i in ids
        if i in mirror and mirror[i].source_version
    }


def onfido_window(cursor: dict) -> str:
    started = dt.datetime.fromisoformat(cursor["last_pass_started_at"])
    return (started.date() - dt.timedelta(days=2)).isoformat()


# Onfido ---------------------------------------------------------------------------


def test_onfido_run_with_an_unreadable_task_is_fetched_again_by_the_next_pass(
    rsps, fake_time
):
    adapter = make_adapter(OnfidoAdapter, fake_time, base_url=ONFIDO_BASE)
    register_onfido(rsps)
    task_url = f"{ONFIDO_BASE}/workflow_runs/{R3}/tasks/document_check_8e8e8"
    rsps.replace("GET", task_url, body='{"id": "document_check_8e8', status=200)

    first = run_pass(adapter)

    mirror = records(first)
    [reason] = mirror[R3].missing
    assert reason.startswith("task document_check_8e8e8: ")
    assert "not valid JSON" in reason
    assert mirror[R3].source_version == ""
    assert mirror[R3].raw_status == "processing"  # what the run said is kept
    assert all(r.source_version and not r.missing for i, r in mirror.items() if i != R3)
    closing = first[-1].cursor
    assert closing["retry_ids"] == [R3]

    # Next pass: R3 is older than the day window and finished runs are not in
    # refresh_ids; only the cursor brings it back.
    rsps.replace(
        "GET",
        task_url,
        json=load("onfido", f"workflow_runs/{R3}/tasks/document_check_8e8e8.json"),
    )
    register_onfido(rsps, pages=[[]], query={"created_at_gt": onfido_window(closing)})
    later = make_adapter(OnfidoAdapter, fake_time, base_url=ONFIDO_BASE)
    second = run_pass(later, cursor=closing, known_versions=stored_versions(mirror))

    again = records(second)
    assert list(again) == [R3]
    assert again[R3].missing == []
    assert (
        again[R3].source_version
        == load("onfido", f"workflow_runs/{R3}.json")["updated_at"]
    )
    assert "document_check" in {c.check_type for c in again[R3].checks}
    assert "retry_ids" not in second[-1].cursor


def test_onfido_run_still_unreadable_stays_in_retry_ids(rsps, fake_time):
    adapter = make_adapter(OnfidoAdapter, fake_time, base_url=ONFIDO_BASE)
    register_onfido(rsps, pages=[[]])
    rsps.replace("GET", f"{ONFIDO_BASE}/workflow_runs/{R3}/tasks", status=422, json={})
    cursor = {"v": 1, "retry_ids": [R3]}

    pages = run_pass(adapter, cursor=cursor)

    [run] = [r for page in pages for r in page.sessions]
    assert run.external_id == R3
    assert run.missing[0].startswith("tasks: ")
    assert "HTTP 422" in run.missing[0]
    assert pages[-1].cursor["retry_ids"] == [R3]


def test_onfido_applicant_failure_marks_every_run_of_it_but_is_asked_once(
    rsps, fake_time
):
    adapter = make_adapter(OnfidoAdapter, fake_time, base_url=ONFIDO_BASE)
    register_onfido(rsps)
    rsps.replace(
        "GET",
        f"{ONFIDO_BASE}/applicants/{A1}",
        status=400,
        json={"error": {"type": "validation_error", "message": "bad id"}},
    )

    mirror = records(run_pass(adapter))

    of_a1 = {i for i, r in mirror.items() if r.client and r.client.external_id == A1}
    assert of_a1 == {R1, R3, "c1d2e3f4-0000-4111-8222-000000000005"}
    for ident in of_a1:
        [reason] = mirror[ident].missing
        assert reason.startswith(f"applicant {A1}: ")
        assert "[validation_error] bad id" in reason or "bad id" in reason
        assert mirror[ident].client.incomplete is True
    assert mirror[R1].client.external_reference == "cust-1001"  # the run's: kept
    assert mirror[R2].missing == []
    assert mirror[R2].client.incomplete is False
    assert len(calls_to(rsps, rf"/applicants/{A1}$")) == 1


def test_onfido_refresh_by_id_quarantines_a_rejected_id_and_refreshes_the_others(
    rsps, fake_time
):
    adapter = make_adapter(OnfidoAdapter, fake_time, base_url=ONFIDO_BASE)
    register_onfido(rsps, pages=[[]])
    bad = "not-a-uuid"
    rsps.get(
        f"{ONFIDO_BASE}/workflow_runs/{bad}",
        status=422,
        json={
            "error": {
                "type": "validation_error",
                "message": "There was a validation error on this request",
                "fields": {"workflow_run_id": ["is not a valid uuid"]},
            }
        },
    )

    pages = run_pass(adapter, refresh_ids=[R3, bad])

    assert list(records(pages)) == [R3]
    [item] = [q for page in pages for q in page.quarantined]
    assert isinstance(item, QuarantineRecord)
    assert (item.record_type, item.external_id) == ("workflow_run", bad)
    assert item.reason.startswith("could not be refreshed: ")
    assert "HTTP 422 [validation_error]" in item.reason
    assert "is not a valid uuid" in item.reason
    assert [g for page in pages for g in page.gone_ids] == []


# ComplyCube -----------------------------------------------------------------------


def test_complycube_session_with_an_unreadable_check_is_fetched_again_by_id(
    rsps, fake_time
):
    adapter = make_adapter(
        ComplyCubeAdapter, fake_time, base_url=COMPLYCUBE_BASE, options={"page_size": 2}
    )
    register_complycube(rsps)
    check_url = f"{COMPLYCUBE_BASE}/checks/{CHECK_OF_S3}"
    rsps.replace(
        "GET",
        check_url,
        status=400,
        json={"type": "invalid_request", "message": "bad check id"},
    )
    # S2's own detail is garbage: quarantined, and retried by id too.
    s2_url = f"{COMPLYCUBE_BASE}/workflowSessions/{S2}"
    rsps.replace("GET", s2_url, body="<html>proxy</html>")

    first = run_pass(adapter)

    mirror = records(first)
    assert sorted(mirror) == [S1, S3]
    [reason] = mirror[S3].missing
    assert reason.startswith(f"check {CHECK_OF_S3}: ")
    assert "HTTP 400 [invalid_request] bad check id" in reason
    assert (mirror[S3].source_version, mirror[S3].checks) == ("", [])
    assert mirror[S3].raw_status == "complete"
    assert mirror[S3].policies  # the detail's policies are kept
    [quarantined] = [q for page in first for q in page.quarantined]
    assert quarantined.external_id == S2
    closing = first[-1].cursor
    assert sorted(closing["retry_ids"]) == [S2, S3]
    # The high-water mark moved past S3's updatedAt: the next listing skips it.
    assert closing["high_water"] == "2025-06-03T11:00:00.000Z"

    rsps.replace(
        "GET", check_url, json=load("complycube", f"checks/{CHECK_OF_S3}.json")
    )
    rsps.replace("GET", s2_url, json=load("complycube", f"workflowSessions/{S2}.json"))
    register_complycube(
        rsps,
        pages=[load("complycube", "workflowSessions/empty.json")],
        query={"updatedAfter": "2025-06-03T10:50:00.000Z"},
    )
    later = make_adapter(
        ComplyCubeAdapter, fake_time, base_url=COMPLYCUBE_BASE, options={"page_size": 2}
    )
    second = run_pass(later, cursor=closing, known_versions=stored_versions(mirror))

    again = records(second)
    assert sorted(again) == [S2, S3]
    assert all(r.missing == [] and r.source_version for r in again.values())
    assert [c.external_id for c in again[S3].checks] == [CHECK_OF_S3]
    assert "retry_ids" not in second[-1].cursor
    assert second[-1].cursor["high_water"] == closing["high_water"]


def test_complycube_retries_resume_across_calls_without_repeats(rsps, fake_time):
    adapter = make_adapter(
        ComplyCubeAdapter,
        fake_time,
        base_url=COMPLYCUBE_BASE,
        options={"page_size": 2, "batch_size": 1},
    )
    register_complycube(
        rsps,
        pages=[load("complycube", "workflowSessions/empty.json")],
        query={"updatedAfter": "2025-06-03T10:50:00.000Z"},
    )
    cursor = {"v": 1, "high_water": "2025-06-03T11:00:00.000Z", "retry_ids": [S3, S1]}

    pages, calls = run_to_end(adapter, max_pages=1, cursor=cursor)

    assert [r.external_id for page in pages for r in page.sessions] == [S1, S3]
    assert calls == 2  # one page per call (the closing page comes along)
    assert len(calls_to(rsps, rf"/workflowSessions/{S1}$")) == 1
    assert "retry_ids" not in pages[-1].cursor


def test_complycube_deleted_client_is_not_a_gap_but_an_unreadable_one_is(
    rsps, fake_time
):
    adapter = make_adapter(
        ComplyCubeAdapter, fake_time, base_url=COMPLYCUBE_BASE, options={"page_size": 2}
    )
    register_complycube(rsps)
    rsps.replace(
        "GET",
        f"{COMPLYCUBE_BASE}/clients/5f8e3a2b1c4d5e6f7a8b9c01",
        status=404,
        json={},
    )
    rsps.replace(
        "GET", f"{COMPLYCUBE_BASE}/clients/5f8e3a2b1c4d5e6f7a8b9c02", json=["garbage"]
    )

    mirror = records(run_pass(adapter))

    assert mirror[S1].missing == []
    assert mirror[S1].source_version
    assert mirror[S1].client.name == "Jane Doe"  # the session's entityName
    [reason] = mirror[S2].missing
    assert reason == (
        "client 5f8e3a2b1c4d5e6f7a8b9c02: GET /clients/5f8e3a2b1c4d5e6f7a8b9c02 "
        "is not a JSON object"
    )
    assert mirror[S2].client.incomplete is True


# ICA ------------------------------------------------------------------------------


def test_ica_session_with_unreadable_analyses_is_fetched_again_by_the_next_walk(
    rsps, fake_time
):
    adapter = make_adapter(IcaAdapter, fake_time, base_url=ICA_BASE)
    register_ica(rsps)
    analyses = f"{ICA_BASE}/api/projects/{P1}/workflowSessions/{W2}/analyses:search"
    rsps.replace(
        "POST",
        analyses,
        status=400,
        json={
            "type": "about:blank",
            "title": "ICA_API_010",
            "status": 400,
            "detail": "Invalid page token",
            "timestamp": "2025-06-04T10:00:00Z",
            "parameters": {},
        },
        content_type="application/problem+json",
    )

    first = run_pass(adapter)

    mirror = records(first)
    [reason] = mirror[W2].missing
    assert reason.startswith("analyses: ")
    assert "[ICA_API_010] Invalid page token" in reason
    assert (mirror[W2].source_version, mirror[W2].checks) == ("", [])
    assert "retry_ids" not in first[-1].cursor  # every ICA pass walks everything

    rsps.replace(
        "POST",
        analyses,
        json=load("ica", f"projects/{P1}/workflowSessions/{W2}/analyses-search.json"),
        content_type=MEDIA,
    )
    before = len(rsps.calls)
    later = make_adapter(IcaAdapter, fake_time, base_url=ICA_BASE)
    second = run_pass(
        later, cursor=first[-1].cursor, known_versions=stored_versions(mirror)
    )

    assert list(records(second)) == [W2]
    assert records(second)[W2].missing == []
    assert records(second)[W2].checks
    analysis_calls = [
        c for c in list(rsps.calls)[before:] if "analyses:search" in c.request.url
    ]
    assert [c.request.url.split("?")[0] for c in analysis_calls] == [analyses]


def test_ica_project_that_fails_by_id_is_a_gap_of_each_of_its_sessions(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": [P1]}
    )
    register_ica(rsps, projects=False)
    rsps.replace("GET", f"{ICA_BASE}/api/projects/{P1}", body="{", content_type=MEDIA)

    mirror = records(run_pass(adapter))

    assert len(mirror) == 3
    for record in mirror.values():
        [reason] = record.missing
        assert reason.startswith(f"project {P1}: ")
        assert "not valid JSON" in reason
        assert record.client.incomplete is True
        assert record.checks  # the analyses were read
    assert len(calls_to(rsps, rf"/api/projects/{P1}$")) == 2  # one call + one retry


def test_ica_fetch_session_skips_a_project_it_may_not_search(rsps, fake_time):
    adapter = make_adapter(IcaAdapter, fake_time, base_url=ICA_BASE)
    register_ica(rsps)
    rsps.replace(
        "POST",
        f"{ICA_BASE}/api/projects/{P1}/workflowSessions:search",
        status=403,
        json={"title": "ICA_SEC_003", "detail": "Forbidden", "status": 403},
        content_type="application/problem+json",
    )

    found = adapter.fetch_session("d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f04")

    assert found is not None
    assert found.client.external_id == P2
    rsps.replace(
        "POST",
        f"{ICA_BASE}/api/projects/{P1}/workflowSessions:search",
        status=401,
        json={"title": "ICA_SEC_001", "detail": "Invalid API key", "status": 401},
        content_type="application/problem+json",
    )
    with pytest.raises(ProviderAuthError):
        adapter.fetch_session("d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f04")


# The cursor helpers ---------------------------------------------------------------


def _record(ident: str, *, missing: bool) -> SessionRecord:
    return SessionRecord(
        external_id=ident,
        raw_status="x",
        normalised=Normalised("unknown", "", False),
        missing=["tasks: HTTP 500"] if missing else [],
    )


def test_incomplete_ids_follow_what_each_page_read():
    incomplete_ids = ["old", "healed", "gone", "same"]
    page = Page(
        sessions=[_record("new", missing=True), _record("healed", missing=False)],
        quarantined=[
            QuarantineRecord("workflow_run", "details could not be read", "{}", "bad"),
            QuarantineRecord("workflow_run", "missing 'id'", "{}", ""),
            QuarantineRecord("project", "cannot be searched", "{}", "p-1"),
        ],
        gone_ids=["gone"],
        unchanged_ids=["same"],
    )

    assert incomplete_ids_update(incomplete_ids, page, "workflow_run") == [
        "old",
        "new",
        "bad",
    ]


def test_incomplete_ids_are_bounded(caplog):
    incomplete_ids = [f"id-{n}" for n in range(RETRY_IDS_MAX)]
    page = Page(sessions=[_record("one-more", missing=True)])

    with caplog.at_level(logging.WARNING):
        updated = incomplete_ids_update(incomplete_ids, page, "workflow_run")

    assert len(updated) == RETRY_IDS_MAX
    assert "one-more" not in updated
    assert "fetched again by id" in caplog.text


def test_retry_ids_of_an_abandoned_pass_are_not_forgotten():
    cursor = {
        "v": 1,
        "retry_ids": ["a", "b", 7, None, ""],
        "pass": {"retry_ids": ["b", "c"], "incomplete_ids": ["d"]},
    }

    assert retry_ids_of(cursor) == ["a", "b", "c", "d"]
    assert retry_ids_of({"v": 1, "retry_ids": "garbage"}) == []
    assert retry_ids_of("garbage") == []
    assert len(retry_ids_of({"retry_ids": [str(n) for n in range(2000)]})) == (
        RETRY_IDS_MAX
    )


def test_a_full_pass_started_over_an_incremental_one_keeps_its_retry_ids(
    rsps, fake_time
):
    adapter = make_adapter(OnfidoAdapter, fake_time, base_url=ONFIDO_BASE)
    register_onfido(rsps, pages=[[]])
    cursor = {
        "v": 1,
        "last_pass_started_at": "2025-06-05T03:00:00.000Z",
        "pass": {
            "mode": "incremental",
            "phase": "list",
            "page": 3,
            "retry_ids": [R3],
            "incomplete_ids": [],
        },
    }

    pages = run_pass(adapter, cursor=cursor, full=True)

    assert list(records(pages)) == [R3]
