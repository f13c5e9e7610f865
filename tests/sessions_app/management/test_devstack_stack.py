"""`devstack` (make run) with real child processes standing in for the
simulator, the workers and the server (small Python scripts, so it stays
fast): the simulator's exit leaves the rest running, and the banner comes last,
once the server answers and the first sync is enqueued."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command

from sessions_app.management.commands import devstack

# A server: listens after `delay` seconds, for `life` seconds, then exits `code`.
SERVER = """
import socket, sys, time
port, delay, life, code = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
time.sleep(delay)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
s.settimeout(0.05)
end = time.monotonic() + life
while time.monotonic() < end:
    try:
        s.accept()[0].close()
    except OSError:
        pass
sys.exit(code)
"""
IDLE = "import time; time.sleep(60)"
# A simulator that exits (with `code`) once the server on `web_port` answers:
# its exit must be said while the server runs, however slow the machine.
SIMULATOR_EXITING_AFTER_WEB = """
import socket, sys, time
port, web_port, code = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", web_port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)
time.sleep(0.3)
sys.exit(code)
"""


def _server(port: int, *, delay: float = 0.0, life: float = 60, code: int = 0):
    return [sys.executable, "-c", SERVER, str(port), str(delay), str(life), str(code)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Recording(io.StringIO):
    """A stream that notes, as each line is written, what `probe` says then."""

    def __init__(self, probe):
        super().__init__()
        self.probe = probe
        self.lines: list[tuple[str, object]] = []

    def write(self, text: str) -> int:
        self.lines.append((text, self.probe(text)))
        return super().write(text)


@pytest.fixture
def fast_polls(monkeypatch):
    monkeypatch.setattr(devstack, "POLL_SECONDS", 0.05)


def test_the_stack_keeps_running_when_the_simulator_is_killed(fast_polls):
    web_port, sim_port = _free_port(), _free_port()
    out = io.StringIO()
    stack = devstack.Stack(env=dict(os.environ), out=out, err=out)
    simulator = stack.start(
        devstack.Child(
            "simulator",
            _server(sim_port),
            essential=False,
            gone=devstack.SIMULATOR_GONE,
        )
    )
    web = stack.start(devstack.Child("web", _server(web_port)))
    try:
        assert stack.port_wait("127.0.0.1", sim_port, timeout=20)
        assert stack.port_wait("127.0.0.1", web_port, timeout=20)
        ended: list = []
        watcher = threading.Thread(target=lambda: ended.append(stack.supervise()))
        watcher.start()

        simulator.send_signal(signal.SIGKILL)
        simulator.wait(timeout=10)
        deadline = time.monotonic() + 10
        while "simulator exited" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # a few more polls: it is said once

        assert out.getvalue().count("The provider simulator exited") == 1
        assert "code -9" in out.getvalue()
        assert "/sync/" in out.getvalue()
        assert _answers(web_port)  # the server still answers
        assert watcher.is_alive()
        assert not ended

        web.send_signal(signal.SIGKILL)  # an essential child: the stack ends
        watcher.join(timeout=10)
        assert ended
        assert ended[0][0].name == "web"
    finally:
        stack.stop()
    assert all(process.poll() is not None for _, process in stack.running)


def test_a_server_that_exits_before_listening_ends_the_wait(fast_polls):
    stack = devstack.Stack(env=dict(os.environ), out=io.StringIO(), err=io.StringIO())
    web = stack.start(devstack.Child("web", [sys.executable, "-c", "pass"]))
    try:
        assert not stack.port_wait("127.0.0.1", _free_port(), timeout=20, process=web)
    finally:
        stack.stop()


@pytest.mark.django_db
def test_make_run_prints_the_banner_last_once_the_server_answers(
    fast_polls, monkeypatch, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr("os.environ", dict(os.environ))
    monkeypatch.delenv("VERBOSE", raising=False)
    previous_sigterm = signal.getsignal(signal.SIGTERM)
    web_port, sim_port = _free_port(), _free_port()
    events: list[str] = []
    command = devstack.Command
    # The simulator listens at once and exits once the server answers; the
    # server starts listening only after half a second and stops after eight.
    monkeypatch.setattr(
        command,
        "simulator_argv",
        lambda self, o: [
            sys.executable,
            "-c",
            SIMULATOR_EXITING_AFTER_WEB,
            str(sim_port),
            str(web_port),
            "3",
        ],
    )
    monkeypatch.setattr(
        command, "control_worker_argv", lambda self, level: [sys.executable, "-c", IDLE]
    )
    monkeypatch.setattr(
        command, "worker_argv", lambda self, level: [sys.executable, "-c", IDLE]
    )
    monkeypatch.setattr(
        command, "web_argv", lambda self, o: _server(web_port, delay=0.5, life=8)
    )
    monkeypatch.setattr(
        command, "first_sync_enqueue", lambda self: events.append("first sync")
    )
    out = Recording(lambda text: (_answers(web_port), list(events)))
    err = Recording(lambda text: _answers(web_port))
    try:
        call_command(
            "devstack",
            "--port",
            str(web_port),
            "--simulator-port",
            str(sim_port),
            stdout=out,
            stderr=err,
        )
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)

    banner = [state for text, state in out.lines if "Verity is running at" in text]
    assert banner == [(True, ["first sync"])]  # after the port answered and the sync
    # Last: nothing is written after the banner and the logins until the end.
    written = [text for text, _ in out.lines if text.strip()]
    assert "Verity is running at" in written[-3]
    assert "Log in as admin" in written[-2]
    assert "VERBOSE=1" in written[-1]
    # The simulator's exit was said once, while the server still answered;
    # the server's own exit (an essential child) ended the stack.
    gone = [state for text, state in err.lines if "simulator exited" in text]
    assert gone == [True]
    assert "web exited with code 0; stopping." in err.getvalue()


def test_verbose_logs_at_info_and_keeps_the_celery_banner(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    argv = devstack.Command().worker_argv(level=devstack.log_level(verbose=True))
    assert "-q" not in argv
    assert argv[argv.index("-l") + 1] == "info"
    assert devstack.log_level(verbose=False) == "WARNING"


@pytest.mark.parametrize(
    ("level", "request_lines"), [("WARNING", False), ("INFO", True)]
)
def test_the_server_request_lines_follow_the_children_s_log_level(level, request_lines):
    probe = (
        "import django, logging; django.setup(); "
        "print(logging.getLogger('django.server').isEnabledFor(logging.INFO))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_LOG_LEVEL": level,
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == str(request_lines)


# A child that ignores SIGTERM (stopping it takes the whole 15 s wait) and
# has started a process of its own, as a Celery worker starts its pool; it
# writes that process's pid once SIGTERM is ignored.
STUBBORN = """
import pathlib, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pool = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
pathlib.Path(sys.argv[1]).write_text(str(pool.pid))
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its dead parent's reaper) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


