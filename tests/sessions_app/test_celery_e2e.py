"""End to end: a real Celery worker (prefork, two processes) on Redis syncs the
simulator into PostgreSQL, with tasks contending for each provider's lease.

Skipped unless `VERITY_CELERY_E2E=1`. With it set, a missing prerequisite
(`CELERY_BROKER_URL=redis://…` reachable, a PostgreSQL `DATABASE_URL`) FAILS
the test: CI sets the variable precisely so this test cannot pass unseen. The
test database is a live one (`transactional_db`), so the worker subprocess
sees what the test writes and the test sees what the worker writes.

The worker gets a one-page budget per task (`VERITY_SYNC_MAX_PAGES=1`) and
small provider pages, so every provider's pass takes a chain of several
tasks; every provider is dispatched twice at once, so two tasks race for its
lease. What must hold whatever the timing: exactly one copy per provider
loses (recorded `skipped`, or dropped as "not due" once the winner started),
one unbroken chain of runs carries the pass (each resumes from the cursor the
previous one committed), and the mirror equals the simulator's ground truth.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection as db_conn

from sessions_app.models import ProviderConnection, SyncRun, SyncRunState, SyncTrigger
from tests.sessions_app.mirror import KINDS, mirror_differences

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
ENABLED = os.environ.get("VERITY_CELERY_E2E") == "1"

pytestmark = [
    pytest.mark.celery_e2e,
    pytest.mark.simulator,
    pytest.mark.skipif(not ENABLED, reason="set VERITY_CELERY_E2E=1 to run"),
]

REPO = Path(__file__).resolve().parents[2]
WAIT_SECONDS = float(os.environ.get("VERITY_CELERY_E2E_TIMEOUT", "300"))
# Small provider pages: 30 simulated sessions become several pages, and with a
# one-page budget several chained tasks per provider.
PAGE_OPTIONS = {
    "onfido": "batch_size=10",
    "complycube": "page_size=10",
    "ica": "page_size=10",
}
DROPPED = re.compile(r"Sync of (\S+) is not due any more; dropping a duplicate")


def _database_url() -> str:
    """The URL of the (live) test database this test process uses."""
    s = db_conn.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "localhost"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


def _purge_broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        for queue in app.amqp.queues:
            conn.default_channel.queue_purge(queue)


def _prerequisites_check() -> None:
    """Fail (never skip) when the variable asks for this test and it cannot run."""
    problems = []
    if not BROKER_URL.startswith("redis"):
        problems.append(f"CELERY_BROKER_URL must be redis://… (is {BROKER_URL!r})")
    if db_conn.vendor != "postgresql":
        problems.append(
            f"DATABASE_URL must be PostgreSQL, shared with the worker (is {db_conn.vendor})"
        )
    if not problems:
        from config.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=2)
        except Exception as exc:
            problems.append(f"Redis at {BROKER_URL} is not reachable: {exc}")
    if problems:
        pytest.fail("VERITY_CELERY_E2E=1 but " + "; ".join(problems))


class LiveWorker:
    """A `celery -A config worker -c 2` subprocess, started on demand."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
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
                "--pidfile=",
            ],
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return (
            self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        )

    def tail(self) -> str:
        return self.log()[-5000:]

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()


@pytest.fixture
def live_celery(
    transactional_db, simulator, monkeypatch, tmp_path
) -> Iterator[LiveWorker]:
    """Configure the simulated providers; yield a worker the test starts itself."""
    _prerequisites_check()
    from config.celery import app

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
        # One page per task: every pass is a chain of continuations.
        "VERITY_SYNC_MAX_PAGES": "1",
    }
    for kind in KINDS:
        name = f"VERITY_PROVIDER_E2E_{kind.upper()}_CREDENTIAL"
        monkeypatch.setenv(name, simulator.credentials[kind])
        env[name] = simulator.credentials[kind]
        call_command(
            "configure_provider",
            "--kind",
            kind,
            "--slug",
            kind,
            "--base-url",
            simulator.base_urls[kind],
            "--credential-env",
            name,
            "--interval",
            "30",
            "--option",
            PAGE_OPTIONS[kind],
            stdout=StringIO(),
            stderr=StringIO(),
        )
    # This process only sends: tasks must travel through Redis to the worker.
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    _purge_broker()
    worker = LiveWorker(env, tmp_path / "worker.log")
    try:
        yield worker
    finally:
        worker.stop()
        _purge_broker()


