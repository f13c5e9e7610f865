"""Every provider adapter end to end: real HTTP against the running provider simulator.

The simulator's ground truth (`sim.state()`) says exactly what each provider
serves, so a pass must return exactly that; its fault switches (5xx, 429,
truncated JSON, unknown enum words, extra fields, slow replies) show what each
adapter does when the provider misbehaves. Retries sleep on a fake clock, so
nothing really waits except the deliberately slow replies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
import requests

from sessions_app.exceptions import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from sessions_app.providers.base import (
    Budget,
    CheckRecord,
    ConnectionConfig,
    Page,
    ProviderAdapter,
    SessionRecord,
)
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.ica.adapter import IcaAdapter
from sessions_app.providers.onfido.adapter import IN_ROTATION_STATUSES, OnfidoAdapter
from sessions_app.simulator import complycube as sim_complycube
from sessions_app.simulator import ica as sim_ica
from sessions_app.simulator import onfido as sim_onfido
from tests.helpers.providers import FakeTime

pytestmark = pytest.mark.simulator

KINDS = ("onfido", "complycube", "ica")
ADAPTERS: dict[str, type[ProviderAdapter]] = {
    "onfido": OnfidoAdapter,
    "complycube": ComplyCubeAdapter,
    "ica": IcaAdapter,
}
# Options that make every provider page and every yielded page small, so that
# a pass of ~30 sessions spans several list requests and several pages.
SMALL_PAGES: dict[str, dict[str, Any]] = {
    "onfido": {"batch_size": 5},  # Onfido's page size is fixed (20 in the simulator)
    "complycube": {"page_size": 8, "batch_size": 5},
    "ica": {"page_size": 4, "batch_size": 3},
}
# What the unknown-enum fault serves (session word, check word) per provider.
UNKNOWN_WORDS = {
    "onfido": (sim_onfido.UNKNOWN_STATUS, sim_onfido.UNKNOWN_RESULT),
    "complycube": (sim_complycube.UNKNOWN_STATUS, sim_complycube.UNKNOWN_OUTCOME),
    "ica": (sim_ica.UNKNOWN_STATUS, sim_ica.UNKNOWN_ANALYSIS_STATUS),
}
EXTRA_FIELD_KEYS = {
    "onfido": sim_onfido.OnfidoApi.extra_field_key,
    "complycube": sim_complycube.ComplyCubeApi.extra_field_key,
    "ica": sim_ica.IcaApi.extra_field_key,
}
# Request paths (under the provider prefix) that list sessions; every other
# call is a detail call made for a session that changed.
LIST_PATHS = {
    "onfido": re.compile(r"/workflow_runs"),
    "complycube": re.compile(r"/workflowSessions"),
    "ica": re.compile(r"/api/projects(/[^/]+/workflowSessions:search)?"),
}
PREFIXES = {
    "onfido": "/onfido/v3.6",
    "complycube": "/complycube/v1",
    "ica": "/ica/rest",
}
UNKNOWN_IDS = {
    "onfido": "00000000-0000-4000-8000-00000000dead",
    "complycube": "0123456789abcdef01234567",
    "ica": "00000000-0000-4000-8000-00000000beef",
}
# The production default of VERITY_HTTP_MAX_INLINE_SLEEP (the test settings use 0).
INLINE_CAP = 5.0
# Without Retry-After, a 429 that outlasts the inline retries reports these.
DEFAULT_RETRY_AFTER = {"onfido": 60.0, "complycube": 30.0, "ica": 30.0}

parametrize_kind = pytest.mark.parametrize("kind", KINDS)


# Harness ---------------------------------------------------------------------


@pytest.fixture
def sim(simulator, settings):
    """The running simulator with no faults; faults are switched off again afterwards."""
    settings.VERITY_HTTP_MAX_INLINE_SLEEP = INLINE_CAP
    simulator.reset()
    yield simulator
    simulator.reset()


def make_adapter(
    sim,
    kind: str,
    fake_time: FakeTime,
    *,
    options: Mapping[str, Any] | None = None,
    credential: str | None = None,
    **http_overrides: Any,
) -> ProviderAdapter:
    """Return `kind`'s adapter on the simulator; its HTTP client sleeps on `fake_time`."""
    config = ConnectionConfig(
        slug=f"{kind}-e2e",
        kind=kind,
        base_url=sim.base_urls[kind],
        credential=credential if credential is not None else sim.credentials[kind],
        options=dict(options or {}),
        # The simulator runs without rate limits here; no client-side spacing.
        rate_limit_per_second=0.0,
    )
    adapter_class = ADAPTERS[kind]
    http = adapter_class.make_http(
        config,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        jitter=lambda: 1.0,  # the longest back-off of each attempt, on the fake clock
        **http_overrides,
    )
    return adapter_class(config, http=http)


