"""End to end: a real Celery worker process on Redis syncs the simulator into PostgreSQL.

Skipped unless `VERITY_CELERY_E2E=1`, `CELERY_BROKER_URL=redis://…` and a
PostgreSQL `DATABASE_URL` are set (CI wires it; see docs/operations.md). The
test database is a live one (`transactional_db`), so the worker subprocess
sees what the test writes and the test sees what the worker writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection as db_conn

from sessions_app.models import SyncRun, SyncRunState, SyncTrigger
from tests.sessions_app.mirror import KINDS, mirror_differences

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = [
    pytest.mark.celery_e2e,
    pytest.mark.simulator,
    pytest.mark.skipif(
        os.environ.get("VERITY_CELERY_E2E") != "1"
        or not BROKER_URL.startswith("redis"),
        reason="set VERITY_CELERY_E2E=1 and CELERY_BROKER_URL=redis://… to run",
    ),
]

REPO = Path(__file__).resolve().parents[2]
WAIT_SECONDS = float(os.environ.get("VERITY_CELERY_E2E_TIMEOUT", "300"))


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
        conn.default_channel.queue_purge(app.conf.task_default_queue)


@pytest.fixture
def live_celery(transactional_db, simulator, monkeypatch, tmp_path):
    """Configure the simulated providers and run a real worker subprocess."""
    if db_conn.vendor != "postgresql":
        pytest.skip("the worker process needs a shared PostgreSQL database")
    from config.celery import app

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
    }
    for kind in KINDS:
        name = f"VERITY_E2E_{kind.upper()}_CREDENTIAL"
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
            stdout=StringIO(),
            stderr=StringIO(),
        )
    # This process only sends: tasks must travel through Redis to the worker.
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    _purge_broker()
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-c",
                "2",
                "-l",
                "info",
                "--pidfile=",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield worker, log_path
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
            _purge_broker()


def _latest_runs() -> dict[str, SyncRun | None]:
    return {
        kind: SyncRun.objects.filter(connection__slug=kind)
        .exclude(trigger=SyncTrigger.WEBHOOK)
        .order_by("-pk")
        .first()
        for kind in KINDS
    }


def test_worker_syncs_every_provider_to_the_simulators_ground_truth(
    live_celery, simulator
):
    worker, log_path = live_celery
    from sessions_app.tasks import dispatch_due_syncs

    dispatched = dispatch_due_syncs()
    assert len(dispatched) == 3

    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        latest = _latest_runs()
        states = {kind: run.state if run else None for kind, run in latest.items()}
        if all(state == SyncRunState.SUCCEEDED for state in states.values()):
            break
        if worker.poll() is not None:
            pytest.fail(
                f"worker exited with {worker.returncode}:\n{log_path.read_text()[-5000:]}"
            )
        if any(state == SyncRunState.FAILED for state in states.values()):
            errors = {
                k: r.error
                for k, r in latest.items()
                if r and r.state == SyncRunState.FAILED
            }
            pytest.fail(f"a sync failed: {errors}\n{log_path.read_text()[-5000:]}")
        time.sleep(1)
    else:
        pytest.fail(
            f"syncs not done in {WAIT_SECONDS:.0f}s: {states}\n{log_path.read_text()[-5000:]}"
        )

    assert not SyncRun.objects.filter(state=SyncRunState.RUNNING).exists()
    assert mirror_differences(simulator.state()) == []
