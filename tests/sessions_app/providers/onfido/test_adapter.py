"""OnfidoAdapter against recorded Onfido v3.6 responses."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from responses import matchers

from sessions_app.exceptions import (
    ProviderAuthError,
    ProviderConfigurationError,
    ProviderRateLimited,
    ProviderResponseInvalid,
)
from sessions_app.providers.base import Budget, payload_hash
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from tests.helpers.providers import (
    ONFIDO_BASE,
    TOKEN,
    calls_to,
    load,
    make_adapter,
    register_onfido,
    register_onfido_details,
    run_pass,
    run_to_end,
    session_ids,
)

R1 = "b48fdff9-66a1-405d-9912-54780799bd68"
R2 = "c1d2e3f4-0000-4111-8222-000000000002"
R3 = "c1d2e3f4-0000-4111-8222-000000000003"
R4 = "c1d2e3f4-0000-4111-8222-000000000004"
R5 = "c1d2e3f4-0000-4111-8222-000000000005"
GONE = "c1d2e3f4-0000-4111-8222-0000000000ff"
CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"
ALL_RUNS = [R1, R2, R3, R4, R5]


@pytest.fixture
def adapter(fake_time):
    return make_adapter(OnfidoAdapter, fake_time, base_url=ONFIDO_BASE)


def by_id(pages):
    return {record.external_id: record for page in pages for record in page.sessions}


def test_first_pass_walks_every_page_until_an_empty_one(rsps, adapter):
    register_onfido(rsps)

    pages = run_pass(adapter)

    assert session_ids(pages) == ALL_RUNS
    assert pages[-1].done is True
    assert all(not page.done for page in pages[:-1])
    assert pages[-1].cursor["v"] == 1
    assert "pass" not in pages[-1].cursor
    assert (
        dt.datetime.fromisoformat(pages[-1].cursor["last_pass_started_at"]).year >= 2026
    )
    for page in pages:
        json.dumps(page.cursor)
        assert page.quarantined == []
    # No window on a first pass; the third (empty) page ends the listing.
    assert [c.request.params for c in calls_to(rsps, r"/workflow_runs\?")] == [
        {"page": "1", "sort": "desc"},
        {"page": "2", "sort": "desc"},
        {"page": "3", "sort": "desc"},
    ]
    assert all(
        c.request.headers["Authorization"] == f"Token token={TOKEN}" for c in rsps.calls
    )


def test_an_approved_run_with_its_checks_client_and_tags(rsps, adapter):
    register_onfido(rsps)

    run = by_id(run_pass(adapter))[R1]

    assert (run.raw_status, run.normalised.status, run.normalised.outcome) == (
        "approved",
        "completed",
        "clear",
    )
    assert run.raw_outcome == "approved"
    assert run.workflow_id == "2d8f0e14-6d0a-4c8e-9a55-0d6f7b8c9e10"
    assert run.workflow_version == "11"
    assert run.dashboard_url == f"https://dashboard.onfido.com/results/{R1}"
    assert run.created_at == dt.datetime(2025, 6, 3, 10, 0, tzinfo=dt.UTC)
    assert run.updated_at == dt.datetime(2025, 6, 3, 10, 5, 12, tzinfo=dt.UTC)
    assert run.source_version == "2025-06-03T10:05:12Z"
    assert [(t.name, t.kind) for t in run.tags] == [
        ("vip", "user"),
        ("eu-onboarding", "user"),
    ]
    assert run.unknown_values == []
    document = next(c for c in run.checks if c.check_type == "document_check")
    assert document.document_expires_on == dt.date(2031, 6, 30)
    assert all(c.document_expires_on is None for c in run.checks if c is not document)
    # The applicant is the client; customer_user_id is the cross-provider reference.
    assert run.client.external_id == "0a1b2c3d-4e5f-4a6b-8c7d-000000000001"
    assert run.client.name == "Jane Doe"
    assert run.client.external_reference == "cust-1001"
    assert "dob" not in run.client.raw  # PII is not mirrored
    assert "id_numbers" not in run.client.raw
    # Report-like task outputs are checks; data tasks (profile, photo upload) are not.
    checks = {check.check_type: check for check in run.checks}
    assert set(checks) == {
        "document_check",
        "facial_similarity_photo",
        "watchlist_standard",
    }
    document = checks["document_check"]
    # Run and task name a check for its whole life (the report uuid comes last).
    assert document.external_id == f"{R1}:document_check_75329"
    assert document.raw["output"]["uuid"] == "95c8cc09-db72-42ff-85ef-ee6c82020a24"
    assert (document.raw_status, document.raw_outcome) == ("complete", "clear/clear")
    assert (document.normalised.status, document.normalised.outcome) == (
        "completed",
        "clear",
    )
    assert document.task_id == "document_check_75329"
    assert set(document.breakdown) == {"data_validation", "visual_authenticity"}
    assert document.created_at == dt.datetime(2025, 6, 3, 10, 2, tzinfo=dt.UTC)
    assert checks["facial_similarity_photo"].normalised.outcome == "attention"
    assert run.raw["run"]["id"] == R1
    assert [task["id"] for task in run.raw["tasks"]] == [
        "profile_data_1a2b3",
        "document_photo_5c229",
        "document_check_75329",
        "facial_similarity_photo_4e2f1",
        "watchlist_standard_9c8d7",
    ]


def test_null_tags_extra_fields_sub_result_error_and_missing_reference(rsps, adapter):
    register_onfido(rsps)

    runs = by_id(run_pass(adapter))

    review = runs[R2]
    assert review.tags == []  # `tags: null`
    assert review.raw["run"]["risk_signals"] == {
        "device": "emulator"
    }  # unknown field kept raw
    assert review.reasons == ["document_suspected"]
    assert (review.normalised.status, review.normalised.outcome) == (
        "completed",
        "attention",
    )
    [check] = review.checks
    assert check.raw_outcome == "consider/suspected"
    assert check.normalised.outcome == "rejected"  # sub_result `suspected` is damning
    errored = runs[R4]
    assert errored.normalised.status == "failed"
    assert errored.error == "task_error: Document check timed out"
    assert errored.checks == []
    abandoned = runs[R5]
    assert abandoned.client.external_reference == ""  # no customer_user_id
    assert runs[R3].normalised.status == "in_progress"
    # Its profile task is data; its document check has started, no report yet.
    [started] = runs[R3].checks
    assert started.external_id == f"{R3}:document_check_8e8e8"
    assert (started.raw_status, started.raw_outcome) == ("started", "")
    assert (started.normalised.status, started.normalised.outcome) == (
        "in_progress",
        "",
    )


def test_each_applicant_is_fetched_once_per_adapter(rsps, adapter):
    register_onfido(rsps)
    run_pass(adapter)
    assert len(calls_to(rsps, r"/applicants/")) == 2


def test_incremental_pass_uses_a_day_window_and_refreshes_unfinished_runs(
    rsps, adapter
):
    last_start = "2025-06-05T03:00:00.000Z"
    # Created after 2025-06-03: the day before the last start, minus one day of overlap.
    register_onfido(
        rsps,
        pages=[load("onfido", "workflow_runs/page-2.json"), []],
        query={"created_at_gt": "2025-06-03"},
    )
    _register_gone(rsps)

    pages = run_pass(
        adapter,
        cursor={"v": 1, "last_pass_started_at": last_start},
        refresh_ids=[R3, R4, GONE],
    )

    # R4 was listed, so only R3 and the vanished run are fetched by id (on the
    # connection's read pool: in either order).
    assert session_ids(pages) == [R4, R5, R3]
    assert sorted(
        c.request.url.rsplit("/", 1)[1]
        for c in calls_to(rsps, r"/workflow_runs/[^/?]+$")
    ) == sorted([R3, GONE])
    refreshed = by_id(pages)[R3]
    assert refreshed.normalised.status == "completed"  # it finished since
    assert [gone for page in pages for gone in page.gone_ids] == [GONE]
    assert pages[-1].done is True
    assert pages[-1].cursor["last_pass_started_at"] != last_start


WINDOW = {"created_at_gt": "2025-06-03"}
INCREMENTAL = {"v": 1, "last_pass_started_at": "2025-06-05T03:00:00.000Z"}
# Runs created up to the window's day, in the statuses the filter documents.
BEFORE_WINDOW = {"created_at_lt": "2025-06-04"}
STATUS_QUERY = {
    "page": "1",
    "sort": "desc",
    "status": "awaiting_client_input,awaiting_input,processing,review",
    **BEFORE_WINDOW,
}


def _status_listing_calls(rsps):
    return [
        c for c in calls_to(rsps, r"/workflow_runs\?") if "status=" in c.request.url
    ]


def _by_id_calls(rsps):
    """The runs read by id, sorted: the read pool reads them in any order."""
    return sorted(
        c.request.url.rsplit("/", 1)[1]
        for c in calls_to(rsps, r"/workflow_runs/[^/?]+$")
    )


def _register_gone(rsps):
    rsps.get(
        f"{ONFIDO_BASE}/workflow_runs/{GONE}",
        status=410,
        json=load("onfido", "errors/not_found.json"),
    )


def _register_status_listing_of_r2_then_r3(rsps):
    """An empty window, then the status listing: R2 (review), R3
    (processing), an empty page; GONE is read by id and has vanished."""
    _, review, processing = load("onfido", "workflow_runs/page-1.json")
    register_onfido(
        rsps,
        pages=[[]],
        query=WINDOW,
        unfinished=[[review], [processing], []],
        unfinished_query=BEFORE_WINDOW,
    )
    _register_gone(rsps)


def test_unfinished_runs_outside_the_window_are_listed_by_status(rsps, adapter):
    """R2 is still in review, so the status listing returns it; R3 finished
    since, so only it (and the vanished run) are read by id."""
    review_run = load("onfido", "workflow_runs/page-1.json")[1]
    assert (review_run["id"], review_run["status"]) == (R2, "review")
    register_onfido(
        rsps,
        pages=[load("onfido", "workflow_runs/page-2.json"), []],
        query=WINDOW,
        unfinished=[[review_run], []],
        unfinished_query=BEFORE_WINDOW,
    )
    _register_gone(rsps)

    pages = run_pass(adapter, cursor=INCREMENTAL, refresh_ids=[R2, R3, GONE])

    assert session_ids(pages) == [R4, R5, R2, R3]
    assert _by_id_calls(rsps) == sorted([R3, GONE])
    assert [c.request.params["status"] for c in _status_listing_calls(rsps)] == [
        STATUS_QUERY["status"]
    ] * 2
    assert "created_at_gt" not in _status_listing_calls(rsps)[0].request.params
    assert by_id(pages)[R2].raw_status == "review"
    assert [gone for page in pages for gone in page.gone_ids] == [GONE]


def test_no_status_listing_when_the_window_listed_every_unfinished_run(rsps, adapter):
    register_onfido(
        rsps, pages=[load("onfido", "workflow_runs/page-2.json"), []], query=WINDOW
    )
    pages = run_pass(adapter, cursor=INCREMENTAL, refresh_ids=[R4])
    assert session_ids(pages) == [R4, R5]
    assert _status_listing_calls(rsps) == []
    assert _by_id_calls(rsps) == []


def test_the_status_listing_stops_once_every_wanted_run_was_in_it(rsps, adapter):
    _, review, processing = load("onfido", "workflow_runs/page-1.json")
    register_onfido(
        rsps,
        pages=[[]],
        query=WINDOW,
        unfinished=[[review, processing], [review]],
        unfinished_query=BEFORE_WINDOW,
    )
    pages = run_pass(adapter, cursor=INCREMENTAL, refresh_ids=[R2, R3])
    assert session_ids(pages) == [R2, R3]
    assert len(_status_listing_calls(rsps)) == 1  # page 2 is never asked for
    assert _by_id_calls(rsps) == []


def test_the_status_listing_reads_no_more_pages_than_runs_it_replaces(rsps, adapter):
    """One wanted run: one page at most, then by id (a busy account's listing
    could otherwise cost more than the reads it saves). The older runs on that
    page, which the window cannot have listed, are read as well."""
    older_unfinished = [
        {**run, "status": "processing"}
        for run in load("onfido", "workflow_runs/page-2.json")
    ]
    register_onfido(
        rsps,
        pages=[[]],
        query=WINDOW,
        unfinished=[older_unfinished, []],
        unfinished_query=BEFORE_WINDOW,
    )
    pages = run_pass(adapter, cursor=INCREMENTAL, refresh_ids=[R3])
    assert session_ids(pages) == [R4, R5, R3]
    assert len(_status_listing_calls(rsps)) == 1
    assert _by_id_calls(rsps) == [R3]


def test_a_budget_stop_inside_the_status_listing_resumes_there(rsps, fake_time):
    """Stopped after the listing's first page, the next call asks for page 2,
    and what page 1 returned is read neither again nor by id."""
    adapter = make_adapter(
        OnfidoAdapter, fake_time, base_url=ONFIDO_BASE, options={"batch_size": "1"}
    )
    _register_status_listing_of_r2_then_r3(rsps)
    wanted = [R2, R3, GONE]

    first = run_pass(
        adapter, cursor=INCREMENTAL, budget=Budget(max_pages=1), refresh_ids=wanted
    )
    stopped = first[-1].cursor["pass"]
    rest, _ = run_to_end(
        adapter, max_pages=1, cursor=first[-1].cursor, refresh_ids=wanted
    )

    assert session_ids(first) == [R2]
    assert (stopped["phase"], stopped["page"]) == ("unfinished", 2)
    assert stopped["listed_refresh_ids"] == [R2]
    assert session_ids(rest) == [R3]
    assert [c.request.params["page"] for c in _status_listing_calls(rsps)] == [
        "1",
        "2",
        "3",
    ]
    assert _by_id_calls(rsps) == [GONE]
    assert [gone for page in rest for gone in page.gone_ids] == [GONE]


def test_a_resumed_pass_keeps_only_the_listed_ids_still_wanted(rsps, adapter):
    _register_status_listing_of_r2_then_r3(rsps)
    first = run_pass(
        adapter,
        cursor=INCREMENTAL,
        budget=Budget(max_pages=1),
        refresh_ids=[R2, R3, GONE],
    )
    assert first[-1].cursor["pass"]["listed_refresh_ids"] == [R2]

    # R2 left rotation meanwhile: the next call no longer asks for it.
    second = run_pass(
        adapter,
        cursor=first[-1].cursor,
        budget=Budget(max_pages=1),
        refresh_ids=[R3, GONE],
    )

    assert session_ids(second) == [R3]
    assert second[-1].cursor["pass"]["listed_refresh_ids"] == [R3]


def test_a_refused_status_filter_falls_back_to_reading_by_id(rsps, adapter, caplog):
    register_onfido(rsps, pages=[[]], query=WINDOW, unfinished=[])
    rsps.get(
        f"{ONFIDO_BASE}/workflow_runs",
        status=400,
        json={"error": {"type": "validation_error", "message": "bad status"}},
        match=[matchers.query_param_matcher(STATUS_QUERY)],
    )

    pages = run_pass(adapter, cursor=INCREMENTAL, refresh_ids=[R3])

    assert session_ids(pages) == [R3]
    assert _by_id_calls(rsps) == [R3]
    assert len(_status_listing_calls(rsps)) == 1
    assert pages[-1].done is True
    assert "refused the status-filtered run listing" in caplog.text


def test_an_ignored_status_filter_ends_the_status_listing_after_one_page(
    rsps, adapter, caplog
):
    """A page holding a final run means the filter is not applied: reading
    on would walk every run, so the rest goes by id."""
    approved, review, _ = load("onfido", "workflow_runs/page-1.json")
    register_onfido(
        rsps,
        pages=[[]],
        query=WINDOW,
        unfinished=[[approved, review], load("onfido", "workflow_runs/page-2.json")],
        unfinished_query=BEFORE_WINDOW,
    )

    pages = run_pass(adapter, cursor=INCREMENTAL, refresh_ids=[R2, R3])

    # R2 came with the page; R1 (not wanted, created on the window's first
    # day, so maybe listed by it) is not read; R3 goes by id.
    assert session_ids(pages) == [R2, R3]
    assert _by_id_calls(rsps) == [R3]
    assert len(_status_listing_calls(rsps)) == 1
    assert "listed runs in status approved" in caplog.text


def test_full_pass_ignores_the_window(rsps, adapter):
    register_onfido(rsps)
    pages = run_pass(
        adapter,
        cursor={"v": 1, "last_pass_started_at": "2025-06-05T03:00:00Z"},
        full=True,
    )
    assert session_ids(pages) == ALL_RUNS
    assert all(
        "created_at_gt" not in c.request.params
        for c in calls_to(rsps, r"/workflow_runs\?")
    )


def test_unchanged_runs_cost_no_detail_calls(rsps, adapter):
    register_onfido(rsps)
    asked: list[list[str]] = []

    def known_versions(ids):
        asked.append(list(ids))
        return {R1: "2025-06-03T10:05:12Z", R2: "2025-01-01T00:00:00Z"}

    pages = run_pass(adapter, known_versions=known_versions)

    assert [i for page in pages for i in page.unchanged_ids] == [R1]
    assert R1 not in session_ids(pages)
    assert R2 in session_ids(pages)  # its marker moved
    assert calls_to(rsps, rf"/workflow_runs/{R1}/tasks") == []
    assert sorted(i for ids in asked for i in ids) == sorted(ALL_RUNS)


def test_budget_exhaustion_resumes_without_duplicates(rsps, fake_time):
    adapter = make_adapter(
        OnfidoAdapter, fake_time, base_url=ONFIDO_BASE, options={"batch_size": "2"}
    )
    register_onfido(rsps)
    rsps.get(
        f"{ONFIDO_BASE}/workflow_runs/{GONE}",
        status=404,
        json=load("onfido", "errors/not_found.json"),
    )

    pages, calls = run_to_end(adapter, max_pages=1, refresh_ids=[GONE])

    assert session_ids(pages) == ALL_RUNS  # each exactly once
    assert calls > 3
    assert [page.done for page in pages].count(True) == 1
    assert pages[0].cursor["pass"]["page"] == 1  # stopped inside page 1
    assert pages[0].cursor["pass"]["done_ids"] == [R1, R2]
    assert [gone for page in pages for gone in page.gone_ids] == [GONE]


def test_resuming_skips_runs_that_drifted_to_the_next_page(rsps, adapter):
    """A run created meanwhile pushes the last run of page 1 onto page 2."""
    page_one = load("onfido", "workflow_runs/page-1.json")
    drifted = [page_one[-1], *load("onfido", "workflow_runs/page-2.json")]
    register_onfido(rsps, pages=[page_one, drifted, []])

    first = run_pass(adapter, budget=Budget(max_pages=1))
    rest = run_pass(adapter, cursor=first[-1].cursor)

    assert session_ids(first) == [R1, R2, R3]
    assert session_ids(rest) == [R4, R5]


def test_an_exhausted_budget_yields_a_resumable_empty_page(rsps, adapter):
    pages = run_pass(adapter, budget=Budget(max_seconds=0))
    assert len(pages) == 1
    assert pages[0].done is False
    assert pages[0].sessions == []
    assert pages[0].cursor["pass"]["page"] == 1
    assert len(rsps.calls) == 0


def test_unknown_statuses_and_results_normalise_to_unknown(rsps, adapter):
    runs = load("onfido", "workflow_runs/page-1.json")
    runs[0]["status"] = "awaiting_manual_override"
    register_onfido(rsps, pages=[runs, []])
    task_path = f"workflow_runs/{R1}/tasks/facial_similarity_photo_4e2f1.json"
    task = load("onfido", task_path)
    task["output"]["result"] = "inconclusive"
    task["output"]["status"] = "paused_by_ops"
    rsps.replace("GET", f"{ONFIDO_BASE}/{task_path[:-5]}", json=task)

    run = by_id(run_pass(adapter))[R1]

    assert run.normalised.status == "unknown"
    assert run.normalised.known is False
    assert run.raw_status == "awaiting_manual_override"
    assert run.unknown_values == [
        "awaiting_manual_override",
        "paused_by_ops",
        "inconclusive",
    ]
    facial = next(c for c in run.checks if c.check_type == "facial_similarity_photo")
    assert facial.normalised.status == "unknown"


def test_unidentifiable_runs_are_quarantined_and_their_page_mates_survive(
    rsps, adapter
):
    runs = load("onfido", "workflow_runs/page-1.json")
    runs.insert(1, "a bare string")
    runs.insert(2, {"status": "approved", "applicant_id": "x"})
    runs.insert(3, {"id": {"nested": True}, "status": "approved"})
    runs.insert(4, {"id": True})
    register_onfido(rsps, pages=[runs, []])

    [page, closing] = run_pass(adapter)

    assert session_ids([page]) == [R1, R2, R3]
    reasons = [q.reason for q in page.quarantined]
    assert reasons == [
        "expected a JSON object, got str",
        "missing 'id'",
        "unusable 'id' (dict, {\"nested\": true})",
        "unusable 'id' (bool, true)",
    ]
    assert all(q.record_type == "workflow_run" for q in page.quarantined)
    assert json.loads(page.quarantined[1].raw) == {
        "status": "approved",
        "applicant_id": "x",
    }
    assert closing.done is True


def test_a_run_whose_tasks_are_garbage_is_kept_alone_as_read_incompletely(
    rsps, adapter
):
    register_onfido(rsps, pages=[load("onfido", "workflow_runs/page-1.json"), []])
    rsps.replace(
        "GET",
        f"{ONFIDO_BASE}/workflow_runs/{R2}/tasks",
        body="<html>proxy error</html>",
    )

    [page, closing] = run_pass(adapter)

    assert session_ids([page]) == [R1, R2, R3]
    assert page.quarantined == []
    runs = {run.external_id: run for run in page.sessions}
    # What the run itself says is kept; its checks are what could not be read.
    assert runs[R2].raw_status == "review"
    assert runs[R2].checks == []
    [reason] = runs[R2].missing
    assert reason.startswith("tasks: onfido-test HTTP 200 body is not valid JSON")
    assert runs[R2].source_version == ""
    assert all(runs[r].missing == [] and runs[r].source_version for r in (R1, R3))
    # The next pass is asked to fetch it again by id.
    assert closing.cursor["retry_ids"] == [R2]


def test_missing_optional_fields_and_bad_timestamps_are_tolerated(rsps, adapter):
    bare = {
        "id": "c1d2e3f4-0000-4111-8222-0000000000aa",
        "created_at": "2025-13-45T99:00:00Z",
    }
    register_onfido(rsps, pages=[[bare], []])
    rsps.get(f"{ONFIDO_BASE}/workflow_runs/{bare['id']}/tasks", json=[])

    [page, _] = run_pass(adapter)

    [run] = page.sessions
    assert run.raw_status == ""
    assert run.normalised.status == "unknown"
    assert run.unknown_values == []  # nothing was said, nothing is unknown
    assert run.created_at is None
    assert run.client is None
    assert (run.tags, run.reasons, run.error, run.dashboard_url) == ([], [], "", "")
    assert run.source_version == payload_hash(
        bare
    )  # no updated_at: the payload is the marker


def test_tasks_that_cannot_be_read_keep_the_run(rsps, adapter):
    register_onfido(rsps, pages=[load("onfido", "workflow_runs/page-1.json")[:1], []])
    rsps.replace(
        "GET",
        f"{ONFIDO_BASE}/workflow_runs/{R1}/tasks/document_check_75329",
        status=404,
        json=load("onfido", "errors/not_found.json"),
    )
    rsps.replace(
        "GET",
        f"{ONFIDO_BASE}/applicants/0a1b2c3d-4e5f-4a6b-8c7d-000000000001",
        status=410,
        json={},
    )

    [page, _] = run_pass(adapter)

    [run] = page.sessions
    assert {c.check_type for c in run.checks} == {
        "facial_similarity_photo",
        "watchlist_standard",
    }
    assert run.client.name == ""  # applicant deleted: no name, the run stays


def test_rate_limits_and_auth_errors_stop_the_pass(rsps, adapter, fake_time):
    rsps.get(
        f"{ONFIDO_BASE}/workflow_runs",
        status=429,
        json={"error": {"type": "rate_limit", "message": "slow"}},
    )
    with pytest.raises(ProviderRateLimited) as caught:
        run_pass(adapter)
    assert caught.value.retry_after == 60.0
    # The connection is held until then: a run before it asks nothing.
    with pytest.raises(ProviderRateLimited, match="held after a 429"):
        run_pass(adapter)
    fake_time.sleep(caught.value.retry_after)  # the rescheduled run

    rsps.replace(
        "GET",
        f"{ONFIDO_BASE}/workflow_runs",
        status=401,
        json=load("onfido", "errors/unauthorized.json"),
    )
    with pytest.raises(ProviderAuthError) as caught:
        run_pass(adapter)
    assert caught.value.error_type == "authorization_error"


def test_a_listing_that_is_not_an_array_is_invalid(rsps, adapter):
    rsps.get(f"{ONFIDO_BASE}/workflow_runs", json={"workflow_runs": []})
    with pytest.raises(ProviderResponseInvalid):
        run_pass(adapter)


def test_a_provider_ignoring_page_does_not_loop_forever(rsps, adapter):
    register_onfido_details(rsps)
    rsps.get(
        f"{ONFIDO_BASE}/workflow_runs", json=load("onfido", "workflow_runs/page-1.json")
    )
    pages = run_pass(adapter)
    assert session_ids(pages) == [R1, R2, R3]
    assert pages[-1].done is True
    assert len(calls_to(rsps, r"/workflow_runs\?")) == 2


def test_fetch_session_returns_the_full_run_or_none(rsps, adapter):
    register_onfido_details(rsps)
    rsps.get(
        f"{ONFIDO_BASE}/workflow_runs/{GONE}",
        status=404,
        json=load("onfido", "errors/not_found.json"),
    )

    run = adapter.fetch_session(R3)

    assert run.external_id == R3
    assert run.normalised.status == "completed"
    assert run.client.name == "Jane Doe"
    assert adapter.fetch_session(GONE) is None


def test_works_unchanged_against_a_simulator_base_url(rsps, fake_time):
    base = "http://127.0.0.1:8765/onfido/v3.6"
    adapter = make_adapter(OnfidoAdapter, fake_time, base_url=base)
    register_onfido(rsps, base)
    assert session_ids(run_pass(adapter)) == ALL_RUNS


def test_a_cursor_of_another_version_starts_a_new_pass(rsps, adapter):
    register_onfido(rsps)
    pages = run_pass(adapter, cursor={"v": 99, "pass": {"page": "three"}})
    assert session_ids(pages) == ALL_RUNS


def test_a_pass_whose_listed_ids_are_not_ids_starts_again(rsps, adapter):
    register_onfido(rsps)
    first = run_pass(adapter, budget=Budget(max_pages=1))
    cursor = json.loads(json.dumps(first[-1].cursor))
    cursor["pass"]["listed_refresh_ids"] = [{"id": R1}]
    pages = run_pass(adapter, cursor=cursor, refresh_ids=[R1])
    assert session_ids(pages) == ALL_RUNS


def test_options_are_validated(fake_time):
    with pytest.raises(ProviderConfigurationError, match="batch_size"):
        make_adapter(
            OnfidoAdapter,
            fake_time,
            base_url=ONFIDO_BASE,
            options={"batch_size": "lots"},
        )


def test_an_incremental_pass_resumes_in_its_window(rsps, adapter):
    register_onfido(
        rsps,
        pages=[load("onfido", "workflow_runs/page-1.json"), []],
        query={"created_at_gt": "2025-06-03"},
    )
    cursor = {"v": 1, "last_pass_started_at": "2025-06-05T03:00:00Z"}
    first = run_pass(adapter, cursor=cursor, budget=Budget(max_pages=0))
    assert first[-1].cursor["pass"]["created_at_gt"] == "2025-06-03"
    rest = run_pass(adapter, cursor=first[-1].cursor, known_versions=lambda ids: {})
    # The strict query matcher of register_onfido proves the window was kept.
    assert session_ids(rest) == [R1, R2, R3]


def test_the_token_never_reaches_quarantine_logs_or_errors(rsps, adapter, secret_logs):
    register_onfido(rsps, pages=[load("onfido", "workflow_runs/page-1.json"), []])
    rsps.replace(
        "GET",
        f"{ONFIDO_BASE}/workflow_runs/{R2}/tasks",
        body=f"<pre>Authorization: Token token={TOKEN}</pre>",
    )
    rsps.replace(
        "GET",
        f"{ONFIDO_BASE}/applicants/0a1b2c3d-4e5f-4a6b-8c7d-000000000001",
        status=422,
        json={
            "error": {
                "type": "validation_error",
                "message": f"token {TOKEN} cannot read applicants",
            }
        },
    )

    [page, _] = run_pass(adapter)

    runs = {run.external_id: run for run in page.sessions}
    reasons = runs[R2].missing + runs[R1].missing
    assert [r.split(":")[0] for r in reasons] == [
        "tasks",
        "applicant 0a1b2c3d-4e5f-4a6b-8c7d-000000000001",
    ]
    assert all("[redacted]" in reason for reason in reasons)
    assert not any(TOKEN in reason for reason in reasons)
    rsps.replace(
        "GET",
        f"{ONFIDO_BASE}/workflow_runs",
        status=401,
        json={"error": {"message": f"bad {TOKEN}"}},
    )
    with pytest.raises(ProviderAuthError) as caught:
        run_pass(adapter)
    assert TOKEN not in str(caught.value)
    assert secret_logs.records  # the failures were logged...
    for record in secret_logs.records:  # ...without the credential
        assert TOKEN not in record.getMessage()


# Contract details: what a run's output, link, token and dashboard URL become.


def _one_run(rsps, adapter, **fields):
    run = {**load("onfido", "workflow_runs/page-1.json")[1], **fields}
    register_onfido(rsps, pages=[[run], []])
    [page, _] = run_pass(adapter)
    [record] = page.sessions
    return record


def test_output_decision_risk_score_and_link_expiry(rsps, adapter):
    record = _one_run(
        rsps,
        adapter,
        output={"decision": "approved", "risk_score": 0.27, "doc": {"x": 1}},
        link={
            "url": "https://eu.onfido.app/l/secret-link",
            "completed_redirect_url": "https://example.com/done",
            "expired_redirect_url": None,
            "expires_at": "2025-06-10T12:00:00Z",
            "language": "en_US",
        },
    )

    assert (record.decision, record.risk_score) == ("approved", 0.27)
    assert record.link_expires_at == dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
    assert record.raw["run"]["output"]["doc"] == {"x": 1}
    assert record.raw["run"]["link"] == {
        "completed_redirect_url": "https://example.com/done",
        "expired_redirect_url": None,
        "expires_at": "2025-06-10T12:00:00Z",
        "language": "en_US",
    }


@pytest.mark.parametrize(
    "output",
    [{}, {"decision": ["x"], "risk_score": "high"}, {"risk_score": True}, None],
)
def test_an_output_without_a_usable_decision_or_score(rsps, adapter, output):
    record = _one_run(rsps, adapter, output=output)
    assert (record.decision, record.risk_score) == ("", None)


def test_credentials_are_cut_from_the_run_and_its_tasks(rsps, adapter):
    run = {
        **load("onfido", "workflow_runs/page-1.json")[0],
        "sdk_token": "eyJhbGciOi.sdk-secret",
    }
    register_onfido(rsps, pages=[[run], []])
    task_path = f"{ONFIDO_BASE}/workflow_runs/{R1}/tasks"
    [listed, *_] = load("onfido", f"workflow_runs/{R1}/tasks.json")
    task = load("onfido", f"workflow_runs/{R1}/tasks/{listed['id']}.json")
    task["output"] = {**(task["output"] or {}), "nested": {"sdk_token": "t-secret"}}
    rsps.replace("GET", f"{task_path}/{listed['id']}", json=task)

    [page, _] = run_pass(adapter)

    [record] = page.sessions
    stored = json.dumps(record.raw) + json.dumps([c.raw for c in record.checks])
    assert "secret" not in stored
    assert "sdk_token" not in stored
    assert "url" not in record.raw["run"]["link"]


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        (f"https://dashboard.onfido.com/results/{R2}", True),
        (f"https://dashboard.us.onfido.com/results/{R2}", True),
        (f"https://DASHBOARD.CA.ONFIDO.COM/results/{R2}", True),
        (f"http://dashboard.onfido.com/results/{R2}", False),
        ("javascript:alert(1)//dashboard.onfido.com", False),
        (f"https://dashboard.onfido.com.evil.example/results/{R2}", False),
        (f"https://user@dashboard.onfido.com/results/{R2}", False),
        (f"https://dashboard.onfido.com:8443/results/{R2}", False),
        ("https://evil.example/", False),
        ("https://dashboard.onfido.com/" + "x" * 1000, False),
        (17, False),
    ],
)
def test_dashboard_url_only_on_onfidos_own_dashboard(rsps, adapter, url, kept):
    record = _one_run(rsps, adapter, dashboard_url=url)
    assert record.dashboard_url == (url if kept else "")


def test_the_status_listing_names_every_unfinished_status():
    import yaml

    from sessions_app.providers.onfido.adapter import (
        FILTER_STATUSES,
        IN_ROTATION_STATUSES,
    )

    spec = yaml.safe_load(
        (CONTRACTS / "onfido-openapi.bundled.yaml").read_text(encoding="utf-8")
    )
    enum = spec["components"]["schemas"]["workflow_run_status"]["enum"]
    assert set(FILTER_STATUSES) == set(enum)
    assert IN_ROTATION_STATUSES == (
        "awaiting_client_input",
        "awaiting_input",
        "processing",
        "review",
    )
