"""`make run`: one command that brings up a working Verity on a laptop.

In order: demo users (one per role); the provider simulator as a child process
(`simulate_providers`); its fake credentials and webhook secrets into the
environment; `configure_provider` for the three simulated providers (base URLs
pointing at the simulator, 30 s sync interval); two Celery workers on the
filesystem broker (no Redis needed) that between them consume both queues: a
sync worker (`-Q celery -c 2`) and a one-process control worker with embedded
beat (`-Q verity.control -c 1`), so beat ticks and webhook refreshes never
wait behind two long syncs; the web server;
then a first sync of every provider, enqueued at once so the dashboard fills
within a minute. Once the server answers and that sync is enqueued, it prints
the URL and the logins, last, so they stay on screen; Ctrl-C stops every child.

The simulator plays the providers: when it exits (killed, crashed), the rest
keeps running and the desk shows the outage (failed syncs on /sync/), as it
would for a real provider; the log says so once. Any other child exiting
stops the stack.

The log is quiet by default: warnings and errors only (Celery at WARNING, no
request lines from the server or the simulator). `--verbose` (`make run
VERBOSE=1`) logs everything at INFO.

Production runs the same pieces separately against Redis: docs/operations.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from sessions_app.models import ProviderKind

DEMO_PASSWORD = "verity-demo"  # noqa: S105 - a local demo login, printed on purpose
DEMO_USERS = {
    "admin": ["admin"],
    "reviewer": ["reviewer"],
    "viewer": ["viewer"],
    "exporter": ["exporter"],
}

# The simulated providers: connection slug == kind; the names of the variables
# that carry the simulator's fake credentials and webhook secrets (with the
# provider prefix, VERITY_PROVIDER_ENV_PREFIX's default, as every connection's).
SIM_CREDENTIAL_ENV = {
    "onfido": "VERITY_PROVIDER_SIM_ONFIDO_TOKEN",
    "complycube": "VERITY_PROVIDER_SIM_COMPLYCUBE_KEY",
    "ica": "VERITY_PROVIDER_SIM_ICA_KEY",
}
SIM_WEBHOOK_SECRET_ENV = {
    "onfido": "VERITY_PROVIDER_SIM_ONFIDO_WEBHOOK_SECRET",
    "complycube": "VERITY_PROVIDER_SIM_COMPLYCUBE_WEBHOOK_SECRET",
    "ica": "VERITY_PROVIDER_SIM_ICA_WEBHOOK_SECRET",
}
SIM_SYNC_INTERVAL_SECONDS = 30


def demo_users_ensure() -> None:
    """Create one demo login per role (idempotent; password reset each time)."""
    user_model = get_user_model()
    with transaction.atomic():
        for username, roles in DEMO_USERS.items():
            user, _ = user_model.objects.get_or_create(username=username)
            user.set_password(DEMO_PASSWORD)
            user.is_active = True
            user.save()
            user.groups.set(Group.objects.filter(name__in=roles))


def simulator_environment() -> dict[str, str]:
    """Return the variables holding the simulator's fake credentials and secrets."""
    from sessions_app.simulator import config as sim

    values = {
        SIM_CREDENTIAL_ENV[name]: sim.DEFAULT_CREDENTIALS[name]
        for name in SIM_CREDENTIAL_ENV
    }
    values |= {
        SIM_WEBHOOK_SECRET_ENV[name]: sim.DEFAULT_WEBHOOK_SECRETS[name]
        for name in SIM_WEBHOOK_SECRET_ENV
    }
    return values


def simulated_providers_configure(
    *, simulator_url: str, interval: int = SIM_SYNC_INTERVAL_SECONDS
) -> None:
    """Point one connection per simulated provider at the simulator (idempotent)."""
    from sessions_app.simulator.config import provider_base_urls

    for kind, base_url in provider_base_urls(simulator_url).items():
        call_command(
            "configure_provider",
            "--kind",
            kind,
            "--slug",
            kind,
            "--base-url",
            base_url,
            "--credential-env",
            SIM_CREDENTIAL_ENV[kind],
            "--webhook-secret-env",
            SIM_WEBHOOK_SECRET_ENV[kind],
            "--interval",
            str(interval),
            "--display-name",
            f"{ProviderKind(kind).label} (simulator)",
            stdout=StringIO(),
            stderr=StringIO(),
        )


# The children's log level: quiet by default, everything with --verbose.
QUIET_LOG_LEVEL = "WARNING"
VERBOSE_LOG_LEVEL = "INFO"


def log_level(*, verbose: bool) -> str:
    return VERBOSE_LOG_LEVEL if verbose else QUIET_LOG_LEVEL


