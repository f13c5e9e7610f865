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
within a minute. Prints the URL and the logins; Ctrl-C stops every child.

Production runs the same pieces separately against Redis: docs/operations.md.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

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


def celery_worker_argv(
    *, queue: str, name: str, concurrency: int, beat_schedule: str = ""
) -> list[str]:
    """Return the argv of a Celery worker on `queue`; with `beat_schedule`, it
    also runs beat (embedded, keeping its schedule in that file)."""
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    if beat_schedule:
        argv.append("-B")
    argv += ["-Q", queue, "-n", name, "-l", "info", "-c", str(concurrency)]
    argv.append("--pidfile=")
    if beat_schedule:
        argv += ["-s", beat_schedule]
    return argv


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def port_wait(host: str, port: int, *, timeout: float = 30.0) -> bool:
    """Wait until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


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

    def worker_argv(self) -> list[str]:
        """The sync worker: two processes for syncs only.

        Each queue has exactly one consumer here: the filesystem broker claims
        a message by moving its file, which is only race-free for one reader.
        """
        from config.celery import SYNC_QUEUE

        return celery_worker_argv(queue=SYNC_QUEUE, name="sync@%h", concurrency=2)

    def control_worker_argv(self) -> list[str]:
        """The control worker: beat plus one process kept free of syncs."""
        from config.celery import CONTROL_QUEUE

        schedule = Path(settings.VAR_DIR) / "celerybeat-schedule"
        return celery_worker_argv(
            queue=CONTROL_QUEUE,
            name="control@%h",
            concurrency=1,
            beat_schedule=str(schedule),
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
        children: list[tuple[str, subprocess.Popen]] = []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}

        def start(name: str, argv: list[str]) -> None:
            children.append((name, subprocess.Popen(argv, env=env)))  # noqa: S603

        try:
            if use_simulator:
                os.environ.update(simulator_environment())
                env.update(simulator_environment())
                start("simulator", self.simulator_argv(options))
                if not port_wait("127.0.0.1", options["simulator_port"]):
                    raise CommandError(
                        f"The simulator did not start on port {options['simulator_port']}."
                    )
                simulator_url = f"http://127.0.0.1:{options['simulator_port']}"
                simulated_providers_configure(simulator_url=simulator_url)
                self.stdout.write(
                    f"Simulator at {simulator_url} (onfido, complycube, ica configured)."
                )
            start("control worker", self.control_worker_argv())
            start("sync worker", self.worker_argv())
            start("web", self.web_argv(options))
            self.first_sync_enqueue()
            url = f"http://{options['host']}:{options['port']}/"
            self.stdout.write(self.style.SUCCESS(f"\nVerity is running at {url}"))
            self.stdout.write(
                f"Log in as admin / {DEMO_PASSWORD} "
                f"(also reviewer, viewer, exporter with the same password). Ctrl-C stops.\n"
            )
            while all(proc.poll() is None for _, proc in children):
                time.sleep(1)
            for name, proc in children:
                if proc.poll() is not None:
                    self.stderr.write(
                        f"{name} exited with code {proc.returncode}; stopping."
                    )
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            # Newest first, each awaited: the worker finishes (or abandons) its
            # sync while the simulator it talks to is still up.
            for _, proc in reversed(children):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def first_sync_enqueue(self) -> None:
        """Enqueue one sync per enabled connection now, so the dashboard fills at once."""
        from sessions_app.models import ProviderConnection, SyncTrigger
        from sessions_app.tasks import sync_connection

        for connection_id in ProviderConnection.objects.filter(
            enabled=True
        ).values_list("pk", flat=True):
            sync_connection.delay(connection_id, trigger=SyncTrigger.MANUAL.value)
