"""A real Celery worker (prefork, two processes, the embedded filesystem
broker, a SQLite file) is sent SIGTERM while a sync runs in one of its pool
children: a warm shutdown.

Celery does not signal its pool children on a warm shutdown; it waits for
their tasks. config/celery.py forwards the shutdown to them
(`sync.stopping.STOP_SIGNAL`), so the sync stops after its current page,
marks its run `interrupted`, releases the lease and queues its continuation,
which the next worker runs at once: the mirror ends equal to the ground
truth, every session created once, no run left `running`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.processes import stop, wait_until
from tests.sessions_app.management.test_sync_providers_signals import (  # noqa: F401 - fixtures
    KIND,
    file_db,
    slow_simulator,
    sqlite_template,
)

pytestmark = [pytest.mark.simulator, pytest.mark.timeout(600)]

WORKER = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "config",
    "worker",
    "-P",
    "prefork",
    "-c",
    "2",
    "-l",
    "info",
    "--without-gossip",
    "--without-mingle",
    "--pidfile=",
]


def _enqueue_sync(db) -> None:
    db.query(
        f"""
        from sessions_app.models import ProviderConnection
        from sessions_app.tasks import sync_connection
        pk = ProviderConnection.objects.get(slug={KIND!r}).pk
        sync_connection.apply_async(kwargs={{"connection_id": pk, "trigger": "manual"}})
        result = pk
        """
    )


def test_sigterm_to_the_worker_stops_the_sync_after_its_page_and_the_next_worker_resumes(
    file_db,  # noqa: F811 - the fixtures imported above
    slow_simulator,  # noqa: F811
    tmp_path,
):
    # Slower than the command's tests: the pass must still be far from its end
    # when the signal lands, however loaded the machine is.
    slow_simulator.set_faults(KIND, delay_seconds=0.1)
    _enqueue_sync(file_db)
    log = tmp_path / "worker-1.log"
    worker = file_db.popen(WORKER, log)
    try:
        wait_until(
            "the sync committed two pages",
            lambda: file_db.pages_committed() >= 2,
            process=worker,
            log=log,
        )
        worker.send_signal(signal.SIGTERM)  # the main process only: a warm shutdown
        worker.wait(timeout=120)
    finally:
        stop(worker)
    output = log.read_text(errors="replace")
    assert "interrupted; its continuation is queued" in output, output[-4000:]

    [run] = file_db.runs(KIND)
    assert run["state"] == "interrupted", output[-4000:]
    assert run["error_kind"] == "interrupted"
    assert "stopped by the worker's shutdown" in run["error"]
    assert run["pages"] >= 2
    assert file_db.lease(KIND)["lock_token"] == ""

    # The next worker takes the queued continuation at once.
    slow_simulator.set_faults(KIND, delay_seconds=0)
    log = tmp_path / "worker-2.log"
    worker = file_db.popen(WORKER, log)
    try:
        runs = wait_until(
            "the continuation finished the pass",
            lambda: (
                (runs := file_db.runs(KIND))
                and runs[-1]["state"] == "succeeded"
                and runs
            ),
            process=worker,
            log=log,
        )
    finally:
        stop(worker)
    assert [r["state"] for r in runs] == ["interrupted", "succeeded"]
    assert runs[1]["cursor_before"] == runs[0]["cursor_after"]
    truth = slow_simulator.state()
    assert file_db.mirror_differences(truth, KIND) == []
    assert (
        sum(r["created"] for r in runs)
        == truth["providers"][KIND]["counts"]["sessions"]
    )


def _children(pid: int) -> list[int]:
    """The worker's pool processes (Linux: /proc lists a process's children)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs /proc/<pid>/task/<pid>/children (Linux)")
    return [int(child) for child in path.read_text().split()]


def test_sigterm_to_the_pool_child_itself_stops_the_sync_and_the_worker_carries_on(
    file_db,  # noqa: F811 - the fixtures imported above
    slow_simulator,  # noqa: F811
    tmp_path,
):
    """As systemd's default KillMode does, or a cold shutdown terminating the
    pool: the child running the sync gets SIGTERM directly. The sync stops
    after its page, queues its continuation, and the child exits; the worker,
    not shutting down, replaces it and runs the continuation to the end. The
    lost first message is not run again (no third run)."""
    slow_simulator.set_faults(KIND, delay_seconds=0.1)
    _enqueue_sync(file_db)
    log = tmp_path / "worker.log"
    worker = file_db.popen(WORKER, log)
    try:
        wait_until(
            "the sync committed two pages",
            lambda: file_db.pages_committed() >= 2,
            process=worker,
            log=log,
        )
        for child in _children(worker.pid):
            os.kill(child, signal.SIGTERM)
        slow_simulator.set_faults(KIND, delay_seconds=0)
        runs = wait_until(
            "the continuation finished the pass",
            lambda: (
                (runs := file_db.runs(KIND))
                and runs[-1]["state"] == "succeeded"
                and runs
            ),
            process=worker,
            log=log,
        )
        time.sleep(2)  # a redelivered copy of the first message would show up now
        runs = file_db.runs(KIND)
    finally:
        stop(worker)
    output = log.read_text(errors="replace")
    assert [r["state"] for r in runs] == ["interrupted", "succeeded"], output[-4000:]
    assert "stopped by SIGTERM" in runs[0]["error"]
    assert runs[1]["cursor_before"] == runs[0]["cursor_after"]
    truth = slow_simulator.state()
    assert file_db.mirror_differences(truth, KIND) == []
    assert file_db.lease(KIND)["lock_token"] == ""