def celery_worker_argv(
    *,
    queue: str,
    name: str,
    concurrency: int,
    beat_schedule: str = "",
    level: str = QUIET_LOG_LEVEL,
) -> list[str]:
    """Return the argv of a Celery worker on `queue`; with `beat_schedule`, it
    also runs beat (embedded, keeping its schedule in that file). Below INFO
    the worker's start-up banner is left out too (`-q`)."""
    argv = [sys.executable, "-m", "celery", "-A", "config"]
    if level != VERBOSE_LOG_LEVEL:
        argv.append("-q")
    argv.append("worker")
    if beat_schedule:
        argv.append("-B")
    argv += ["-Q", queue, "-n", name, "-l", level.lower(), "-c", str(concurrency)]
    argv.append("--pidfile=")
    if beat_schedule:
        argv += ["-s", beat_schedule]
    return argv


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# How often the stack looks at its children.
POLL_SECONDS = 1.0
SIMULATOR_GONE = (
    "The provider simulator exited (code {code}): the providers are unreachable "
    "now. Verity keeps running; syncs fail and the desk shows the outage on "
    "/sync/. Restart `make run` to bring the providers back."
)


@dataclasses.dataclass
class Child:
    """A process of the stack. `essential`: its exit stops the stack; else
    `gone` (with {code}) is said once and the rest keeps running."""

    name: str
    argv: list[str]
    essential: bool = True
    gone: str = ""


class Stack:
    """The children of `make run`: started, watched, stopped newest first."""

    def __init__(self, *, env: dict[str, str], out: TextIO, err: TextIO) -> None:
        self.env = env
        self.out, self.err = out, err
        self.running: list[tuple[Child, subprocess.Popen]] = []

    def start(self, child: Child) -> subprocess.Popen:
        # Each child leads a process group of its own, with the processes it
        # starts (a Celery worker's pool and beat): killing it kills them too,
        # and a Ctrl-C reaches `make run` alone, which stops the children in
        # order (`stop`).
        process = subprocess.Popen(child.argv, env=self.env, process_group=0)  # noqa: S603
        self.running.append((child, process))
        return process

    def essential_exited(self) -> tuple[Child, int] | None:
        """Say once that a non-essential child exited; return an essential one."""
        for child, process in list(self.running):
            code = process.poll()
            if code is None:
                continue
            if child.essential:
                return child, code
            self.running.remove((child, process))
            self.err.write(child.gone.format(code=code))
        return None

    def port_wait(
        self,
        host: str,
        port: int,
        *,
        timeout: float,
        process: subprocess.Popen | None = None,
    ) -> bool:
        """Wait until host:port accepts connections; False on time-out, or when
        `process` (the one that should listen) or an essential child exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (process is not None and process.poll() is not None) or (
                self.essential_exited()
            ):
                return False
            try:
                with socket.create_connection((host, port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.2)
        return False

    def supervise(self) -> tuple[Child, int]:
        """Run until an essential child exits; return it and its exit code."""
        while (exited := self.essential_exited()) is None:
            time.sleep(POLL_SECONDS)
        return exited

    def stop(self) -> None:
        # Newest first, each awaited: the worker finishes (or abandons) its
        # sync while the simulator it talks to is still up.
        try:
            for _, process in reversed(self.running):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    _group_kill(process)
        except KeyboardInterrupt:
            # A second Ctrl-C or SIGTERM while waiting: what is left is killed
            # at once. Left running, the simulator kept its port and the next
            # `make run` could not start one.
            self.kill_all()

    def kill_all(self) -> None:
        """Kill every child still running and reap it, whatever signal comes."""
        previous = {
            signum: signal.signal(signum, signal.SIG_IGN)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for _, process in self.running:
                _group_kill(process)
            for _, process in self.running:
                process.wait()
            self.err.write("Stopped at once: the children still running were killed.\n")
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _group_kill(process: subprocess.Popen) -> None:
    """SIGKILL a child's process group: the child and what it started (a
    killed Celery worker's pool processes and beat otherwise live on)."""
    # Gone already, with everything it started: nothing to do.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _web_host(host: str) -> str:
    """Where to reach a server bound to `host` (all interfaces: this machine)."""
    return "127.0.0.1" if host in {"0.0.0.0", "", "::"} else host  # noqa: S104


