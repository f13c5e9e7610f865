"""`sync.collector`: a pass collects garbage once per committed batch, and
leaves the collector as it found it."""

from __future__ import annotations

import gc
import weakref

import pytest

from sessions_app.models import SyncTrigger, WorkflowSession
from sessions_app.sync import collector
from sessions_app.sync import engine as sync
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def collections(monkeypatch):
    """The generations `gc.collect` is asked for."""
    asked: list[int] = []
    real = gc.collect

    def collect(generation: int = 2) -> int:
        asked.append(generation)
        return real(generation)

    monkeypatch.setattr(collector.gc, "collect", collect)
    return asked


def test_a_pass_runs_with_automatic_collection_paused_and_restores_it(
    monkeypatch, settings, collections
):
    settings.VERITY_SYNC_BATCH_SIZE = 2
    provider, connection = fake_provider_install(monkeypatch, page_size=2)
    for n in range(5):
        provider.add(f"wr-{n}")
    seen = []
    original_iter = sync.adapter_for

    def adapter_for(conn):
        adapter = original_iter(conn)
        pages = adapter.iter_pages

        def iter_pages(**kwargs):
            for page in pages(**kwargs):
                seen.append(gc.isenabled())
                yield page

        adapter.iter_pages = iter_pages
        return adapter

    monkeypatch.setattr(sync, "adapter_for", adapter_for)
    assert gc.isenabled()

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert WorkflowSession.objects.count() == 5
    assert seen == [False, False, False]  # paused while reading each page
    assert gc.isenabled()  # and restored
    assert collections == [0, 0, 0]  # one young collection per committed batch


def test_a_failing_pass_restores_automatic_collection(monkeypatch):
    provider, connection = fake_provider_install(monkeypatch, page_size=1)
    provider.add("wr-1")
    provider.add("wr-2")
    provider.fail_at_page = 1

    run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert run.state == "failed"
    assert gc.isenabled()


def test_collection_turned_off_by_someone_else_stays_off(collections):
    gc.disable()
    try:
        with collector.collection_paused():
            collector.after_batch()
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert collections == []  # not this pass's to collect


def test_after_batch_collects_cycles_and_older_generations_on_cpythons_ratios(
    collections,
):
    with collector.collection_paused():
        garbage = Cycle()
        gone = weakref.ref(garbage)
        del garbage
        # Enough allocations for several automatic collections, were any on.
        churn = [[] for _ in range(gc.get_threshold()[0] * 5)]
        assert gone() is not None  # no automatic collection in a pass
        del churn
        collector.after_batch()
        assert gone() is None
        for _ in range(collector.OLDEST_EVERY - 1):
            collector.after_batch()

    assert collections.count(2) == 1
    assert collections.count(1) == collector.OLDEST_EVERY // collector.MIDDLE_EVERY - 1
    collector.after_batch()  # outside a pass: nothing
    assert len(collections) == collector.OLDEST_EVERY


def test_passes_in_threads_share_the_pause_and_each_collects_after_its_batches():
    import threading

    a_inside, b_done, results = threading.Event(), threading.Event(), {}

    def pass_a() -> None:
        with collector.collection_paused():
            a_inside.set()
            b_done.wait(5)
            results["enabled_while_a_runs"] = gc.isenabled()

    def pass_b() -> None:
        a_inside.wait(5)
        with collector.collection_paused():
            garbage = Cycle()
            gone = weakref.ref(garbage)
            del garbage
            collector.after_batch()
            results["b_cycle_collected"] = gone() is None
            results["enabled_in_b"] = gc.isenabled()
        results["enabled_after_b"] = gc.isenabled()
        b_done.set()

    threads = [threading.Thread(target=pass_a), threading.Thread(target=pass_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert results == {
        "b_cycle_collected": True,  # B collects after its own batch
        "enabled_in_b": False,
        "enabled_after_b": False,  # A still runs: still paused
        "enabled_while_a_runs": False,
    }
    assert gc.isenabled()  # the last pass ended: restored
