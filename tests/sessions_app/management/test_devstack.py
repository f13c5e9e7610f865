"""`devstack` (make run): the pieces it wires together, without starting them."""

from __future__ import annotations

import pytest

from config.celery import broker_folders_ensure
from sessions_app.management.commands import devstack
from sessions_app.models import ProviderConnection
from sessions_app.providers import connection_config

pytestmark = pytest.mark.django_db


def test_simulated_providers_are_configured_idempotently(monkeypatch):
    monkeypatch.setattr(
        "os.environ", {**__import__("os").environ, **devstack.simulator_environment()}
    )

    devstack.simulated_providers_configure(simulator_url="http://127.0.0.1:8765")
    devstack.simulated_providers_configure(simulator_url="http://127.0.0.1:8765")

    connections = {c.slug: c for c in ProviderConnection.objects.all()}
    assert sorted(connections) == ["complycube", "ica", "onfido"]
    assert connections["onfido"].base_url == "http://127.0.0.1:8765/onfido/v3.6"
    assert connections["complycube"].base_url == "http://127.0.0.1:8765/complycube/v1"
    assert connections["ica"].base_url == "http://127.0.0.1:8765/ica/rest"
    assert {c.sync_interval_seconds for c in connections.values()} == {30}
    # The credentials the simulator accepts reach the adapters through the environment.
    from sessions_app.simulator.config import DEFAULT_CREDENTIALS

    for slug, connection in connections.items():
        assert connection_config(connection).credential == DEFAULT_CREDENTIALS[slug]


def test_a_sync_worker_and_a_control_worker_with_beat_share_the_queues(
    settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    # `make run`'s embedded broker, whatever broker this test run is given
    # (CI's second stage runs the suite with Redis).
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "broker" / "queue"),
        "data_folder_out": str(tmp_path / "broker" / "queue"),
        "control_folder": str(tmp_path / "broker" / "control"),
    }

    broker_folders_ensure()
    command = devstack.Command()
    sync_argv = command.worker_argv()
    control_argv = command.control_worker_argv()

    assert (tmp_path / "broker" / "queue").is_dir()
    assert (tmp_path / "broker" / "control").is_dir()
    # Syncs: two processes, no beat, the default queue only.
    assert sync_argv[1:] == [
        "-m",
        "celery",
        "-A",
        "config",
        "-q",
        "worker",
        "-Q",
        "celery",
        "-n",
        "sync@%h",
        "-l",
        "warning",
        "-c",
        "2",
        "--pidfile=",
    ]
    # Beat ticks and webhook refreshes: a process of their own, with beat.
    assert control_argv[1:] == [
        "-m",
        "celery",
        "-A",
        "config",
        "-q",
        "worker",
        "-B",
        "-Q",
        "verity.control",
        "-n",
        "control@%h",
        "-l",
        "warning",
        "-c",
        "1",
        "--pidfile=",
        "-s",
        str(tmp_path / "celerybeat-schedule"),
    ]


def test_the_two_workers_consume_every_queue_the_tasks_are_routed_to():
    import sessions_app.tasks  # noqa: F401 - registers the tasks
    from config.celery import app

    app.finalize()
    command = devstack.Command()
    consumed = set()
    for argv in (command.worker_argv(), command.control_worker_argv()):
        consumed.update(argv[argv.index("-Q") + 1].split(","))
    routed = {
        app.amqp.router.route({}, name)["queue"].name
        for name in app.tasks
        if name.startswith("sessions_app.")
    }
    assert routed == consumed == {"celery", "verity.control"}


def test_first_sync_is_enqueued_for_every_enabled_connection(monkeypatch):
    from sessions_app import tasks
    from tests.factories import ProviderConnectionFactory

    on = ProviderConnectionFactory(slug="on")
    ProviderConnectionFactory(slug="off", enabled=False)
    sent = []
    monkeypatch.setattr(
        tasks.sync_connection, "delay", lambda *a, **k: sent.append((a, k))
    )

    devstack.Command().first_sync_enqueue()

    assert sent == [((on.pk,), {"trigger": "manual"})]


def test_simulator_command_line():
    argv = devstack.Command().simulator_argv(
        {"simulator_port": 9999, "sim_sessions": 50, "sim_seed": 3}
    )
    assert argv[1:] == [
        "manage.py",
        "simulate_providers",
        "--port",
        "9999",
        "--sessions",
        "50",
        "--seed",
        "3",
    ]
