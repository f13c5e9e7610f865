"""IcaAdapter against recorded ICA v2 responses (spec-valid, see test_fixture_contracts)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from responses import matchers

from sessions_app.exceptions import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from sessions_app.providers.base import Budget, payload_hash
from sessions_app.providers.ica.adapter import IcaAdapter
from tests.helpers.providers import (
    ICA_BASE,
    TOKEN,
    calls_to,
    load,
    make_adapter,
    register_ica,
    run_pass,
    run_to_end,
    session_ids,
)

P1, P2 = "a1f0c8f2-1c1e-4c55-9b1a-0d3e5f6a7b01", "a1f0c8f2-1c1e-4c55-9b1a-0d3e5f6a7b02"
W1, W2, W3, W4 = (
    "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f01",
    "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f02",
    "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f03",
    "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f04",
)
ALL = [W1, W2, W3, W4]
MEDIA = "application/vnd.illumina.v3+json"
SEARCH = r"/workflowSessions:search"


@pytest.fixture
def adapter(fake_time):
    return make_adapter(IcaAdapter, fake_time, base_url=ICA_BASE)


def by_id(pages):
    return {record.external_id: record for page in pages for record in page.sessions}


def test_first_pass_walks_every_project_and_page_token(rsps, adapter):
    register_ica(rsps)

    pages = run_pass(adapter)

    assert session_ids(pages) == ALL
    assert pages[-1].done is True
    assert "pass" not in pages[-1].cursor
    searches = calls_to(rsps, SEARCH, "POST")
    assert [c.request.url.split("/projects/")[1].split("/")[0] for c in searches] == [
        P1,
        P1,
        P2,
    ]
    assert [c.request.params for c in searches] == [
        {"pageSize": "100"},
        {"pageSize": "100", "pageToken": "d3M6cDE6Mg"},
        {"pageSize": "100"},
    ]  # cursor mode: no sort, no offset
    assert all(json.loads(c.request.body) == {} for c in searches)
    for call in rsps.calls:
        assert call.request.headers["Accept"] == MEDIA
        assert call.request.headers["X-API-Key"] == TOKEN
    for call in calls_to(rsps, r".", "POST"):
        assert call.request.headers["Content-Type"] == MEDIA
    for page in pages:
        json.dumps(page.cursor)


def test_a_succeeded_session_with_tags_analyses_and_project(rsps, adapter):
    register_ica(rsps)

    session = by_id(run_pass(adapter))[W1]

    assert (
        session.raw_status,
        session.normalised.status,
        session.normalised.outcome,
    ) == (
        "SUCCEEDED",
        "completed",
        "clear",
    )
    assert session.raw_outcome == "SUCCEEDED"
    assert session.workflow_id == "4e5f6071-8293-4a41-b5c6-d7e8f9a0b1c2"
    assert session.workflow_name == "bclconvert-dragen-germline"
    assert session.summary == ""  # the empty summary ICA sends
    assert session.created_at == dt.datetime(2025, 6, 3, 6, 0, tzinfo=dt.UTC)
    assert session.started_at == dt.datetime(2025, 6, 3, 6, 1, tzinfo=dt.UTC)
    assert session.completed_at == dt.datetime(2025, 6, 3, 9, 40, tzinfo=dt.UTC)
    assert (
        session.updated_at == session.completed_at
    )  # no timeModified: latest moment known
    assert [(t.name, t.kind) for t in session.tags] == [
        ("/ilmn-runs/250603_A01234_0042_AHXYZ", "technical"),
        ("250603_A01234_0042_AHXYZ", "technical"),
        ("priority", "user"),
        ("cohort-7", "user"),
    ]
    assert session.client.external_id == P1
    assert session.client.name == "Oncology cohort 2025"
    assert session.client.external_reference == ""
    assert [(c.check_type, c.normalised.outcome) for c in session.checks] == [
        ("bclconvert", "clear"),
        ("dragen-germline", "clear"),
    ]
    germline = session.checks[1]
    assert germline.external_id == "8192a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a02"
    assert germline.breakdown == {"summary": "12 samples, 0 failed"}
    assert germline.updated_at == dt.datetime(2025, 6, 3, 9, 39, tzinfo=dt.UTC)
    assert session.source_version == payload_hash(
        load("ica", f"projects/{P1}/workflowSessions-search/page-1.json")["items"][0]
    )
    assert session.raw["session"]["userReference"] == "ws_250603_A01234_0042_1"
    assert session.user_reference == "ws_250603_A01234_0042_1"
    assert session.raw["project_id"] == P1


def test_status_spellings_nullable_tags_null_summary_and_extra_fields(rsps, adapter):
    register_ica(rsps)

    sessions = by_id(run_pass(adapter))

    running = sessions[W2]
    assert running.normalised.status == "in_progress"  # V4 IN_PROGRESS
    assert [(t.name, t.kind) for t in running.tags] == [
        ("250604_A01234_0043_AHXZZ", "technical")
    ]  # null items, null userTags
    assert running.checks[0].normalised.status == "in_progress"
    assert running.checks[0].normalised.outcome == ""
    failed = sessions[W3]
    assert (failed.normalised.status, failed.normalised.outcome) == (
        "failed",
        "rejected",
    )  # V3 FAILEDFINAL
    assert failed.checks[0].normalised.outcome == "rejected"  # analysis FAILED_FINAL
    waiting = sessions[W4]
    assert waiting.normalised.status == "awaiting_input"
    assert waiting.summary == ""  # `summary: null`
    assert [(t.name, t.kind) for t in waiting.tags] == [
        ("trio", "user")
    ]  # technicalTags absent
    assert waiting.raw["session"]["costEstimate"] == {"currency": "USD", "amount": 12.5}
    assert waiting.checks == []
    assert waiting.client.name == "Rare disease trio"


def test_configured_projects_are_searched_and_named(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": P2}
    )
    register_ica(rsps, projects=False)

    pages = run_pass(adapter)

    assert session_ids(pages) == [W4]
    assert calls_to(rsps, r"/api/projects\?") == []
    assert len(calls_to(rsps, rf"/api/projects/{P2}$")) == 1
    assert by_id(pages)[W4].client.name == "Rare disease trio"


def test_unchanged_sessions_cost_no_analysis_search(rsps, adapter):
    register_ica(rsps)
    page_one = load("ica", f"projects/{P1}/workflowSessions-search/page-1.json")[
        "items"
    ]
    versions = {W1: payload_hash(page_one[0]), W2: "an older hash"}

    pages = run_pass(
        adapter,
        known_versions=lambda ids: {i: versions[i] for i in ids if i in versions},
    )

    assert [i for page in pages for i in page.unchanged_ids] == [W1]
    assert session_ids(pages) == [W2, W3, W4]
    assert calls_to(rsps, rf"/workflowSessions/{W1}/analyses:search", "POST") == []


def test_budget_exhaustion_resumes_mid_token_page_without_duplicates(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"batch_size": 1}
    )
    register_ica(rsps)

    pages, calls = run_to_end(adapter, max_pages=1)

    assert session_ids(pages) == ALL
    assert calls == 4
    assert pages[0].cursor["pass"] == {
        "mode": "full",
        "started_at": pages[0].cursor["pass"]["started_at"],
        "projects": [P1, P2],
        "index": 0,
        "page_token": None,
        "offset": 1,
    }
    # The project list is read once per pass, not once per call.
    assert len(calls_to(rsps, r"/api/projects\?")) == 2


def test_an_expired_page_token_restarts_the_project(rsps, adapter):
    register_ica(rsps)
    rsps.post(
        f"{ICA_BASE}/api/projects/{P1}/workflowSessions:search",
        status=400,
        json=load("ica", "errors/invalid_token.json"),
        content_type="application/problem+json",
        match=[matchers.query_param_matcher({"pageSize": "100", "pageToken": "stale"})],
    )
    cursor = {
        "v": 1,
        "pass": {
            "mode": "full",
            "started_at": "2025-06-05T00:00:00.000Z",
            "projects": [P1],
            "index": 0,
            "page_token": "stale",
            "offset": 0,
        },
    }

    pages = run_pass(adapter, cursor=cursor)

    assert session_ids(pages) == [W1, W2, W3]
    assert pages[-1].done is True


def test_a_missing_project_is_quarantined_and_the_others_synced(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter,
        fake_time,
        base_url=ICA_BASE,
        options={"project_ids": [P2, "no-such-project", P1]},
    )
    register_ica(rsps, projects=False)
    rsps.post(
        f"{ICA_BASE}/api/projects/no-such-project/workflowSessions:search",
        status=404,
        json=load("ica", "errors/not_found.json"),
        content_type="application/problem+json",
    )

    pages = run_pass(adapter)

    assert session_ids(pages) == [W4, W1, W2, W3]
    [quarantined] = [q for page in pages for q in page.quarantined]
    assert (quarantined.record_type, quarantined.external_id) == (
        "project",
        "no-such-project",
    )
    assert "ICA_GENR_003" in quarantined.reason


def test_a_bad_key_fails_the_pass(rsps, adapter):
    rsps.get(
        f"{ICA_BASE}/api/projects",
        status=401,
        json=load("ica", "errors/unauthorized.json"),
        content_type="application/problem+json",
    )
    with pytest.raises(ProviderAuthError) as caught:
        run_pass(adapter)
    assert caught.value.error_type == "ICA_SEC_001"
    assert caught.value.message.startswith("Invalid API key")


def test_bad_items_are_quarantined_and_page_mates_survive(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": P2}
    )
    register_ica(rsps, projects=False)
    body = load("ica", f"projects/{P2}/workflowSessions-search/page-1.json")
    body["items"] = [
        {"userReference": "no id"},
        *body["items"],
        ["not", "an", "object"],
    ]
    rsps.replace(
        "POST",
        f"{ICA_BASE}/api/projects/{P2}/workflowSessions:search",
        json=body,
        content_type=MEDIA,
    )

    [page, closing] = run_pass(adapter)

    assert session_ids([page]) == [W4]
    assert [q.reason for q in page.quarantined] == [
        "missing 'id'",
        "expected a JSON object, got list",
    ]
    assert closing.done is True


def test_unknown_statuses(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": P2}
    )
    register_ica(rsps, projects=False)
    body = load("ica", f"projects/{P2}/workflowSessions-search/page-1.json")
    body["items"][0]["status"] = "PAUSED_BY_ADMIN"
    rsps.replace(
        "POST",
        f"{ICA_BASE}/api/projects/{P2}/workflowSessions:search",
        json=body,
        content_type=MEDIA,
    )

    [page, _] = run_pass(adapter)

    [session] = page.sessions
    assert session.normalised.status == "unknown"
    assert session.unknown_values == ["PAUSED_BY_ADMIN"]


def test_a_search_answer_without_items_is_invalid(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": P2}
    )
    rsps.post(
        f"{ICA_BASE}/api/projects/{P2}/workflowSessions:search", json={"data": []}
    )
    with pytest.raises(ProviderResponseInvalid):
        run_pass(adapter)


def test_fetch_session_searches_the_hinted_project_by_user_reference(rsps, adapter):
    register_ica(rsps, projects=False)
    rsps.replace(
        "POST",
        f"{ICA_BASE}/api/projects/{P2}/workflowSessions:search",
        json=load("ica", f"projects/{P2}/workflowSessions-search/page-1.json"),
        content_type=MEDIA,
        match=[matchers.json_params_matcher({"userReference": "ws_manual_trio_17"})],
    )

    session = adapter.fetch_session(
        W4, hint={"project_id": P2, "user_reference": "ws_manual_trio_17"}
    )

    assert session.external_id == W4
    assert session.client.external_id == P2


def test_a_stored_session_is_found_again_through_its_refresh_hint(rsps, adapter):
    register_ica(rsps, projects=False)
    rsps.replace(
        "POST",
        f"{ICA_BASE}/api/projects/{P2}/workflowSessions:search",
        json=load("ica", f"projects/{P2}/workflowSessions-search/page-1.json"),
        content_type=MEDIA,
        match=[matchers.json_params_matcher({"userReference": "ws_manual_trio_17"})],
    )
    stored = adapter.fetch_session(
        W4, hint={"project_id": P2, "user_reference": "ws_manual_trio_17"}
    ).raw
    searches = len(calls_to(rsps, SEARCH, "POST"))

    hint = adapter.refresh_hint(stored)
    session = adapter.fetch_session(W4, hint=hint)

    assert hint == {"project_id": P2, "user_reference": "ws_manual_trio_17"}
    assert session.external_id == W4
    # One narrowed search of its project, not a walk of every project.
    assert len(calls_to(rsps, SEARCH, "POST")) == searches + 1
    assert adapter.refresh_hint({}) == {}
    assert adapter.refresh_hint({"project_id": 7, "session": "?"}) == {}


def test_fetch_session_without_hint_searches_every_project(rsps, adapter):
    register_ica(rsps)

    assert adapter.fetch_session(W3).normalised.status == "failed"
    assert adapter.fetch_session("d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6fff") is None


def test_works_against_a_simulator_base_url(rsps, fake_time):
    base = "http://127.0.0.1:8765/ica/rest"
    adapter = make_adapter(IcaAdapter, fake_time, base_url=base)
    register_ica(rsps, base)
    assert session_ids(run_pass(adapter)) == ALL


def test_budget_spent_before_the_first_page_yields_a_resumable_page(rsps, adapter):
    pages = run_pass(adapter, budget=Budget(max_pages=0))
    assert [page.done for page in pages] == [False]
    assert pages[0].cursor["pass"]["projects"] is None
    assert len(rsps.calls) == 0


# A project that fails is that project's problem; the provider's stops the pass.


def _project_fails(rsps, project_id, **response):
    rsps.post(
        f"{ICA_BASE}/api/projects/{project_id}/workflowSessions:search", **response
    )


SERVER_ERROR = {
    "status": 500,
    "json": {"type": "about:blank", "title": "ICA_GENR_001", "status": 500},
    "content_type": "application/problem+json",
}


@pytest.mark.parametrize(
    "failure",
    [SERVER_ERROR, {"json": {"data": []}}, {"status": 400, "json": {"title": "x"}}],
    ids=["server error", "garbage", "refused"],
)
def test_one_failing_project_is_reported_and_the_others_synced(
    rsps, fake_time, failure
):
    adapter = make_adapter(
        IcaAdapter,
        fake_time,
        base_url=ICA_BASE,
        options={"project_ids": [P2, "broken-project", P1]},
    )
    register_ica(rsps, projects=False)
    _project_fails(rsps, "broken-project", **failure)

    pages = run_pass(adapter)

    assert session_ids(pages) == [W4, W1, W2, W3]
    [quarantined] = [q for page in pages for q in page.quarantined]
    assert (quarantined.record_type, quarantined.external_id) == (
        "project",
        "broken-project",
    )
    assert quarantined.reason.startswith(
        "project could not be read this pass (retried next pass): "
    )
    assert pages[-1].done is True


def test_the_failed_project_is_read_again_by_the_next_pass(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": [P1, P2]}
    )
    register_ica(rsps, projects=False)
    rsps.replace(
        "POST", f"{ICA_BASE}/api/projects/{P1}/workflowSessions:search", **SERVER_ERROR
    )
    first = run_pass(adapter)
    assert session_ids(first) == [W4]

    rsps.reset()
    register_ica(rsps, projects=False)
    second = run_pass(adapter, cursor=first[-1].cursor)

    assert session_ids(second) == [W1, W2, W3, W4]


def test_two_projects_failing_in_a_row_stop_the_pass(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter,
        fake_time,
        base_url=ICA_BASE,
        options={"project_ids": [P2, "broken-1", "broken-2", P1]},
    )
    register_ica(rsps, projects=False)
    _project_fails(rsps, "broken-1", **SERVER_ERROR)
    _project_fails(rsps, "broken-2", **SERVER_ERROR)

    with pytest.raises(ProviderUnavailable):
        run_pass(adapter)


def test_a_failing_only_project_stops_the_pass(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": [P2]}
    )
    _project_fails(rsps, P2, **SERVER_ERROR)

    with pytest.raises(ProviderUnavailable):
        run_pass(adapter)


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ({"status": 429, "headers": {"Retry-After": "30"}}, ProviderRateLimited),
        ({"body": requests.ConnectionError("refused")}, ProviderUnavailable),
        (
            {"status": 401, "json": load("ica", "errors/unauthorized.json")},
            ProviderAuthError,
        ),
    ],
    ids=["rate limited", "unreachable", "bad key"],
)
def test_the_providers_own_failures_still_stop_the_pass(
    rsps, fake_time, failure, error
):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": [P2, P1]}
    )
    register_ica(rsps, projects=False)
    rsps.replace(
        "POST", f"{ICA_BASE}/api/projects/{P1}/workflowSessions:search", **failure
    )

    with pytest.raises(error):
        run_pass(adapter)


def test_completed_at_only_for_final_statuses(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter, fake_time, base_url=ICA_BASE, options={"project_ids": P2}
    )
    register_ica(rsps, projects=False)
    body = load("ica", f"projects/{P2}/workflowSessions-search/page-1.json")
    # An AWAITING_INPUT session carrying an endDate (a step's end, not the
    # session's): it has not completed.
    body["items"][0]["endDate"] = "2025-06-04T10:00:00Z"
    rsps.replace(
        "POST",
        f"{ICA_BASE}/api/projects/{P2}/workflowSessions:search",
        json=body,
        content_type=MEDIA,
    )

    [session] = by_id(run_pass(adapter)).values()

    assert session.normalised.status == "awaiting_input"
    assert session.completed_at is None
    assert session.updated_at == dt.datetime(2025, 6, 4, 10, 0, tzinfo=dt.UTC)


def test_client_from_user_reference_makes_the_reference_the_identity(rsps, fake_time):
    adapter = make_adapter(
        IcaAdapter,
        fake_time,
        base_url=ICA_BASE,
        options={"client_from": "user_reference"},
    )
    register_ica(rsps)

    records = by_id(run_pass(adapter))

    for record in records.values():
        reference = record.user_reference
        if reference:
            assert record.client.external_id == f"userReference:{reference}"
            assert record.client.external_reference == reference
            assert record.client.name == reference
        else:  # no reference: the project, as by default
            assert record.client.external_id in (P1, P2)
    assert any(record.user_reference for record in records.values())


def test_client_from_defaults_to_the_project_and_refuses_other_words(
    rsps, adapter, fake_time
):
    register_ica(rsps)
    assert {r.client.external_id for r in by_id(run_pass(adapter)).values()} <= {
        P1,
        P2,
    }
    from sessions_app.exceptions import ProviderConfigurationError

    with pytest.raises(ProviderConfigurationError, match="client_from"):
        make_adapter(
            IcaAdapter, fake_time, base_url=ICA_BASE, options={"client_from": "user"}
        )