def test_a_second_sigterm_while_stopping_kills_what_is_left(tmp_path):
    """As `make run` stops (SIGTERM), another SIGTERM (a second Ctrl-C, a
    process manager's retry) kills every child left at once, with what each
    started; none is left running to hold its port."""
    err = io.StringIO()
    stack = devstack.Stack(env=dict(os.environ), out=io.StringIO(), err=err)
    older = stack.start(devstack.Child("simulator", [sys.executable, "-c", IDLE]))
    ready = tmp_path / "pool.pid"
    stubborn = stack.start(
        devstack.Child("sync worker", [sys.executable, "-c", STUBBORN, str(ready)])
    )
    deadline = time.monotonic() + 30
    while not ready.exists() or not ready.read_text():
        assert time.monotonic() < deadline, "the stubborn child did not start"
        time.sleep(0.05)
    pool_pid = int(ready.read_text())
    # The second SIGTERM arrives as stop() starts waiting for the stubborn
    # child (as `handle` installs it: a KeyboardInterrupt where it lands).
    waited = stubborn.wait

    def wait(timeout=None):
        os.kill(os.getpid(), signal.SIGTERM)
        return waited(timeout=timeout)

    stubborn.wait = wait
    sigint_before = signal.getsignal(signal.SIGINT)
    previous = signal.signal(signal.SIGTERM, devstack._raise_keyboard_interrupt)
    try:
        try:
            stack.stop()
            sigterm_after = signal.getsignal(signal.SIGTERM)
        except KeyboardInterrupt:
            pytest.fail("the second SIGTERM ended stop() with children left running")
    finally:
        signal.signal(signal.SIGTERM, previous)
        for _, process in stack.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    assert stubborn.poll() == -signal.SIGKILL
    assert older.poll() == -signal.SIGKILL  # never got its SIGTERM: killed too
    deadline = time.monotonic() + 10
    while _alive(pool_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pool_pid)  # what the child started went with it
    assert "Stopped at once" in err.getvalue()
    # The handlers are restored (kill_all ignores both while it kills).
    assert signal.getsignal(signal.SIGINT) == sigint_before
    assert sigterm_after is devstack._raise_keyboard_interrupt