def _wait_for(
    worker: LiveWorker,
    what: str,
    done: Callable[[], bool],
    *,
    seconds: float = WAIT_SECONDS,
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        assert worker.process is not None
        if worker.process.poll() is not None:
            pytest.fail(
                f"worker exited with {worker.process.returncode}:\n{worker.tail()}"
            )
        failed = SyncRun.objects.filter(state=SyncRunState.FAILED)
        if failed.exists():
            errors = list(failed.values_list("connection__slug", "error"))
            pytest.fail(f"a sync failed: {errors}\n{worker.tail()}")
        time.sleep(0.5)
    pytest.fail(f"{what}: not done in {seconds:.0f}s\n{worker.tail()}")


def _sync_runs(kind: str):
    return SyncRun.objects.filter(connection__slug=kind).exclude(
        trigger=SyncTrigger.WEBHOOK
    )


def _latest_states() -> dict[str, str | None]:
    return {
        kind: _sync_runs(kind).order_by("-pk").values_list("state", flat=True).first()
        for kind in KINDS
    }


def _losers(worker: LiveWorker) -> dict[str, int]:
    """Per provider: copies that lost the race (skipped runs + "not due" drops)."""
    dropped = DROPPED.findall(worker.log())
    return {
        kind: _sync_runs(kind).filter(state=SyncRunState.SKIPPED).count()
        + dropped.count(f"{kind}")
        for kind in KINDS
    }


def test_two_worker_processes_contend_for_leases_and_mirror_the_ground_truth(
    live_celery, simulator
):
    from sessions_app.tasks import dispatch_due_syncs, session_refresh, sync_connection

    worker = live_celery
    connections = dict(ProviderConnection.objects.values_list("slug", "pk"))
    # Every provider twice, back to back, queued before the worker starts: its
    # two processes pick both copies of the first provider up together.
    for kind in KINDS:
        for _ in range(2):
            sync_connection.apply_async(
                kwargs={
                    "connection_id": connections[kind],
                    "trigger": SyncTrigger.SCHEDULE.value,
                }
            )
    worker.start()

    _wait_for(
        worker,
        "every provider's pass succeeded",
        lambda: all(s == SyncRunState.SUCCEEDED for s in _latest_states().values()),
    )
    # The losing copies may still be on their way; each resolves within moments.
    _wait_for(
        worker,
        "every duplicate resolved",
        lambda: all(n >= 1 for n in _losers(worker).values()),
        seconds=60,
    )
    time.sleep(2)  # anything still in flight would show up now

    # Exactly one copy per provider lost the race, and no continuation did.
    assert _losers(worker) == dict.fromkeys(KINDS, 1), worker.tail()
    assert not SyncRun.objects.filter(state=SyncRunState.RUNNING).exists()
    for kind in KINDS:
        chain = list(
            _sync_runs(kind).exclude(state=SyncRunState.SKIPPED).order_by("pk")
        )
        states = [run.state for run in chain]
        # One chain: continuations (one page each), then the run that finished.
        assert len(chain) > 1, (kind, states)
        assert states == [SyncRunState.PARTIAL] * (len(chain) - 1) + [
            SyncRunState.SUCCEEDED
        ], (kind, states)
        for previous, run in itertools.pairwise(chain):
            assert run.cursor_before == previous.cursor_after, (kind, run.pk)
    assert mirror_differences(simulator.state()) == []

    # The control queue is consumed too: a tick and a webhook refresh run.
    session = simulator.state()["providers"]["onfido"]["sessions"][0]["id"]
    session_refresh.delay(connections["onfido"], session)
    dispatch_due_syncs.delay()
    _wait_for(
        worker,
        "the webhook refresh ran",
        lambda: SyncRun.objects.filter(
            trigger=SyncTrigger.WEBHOOK, state=SyncRunState.SUCCEEDED
        ).exists(),
        seconds=60,
    )
    _wait_for(
        worker,
        "the beat tick ran",
        lambda: (
            re.search(r"dispatch_due_syncs\[[^\]]+\] succeeded", worker.log())
            is not None
        ),
        seconds=60,
    )
    assert mirror_differences(simulator.state()) == []
