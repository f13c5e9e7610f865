"""`manage.py simulate_providers`: prints where everything is, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

REPO = Path(__file__).resolve().parents[3]


def test_command_serves_in_the_foreground_and_stops_on_sigterm():
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    argv = [
        sys.executable,
        "manage.py",
        "simulate_providers",
        "--port",
        "0",
        "--sessions",
        "12",
        "--seed",
        "3",
        "--speed",
        "0",
        "--fault",
        "complycube.extra_fields=true",
    ]
    process = subprocess.Popen(  # noqa: S603 - a fixed argv
        argv,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(7)]
        banner = "".join(lines)
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)
        assert f"{url}/onfido/v3.6" in banner
        assert "Token token=sim-onfido-token" in banner
        assert f"{url}/complycube/v1" in banner
        assert "Authorization: sim-complycube-key" in banner
        assert f"{url}/ica/rest" in banner
        assert "X-API-Key: sim-ica-key" in banner
        assert "webhook secrets:" in banner
        assert "ICA project ids:" in banner
        info = requests.get(f"{url}/_sim/", timeout=5).json()
        assert info["seed"] == 3
        assert info["sessions_per_provider"] == 12
        sessions = requests.get(
            f"{url}/complycube/v1/workflowSessions",
            headers={"Authorization": "sim-complycube-key"},
            timeout=5,
        ).json()
        assert "simUnexpectedField" in sessions  # the --fault took effect
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Provider simulator stopped." in out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fault": ["acme.extra_fields=true"]}, "Unknown provider"),
        ({"fault": ["complycube.delay_seconds=forever"]}, "delay_seconds"),
        ({"sessions": 0}, "--sessions"),
        ({"start": "yesterday"}, "--start"),
    ],
)
def test_bad_options_fail_before_serving(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate_providers", port=0, **options)
