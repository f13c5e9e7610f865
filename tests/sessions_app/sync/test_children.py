"""Fresh children (`sync.children`, `schedule.children_due`): checks that
progress while their session holds still are re-read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from sessions_app.exceptions import ProviderResponseInvalid
from sessions_app.models import (
    Check,
    ProviderConnection,
    QuarantinedRecord,
    SyncRunState,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.providers.base import Budget
from sessions_app.simulator.server import SimulatorServer
from sessions_app.sync import children
from sessions_app.sync import engine as sync
from sessions_app.sync.children import pass_started_at
from sessions_app.sync.schedule import children_due, children_unread
from tests.sessions_app.fake_provider import FakeAdapter, fake_provider_install

pytestmark = pytest.mark.django_db

KINDS = ("onfido", "complycube", "ica")


@dataclasses.dataclass(frozen=True)
class StillSession:
    """A session whose checks change between `first` and `later` (simulated
    seconds) while the session itself, and its change marker, hold still."""

    external_id: str
    first: int
    later: int


def complycube_still(world) -> StillSession:
    """A session processing with its checks pending, then all of them complete."""
    for session in world.complycube.sessions:
        started = session.timeline.reached("processing")
        complete = session.timeline.reached("complete")
        checks = len(session.checks)
        if started is None or complete is None or started < 0 or checks < 2:
            continue
        first = started + checks + 1  # every check exists, pending
        if first < complete - checks - 1:
            return StillSession(session.id, first, complete - 1)
    raise AssertionError("no ComplyCube session fits")


def onfido_still(world) -> StillSession:
    """A run processing with one report task started, then all of them complete."""
    for run in world.onfido.sessions:
        started = run.timeline.reached("processing")
        if started is None or started < 0 or run.timeline.final == "error":
            continue
        ended = run.timeline.after(started)
        reports = [task for task in run.tasks if task.report]
        if ended is not None and len(reports) >= 2 and started + 2 < ended - 4:
            return StillSession(run.id, started + 2, ended - 1)
    raise AssertionError("no Onfido run fits")


def ica_still(world) -> StillSession:
    """A session in progress with one analysis requested, then all in progress."""
    for session in world.ica.sessions:
        running = session.timeline.reached("IN_PROGRESS")
        if running is None or running < 0 or len(session.analyses) < 2:
            continue
        following = session.timeline.after(running)
        later = running + len(session.analyses) + 3
        if following is not None and later < following - 2:
            return StillSession(session.id, running, later)
    raise AssertionError("no ICA session fits")


# The passes of these tests run back to back, each as if it came one sync
# interval after the last: an interval of 0 (the rule that an interval must
# pass between two re-reads of a session has its own test).
BACK_TO_BACK = 0

STILL = {"complycube": complycube_still, "onfido": onfido_still, "ica": ica_still}


@pytest.fixture
def past_simulator():
    """A simulator whose timestamps lie a day in the past (so ComplyCube's
    high-water mark is not capped at the pass start), time frozen."""
    server = SimulatorServer(
        port=0,
        seed=7,
        sessions=30,
        speed=0,
        start=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        rate_limits={"onfido": None, "complycube": None, "ica": None},
    )
    server.start()
    yield server
    server.stop()


def _connect(simulator, kind, monkeypatch, **options) -> ProviderConnection:
    credential_env = f"VERITY_PROVIDER_SIM_TEST_{kind.upper()}_CREDENTIAL"
    monkeypatch.setenv(credential_env, simulator.credentials[kind])
    call_command(
        "configure_provider",
        "--kind",
        kind,
        "--slug",
        kind,
        "--base-url",
        simulator.base_urls[kind],
        "--credential-env",
        credential_env,
        "--rate-limit",
        "1000",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    connection = ProviderConnection.objects.get(slug=kind)
    if options:
        connection.options = {**connection.options, **options}
        connection.save(update_fields=["options"])
    return connection


def _served(simulator, kind: str, external_id: str) -> list[tuple[str, str]]:
    sessions = simulator.state()["providers"][kind]["sessions"]
    session = next(s for s in sessions if s["id"] == external_id)
    return sorted((check["type"], check["status"]) for check in session["checks"])


def _mirrored(connection, external_id: str) -> tuple[WorkflowSession, list]:
    session = WorkflowSession.objects.get(
        connection=connection, external_id=external_id
    )
    checks = Check.objects.filter(session=session)
    return session, sorted(checks.values_list("check_type", "raw_status"))


# --- each provider, through its real adapter against the simulator ----------------


@pytest.mark.simulator
@pytest.mark.parametrize("kind", KINDS)
def test_checks_progressing_under_a_still_session_are_shown_within_two_passes(
    past_simulator, monkeypatch, settings, kind
):
    settings.VERITY_RETRY_JITTER_SECONDS = 0
    # ComplyCube without look-back: its `updatedAfter` listing then leaves the
    # still session out, as it does for a session still for longer than that.
    options = {"lookback_minutes": 0} if kind == "complycube" else {}
    connection = _connect(past_simulator, kind, monkeypatch, **options)
    ProviderConnection.objects.filter(pk=connection.pk).update(
        sync_interval_seconds=BACK_TO_BACK
    )
    connection.refresh_from_db()
    still = STILL[kind](past_simulator.world)
    past_simulator.advance(still.first)
    sync.provider_sync_pass(connection=connection, trigger=SyncTrigger.SCHEDULE)
    before, checks_before = _mirrored(connection, still.external_id)
    assert checks_before == _served(past_simulator, kind, still.external_id)

    past_simulator.advance(still.later - still.first)
    served = _served(past_simulator, kind, still.external_id)
    assert served != checks_before  # the checks moved on at the provider

    shown_after = None
    for incremental in (1, 2):
        sync.provider_sync_pass(connection=connection, trigger=SyncTrigger.SCHEDULE)
        session, checks = _mirrored(connection, still.external_id)
        # The session held still: same status, same change marker.
        assert (session.raw_status, session.source_version) == (
            before.raw_status,
            before.source_version,
        )
        if checks == served:
            shown_after = incremental
            break
    assert shown_after is not None, f"{kind}: still {checks}, the provider has {served}"
    assert session.detail_read_at > before.detail_read_at


# --- the rotation, against an in-memory provider -----------------------------------


def _fetched(provider) -> list[str]:
    return [external_id for external_id, _ in provider.fetch_calls]


def _read_at(connection, **stamps: dt.datetime | None) -> None:
    for external_id, moment in stamps.items():
        WorkflowSession.objects.filter(
            connection=connection, external_id=external_id
        ).update(detail_read_at=moment)


def _still_provider(monkeypatch, count: int, **install):
    """A provider with `count` processing sessions, all synced once."""
    install.setdefault("sync_interval_seconds", BACK_TO_BACK)
    provider, connection = fake_provider_install(monkeypatch, page_size=10, **install)
    provider.use_versions = True
    for n in range(count):
        provider.add(
            f"run-{n}", status="processing", checks=[(f"c-{n}", "pending", "")]
        )
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    return provider, connection


def test_final_sessions_are_never_re_read_and_none_twice_in_a_pass(monkeypatch):
    provider, connection = fake_provider_install(
        monkeypatch, page_size=10, sync_interval_seconds=BACK_TO_BACK
    )
    provider.use_versions = True
    provider.add("done-1", status="approved", checks=[("c-1", "complete", "clear")])
    provider.add("live-1", status="processing", checks=[("c-2", "pending", "")])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    final_read = WorkflowSession.objects.get(external_id="done-1").detail_read_at

    provider.unlisted = {"done-1", "live-1"}  # a window that shows neither
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    assert _fetched(provider) == ["live-1", "live-1"]  # by id, once per pass

    provider.unlisted = set()  # listed again: the listing reads it, not by id
    provider.change("live-1", checks=[("c-2", "complete", "clear")], version=1)
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    assert _fetched(provider) == ["live-1", "live-1"]
    assert provider.listed_unchanged[-1] == ["done-1"]
    assert (
        WorkflowSession.objects.get(external_id="done-1").detail_read_at == final_read
    )
    live = WorkflowSession.objects.get(external_id="live-1")
    assert list(live.checks.values_list("raw_status", flat=True)) == ["complete"]


def test_the_re_read_runs_on_the_connections_read_pool(monkeypatch):
    from sessions_app.providers.concurrency import ReadPool
    from tests.sessions_app.fake_provider import FakeAdapter

    provider, connection = _still_provider(monkeypatch, 6)
    provider.unlisted = set(provider.sessions)  # only the by-id phase reads them
    monkeypatch.setattr(
        FakeAdapter, "pool", ReadPool(3, lanes_round_trip=0), raising=False
    )
    together = threading.Barrier(3, timeout=5)  # three reads in flight at once
    in_flight = peak = 0
    lock = threading.Lock()
    fetch = FakeAdapter.fetch_session

    def fetch_in_lanes(self, external_id, *, hint=None):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            together.wait()  # raises BrokenBarrierError if the reads ran one by one
            return fetch(self, external_id, hint=hint)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(FakeAdapter, "fetch_session", fetch_in_lanes)
    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == SyncRunState.SUCCEEDED, run.error
    assert peak == 3
    assert sorted(_fetched(provider)) == sorted(provider.sessions)


def test_the_rotation_takes_the_least_recently_read_first_and_is_bounded(
    monkeypatch, settings
):
    settings.VERITY_SYNC_CHILDREN_LIMIT = 2
    provider, connection = _still_provider(monkeypatch, 5)
    base = timezone.now() - dt.timedelta(hours=1)
    _read_at(
        connection,
        **{
            "run-0": base + dt.timedelta(minutes=4),
            "run-1": base + dt.timedelta(minutes=1),
            "run-2": base + dt.timedelta(minutes=3),
            "run-3": None,  # never read in full: first
            "run-4": base + dt.timedelta(minutes=2),
        },
    )
    provider.unlisted = set(provider.sessions)

    for _ in range(3):
        sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    # Two per run, oldest read first; run-3 and run-1, read in the first run
    # (the same moment), come round again after the others, by id.
    assert _fetched(provider) == ["run-3", "run-1", "run-4", "run-2", "run-0", "run-1"]


class ReadsBudget(Budget):
    """A budget whose time runs out once the provider has served `reads`
    fetches by id (what a deadline does, without a clock in the test)."""

    def __init__(self, provider, reads: int) -> None:
        super().__init__(max_pages=50, max_seconds=3600)
        self.provider, self.until = provider, len(provider.fetch_calls) + reads

    def exhausted(self, pages_done: int) -> bool:
        return len(self.provider.fetch_calls) >= self.until or super().exhausted(
            pages_done
        )


@pytest.mark.parametrize("cut", ["time", "pages"])
def test_a_run_cut_by_its_budget_continues_the_rotation_next_run(monkeypatch, cut):
    provider, connection = _still_provider(monkeypatch, 4)
    base = timezone.now() - dt.timedelta(hours=1)
    _read_at(
        connection,
        **{f"run-{n}": base + dt.timedelta(minutes=n) for n in range(4)},
    )
    provider.unlisted = set(provider.sessions)
    provider.change("run-2", checks=[("c-2", "complete", "clear")], version=1)

    def budget() -> Budget:
        if cut == "time":
            return ReadsBudget(provider, 2)
        # One page for the (empty) listing, then two pages of one session.
        monkeypatch.setattr(children, "CHILDREN_PAGE_SIZE", 1)
        return Budget(max_pages=3)

    first = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, budget=budget()
    )
    assert first.state == SyncRunState.SUCCEEDED  # the pass itself is done
    assert _fetched(provider) == ["run-0", "run-1"]
    second = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, budget=budget()
    )
    assert second.updated == 1  # run-2's check completed
    assert _fetched(provider) == ["run-0", "run-1", "run-2", "run-3"]
    assert list(
        Check.objects.filter(session__external_id="run-2").values_list(
            "raw_status", flat=True
        )
    ) == ["complete"]


def test_a_pass_over_several_runs_reads_no_session_twice(monkeypatch):
    provider, connection = _still_provider(monkeypatch, 4)
    provider.page_size = 2
    provider.walker_cursor = True  # the cursor says when the pass began

    first = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, budget=Budget(max_pages=1)
    )
    second = sync.provider_sync(
        connection=connection, trigger=SyncTrigger.SCHEDULE, budget=Budget(max_pages=5)
    )

    # Each run's listing read its two sessions in full (they were due); the
    # finished pass fetched none by id again: run-0 and run-1 were read in
    # full earlier in this same pass.
    assert (first.state, first.seen, second.state, second.seen) == (
        SyncRunState.PARTIAL,
        2,
        SyncRunState.SUCCEEDED,
        2,
    )
    assert provider.listed_unchanged[-2:] == [[], []]
    assert _fetched(provider) == []


def test_what_the_provider_lost_or_garbled_is_gone_or_quarantined_not_fatal(
    monkeypatch,
):
    provider, connection = _still_provider(monkeypatch, 3)
    provider.unlisted = set(provider.sessions)
    del provider.sessions["run-0"]  # 404 at the provider
    original = FakeAdapter.fetch_session

    def garbled(self, external_id, *, hint=None):
        if external_id == "run-1":
            raise ProviderResponseInvalid("not JSON", provider="fake")
        return original(self, external_id, hint=hint)

    monkeypatch.setattr(FakeAdapter, "fetch_session", garbled)

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert (run.state, run.quarantined) == (SyncRunState.SUCCEEDED, 1)
    assert QuarantinedRecord.objects.get().external_id == "run-1"
    assert WorkflowSession.objects.filter(external_id="run-0").exists()  # kept
    assert _fetched(provider) == ["run-0", "run-2"]  # run-1 raised before the fake


# --- the selection --------------------------------------------------------------------


def test_the_selection_is_two_queries_whatever_the_number_of_sessions(
    monkeypatch, django_assert_max_num_queries
):
    _, connection = _still_provider(monkeypatch, 30)
    WorkflowSession.objects.filter(external_id__in=["run-3", "run-7"]).update(
        detail_read_at=None
    )
    later = timezone.now() + dt.timedelta(seconds=1)

    with django_assert_max_num_queries(2):  # the never read, then the oldest read
        due = children_due(connection=connection, read_before=later, limit=5)
    with django_assert_max_num_queries(1):
        unread = children_unread(
            connection=connection, external_ids=due, read_before=later
        )

    assert due[:2] == ["run-3", "run-7"]
    assert len(due) == 5
    assert [ident for ident, _ in unread] == due
    assert unread[0][1]["id"] == "run-3"  # the stored payload, for the hint
    assert children_due(connection=connection, read_before=later, limit=0) == []
    # Those read in full since the moment given are not due.
    a_day_ago = timezone.now() - dt.timedelta(days=1)
    assert children_due(connection=connection, read_before=a_day_ago) == [
        "run-3",
        "run-7",
    ]


def test_pass_started_at_is_when_the_walkers_pass_began_else_now():
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    began = {"mode": "incremental", "started_at": "2026-03-02T11:00:00Z"}
    cursor = {"v": 1, "last_pass_started_at": "2026-03-01T11:00:00Z", "pass": began}

    assert pass_started_at(cursor, full=False, now=now) == now - dt.timedelta(hours=1)
    assert pass_started_at(cursor, full=True, now=now) == now  # a full pass begins
    assert pass_started_at({"v": 1}, full=False, now=now) == now
    assert pass_started_at({"offset": 3}, full=False, now=now) == now
    assert pass_started_at(None, full=False, now=now) == now
    future = {"v": 1, "pass": {**began, "started_at": "2026-03-03T11:00:00Z"}}
    assert pass_started_at(future, full=False, now=now) == now


def test_a_final_looking_session_in_rotation_is_due_only_while_a_check_is_open(
    monkeypatch,
):
    # Onfido `review` looks final (completed) but stays in rotation, since a
    # person may still decide it: its checks are re-read only until all are final.
    provider, connection = fake_provider_install(
        monkeypatch, page_size=10, sync_interval_seconds=BACK_TO_BACK
    )
    provider.add("rev-done", status="review", checks=[("c-1", "complete", "clear")])
    provider.add("rev-open", status="review", checks=[("c-2", "in_progress", "")])
    provider.add("live", status="processing", checks=[("c-3", "complete", "clear")])
    provider.add("done", status="approved", checks=[("c-4", "in_progress", "")])
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    later = timezone.now() + dt.timedelta(seconds=1)

    due = children_due(connection=connection, read_before=later)

    assert sorted(due) == ["live", "rev-open"]
    assert [
        i
        for i, _ in children_unread(
            connection=connection,
            external_ids=["rev-done", "live", "done"],
            read_before=later,
        )
    ] == ["live"]


def test_a_session_read_within_one_sync_interval_is_not_re_read(monkeypatch):
    provider, connection = _still_provider(monkeypatch, 3, sync_interval_seconds=300)
    provider.unlisted = set(provider.sessions)

    # A pass right after the first: everything was read seconds ago.
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    assert _fetched(provider) == []

    # One interval later they are due again (oldest read first).
    an_interval_ago = timezone.now() - dt.timedelta(seconds=301)
    _read_at(connection, **{f"run-{n}": an_interval_ago for n in range(3)})
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    assert sorted(_fetched(provider)) == ["run-0", "run-1", "run-2"]


def test_children_read_before_is_the_pass_start_or_one_interval_ago():
    from sessions_app.sync.children import children_read_before

    now = timezone.now()
    started = now - dt.timedelta(seconds=30)
    assert children_read_before(started, now=now, interval_seconds=300) == (
        now - dt.timedelta(seconds=300)
    )
    assert children_read_before(started, now=now, interval_seconds=10) == started
