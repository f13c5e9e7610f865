"""`python manage.py simulate_providers`: run the provider simulator in the foreground.

Prints each provider's base URL and credentials, then serves until Ctrl-C or
SIGTERM. It never touches the database (the simulator is independent of
Django); see `sessions_app/simulator/__init__.py` for everything it serves.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.simulator.config import PROVIDERS
from sessions_app.simulator.faults import FaultError, fault_option_parse
from sessions_app.simulator.server import SimulatorServer
from sessions_app.simulator.wire import parse_iso

AUTH_HINTS = {
    "onfido": "Authorization: Token token={credential}",
    "complycube": "Authorization: {credential}",
    "ica": "X-API-Key: {credential}   Accept: application/vnd.illumina.v3+json",
}


class Command(BaseCommand):
    help = "Serve simulated Onfido, ComplyCube and ICA APIs on one port (Ctrl-C stops)."
    requires_system_checks: list[str] = []  # no database, no checks: start fast

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1)."
        )
        parser.add_argument(
            "--port", type=int, default=8765, help="Port (0 picks a free one)."
        )
        parser.add_argument(
            "--sessions", type=int, default=60, help="Sessions per provider."
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Seed of the deterministic data."
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            help="Simulated seconds per real second (0 freezes time).",
        )
        parser.add_argument(
            "--start", help="ISO-8601 instant the data is anchored to (default: now)."
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="[PROVIDER.]SETTING=VALUE",
            help="A start-up fault or rate-limit setting, e.g. complycube.rate_limit_rps=10, "
            "ica.malformed_probability=0.1, rate_limit_rps=none. Repeatable.",
        )
        parser.add_argument(
            "--allow-remote-control",
            action="store_true",
            help="Answer /_sim/ control requests from non-loopback clients too.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["sessions"] < 1:
            raise CommandError("--sessions must be at least 1.")
        if options["speed"] < 0:
            raise CommandError("--speed must be >= 0.")
        start = None
        if options["start"]:
            start = parse_iso(options["start"])
            if start is None:
                raise CommandError(
                    f"--start {options['start']!r} is not an ISO-8601 instant."
                )
        faults: dict[str, dict[str, Any]] = {}
        try:
            for option in options["fault"]:
                scope, changes = fault_option_parse(option)
                faults.setdefault(scope, {}).update(changes)
        except FaultError as error:
            raise CommandError(str(error)) from None
        if options["verbosity"] >= 2:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

        server = SimulatorServer(
            host=options["host"],
            port=options["port"],
            seed=options["seed"],
            sessions=options["sessions"],
            speed=options["speed"],
            start=start.astimezone(dt.UTC) if start else None,
            faults=faults,
            allow_remote_control=options["allow_remote_control"],
        )
        try:
            server.start()
        except OSError as error:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {error}"
            ) from None
        # Handlers before the banner: whoever reads the banner may signal at once.
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.summary_write(server)
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
            self.stdout.write("Provider simulator stopped.")

    def summary_write(self, server: SimulatorServer) -> None:
        """Print where each provider lives and how to authenticate."""
        simulator = server.simulator
        self.stdout.write(
            self.style.SUCCESS(
                f"Provider simulator listening on {server.url} "
                f"(seed {simulator.seed}, {simulator.sessions} sessions per provider, "
                f"speed {simulator.clock.speed:g}x)"
            )
        )
        for provider in PROVIDERS:
            hint = AUTH_HINTS[provider].format(credential=server.credentials[provider])
            self.stdout.write(
                f"  {provider:<11} {server.base_urls[provider]:<45} {hint}"
            )
        secrets = ", ".join(f"{p}={s}" for p, s in server.webhook_secrets.items())
        self.stdout.write(f"  webhook secrets: {secrets}")
        projects = ",".join(project.id for project in simulator.world.ica.projects)
        self.stdout.write(f"  ICA project ids: {projects}")
        self.stdout.write(
            f"  control: {server.url}/_sim/state, /_sim/faults, /_sim/clock, /_sim/webhooks"
        )
        self.stdout.flush()