class Command(BaseCommand):
    help = (
        "Run Verity locally: simulator, Celery workers + beat, web server, first sync."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8765)
        parser.add_argument(
            "--sim-sessions", type=int, help="Sessions per provider in the simulator."
        )
        parser.add_argument(
            "--sim-seed", type=int, help="Simulator seed (deterministic data)."
        )
        parser.add_argument(
            "--no-simulator",
            action="store_true",
            help="Use the configured providers only.",
        )
        parser.add_argument(
            "--verbose",
            action="store_true",
            default=os.environ.get("VERBOSE", "") not in {"", "0"},
            help="Log at INFO: request lines, Celery tasks, the simulator's "
            "access log (default: warnings and errors; also VERBOSE=1).",
        )

    def simulator_argv(self, options: dict[str, Any]) -> list[str]:
        argv = [
            sys.executable,
            "manage.py",
            "simulate_providers",
            "--port",
            str(options["simulator_port"]),
        ]
        if options.get("sim_sessions"):
            argv += ["--sessions", str(options["sim_sessions"])]
        if options.get("sim_seed") is not None:
            argv += ["--seed", str(options["sim_seed"])]
        return argv

    def worker_argv(self, *, level: str = QUIET_LOG_LEVEL) -> list[str]:
        """The sync worker: two processes for syncs only.

        Each queue has exactly one consumer here: the filesystem broker claims
        a message by moving its file, which is only race-free for one reader.
        """
        from config.celery import SYNC_QUEUE

        return celery_worker_argv(
            queue=SYNC_QUEUE, name="sync@%h", concurrency=2, level=level
        )

    def control_worker_argv(self, *, level: str = QUIET_LOG_LEVEL) -> list[str]:
        """The control worker: beat plus one process kept free of syncs."""
        from config.celery import CONTROL_QUEUE

        schedule = Path(settings.VAR_DIR) / "celerybeat-schedule"
        return celery_worker_argv(
            queue=CONTROL_QUEUE,
            name="control@%h",
            concurrency=1,
            beat_schedule=str(schedule),
            level=level,
        )

    def web_argv(self, options: dict[str, Any]) -> list[str]:
        return [
            sys.executable,
            "manage.py",
            "runserver",
            f"{options['host']}:{options['port']}",
            "--noreload",
        ]

    def handle(self, *args: Any, **options: Any) -> None:
        # `kill`, a terminal closing or a process manager send SIGTERM, not
        # Ctrl-C: treat it the same so the children are stopped too.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        demo_users_ensure()
        # Django's start-up made the broker's folders (config/celery.py); the
        # beat schedule below lives in VAR_DIR too.
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        use_simulator = (
            not options["no_simulator"] and "simulate_providers" in get_commands()
        )
        if not options["no_simulator"] and not use_simulator:
            self.stderr.write(
                "The provider simulator is not installed; starting without it."
            )
        level = log_level(verbose=options["verbose"])
        # The children's Django logging (config/settings): the root level, and
        # with it the server's request lines and the simulator's access log.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_LOG_LEVEL": level}
        stack = Stack(env=env, out=self.stdout, err=self.stderr)
        try:
            if use_simulator:
                os.environ.update(simulator_environment())
                env.update(simulator_environment())
                simulator = stack.start(
                    Child(
                        "simulator",
                        self.simulator_argv(options),
                        essential=False,
                        gone=SIMULATOR_GONE,
                    )
                )
                if not stack.port_wait(
                    "127.0.0.1",
                    options["simulator_port"],
                    timeout=30,
                    process=simulator,
                ):
                    raise CommandError(
                        f"The simulator did not start on port {options['simulator_port']}."
                    )
                simulator_url = f"http://127.0.0.1:{options['simulator_port']}"
                simulated_providers_configure(simulator_url=simulator_url)
                self.stdout.write(
                    f"Simulator at {simulator_url} (onfido, complycube, ica configured)."
                )
            stack.start(Child("control worker", self.control_worker_argv(level=level)))
            stack.start(Child("sync worker", self.worker_argv(level=level)))
            stack.start(Child("web", self.web_argv(options)))
            # The banner comes last: once the server answers and the first
            # sync is on its way, so what it says is true and it stays in view.
            if not stack.port_wait(
                _web_host(options["host"]), options["port"], timeout=60
            ):
                raise CommandError(
                    f"The web server did not start on port {options['port']}."
                )
            self.first_sync_enqueue()
            self.banner_write(options)
            child, code = stack.supervise()
            self.stderr.write(f"{child.name} exited with code {code}; stopping.")
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            stack.stop()

    def banner_write(self, options: dict[str, Any]) -> None:
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\nVerity is running at {url}"))
        self.stdout.write(
            f"Log in as admin / {DEMO_PASSWORD} "
            f"(also reviewer, viewer, exporter with the same password). Ctrl-C stops."
        )
        quiet = "" if options["verbose"] else " The log shows warnings and errors only"
        self.stdout.write(
            f"First sync enqueued; the desk fills within a minute.{quiet}"
            + (" (`make run VERBOSE=1` shows everything).\n" if quiet else "\n")
        )

    def first_sync_enqueue(self) -> None:
        """Enqueue one sync per enabled connection now, so the dashboard fills at once."""
        from sessions_app.models import ProviderConnection, SyncTrigger
        from sessions_app.tasks import sync_connection

        for connection_id in ProviderConnection.objects.filter(
            enabled=True
        ).values_list("pk", flat=True):
            sync_connection.delay(connection_id, trigger=SyncTrigger.MANUAL.value)
