"""`manage.py sync_providers` stopped mid-pass, for real: a subprocess syncing
the simulator into a SQLite file is sent SIGTERM, SIGINT twice, or SIGKILL.

What must hold: the run is left `interrupted` (never `running`), the lease
is released (or, after SIGKILL, expires within its short TTL), and the next
run resumes from the last committed page at once, so the mirror ends equal to
the provider's ground truth with every session created exactly once.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessions_app.simulator.server import SimulatorServer
from tests.helpers.processes import FileDatabase, migrated_template, stop, wait_until

pytestmark = [pytest.mark.simulator, pytest.mark.timeout(600)]

KIND = "complycube"
SESSIONS = 40


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("verity-template"))


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    """ComplyCube with 40 sessions, answering every request after 30 ms."""
    server = SimulatorServer(
        port=0,
        seed=11,
        sessions=SESSIONS,
        speed=0,
        rate_limits={"onfido": None, "complycube": None, "ica": None},
    )
    server.start()
    server.set_faults(KIND, delay_seconds=0.03)
    yield server
    server.stop()


@pytest.fixture
def file_db(tmp_path, sqlite_template, slow_simulator) -> FileDatabase:
    """A SQLite file with one ComplyCube connection (pages of 5) on the simulator;
    every adapter page is its own commit (VERITY_SYNC_BATCH_SIZE=1)."""
    db = FileDatabase(
        tmp_path,
        sqlite_template,
        VERITY_PROVIDER_T_COMPLYCUBE_KEY=slow_simulator.credentials[KIND],
        VERITY_SYNC_BATCH_SIZE="1",
    )
    db.manage(
        "configure_provider",
        "--kind",
        KIND,
        "--slug",
        KIND,
        "--base-url",
        slow_simulator.base_urls[KIND],
        "--credential-env",
        "VERITY_PROVIDER_T_COMPLYCUBE_KEY",
        "--option",
        "page_size=5",
    )
    return db


def _start_sync(db: FileDatabase, log: Path, **env: str):
    process = db.popen(
        [sys.executable, "manage.py", "sync_providers", "--provider", KIND], log, **env
    )
    wait_until(
        "two pages committed",
        lambda: log.read_text(errors="replace").count(" committed: ") >= 2,
        process=process,
        log=log,
    )
    return process


def _resumed_to_the_end(db: FileDatabase, simulator: SimulatorServer) -> list[dict]:
    """Run the next sync (no delay now); check it resumed and mirrored everything."""
    simulator.set_faults(KIND, delay_seconds=0)
    db.manage("sync_providers", "--provider", KIND)
    runs = db.runs(KIND)
    assert not [run for run in runs if run["state"] == "running"], runs
    interrupted = runs[0]
    assert interrupted["state"] == "interrupted"
    assert interrupted["error_kind"] == "interrupted"
    # The next run starts from the cursor the interrupted one committed.
    assert runs[1]["cursor_before"] == interrupted["cursor_after"]
    assert runs[-1]["state"] == "succeeded"
    truth = simulator.state()
    assert db.mirror_differences(truth, KIND) == []
    # Nothing doubled: every session was created once, across all runs.
    assert (
        sum(run["created"] for run in runs)
        == truth["providers"][KIND]["counts"]["sessions"]
    )
    assert db.lease(KIND)["lock_token"] == ""
    return runs


def test_sigterm_finishes_the_page_releases_the_lease_and_the_next_run_resumes(
    file_db, slow_simulator, tmp_path
):
    log = tmp_path / "sync.log"
    process = _start_sync(file_db, log)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    output = log.read_text()
    assert "Interrupted (stopped by SIGTERM)" in output
    assert "the next sync resumes from there" in output

    [run] = file_db.runs(KIND)
    assert run["state"] == "interrupted"
    assert run["pages"] >= 2  # its committed pages and counts are kept
    assert run["seen"] > 0
    assert run["created"] == run["seen"]
    assert "stopped by SIGTERM" in run["error"]
    assert (
        file_db.lease(KIND)["lock_token"] == ""
    )  # released: no "another sync is running"

    runs = _resumed_to_the_end(file_db, slow_simulator)
    assert [r["state"] for r in runs][1:] == [
        "succeeded"
    ]  # resumed by the first run after


def test_a_second_sigint_stops_at_once_and_still_leaves_no_run_running(
    file_db, slow_simulator, tmp_path
):
    log = tmp_path / "sync.log"
    process = _start_sync(file_db, log)

    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    assert process.returncode != 0

    [run] = file_db.runs(KIND)
    assert run["state"] == "interrupted"
    assert file_db.lease(KIND)["lock_token"] == ""
    _resumed_to_the_end(file_db, slow_simulator)


def test_a_sigkilled_holders_lease_expires_within_its_short_ttl(
    file_db, slow_simulator, tmp_path
):
    ttl = 3.0
    log = tmp_path / "sync.log"
    process = _start_sync(file_db, log, VERITY_SYNC_LEASE_SECONDS=str(ttl))

    process.kill()
    process.wait(timeout=30)
    [dead] = file_db.runs(KIND)
    assert dead["state"] == "running"  # nobody could say otherwise yet
    lease = file_db.lease(KIND)
    assert lease["lock_token"]
    # The lease outlives its holder by at most one (short) TTL.
    from django.utils.dateparse import parse_datetime

    left = parse_datetime(lease["lock_expires_at"]) - parse_datetime(lease["now"])
    assert left.total_seconds() <= ttl

    wait_until(
        "the dead holder's lease expired",
        lambda: (
            lambda row: (
                parse_datetime(row["lock_expires_at"]) < parse_datetime(row["now"])
            )
        )(file_db.lease(KIND)),
        seconds=ttl * 10,
    )
    runs = _resumed_to_the_end(file_db, slow_simulator)
    assert runs[0]["pk"] == dead["pk"]
    assert "lease expired" in runs[0]["error"]
    assert stop(process) is not None
