"""Two processes, one syncing and one refreshing the same connection, share its
limiter and together stay within its rate (issue 17, item 2).

Real subprocesses (`tests/helpers/pace_worker.py`) call a real simulator
server; the simulator's request log gives the time of every request, and no
one-second window may hold more than the connection's limit (plus one, for a
request on the window's edge, and an allowance for scheduling jitter), nor
the whole run average more.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.helpers.pacing import (
    REDIS_TEST_PREFIX,
    REDIS_TEST_URL,
    busiest_second,
    redis_test_client,
)
from tests.helpers.simulator import make_sim

ROOT = Path(__file__).resolve().parents[4]
KIND = "complycube"
RATE = 20.0
SCHEDULING_ALLOWANCE = 0.2 * RATE


def _run_pair(sim, backend_url: str, *, slug: str) -> list[tuple[float, float]]:
    truth = sim.state(detail=True)["providers"][KIND]["sessions"]
    ids = [session["id"] for session in truth]
    env = {**os.environ, "VERITY_RATE_LIMIT_URL": backend_url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    common = [KIND, slug, sim.base_urls[KIND], sim.credentials[KIND], str(RATE)]
    workers = [
        subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "tests.helpers.pace_worker", mode, *common, *extra],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for mode, extra in (("sync", []), ("refresh", ids))
    ]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:  # both start together
            worker.stdin.write("go\n")
            worker.stdin.flush()
        spans = []
        for worker in workers:
            out, _ = worker.communicate(timeout=90)
            assert worker.returncode == 0
            _, start, end = out.split()
            spans.append((float(start), float(end)))
        return spans
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


@pytest.fixture
def shared_sim():
    server = make_sim(sessions=12).start()
    yield server
    server.stop()


def _stamps(sim) -> list[float]:
    return [
        dt.datetime.fromisoformat(entry["at"].replace("Z", "+00:00")).timestamp()
        for entry in sim.requests_log()["recent"]
        if entry["provider"] == KIND
    ]


def _assert_within_the_limit_together(sim, spans) -> None:
    (sync_start, sync_end), (refresh_start, refresh_end) = spans
    # They overlapped.
    assert sync_start < refresh_end
    assert refresh_start < sync_end
    stamps = sorted(_stamps(sim))
    assert len(stamps) > 2 * RATE  # more than two seconds' worth
    # Over the whole run, together, at most the connection's rate. Unshared
    # (each process with its own limiter) this is twice the rate.
    assert (len(stamps) - 1) / (stamps[-1] - stamps[0]) <= RATE * 1.05
    # And in every one-second window: the limiter books slots exactly 1/RATE
    # apart, but the server sees them shifted by how late each process was
    # scheduled on a busy machine (tens of ms), hence the allowance beside the
    # +1 for a request on the window's edge.
    assert busiest_second(stamps) <= RATE + 1 + SCHEDULING_ALLOWANCE


def test_a_sync_and_a_refresh_in_two_processes_share_the_file_limiter(
    shared_sim, tmp_path
):
    spans = _run_pair(shared_sim, str(tmp_path / "pace"), slug="cc-shared-file")
    _assert_within_the_limit_together(shared_sim, spans)
    assert (tmp_path / "pace" / "complycube_cc-shared-file.json").exists()


@pytest.mark.redis
def test_a_sync_and_a_refresh_in_two_processes_share_the_redis_limiter(shared_sim):
    client = redis_test_client()
    slug = f"cc-shared-{uuid.uuid4().hex[:8]}"
    try:
        spans = _run_pair(shared_sim, REDIS_TEST_URL, slug=slug)
        _assert_within_the_limit_together(shared_sim, spans)
        assert client.exists(f"verity:pace:{KIND}:{slug}")
    finally:
        client.delete(f"verity:pace:{KIND}:{slug}")
        for key in client.scan_iter(f"{REDIS_TEST_PREFIX}*"):
            client.delete(key)