def run_pass(
    adapter: ProviderAdapter,
    *,
    cursor: Mapping[str, Any] | None = None,
    max_pages: int = 1000,
    between_calls: Callable[[], None] | None = None,
    on_page: Callable[[Page], None] | None = None,
    **kwargs: Any,
) -> tuple[list[Page], int]:
    """Call `iter_pages` from `cursor` until a page says `done`; return pages and calls.

    `on_page` sees each page as it is yielded (where the sync engine commits it);
    `between_calls` runs between two calls (e.g. to let simulated time pass).
    """
    pages: list[Page] = []
    cursor = dict(cursor or {})
    for calls in range(1, 200):
        batch = []
        for page in adapter.iter_pages(
            cursor=cursor, budget=Budget(max_pages=max_pages, max_seconds=60), **kwargs
        ):
            batch.append(page)
            if on_page is not None:
                on_page(page)
        assert batch, "iter_pages must always yield at least one page"
        pages.extend(batch)
        cursor = batch[-1].cursor
        if batch[-1].done:
            return pages, calls
        if between_calls is not None:
            between_calls()
    raise AssertionError("the pass never finished")


def pages_until_error(
    adapter: ProviderAdapter,
    *,
    after_first_page: Callable[[], None],
    cursor: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> tuple[list[Page], ProviderError]:
    """Consume pages, switch a fault on after the first, and return what came before the error."""
    pages: list[Page] = []
    with pytest.raises(ProviderError) as raised:  # noqa: PT012 - the error comes mid-iteration
        for page in adapter.iter_pages(
            cursor=dict(cursor or {}), budget=Budget(max_pages=1000), **kwargs
        ):
            pages.append(page)
            if len(pages) == 1:
                after_first_page()
    assert pages, "the fault was meant to hit after the first page"
    assert not pages[-1].done
    return pages, raised.value


def records_of(pages: Sequence[Page]) -> list[SessionRecord]:
    return [record for page in pages for record in page.sessions]


def by_id(pages: Sequence[Page]) -> dict[str, SessionRecord]:
    """Return the pass's records by id, failing on a session yielded twice."""
    ids = [record.external_id for record in records_of(pages)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == [], f"sessions yielded twice: {duplicates}"
    return {record.external_id: record for record in records_of(pages)}


def truth_of(sim, kind: str) -> dict[str, Any]:
    return sim.state(detail=True)["providers"][kind]


def truth_check(kind: str, session_id: str, check: Mapping[str, Any]) -> tuple:
    """(check id, raw status, raw outcome) as the adapter should report a truth check."""
    if kind == "onfido":
        # Keyed `<run id>:<task id>` (task ids may repeat across runs); the raw
        # outcome reads `result/sub_result`.
        outcome = check["result"]
        if check["sub_result"]:
            outcome = f"{outcome}/{check['sub_result']}"
        return f"{session_id}:{check['id']}", check["status"], outcome
    if kind == "complycube":
        return check["id"], check["status"], check["outcome"]
    return check["id"], check["status"]  # an ICA analysis's outcome is its status


def truth_view(kind: str, truth: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the ground truth says of every served session, in comparable form."""
    return {
        session["id"]: {
            "status": session["status"],
            # Only ComplyCube has a session outcome separate from its status.
            "outcome": session["outcome"] if kind == "complycube" else None,
            "client": session["client_id"],
            "reference": session["client_reference"],
            "tags": sorted((tag["name"], tag["kind"]) for tag in session["tags"]),
            "checks": sorted(
                truth_check(kind, session["id"], check) for check in session["checks"]
            ),
        }
        for session in truth["sessions"]
    }


def record_view(
    kind: str, records: Mapping[str, SessionRecord]
) -> dict[str, dict[str, Any]]:
    """The same view of what an adapter returned."""

    def check_view(check: CheckRecord) -> tuple:
        if kind == "ica":
            return check.external_id, check.raw_status
        return check.external_id, check.raw_status, check.raw_outcome

    return {
        ident: {
            "status": record.raw_status,
            "outcome": record.raw_outcome if kind == "complycube" else None,
            "client": record.client.external_id if record.client else None,
            "reference": record.client.external_reference if record.client else None,
            "tags": sorted((tag.name, tag.kind) for tag in record.tags),
            "checks": sorted(check_view(check) for check in record.checks),
        }
        for ident, record in records.items()
    }


def assert_matches_truth(
    kind: str, records: Mapping[str, SessionRecord], truth: Mapping[str, Any]
) -> None:
    expected = truth_view(kind, truth)
    actual = record_view(kind, records)
    assert sorted(actual) == sorted(expected)
    differences = {
        ident: (actual[ident], expected[ident])
        for ident in expected
        if actual[ident] != expected[ident]
    }
    assert differences == {}
    assert len(expected) == truth["counts"]["sessions"]
    assert sum(len(r.checks) for r in records.values()) == truth["counts"]["checks"]
    assert (
        len({r.client.external_id for r in records.values() if r.client})
        == (truth["counts"]["clients"])
    )


def assert_clean(pages: Sequence[Page]) -> None:
    assert [q for page in pages for q in page.quarantined] == []
    assert [i for page in pages for i in page.gone_ids] == []


def committer(mirror: dict[str, SessionRecord]) -> Callable[[Page], None]:
    """Return an `on_page` that commits each page into `mirror`, as the sync engine does."""

    def commit(page: Page) -> None:
        mirror.update({record.external_id: record for record in page.sessions})

    return commit


def live_known_versions(
    mirror: Mapping[str, SessionRecord],
) -> Callable[[Sequence[str]], dict[str, str]]:
    """A `known_versions` answering from `mirror` as it is now (the engine reads the DB)."""
    return lambda ids: {i: mirror[i].source_version for i in ids if i in mirror}


def unfinished(records: Mapping[str, SessionRecord]) -> list[str]:
    """What the sync engine passes as `refresh_ids`: sessions not in a final status."""
    return sorted(i for i, r in records.items() if not r.normalised.is_final)


def requests_made(sim, kind: str) -> list[tuple[str, str, int]]:
    """(method, path under the provider prefix, status) of every logged request."""
    return [
        (entry["method"], entry["path"][len(PREFIXES[kind]) :], entry["status"])
        for entry in sim.requests_log()["recent"]
        if entry["provider"] == kind
    ]


def essentials(record: SessionRecord) -> dict[str, Any]:
    """A record without its raw payloads and change marker: what parsing produced."""
    data = dataclasses.asdict(record)
    data.pop("raw")
    data.pop("source_version")
    if data["client"]:
        data["client"].pop("raw")
    for check in data["checks"]:
        check.pop("raw")
    return data


# 1. A first pass is the ground truth --------------------------------------------


def test_onfido_contract_fields_come_through_and_credentials_do_not(sim, fake_time):
    """The simulator serves sdk_token and link.url (credentials), output and
    a dashboard URL; the records keep the decision, score and link expiry,
    and nothing of the credentials."""
    listed = requests.get(
        f"{sim.base_urls['onfido']}/workflow_runs",
        params={"page": 1},
        headers={"Authorization": f"Token token={sim.credentials['onfido']}"},
        timeout=10,
    ).json()
    served = [run for run in listed if run["sdk_token"]]
    assert served, "the simulator serves tokens for unfinished runs"
    pages, _ = run_pass(make_adapter(sim, "onfido", fake_time))
    records = by_id(pages).values()
    stored = json.dumps(
        [r.raw for r in records] + [c.raw for r in records for c in r.checks]
    )
    assert "sim-sdk-token" not in stored
    assert "onfido.app/l/" not in stored
    decided = [r for r in records if r.decision]
    assert decided
    assert all(r.risk_score is not None for r in decided)
    assert all(r.link_expires_at is not None for r in records)
    assert all(
        r.dashboard_url.startswith("https://dashboard.onfido.com/results/")
        for r in records
    )


@parametrize_kind
def test_first_pass_returns_exactly_the_ground_truth(sim, fake_time, kind):
    adapter = make_adapter(sim, kind, fake_time)

    pages, calls = run_pass(adapter)

    truth = truth_of(sim, kind)
    records = by_id(pages)
    assert calls == 1
    assert pages[-1].done is True
    assert all(not page.done for page in pages[:-1])
    assert_clean(pages)
    assert_matches_truth(kind, records, truth)
    assert {r.normalised.status for r in records.values()}.isdisjoint({"unknown"})
    assert all(r.unknown_values == [] for r in records.values())
    assert all(check.normalised.known for r in records.values() for check in r.checks)
    # The truth's whole vocabulary came through (sessions >= 15 serve every word).
    assert sorted({r.raw_status for r in records.values()}) == sorted(
        truth["by_status"]
    )
    assert fake_time.sleeps == []  # nothing to retry without faults


# 2. A second pass re-fetches nothing that did not change --------------------------


@parametrize_kind
def test_second_pass_with_known_versions_fetches_no_details(sim, fake_time, kind):
    adapter = make_adapter(sim, kind, fake_time)
    first_pages, _ = run_pass(adapter)
    first = by_id(first_pages)
    refresh_ids = unfinished(first)
    sim.reset()  # clears the request log

    second_pages, _ = run_pass(
        make_adapter(sim, kind, fake_time),
        cursor=first_pages[-1].cursor,
        refresh_ids=refresh_ids,
        known_versions=live_known_versions(first),
    )

    assert records_of(second_pages) == []
    assert_clean(second_pages)
    unchanged = [i for page in second_pages for i in page.unchanged_ids]
    assert len(unchanged) == len(set(unchanged))
    truth = truth_of(sim, kind)
    made = requests_made(sim, kind)
    assert all(status == 200 for _, _, status in made)
    if kind == "onfido":
        # The window lists runs created after `created_at_gt` (whole days); the
        # unfinished runs outside it are listed by status (none finished
        # meanwhile), so only those in a status the filter does not name are
        # re-read by id.
        window = next(p.cursor["pass"] for p in second_pages if "pass" in p.cursor)
        assert window["mode"] == "incremental"
        listed = {
            s["id"]
            for s in truth["sessions"]
            if s["created_at"][:10] > window["created_at_gt"]
        }
        assert set(refresh_ids) - listed, "some unfinished runs are outside the window"
        # The status listing also reads the older runs in rotation that are
        # not in `refresh_ids` (here: those in review, final but reopenable).
        older_in_rotation = {
            s["id"]
            for s in truth["sessions"]
            if s["status"] in IN_ROTATION_STATUSES
            and s["created_at"][:10] < window["created_at_gt"]
        }
        assert older_in_rotation - set(refresh_ids), "some are not refresh ids"
        assert set(unchanged) == listed | set(refresh_ids) | older_in_rotation
        by_id_calls = sorted(
            path.rsplit("/", 1)[1]
            for _, path, _ in made
            if not LIST_PATHS[kind].fullmatch(path)
        )
        # By id only what the status filter does not name: every unfinished
        # status, awaiting_client_input included, is in it.
        assert "awaiting_client_input" in IN_ROTATION_STATUSES
        status_of = {s["id"]: s["status"] for s in truth["sessions"]}
        assert by_id_calls == sorted(
            i
            for i in set(refresh_ids) - listed
            if status_of[i] not in IN_ROTATION_STATUSES
        )
        in_rotation = [
            s for s in truth["sessions"] if s["status"] in IN_ROTATION_STATUSES
        ]
        list_calls = [path for _, path, _ in made if LIST_PATHS[kind].fullmatch(path)]
        window_pages = -(-len(listed) // sim_onfido.ONFIDO_PAGE_SIZE)
        status_pages = -(-len(in_rotation) // sim_onfido.ONFIDO_PAGE_SIZE)
        # The window reads one empty page after its last; the status listing
        # stops once it has given every wanted run, at the latest at its end.
        assert window_pages + 1 < len(list_calls) <= window_pages + status_pages + 2
        assert all(
            LIST_PATHS[kind].fullmatch(path)
            or re.fullmatch(r"/workflow_runs/[^/]+", path)
            for _, path, _ in made
        )
    else:
        if kind == "complycube":
            # Listed: sessions updated after the high-water mark minus the lookback.
            since = dt.datetime.fromisoformat(
                first_pages[-1].cursor["high_water"]
            ) - dt.timedelta(minutes=10)
            listed = {
                s["id"]
                for s in truth["sessions"]
                if dt.datetime.fromisoformat(s["updated_at"]) > since
            }
        else:  # ICA has no change filter: every pass lists every session
            listed = {s["id"] for s in truth["sessions"]}
        assert set(unchanged) == listed
        assert [call for call in made if not LIST_PATHS[kind].fullmatch(call[1])] == []
    assert made, "the second pass must still have asked the provider"


# 3. Time passes: the next pass picks up the changes -------------------------------


@parametrize_kind
def test_incremental_pass_after_time_passes_picks_up_status_changes(
    sim, fake_time, kind
):
    adapter = make_adapter(sim, kind, fake_time)
    first_pages, _ = run_pass(adapter)
    mirror = by_id(first_pages)
    before = {i: r.raw_status for i, r in mirror.items()}
    versions = {i: r.source_version for i, r in mirror.items()}

    sim.advance(6 * 3600)  # in-flight sessions finish; new ones appear
    second_pages, _ = run_pass(
        make_adapter(sim, kind, fake_time),
        cursor=first_pages[-1].cursor,
        refresh_ids=unfinished(mirror),
        known_versions=live_known_versions(mirror),
    )

    assert_clean(second_pages)
    refetched = by_id(second_pages)
    mirror.update(refetched)
    truth = truth_of(sim, kind)
    assert_matches_truth(kind, mirror, truth)
    after = {s["id"]: s["status"] for s in truth["sessions"]}
    changed = {i for i in before if after[i] != before[i]}
    created = set(after) - set(before)
    assert changed, "the simulator should have moved some sessions on"
    assert created, "the simulator should have created some sessions"
    assert changed | created <= set(refetched)
    # Only what changed was fetched again.
    assert all(
        versions.get(ident) != record.source_version
        for ident, record in refetched.items()
    )
    unchanged = {i for page in second_pages for i in page.unchanged_ids}
    assert unchanged.isdisjoint(changed | created)


# 4. A small budget: many calls, one pass ---------------------------------------------


@parametrize_kind
def test_small_budget_resumes_from_each_cursor_without_duplicates_or_gaps(
    sim, fake_time, kind
):
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])

    pages, calls = run_pass(adapter, max_pages=1)

    assert calls >= 5
    assert sum(1 for page in pages if page.sessions) >= 5
    assert all(len(page.sessions) <= SMALL_PAGES[kind]["batch_size"] for page in pages)
    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))


@parametrize_kind
def test_small_budget_pass_survives_sessions_created_between_calls(
    sim, fake_time, kind
):
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])
    existing = set(truth_view(kind, truth_of(sim, kind)))

    pages, calls = run_pass(
        adapter, max_pages=1, between_calls=lambda: sim.advance(120)
    )

    records = by_id(pages)  # no duplicates although offset pages shifted
    now_served = set(truth_view(kind, truth_of(sim, kind)))
    assert now_served > existing, "sessions should have been created mid-pass"
    assert existing <= set(records)  # nothing that existed at the start is missed
    assert set(records) <= now_served
    assert calls >= 5


def _first_pass_then_six_hours(sim, fake_time, kind):
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])
    mirror: dict[str, SessionRecord] = {}
    first_pages, _ = run_pass(adapter, on_page=committer(mirror))
    sim.advance(6 * 3600)
    return adapter, mirror, first_pages[-1].cursor


@parametrize_kind
def test_small_budget_incremental_pass_with_refresh_ids_ends_exact(
    sim, fake_time, kind
):
    adapter, mirror, cursor = _first_pass_then_six_hours(sim, fake_time, kind)

    pages, calls = run_pass(
        adapter,
        cursor=cursor,
        max_pages=1,
        on_page=committer(mirror),
        refresh_ids=unfinished(mirror),
        known_versions=live_known_versions(mirror),
    )

    assert calls >= 2
    by_id(pages)  # no session rebuilt twice in one pass
    assert_clean(pages)
    assert_matches_truth(kind, mirror, truth_of(sim, kind))


def test_onfido_resumed_incremental_pass_handles_each_run_once(sim, fake_time):
    adapter, mirror, cursor = _first_pass_then_six_hours(sim, fake_time, "onfido")
    refresh_ids = unfinished(mirror)
    sim.reset()  # clears the request log

    pages, _ = run_pass(
        adapter,
        cursor=cursor,
        max_pages=1,
        on_page=committer(mirror),
        refresh_ids=refresh_ids,
        known_versions=live_known_versions(mirror),
    )

    listed = {
        ident
        for page in pages
        if page.cursor.get("pass", {}).get("phase") == "list"
        for ident in [r.external_id for r in page.sessions] + page.unchanged_ids
    }
    read_by_id = {
        path.rsplit("/", 1)[1]
        for _, path, _ in requests_made(sim, "onfido")
        if re.fullmatch(r"/workflow_runs/[^/]+", path)
    }
    assert listed & set(refresh_ids), "the window lists some unfinished runs"
    assert read_by_id & listed == set()  # fails: listed runs are read again
    handled = [r.external_id for r in records_of(pages)] + [
        i for page in pages for i in page.unchanged_ids
    ]
    assert sorted(i for i in set(handled) if handled.count(i) > 1) == []


@parametrize_kind
def test_changes_during_a_paced_pass_are_caught_by_the_next_pass(sim, fake_time, kind):
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])
    mirror: dict[str, SessionRecord] = {}
    # Sessions are created and move on while the first pass is spread over calls.
    first_pages, _ = run_pass(
        adapter,
        max_pages=1,
        on_page=committer(mirror),
        between_calls=lambda: sim.advance(120),
    )

    second_pages, _ = run_pass(
        adapter,
        cursor=first_pages[-1].cursor,
        on_page=committer(mirror),
        refresh_ids=unfinished(mirror),
        known_versions=live_known_versions(mirror),
    )

    assert_clean(first_pages + second_pages)
    assert_matches_truth(kind, mirror, truth_of(sim, kind))


# 5a. Server errors ---------------------------------------------------------------------


@parametrize_kind
def test_server_error_bursts_are_retried_transparently(sim, fake_time, kind):
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])
    sim.set_faults(kind, server_error_burst=3, server_error_status=502)
    statuses = itertools.cycle([503, 504, 502])
    pages_seen: list[int] = []

    def known_versions(ids: Sequence[str]) -> dict[str, str]:
        # Called before each page's detail calls: the next detail call fails twice.
        pages_seen.append(len(ids))
        sim.set_faults(kind, server_error_burst=2, server_error_status=next(statuses))
        return {}

    pages, _ = run_pass(adapter, known_versions=known_versions)

    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))
    failed = [(path, code) for _, path, code in requests_made(sim, kind) if code >= 500]
    assert len(failed) == 3 + 2 * len(pages_seen)
    assert {code for _, code in failed} == {502, 503, 504}
    assert all(LIST_PATHS[kind].fullmatch(path) for path, _ in failed[:3])
    assert not any(LIST_PATHS[kind].fullmatch(path) for path, _ in failed[3:])
    # Exponential back-off on the fake clock: 0.5 s, 1 s, 2 s for the first burst.
    assert fake_time.sleeps[:3] == [0.5, 1.0, 2.0]
    assert len(fake_time.sleeps) == len(failed)


@parametrize_kind
def test_an_outage_longer_than_the_retries_stops_the_call_and_a_rerun_completes(
    sim, fake_time, kind
):
    # One read at a time: the burst of four must meet one call's four tries
    # (on concurrent lanes, other calls' tries would share it out).
    options = {**SMALL_PAGES[kind], "concurrency": 1}
    adapter = make_adapter(sim, kind, fake_time, options=options)

    committed, error = pages_until_error(
        adapter,
        after_first_page=lambda: sim.set_faults(
            kind, server_error_burst=4, server_error_status=503
        ),
    )

    assert isinstance(error, ProviderUnavailable)
    assert error.status == 503
    assert sim.faults(kind).server_error_burst == 0  # 1 try + 3 retries, no more
    rest, _ = run_pass(adapter, cursor=committed[-1].cursor)
    pages = committed + rest
    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))


@parametrize_kind
def test_a_plain_500_is_not_retried(sim, fake_time, kind):
    # http.py retries 502/503/504 only: a 500 is a provider bug, not an outage.
    adapter = make_adapter(sim, kind, fake_time)
    sim.set_faults(kind, server_error_burst=1, server_error_status=500)

    with pytest.raises(ProviderUnavailable) as raised:
        run_pass(adapter)

    assert raised.value.status == 500
    assert [code for _, _, code in requests_made(sim, kind)] == [500]


# 5b. Rate limits -------------------------------------------------------------------------


@parametrize_kind
def test_rate_limit_with_retry_after_over_the_inline_cap_raises_and_a_rerun_completes(
    sim, fake_time, kind
):
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])

    committed, error = pages_until_error(
        adapter,
        after_first_page=lambda: sim.set_faults(
            kind, rate_limit_burst=1, retry_after_seconds=30
        ),
    )

    assert isinstance(error, ProviderRateLimited)
    assert error.retry_after == 30.0
    assert error.status == 429
    assert 30.0 not in fake_time.sleeps  # never slept inline, by any lane
    sim.set_faults(kind, retry_after_seconds=None)
    fake_time.sleep(error.retry_after)  # the rescheduled run comes after the hold
    rest, _ = run_pass(adapter, cursor=committed[-1].cursor)
    pages = committed + rest
    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))


@parametrize_kind
def test_rate_limit_with_retry_after_under_the_cap_is_waited_out_inline(
    sim, fake_time, kind
):
    adapter = make_adapter(sim, kind, fake_time)
    sim.set_faults(kind, rate_limit_burst=2, retry_after_seconds=2)

    pages, _ = run_pass(adapter)

    assert fake_time.sleeps == [2.0, 2.0]
    assert [code for _, _, code in requests_made(sim, kind)][:3] == [429, 429, 200]
    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))


@parametrize_kind
def test_rate_limit_without_retry_after_backs_off_then_gives_up(sim, fake_time, kind):
    adapter = make_adapter(sim, kind, fake_time)
    sim.set_faults(kind, rate_limit_burst=3, retry_after_seconds=None)

    with pytest.raises(ProviderRateLimited) as raised:
        run_pass(adapter)

    # Two inline waits (1 s, 2 s), then the Celery task is asked to come back.
    assert fake_time.sleeps == [1.0, 2.0]
    assert raised.value.retry_after == DEFAULT_RETRY_AFTER[kind]
    assert [code for _, _, code in requests_made(sim, kind)] == [429, 429, 429]


# 5c. Truncated JSON ------------------------------------------------------------------------


@parametrize_kind
def test_one_truncated_list_page_is_retried_transparently(sim, fake_time, kind):
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])
    sim.set_faults(kind, malformed_burst=1)

    pages, _ = run_pass(adapter)

    assert sim.faults(kind).malformed_burst == 0
    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))


@pytest.mark.parametrize("kind", ["onfido", "complycube"])
def test_truncated_list_page_raises_invalid_and_a_rerun_from_the_cursor_completes(
    sim, fake_time, kind
):
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])

    committed, error = pages_until_error(
        adapter,
        # Twice: the HTTP client retries a body that is not JSON once.
        after_first_page=lambda: sim.set_faults(kind, malformed_burst=2),
    )

    assert isinstance(error, ProviderResponseInvalid)
    assert "not valid JSON" in str(error)
    assert sim.faults(kind).malformed_burst == 0
    rest, _ = run_pass(adapter, cursor=committed[-1].cursor)
    pages = committed + rest
    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))


def test_a_truncated_ica_project_page_skips_that_project_until_the_next_pass(
    sim, fake_time
):
    """ICA: one project answering garbage is reported and the others synced;
    the next pass reads it again (IcaAdapter._project_failure)."""
    adapter = make_adapter(sim, "ica", fake_time, options=SMALL_PAGES["ica"])
    pages: list[Page] = []

    def fault_after_first(page: Page) -> None:
        pages.append(page)
        if len(pages) == 1:
            sim.set_faults("ica", malformed_burst=2)

    first, _ = run_pass(adapter, on_page=fault_after_first)

    [skipped] = [q for page in first for q in page.quarantined]
    assert skipped.record_type == "project"
    assert "not valid JSON" in skipped.reason
    truth = truth_of(sim, "ica")
    of_project = {
        s["id"] for s in truth["sessions"] if s["client_id"] == skipped.external_id
    }
    others = {s["id"] for s in truth["sessions"]} - of_project
    assert of_project - set(by_id(first)), "sessions of the skipped project were left"
    assert others <= set(by_id(first))
    second, _ = run_pass(adapter, cursor=first[-1].cursor)
    assert_clean(second)
    assert_matches_truth("ica", by_id(second), truth)


# 5d. Unknown enum values ---------------------------------------------------------------------


@parametrize_kind
def test_unknown_enum_values_normalise_to_unknown_without_hurting_page_mates(
    sim, fake_time, kind
):
    sim.set_faults(kind, unknown_enum_probability=0.4)
    session_word, check_word = UNKNOWN_WORDS[kind]
    adapter = make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind])

    pages, _ = run_pass(adapter)

    records = by_id(pages)
    assert_clean(pages)
    assert_matches_truth(kind, records, truth_of(sim, kind))  # raw words kept as served
    odd = {i for i, r in records.items() if r.raw_status == session_word}
    assert odd, "the fault should hit some sessions"
    assert len(odd) < len(records)
    for ident, record in records.items():
        if ident in odd:
            assert record.normalised.status == "unknown"
            assert record.normalised.known is False
            assert session_word in record.unknown_values
        else:
            assert record.normalised.status != "unknown"
            assert session_word not in record.unknown_values
    odd_checks = [
        (record, check)
        for record in records.values()
        for check in record.checks
        if check_word in (check.raw_status, check.raw_outcome.split("/")[0])
    ]
    assert odd_checks, "the fault should hit some checks"
    for record, check in odd_checks:
        assert check.normalised.known is False
        assert check_word in record.unknown_values
    # Page-mates of an odd session came through whole on the same page.
    mixed = [
        page
        for page in pages
        if {r.external_id for r in page.sessions} & odd
        and {r.external_id for r in page.sessions} - odd
    ]
    assert mixed


# 5e. Extra fields ------------------------------------------------------------------------------


@parametrize_kind
def test_extra_unexpected_fields_are_kept_raw_and_change_no_parsed_value(
    sim, fake_time, kind
):
    plain = by_id(run_pass(make_adapter(sim, kind, fake_time))[0])
    sim.set_faults(kind, extra_fields=True)

    pages, _ = run_pass(make_adapter(sim, kind, fake_time))

    extra = by_id(pages)
    assert_clean(pages)
    assert sorted(extra) == sorted(plain)
    assert {i: essentials(r) for i, r in extra.items()} == {
        i: essentials(r) for i, r in plain.items()
    }
    key = EXTRA_FIELD_KEYS[kind]
    top = {"onfido": "run", "complycube": "session", "ica": "session"}[kind]
    assert all(key in record.raw[top] for record in extra.values())
    assert all(key not in record.raw[top] for record in plain.values())
    details = {"onfido": "tasks", "complycube": "checks", "ica": "analyses"}[kind]
    assert any(key in item for record in extra.values() for item in record.raw[details])


# 5f. Slow replies ------------------------------------------------------------------------------


@parametrize_kind
def test_replies_slower_than_the_read_timeout_give_unavailable_without_hanging(
    sim, fake_time, kind
):
    adapter = make_adapter(sim, kind, fake_time, read_timeout=0.1)
    sim.set_faults(kind, delay_seconds=0.5)
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable) as raised:
        run_pass(adapter)

    # 4 attempts of 0.1 s and back-off on the fake clock: a hang would take minutes.
    assert time.monotonic() - started < 10.0
    assert raised.value.status is None
    assert "4 attempts" in str(raised.value)
    assert fake_time.sleeps == [0.5, 1.0, 2.0]


# 6. fetch_session ------------------------------------------------------------------------------


@parametrize_kind
def test_fetch_session_returns_the_record_the_pass_returned(sim, fake_time, kind):
    passed = by_id(run_pass(make_adapter(sim, kind, fake_time))[0])
    adapter = make_adapter(sim, kind, fake_time)
    # One of each status word the pass returned.
    samples = {r.raw_status: ident for ident, r in sorted(passed.items())}

    for ident in samples.values():
        assert adapter.fetch_session(ident) == passed[ident]

    assert adapter.fetch_session(UNKNOWN_IDS[kind]) is None


def test_ica_fetch_session_with_the_webhook_hint_searches_only_that_project(
    sim, fake_time
):
    passed = by_id(run_pass(make_adapter(sim, "ica", fake_time))[0])
    ident, record = sorted(passed.items())[0]
    project_id = record.raw["project_id"]
    adapter = make_adapter(sim, "ica", fake_time)
    sim.reset()

    fetched = adapter.fetch_session(
        ident,
        hint={
            "project_id": project_id,
            "user_reference": record.raw["session"]["userReference"],
        },
    )

    assert fetched == record
    searched = {
        path.split("/")[3]
        for _, path, _ in requests_made(sim, "ica")
        if path.endswith("workflowSessions:search")
    }
    assert searched == {project_id}
    assert (
        adapter.fetch_session(UNKNOWN_IDS["ica"], hint={"project_id": project_id})
        is None
    )


# 7. Authentication ------------------------------------------------------------------------------


@parametrize_kind
def test_a_wrong_credential_is_an_auth_error_that_never_shows_it(
    sim, fake_time, kind, secret_logs
):
    credential = f"live_{kind}_Wr0ng-S3cret-0123456789"
    adapter = make_adapter(sim, kind, fake_time, credential=credential)

    with pytest.raises(ProviderAuthError) as from_pass:
        run_pass(adapter)
    with pytest.raises(ProviderAuthError) as from_fetch:
        adapter.fetch_session(UNKNOWN_IDS[kind])

    for error in (from_pass.value, from_fetch.value):
        assert error.status == 401
        for text in (str(error), repr(error), repr(error.args), repr(error.extra)):
            assert credential not in text
    assert credential not in secret_logs.text
    assert credential not in repr(adapter.config)
    assert credential not in repr(adapter.http)
    assert {code for _, _, code in requests_made(sim, kind)} == {401}


# 8. Truncated detail replies: read incompletely now, fetched again next pass --------------

# Which detail replies the fault truncates: a sub-resource, so that the
# session itself is still read (a check/task, a check, the analyses).
DETAIL_FAULT_PATHS = {
    "onfido": r"^/workflow_runs/[^/]+/tasks/[^/]+$",
    "complycube": r"^/checks/",
    "ica": r"/analyses:search$",
}


@parametrize_kind
def test_a_truncated_detail_reply_is_fetched_again_by_the_next_pass(
    sim, fake_time, kind
):
    # One read at a time: the burst of two must meet one call and its retry
    # (on concurrent lanes, two calls could take one truncated reply each).
    adapter = make_adapter(
        sim, kind, fake_time, options={**SMALL_PAGES[kind], "concurrency": 1}
    )
    mirror: dict[str, SessionRecord] = {}
    # Twice in a row: the HTTP client retries a body that is not JSON once.
    sim.set_faults(
        kind, detail_malformed_burst=2, detail_malformed_path=DETAIL_FAULT_PATHS[kind]
    )

    first, _ = run_pass(adapter, on_page=committer(mirror))

    assert sim.faults(kind).detail_malformed_burst == 0
    assert_clean(first)
    assert sorted(mirror) == sorted(s["id"] for s in truth_of(sim, kind)["sessions"])
    [hit] = [ident for ident, record in mirror.items() if record.missing]
    [reason] = mirror[hit].missing
    assert "not valid JSON" in reason
    assert mirror[hit].source_version == ""
    assert all(r.source_version for i, r in mirror.items() if i != hit)
    if kind != "ica":  # ICA walks every session anyway
        assert first[-1].cursor["retry_ids"] == [hit]
    sim.reset()  # clears the request log (and the spent fault)

    second, _ = run_pass(
        make_adapter(sim, kind, fake_time, options=SMALL_PAGES[kind]),
        cursor=first[-1].cursor,
        on_page=committer(mirror),
        refresh_ids=unfinished(mirror),
        # As the sync engine answers: no change marker for an incomplete read.
        known_versions=lambda ids: {
            i: mirror[i].source_version
            for i in ids
            if i in mirror and mirror[i].source_version
        },
    )

    assert hit in {r.external_id for r in records_of(second)}
    assert mirror[hit].missing == []
    assert mirror[hit].source_version
    assert "retry_ids" not in second[-1].cursor
    assert_clean(second)
    assert_matches_truth(kind, mirror, truth_of(sim, kind))
    refetched = [
        path
        for _, path, _ in requests_made(sim, kind)
        if hit in path and not LIST_PATHS[kind].fullmatch(path)
    ]
    assert refetched, "the session's detail was not asked for again"


# 9. The provider's steady rate limit, met by the connection's own pacing -----------------

# A pass over this small world needs about 1.6 times the simulator's bucket (a
# second's worth of requests), so a paced pass takes ~1.6 s while an unpaced
# one, several times faster than the rate, runs into 429s.
PACED_RATES = {"onfido": 30.0, "complycube": 30.0, "ica": 8.0}


@pytest.fixture
def small_sim(settings):
    """A simulator of 10 sessions per provider, without rate limits until a test sets one."""
    from sessions_app.simulator.server import SimulatorServer

    settings.VERITY_HTTP_MAX_INLINE_SLEEP = INLINE_CAP
    server = SimulatorServer(
        port=0,
        seed=7,
        sessions=10,
        speed=0,
        rate_limits={"onfido": None, "complycube": None, "ica": None},
    ).start()
    yield server
    server.stop()


@parametrize_kind
def test_a_pass_paced_to_the_providers_rate_limit_completes_without_a_429(
    small_sim, fake_time, kind
):
    sim, rate = small_sim, PACED_RATES[kind]
    sim.set_faults(kind, rate_limit_rps=rate)
    # Unpaced (and never really waiting), the same pass hits the limit.
    with pytest.raises(ProviderRateLimited):
        run_pass(make_adapter(sim, kind, fake_time))
    assert 429 in {code for _, _, code in requests_made(sim, kind)}
    sim.reset()
    sim.set_faults(kind, rate_limit_rps=rate)  # a full bucket again
    config = ConnectionConfig(
        slug=f"{kind}-paced-{time.monotonic_ns()}",  # its own shared limiter
        kind=kind,
        base_url=sim.base_urls[kind],
        credential=sim.credentials[kind],
        rate_limit_per_second=rate,
    )
    # Real clock and sleep: the simulator's token bucket runs in real time.
    adapter = ADAPTERS[kind](config)

    started = time.monotonic()
    pages, _ = run_pass(adapter)

    made = requests_made(sim, kind)
    assert len(made) > rate * 1.3  # more than the bucket holds
    assert {code for _, _, code in made} == {200}
    assert time.monotonic() - started >= (len(made) - 1) / rate * 0.95
    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))
