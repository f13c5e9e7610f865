"""Concurrent session reads (providers/concurrency.py): bounded, in order, failing
as the sequential loop fails, with caches that fetch once, and no thread left.

Every scenario of the fault matrix is also run on four lanes and compared with
one lane (`test_fault_matrix.test_concurrent_reads_end_every_scenario_as_sequential_reads`).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from sessions_app.exceptions import (
    ProviderBadRequest,
    ProviderConfigurationError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from sessions_app.providers.base import Budget, ConnectionConfig, Page, SessionRecord
from sessions_app.providers.common import (
    BUILD_TOLERATED,
    build_or_quarantine,
    build_stops_page,
    builds_or_quarantine,
    page_of_items,
)
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.concurrency import (
    LANES_ROUND_TRIP,
    FetchOnce,
    ReadPool,
    round_trips,
)
from sessions_app.providers.ica.adapter import IcaAdapter
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from sessions_app.providers.pacing import RateLimiter
from tests.helpers.providers import FakeTime

ADAPTERS = {"onfido": OnfidoAdapter, "complycube": ComplyCubeAdapter, "ica": IcaAdapter}
# Long enough for a test that waits on an event never to hang the suite.
WAIT = 5.0


def record(ident: str) -> SessionRecord:
    from sessions_app.normalization import normalise_session

    return SessionRecord(
        external_id=ident,
        raw_status="complete",
        normalised=normalise_session("complycube", "complete"),
    )


@pytest.fixture(autouse=True)
def lanes_open_at_once(settings):
    """Pools made from settings open their lanes at once, so that these tests
    exercise them even against a simulator answering in a millisecond."""
    settings.VERITY_SYNC_LANES_ROUND_TRIP = 0


def read_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("verity-read-")]


# The pool ---------------------------------------------------------------------------


def test_outcomes_come_back_in_the_order_of_the_calls_whatever_order_they_finish_in():
    # Call i waits for call i+1 to finish: they finish last to first.
    finished = [threading.Event() for _ in range(5)]
    order: list[int] = []

    def call(i: int):
        def run() -> str:
            if i + 1 < len(finished):
                assert finished[i + 1].wait(WAIT)
            order.append(i)
            finished[i].set()
            return f"value {i}"

        return run

    outcomes = ReadPool(5, lanes_round_trip=0).run(
        [call(i) for i in range(5)], stops=lambda e: True
    )

    assert order == [4, 3, 2, 1, 0]
    assert [o.get() for o in outcomes] == [f"value {i}" for i in range(5)]
    assert read_threads() == []


def test_never_more_calls_in_flight_than_lanes():
    condition = threading.Condition()
    in_flight = peak = 0

    def call() -> None:
        nonlocal in_flight, peak
        with condition:
            in_flight += 1
            peak = max(peak, in_flight)
            condition.notify_all()
            # Held a moment, so that a fourth call, if one could start, would
            # be in flight beside the three.
            condition.wait_for(lambda: in_flight > 3, timeout=0.02)
        with condition:
            in_flight -= 1

    ReadPool(3, lanes_round_trip=0).run([call] * 20, stops=lambda e: True)

    assert peak == 3


@pytest.fixture
def provider_key():
    key = f"https://provider.example/{threading.get_ident()}/{id(object())}"
    yield key
    round_trips.forget(key)


def test_reads_of_a_provider_answering_at_once_run_in_the_calling_thread_alone(
    provider_key,
):
    round_trips.note(provider_key, 0.001)  # a simulator on this machine
    threads = []

    ReadPool(4, key=provider_key).run(
        [lambda: threads.append(threading.current_thread())] * 6, stops=lambda e: True
    )

    assert threads == [threading.current_thread()] * 6


def test_reads_of_a_provider_across_a_network_run_on_lanes(provider_key):
    round_trips.note(provider_key, 0.25)
    barrier = threading.Barrier(2, timeout=WAIT)

    outcomes = ReadPool(2, key=provider_key).run(
        [barrier.wait, barrier.wait], stops=lambda e: True
    )

    assert [o.error for o in outcomes] == [None, None]  # the two calls met
    assert read_threads() == []


def test_lanes_open_within_a_page_once_the_provider_is_seen_slow(provider_key):
    barrier = threading.Barrier(2, timeout=WAIT)

    def first() -> None:  # its requests were slow
        round_trips.note(provider_key, 0.2)

    outcomes = ReadPool(2, key=provider_key).run(
        [first, barrier.wait, barrier.wait], stops=lambda e: True
    )

    assert [o.error for o in outcomes] == [None, None, None]


def test_a_single_slow_answer_among_fast_ones_soon_drowns_in_the_average(
    provider_key,
):
    for seconds in (0.001, 0.001, 0.08, *[0.001] * 10):
        round_trips.note(provider_key, seconds)

    assert round_trips.typical(provider_key) < LANES_ROUND_TRIP
    assert round_trips.typical("https://never.example") == 0.0


def test_the_client_notes_each_answers_round_trip_for_its_base_url(sim):
    adapter = simulator_adapter(sim, "complycube", concurrency=2)
    key = adapter.http.base_url
    round_trips.forget(key)

    try:
        list(adapter.iter_pages(cursor={}, budget=Budget(max_pages=1)))

        assert round_trips.typical(key) > 0
        assert adapter.pool.key == key
    finally:
        round_trips.forget(key)  # the simulator's other tests start afresh


def test_one_lane_runs_every_call_in_the_calling_thread():
    threads = []

    ReadPool(1).run(
        [lambda: threads.append(threading.current_thread())] * 3, stops=lambda e: True
    )

    assert threads == [threading.current_thread()] * 3


def test_an_error_that_ends_the_page_starts_no_later_call_and_earlier_ones_finish():
    started: list[int] = []
    failed = threading.Event()

    def call(i: int):
        def run() -> int:
            started.append(i)
            if i == 1:
                assert failed.wait(WAIT)  # still running when call 2 fails
            if i == 2:
                failed.set()
                raise ProviderRateLimited("slow down", retry_after=3)
            return i

        return run

    outcomes = ReadPool(2, lanes_round_trip=0).run(
        [call(i) for i in range(10)], stops=build_stops_page
    )

    assert [o.value for o in outcomes[:2]] == [0, 1]
    assert isinstance(outcomes[2].error, ProviderRateLimited)
    assert len(outcomes) == 3
    # At most the call already claimed by the other lane started after it.
    assert max(started) <= 3
    assert read_threads() == []


def test_the_first_error_in_order_wins_even_when_a_later_call_failed_first():
    first_failed = threading.Event()

    def early() -> None:
        assert first_failed.wait(WAIT)
        raise ProviderUnavailable("down", status=503)

    def later() -> None:
        first_failed.set()
        raise ProviderRateLimited("slow down", retry_after=3)

    page = Page()
    with pytest.raises(ProviderUnavailable):
        builds_or_quarantine(
            page,
            record_type="workflow_session",
            builds=[("a", {}, early), ("b", {}, later)],
            pool=ReadPool(2, lanes_round_trip=0),
        )
    assert read_threads() == []


def test_a_call_that_found_the_connection_held_reports_the_429_that_held_it():
    limited = threading.Event()

    def early() -> None:  # found the connection held by `later`'s 429
        assert limited.wait(WAIT)
        raise ProviderRateLimited("held", retry_after=59, extra={"held": True})

    def later() -> None:
        limited.set()
        raise ProviderRateLimited("slow down (GET /x)", retry_after=60)

    page = Page()
    with pytest.raises(ProviderRateLimited) as caught:
        builds_or_quarantine(
            page,
            record_type="workflow_session",
            builds=[("a", {}, early), ("b", {}, later)],
            pool=ReadPool(2, lanes_round_trip=0),
        )
    assert (caught.value.message, caught.value.retry_after) == (
        "slow down (GET /x)",
        60,
    )


def test_an_interruption_in_one_lane_waits_for_the_call_in_flight_and_starts_no_more():
    other_running = threading.Event()
    release = threading.Event()
    ran: list[str] = []

    def slow() -> str:
        other_running.set()
        assert release.wait(WAIT)
        ran.append("slow")
        return "slow"

    def interrupted() -> str:
        assert other_running.wait(WAIT)
        threading.Timer(0.05, release.set).start()
        raise KeyboardInterrupt

    calls = [interrupted, slow, *[lambda: ran.append("late")] * 5]
    outcomes = ReadPool(2, lanes_round_trip=0).run(calls, stops=build_stops_page)

    assert isinstance(outcomes[0].error, KeyboardInterrupt)
    assert len(outcomes) == 1
    assert ran == ["slow"]  # the call in flight finished; none started after
    assert read_threads() == []


def test_size_is_bounded():
    with pytest.raises(ValueError, match="between 1 and 16"):
        ReadPool(17)
    with pytest.raises(ValueError, match="between 1 and 16"):
        ReadPool(0)


# The page helpers ------------------------------------------------------------------


def test_the_errors_a_build_tolerates_are_those_build_or_quarantine_absorbs():
    for error_class in BUILD_TOLERATED:
        error = error_class("x")
        assert not build_stops_page(error)

        def raise_it(error: BaseException = error) -> None:
            raise error

        build_or_quarantine(
            Page(), record_type="t", ident="i", raw={}, build=raise_it
        )  # absorbed
    for error in (
        ProviderRateLimited("x", retry_after=1),
        ProviderUnavailable("x"),
        RuntimeError("bug"),
    ):
        assert build_stops_page(error)


@pytest.mark.parametrize("lanes", [1, 4])
def test_a_page_with_failing_sessions_is_the_same_on_any_number_of_lanes(lanes):
    def build(ident: str, item: dict[str, Any]) -> SessionRecord | None:
        if ident == "bad":
            raise ProviderBadRequest("no such thing", status=422)
        if ident == "broken":
            raise KeyError("status")
        if ident == "deleted":
            return None
        return record(ident)

    items = [
        {"id": ident}
        for ident in ("a", "bad", "b", "broken", "deleted", "c", "same", "d")
    ]
    page = page_of_items(
        [*items, {"no": "id"}],
        record_type="workflow_session",
        known_versions=lambda ids: {"same": "v1"},
        version_of=lambda item: "v1",
        build=build,
        pool=ReadPool(lanes, lanes_round_trip=0),
    )

    assert [r.external_id for r in page.sessions] == ["a", "b", "c", "d"]
    assert [(q.external_id, q.reason.split(":")[0]) for q in page.quarantined] == [
        ("", "missing 'id'"),
        ("bad", "details could not be read"),
        ("broken", "could not be parsed"),
    ]
    assert page.unchanged_ids == ["same"]
    assert page.gone_ids == ["deleted"]


# FetchOnce --------------------------------------------------------------------------


def test_concurrent_askers_for_one_key_share_one_fetch():
    fetches = Counter()
    release = threading.Event()
    cache: FetchOnce[str, str] = FetchOnce()
    results: list[str] = []

    def fetch() -> str:
        fetches["a"] += 1
        assert release.wait(WAIT)
        return "client a"

    def ask() -> None:
        results.append(cache.get("a", fetch))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join()

    assert fetches["a"] == 1
    assert results == ["client a"] * 6
    assert "a" in cache


def test_a_fetch_that_raises_is_not_cached_and_the_next_asker_fetches_again():
    cache: FetchOnce[str, str] = FetchOnce()
    answers = iter([ProviderRateLimited("slow", retry_after=1), "client a"])

    def fetch() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with pytest.raises(ProviderRateLimited):
        cache.get("a", fetch)
    assert "a" not in cache
    assert cache.get("a", fetch) == "client a"
    assert cache.get("a", fetch) == "client a"  # now cached: no third answer needed


# The adapters on the simulator -----------------------------------------------------


def simulator_adapter(sim, kind: str, **options: Any):
    config = ConnectionConfig(
        slug=f"{kind}-lanes",
        kind=kind,
        base_url=sim.base_urls[kind],
        credential=sim.credentials[kind],
        options=options,
        rate_limit_per_second=0.0,
    )
    fake_time = FakeTime()
    http = ADAPTERS[kind].make_http(
        config, sleep=fake_time.sleep, rate_limiter=RateLimiter(0.0)
    )
    return ADAPTERS[kind](config, http=http)


class InFlight:
    """Wraps the simulator's request handler: counts requests being answered at
    once, holding each one a moment (or until more than `lanes` are in
    flight), so that a pool that could exceed its bound would be seen to."""

    def __init__(self, sim, lanes: int) -> None:
        self.handle = sim.simulator.handle
        self.lanes = lanes
        self.now = self.peak = 0
        self.paths: Counter[str] = Counter()
        self.condition = threading.Condition()

    def __call__(self, request):
        with self.condition:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.paths[request.path] += 1
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.now > self.lanes, timeout=0.02)
        try:
            return self.handle(request)
        finally:
            with self.condition:
                self.now -= 1


@pytest.fixture
def sim(simulator):
    simulator.reset()
    yield simulator
    simulator.simulator.__dict__.pop("handle", None)
    simulator.reset()


@pytest.mark.parametrize("kind", ["onfido", "complycube", "ica"])
def test_a_pass_never_has_more_requests_in_flight_than_its_concurrency(sim, kind):
    counter = InFlight(sim, lanes=3)
    sim.simulator.handle = counter
    adapter = simulator_adapter(sim, kind, concurrency=3)

    pages = list(adapter.iter_pages(cursor={}, budget=Budget(max_pages=1000)))

    assert pages[-1].done
    assert counter.peak == 3
    assert read_threads() == []


@pytest.mark.parametrize("kind", ["onfido", "complycube", "ica"])
def test_a_pass_reads_the_same_records_in_the_same_order_on_any_number_of_lanes(
    sim, kind
):
    def records(lanes: int) -> list[list[SessionRecord]]:
        adapter = simulator_adapter(sim, kind, concurrency=lanes)
        return [
            page.sessions
            for page in adapter.iter_pages(cursor={}, budget=Budget(max_pages=1000))
        ]

    sequential = records(1)
    concurrent = records(8)

    assert sum(map(len, sequential)) >= 20
    assert concurrent == sequential


@pytest.mark.parametrize(
    ("kind", "shared"),
    [("onfido", "/applicants/"), ("complycube", "/clients/")],
)
def test_a_client_shared_by_sessions_read_at_once_is_fetched_once(sim, kind, shared):
    counter = InFlight(sim, lanes=8)
    sim.simulator.handle = counter
    adapter = simulator_adapter(sim, kind, concurrency=8)

    list(adapter.iter_pages(cursor={}, budget=Budget(max_pages=1000)))

    fetched = {path: n for path, n in counter.paths.items() if shared in path}
    assert fetched
    assert set(fetched.values()) == {1}
    served = sim.state()["providers"][kind]["sessions"]
    clients = {session["client_id"] for session in served}
    assert len(fetched) == len(clients) < len(served)  # clients hold several sessions


def test_the_concurrency_option_is_checked():
    config = ConnectionConfig(
        slug="c",
        kind="complycube",
        base_url="https://api.complycube.com/v1",
        credential="k",
        options={"concurrency": 0},
    )
    with pytest.raises(ProviderConfigurationError, match="'concurrency'"):
        ComplyCubeAdapter(config)


def test_the_concurrency_setting_is_the_default(settings):
    settings.VERITY_SYNC_CONCURRENCY = 6
    config = ConnectionConfig(
        slug="c",
        kind="ica",
        base_url="https://ica.illumina.com/ica/rest",
        credential="k",
    )
    assert IcaAdapter(config).pool.size == 6
    config.options = {"concurrency": "2"}
    assert IcaAdapter(config).pool.size == 2
