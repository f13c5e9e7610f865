"""Verity in other processes, sharing one SQLite file: `manage.py` commands and
Celery workers started as subprocesses, and reads of what they wrote.

The test's own database (pytest-django's) is not the one these processes
use: `FileDatabase` is a migrated SQLite file (WAL, as `make run` uses it),
copied from a template migrated once per test session, that the subprocesses
open through DATABASE_URL and the test reads with `query` (a Python snippet
run under Django in a subprocess, printing JSON). The embedded broker
(kombu's filesystem transport) lives in the same temporary folder, so a
worker needs no Redis.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def base_env(root: Path, database: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"sqlite:///{database}",
        "VERITY_VAR_DIR": str(root / "var"),
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    return env


def migrated_template(folder: Path) -> Path:
    """A freshly migrated SQLite file in `folder` (migrated once, then reused)."""
    template = folder / "template.sqlite3"
    if not template.exists():
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=REPO,
            env=base_env(folder, template),
            check=True,
            timeout=300,
        )
    return template


class FileDatabase:
    """A migrated SQLite file plus the environment of processes that use it."""

    def __init__(self, root: Path, template: Path, **env: str) -> None:
        self.root = root
        self.path = root / "verity.sqlite3"
        shutil.copyfile(template, self.path)
        self.env = {**base_env(root, self.path), **env}

    def manage(
        self, *args: str, check: bool = True, timeout: float = 300, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run `manage.py <args>` to the end; return it (output captured)."""
        done = subprocess.run(  # noqa: S603 - the test's own argv
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done

    def popen(self, argv: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
        """Start `argv` (from the repository) with its output in `log`."""
        return subprocess.Popen(  # noqa: S603 - the test's own argv
            argv,
            cwd=REPO,
            env={**self.env, **env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def query(self, code: str, stdin: Any = None) -> Any:
        """Run `code` under Django against this database; return what it
        assigns to `result`, through JSON (`data` holds `stdin`, parsed)."""
        script = (
            "import django, json, sys\n"
            "django.setup()\n"
            "data = json.loads(sys.stdin.read() or 'null')\n"
            + textwrap.dedent(code)
            + "\nprint('\\n' + json.dumps(result, default=str))\n"
        )
        done = subprocess.run(  # noqa: S603 - the test's own script
            [sys.executable, "-c", script],
            cwd=REPO,
            env=self.env,
            input=json.dumps(stdin),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"query failed:\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def pages_committed(self) -> int:
        """How many provider pages the runs committed: a direct read of the file
        (milliseconds, where `query` starts Django), for polling."""
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=20) as db:
            (pages,) = db.execute(
                "SELECT COALESCE(SUM(pages), 0) FROM sessions_app_syncrun"
            ).fetchone()
        return int(pages)

    def runs(self, slug: str) -> list[dict[str, Any]]:
        """The connection's sync runs, oldest first, as plain dicts."""
        return self.query(
            f"""
            from sessions_app.models import SyncRun
            result = list(
                SyncRun.objects.filter(connection__slug={slug!r})
                .order_by("pk")
                .values(
                    "pk", "trigger", "state", "error_kind", "error", "pages",
                    "seen", "created", "updated", "cursor_before", "cursor_after",
                )
            )
            """
        )

    def lease(self, slug: str) -> dict[str, Any]:
        """The connection's lease: token, expiry, and the database's now."""
        return self.query(
            f"""
            from django.utils import timezone
            from sessions_app.models import ProviderConnection
            row = ProviderConnection.objects.filter(slug={slug!r}).values(
                "lock_token", "lock_expires_at"
            ).get()
            result = {{**row, "now": timezone.now()}}
            """
        )

    def mirror_differences(self, truth: dict[str, Any], kind: str) -> list[str]:
        """`tests.sessions_app.mirror.mirror_differences` for one provider."""
        return self.query(
            f"""
            from tests.sessions_app.mirror import mirror_differences
            result = mirror_differences(data, slugs={{{kind!r}: {kind!r}}})
            """,
            stdin=truth,
        )


def wait_until[T](
    what: str,
    probe: Callable[[], T],
    *,
    seconds: float = 120,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after
    `seconds`, or at once if `process` exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:] if log else ""
            raise AssertionError(
                f"{what}: the process exited with {process.returncode}\n{tail}"
            )
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-4000:] if log else ""
    raise AssertionError(f"{what}: not within {seconds:.0f}s\n{tail}")


def stop(process: subprocess.Popen[bytes], *, timeout: float = 60) -> int:
    """Make sure `process` is gone (SIGTERM, then SIGKILL); return its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode
