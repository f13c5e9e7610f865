"""Production settings fail fast: no silent SQLite, filesystem broker or local cache.

Each case runs a fresh Python process (settings are read once per process),
with the variables under test removed from the inherited environment and
VERITY_ENV_FILE pointing at a file that does not exist, so neither CI's
PostgreSQL stage nor a developer's `.env` can fill them in.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
)
# Only parsed, never connected to: importing settings opens no connection.
CONFIGURED = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "verity.example.com",
    "DATABASE_URL": "postgres://verity:verity@db.example.invalid:5432/verity",
    "CELERY_BROKER_URL": "redis://broker.example.invalid:6379/0",
    "REDIS_URL": "redis://cache.example.invalid:6379/1",
}
PRINT_SETTINGS = (
    "import json; from django.conf import settings; print(json.dumps({"
    "'database': settings.DATABASES['default']['ENGINE'], "
    "'broker': settings.CELERY_BROKER_URL, "
    "'cache': settings.CACHES['default']['BACKEND']}))"
)


def _python(code: str, *, env: dict[str, str], tmp_path: Path):
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k not in REQUIRED and not k.startswith("DJANGO_")
    }
    return subprocess.run(  # noqa: S603 - fixed argv: this interpreter, our code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "VERITY_ENV_FILE": str(tmp_path / "absent.env"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_configured_production_uses_exactly_what_the_environment_names(tmp_path):
    result = _python(PRINT_SETTINGS, env=CONFIGURED, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "database": "django.db.backends.postgresql",
        "broker": "redis://broker.example.invalid:6379/0",
        "cache": "django.core.cache.backends.redis.RedisCache",
    }


def test_without_the_service_urls_production_stops_naming_all_three(tmp_path):
    env = {
        k: v
        for k, v in CONFIGURED.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}
    }
    result = _python(PRINT_SETTINGS, env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "missing or empty: DATABASE_URL, CELERY_BROKER_URL, REDIS_URL." in last_line


@pytest.mark.parametrize("missing", REQUIRED)
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_each_required_variable_missing_or_empty_stops_the_process(
    missing, how, tmp_path
):
    env = dict(CONFIGURED)
    if how == "unset":
        del env[missing]
    else:
        env[missing] = "  "
    result = _python(PRINT_SETTINGS, env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line
    assert f"missing or empty: {missing}." in last_line
    for other in set(REQUIRED) - {missing}:
        assert other not in last_line


def test_manage_py_refuses_to_run_without_them(tmp_path):
    inherited = {k: v for k, v in CONFIGURED.items() if k.startswith("DJANGO_")}
    result = _python(
        "import sys; sys.argv = ['manage.py', 'check']; "
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(sys.argv)",
        env=inherited,
        tmp_path=tmp_path,
    )
    assert result.returncode != 0
    assert "DATABASE_URL, CELERY_BROKER_URL, REDIS_URL" in result.stderr
