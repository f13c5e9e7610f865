"""The app's start-up: what every process that starts Django gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.conf import settings

from config.celery import broker_folders_ensure


def _filesystem_broker(settings, root: Path) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.VAR_DIR = root
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(root / "broker" / "queue"),
        "data_folder_out": str(root / "broker" / "queue"),
        "control_folder": str(root / "broker" / "control"),
    }


def test_a_fresh_process_creates_the_embedded_brokers_folders_on_startup(tmp_path):
    """As gunicorn or a worker would start Verity: django.setup() and nothing else."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "VERITY_VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("CELERY_BROKER_URL", None)
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
        timeout=60,
    )
    assert (tmp_path / "var" / "broker" / "queue").is_dir()
    assert (tmp_path / "var" / "broker" / "control").is_dir()


def test_ready_creates_the_folders(settings, tmp_path):
    _filesystem_broker(settings, tmp_path)
    apps.get_app_config("sessions_app").ready()
    assert (tmp_path / "broker" / "queue").is_dir()
    assert (tmp_path / "broker" / "control").is_dir()


def test_another_broker_needs_no_folders(settings, tmp_path):
    _filesystem_broker(settings, tmp_path / "var")
    settings.CELERY_BROKER_URL = "redis://localhost:6379/0"
    broker_folders_ensure()
    assert not (tmp_path / "var").exists()


def test_a_folder_that_cannot_be_created_is_logged_not_raised(
    settings, tmp_path, caplog
):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    _filesystem_broker(settings, blocker)
    broker_folders_ensure()  # raises nothing: the process still starts
    assert "Cannot create the broker folder" in caplog.text
