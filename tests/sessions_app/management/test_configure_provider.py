"""`configure_provider`: create, update, idempotence, audit and clear errors."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sessions_app.models import AuditEvent, ProviderConnection

pytestmark = pytest.mark.django_db

BASE = [
    "--kind",
    "ica",
    "--slug",
    "ica-lab",
    "--base-url",
    "http://127.0.0.1:8765/ica/rest",
    "--credential-env",
    "VERITY_PROVIDER_SIM_ICA_KEY",
]


def _run(*args: str) -> str:
    out = StringIO()
    call_command("configure_provider", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_creates_a_connection_with_options_and_audits_it():
    output = _run(
        *BASE,
        "--webhook-secret-env",
        "VERITY_PROVIDER_SIM_ICA_WEBHOOK_SECRET",
        "--option",
        "project_ids=p-1,p-2",
        "--option",
        "region=eu",
        "--option",
        "page_size=[100]",
        "--interval",
        "30",
        "--rate-limit",
        "2.5",
        "--display-name",
        "ICA lab",
    )

    assert "Created provider connection 'ica-lab'" in output
    connection = ProviderConnection.objects.get(slug="ica-lab")
    assert connection.kind == "ica"
    assert connection.display_name == "ICA lab"
    assert connection.options == {
        "project_ids": ["p-1", "p-2"],
        "region": "eu",
        "page_size": [100],
    }
    assert (connection.sync_interval_seconds, connection.rate_limit_per_second) == (
        30,
        2.5,
    )
    assert connection.webhook_secret_env == "VERITY_PROVIDER_SIM_ICA_WEBHOOK_SECRET"
    assert connection.enabled is True
    event = AuditEvent.objects.get()
    assert (event.source, event.action, event.object_id) == (
        "command",
        "provider_connection.create",
        str(connection.pk),
    )


def test_running_it_twice_is_idempotent():
    _run(*BASE, "--option", "project_ids=p-1")
    output = _run(*BASE, "--option", "project_ids=p-1")

    assert "unchanged" in output
    assert ProviderConnection.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_updates_only_what_changed_keeps_other_options_and_audits_the_diff():
    _run(
        *BASE,
        "--option",
        "project_ids=p-1",
        "--option",
        "region=eu",
        "--interval",
        "60",
    )
    output = _run(
        *BASE, "--option", "project_ids=p-1,p-3", "--option", "region=", "--disable"
    )

    assert "Updated provider connection 'ica-lab'" in output
    connection = ProviderConnection.objects.get()
    assert connection.options == {"project_ids": ["p-1", "p-3"]}
    assert connection.sync_interval_seconds == 60  # not named: kept
    assert connection.enabled is False
    event = AuditEvent.objects.get(action="provider_connection.update")
    assert event.before == {
        "options": {"project_ids": ["p-1"], "region": "eu"},
        "enabled": True,
    }
    assert event.after == {"options": {"project_ids": ["p-1", "p-3"]}, "enabled": False}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "not a url"], "base_url"),
        (["--credential-env", "lower-case"], "credential_env"),
        (["--interval", "5"], "sync_interval_seconds"),
        (["--rate-limit", "0"], "rate_limit_per_second"),
        (["--option", "novalue"], "expected key=value"),
        (["--option", "x=[broken"], "not valid JSON"),
        (["--webhook-secret-env", "bad name"], "webhook_secret_env"),
    ],
)
def test_invalid_input_is_a_command_error_and_changes_nothing(args, message):
    base = dict(zip(BASE[::2], BASE[1::2], strict=True))
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair]

    with pytest.raises(CommandError, match=message):
        _run(*argv)
    assert ProviderConnection.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_the_kind_of_an_existing_connection_cannot_change():
    _run(*BASE)
    with pytest.raises(CommandError, match="kind cannot change"):
        _run("--kind", "onfido", *BASE[2:])
    assert ProviderConnection.objects.get().kind == "ica"


def test_rerunning_keeps_a_connection_an_admin_disabled_disabled():
    _run(*BASE)
    ProviderConnection.objects.filter(slug="ica-lab").update(enabled=False)

    output = _run(*BASE)  # e.g. `make run` configuring the simulator again

    assert "unchanged" in output
    assert ProviderConnection.objects.get().enabled is False
    assert AuditEvent.objects.count() == 1  # only the create


def test_enable_flag_turns_a_disabled_connection_back_on_and_audits_it():
    _run(*BASE, "--disable")
    assert ProviderConnection.objects.get().enabled is False

    output = _run(*BASE, "--enable")

    assert "Updated provider connection 'ica-lab'" in output
    assert ProviderConnection.objects.get().enabled is True
    event = AuditEvent.objects.get(action="provider_connection.update")
    assert (event.before, event.after) == ({"enabled": False}, {"enabled": True})


def test_a_new_connection_is_enabled_unless_disabled_and_flags_exclude_each_other():
    _run(*BASE)
    assert ProviderConnection.objects.get(slug="ica-lab").enabled is True
    _run(*BASE[:3], "ica-off", *BASE[4:], "--disable")
    assert ProviderConnection.objects.get(slug="ica-off").enabled is False
    with pytest.raises(CommandError):
        _run(*BASE, "--enable", "--disable")


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--credential-env", "DJANGO_SECRET_KEY"], "credential_env"),
        (["--credential-env", "DATABASE_URL"], "credential_env"),
        (["--webhook-secret-env", "PATH"], "webhook_secret_env"),
        (["--base-url", "https://evil.example/collect"], "base_url"),
    ],
)
def test_refuses_the_exfiltration_attempt(flags, field):
    with pytest.raises(CommandError, match=field):
        _run(*BASE, *flags)
    assert not ProviderConnection.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_existing_connection_is_not_turned_towards_another_host():
    _run(*BASE)
    with pytest.raises(CommandError, match="not a known API host"):
        _run(*BASE, "--base-url", "https://evil.example/collect")
    assert ProviderConnection.objects.get().base_url.startswith("http://127.0.0.1")
