"""`make run`: one command that brings up a working Verity on a laptop.

It creates demo users (one per role), then starts and supervises the web
server (and, once configured, the provider simulator and a Celery worker with
beat), prints the URL and a login, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

DEMO_PASSWORD = "verity-demo"  # noqa: S105 - a local demo login, printed on purpose
DEMO_USERS = {
    "admin": ["admin"],
    "reviewer": ["reviewer"],
    "viewer": ["viewer"],
    "exporter": ["exporter"],
}


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


class Command(BaseCommand):
    help = "Run Verity locally: demo users, web server (and simulator + worker when available)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8765)

    def processes(self, options: dict[str, Any]) -> list[tuple[str, list[str]]]:
        """The long-running processes to supervise, as (name, argv)."""
        python = sys.executable
        return [
            (
                "web",
                [python, "manage.py", "runserver", f"{options['host']}:{options['port']}", "--noreload"],
            ),
        ]

    def after_start(self, options: dict[str, Any]) -> None:
        """Hook for work once the processes run (configure providers, first sync)."""

    def handle(self, *args: Any, **options: Any) -> None:
        demo_users_ensure()
        children: list[tuple[str, subprocess.Popen]] = []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, argv in self.processes(options):
            children.append((name, subprocess.Popen(argv, env=env)))  # noqa: S603
        try:
            self.after_start(options)
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
                    self.stderr.write(f"{name} exited with code {proc.returncode}; stopping.")
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            for _, proc in children:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for _, proc in children:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
