"""`sync_providers`: foreground sync to the end, summary per provider, exit code."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from sessions_app.models import ProviderConnection, SyncRun, WorkflowSession
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _populate(provider, count: int) -> None:
    for n in range(count):
        provider.add(
            f"{provider.slug}-{n}", status="approved" if n % 2 else "processing"
        )


def test_syncs_every_enabled_provider_to_the_end_and_summarises(monkeypatch, settings):
    settings.VERITY_SYNC_MAX_PAGES = 1  # forces several partial runs per provider
    onfido, _ = fake_provider_install(monkeypatch, slug="onfido-a", page_size=2)
    _populate(onfido, 5)
    ica, _ = fake_provider_install(monkeypatch, slug="ica-a", kind="ica", page_size=10)
    ica.add("ws-1", status="NEW_V5_STATUS")
    fake_provider_install(monkeypatch, slug="off", enabled=False)
    out = io.StringIO()

    call_command("sync_providers", stdout=out)

    text = out.getvalue()
    assert "onfido-a: succeeded in" in text
    assert "3 run(s): seen 5, created 5, updated 0, unchanged 0, quarantined 0" in text
    assert "onfido-a: run" in text  # a plain line per run without a terminal
    assert "ica-a: succeeded" in text
    assert "unknown values: NEW_V5_STATUS: 1" in text
    assert "off" not in text
    assert WorkflowSession.objects.count() == 6
    assert set(SyncRun.objects.values_list("trigger", flat=True)) == {"manual"}


def test_exits_non_zero_when_a_provider_fails_but_syncs_the_others(monkeypatch):
    down, _ = fake_provider_install(monkeypatch, slug="down")
    down.add("x-1")
    down.fail_at_page = 0
    up, _ = fake_provider_install(monkeypatch, slug="up")
    _populate(up, 2)
    out = io.StringIO()

    with pytest.raises(CommandError, match="Sync failed for: down"):
        call_command("sync_providers", stdout=out)

    text = out.getvalue()
    assert "down: failed" in text
    assert "HTTP 500" in text
    assert "up: succeeded" in text
    assert WorkflowSession.objects.filter(connection__slug="up").count() == 2


def test_named_providers_only_and_full_flag(monkeypatch):
    chosen, _ = fake_provider_install(monkeypatch, slug="chosen", enabled=False)
    _populate(chosen, 1)
    other, _ = fake_provider_install(monkeypatch, slug="other")
    _populate(other, 1)

    call_command(
        "sync_providers", "--provider", "chosen", "--full", stdout=io.StringIO()
    )

    assert chosen.calls[0]["full"] is True
    assert other.calls == []
    assert SyncRun.objects.get().trigger == "full"


def test_unknown_provider_slug_is_an_error(monkeypatch):
    fake_provider_install(monkeypatch, slug="real")
    with pytest.raises(CommandError, match="Unknown provider connection\\(s\\): ghost"):
        call_command(
            "sync_providers",
            "--provider",
            "ghost",
            "--provider",
            "real",
            stdout=io.StringIO(),
        )
    assert SyncRun.objects.count() == 0


def test_missing_credential_fails_with_its_name(monkeypatch):
    fake_provider_install(monkeypatch, slug="nokey", credential=None)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("sync_providers", stdout=out)
    assert (
        "Environment variable VERITY_PROVIDER_FAKE_NOKEY_TOKEN (credential of 'nokey') is not set."
        in out.getvalue()
    )


def test_progress_bar_on_a_terminal(monkeypatch):
    provider, _ = fake_provider_install(monkeypatch, slug="tty", page_size=2)
    _populate(provider, 4)
    out = Terminal()

    call_command("sync_providers", stdout=out)

    text = out.getvalue()
    assert "sessions" in text  # tqdm's unit
    assert "\r" in text  # redrawn in place
    assert "tty: run" not in text  # no plain per-run lines on a terminal
    assert "tty: succeeded" in text


def test_an_error_outside_the_engines_handling_fails_one_provider_only(monkeypatch):
    """A database error escaping a provider's pass: report it, sync the rest, exit 1."""
    from django.db import OperationalError

    from sessions_app.sync import engine as sync

    for slug in ("a-first", "b-broken", "c-last"):
        provider, _ = fake_provider_install(monkeypatch, slug=slug)
        _populate(provider, 2)
    real_acquire = sync.connection_lease_acquire
    broken = ProviderConnection.objects.get(slug="b-broken").pk

    def acquire(*, connection_id, **kwargs):
        if connection_id == broken:
            raise OperationalError("database is locked")
        return real_acquire(connection_id=connection_id, **kwargs)

    monkeypatch.setattr(sync, "connection_lease_acquire", acquire)
    out = io.StringIO()

    with pytest.raises(CommandError, match="Sync failed for: b-broken\\.") as caught:
        call_command("sync_providers", stdout=out)

    assert caught.value.returncode == 1
    text = out.getvalue()
    assert "b-broken: failed" in text
    assert "OperationalError: database is locked" in text
    assert "a-first: succeeded" in text
    assert "c-last: succeeded" in text  # the provider after the crash still ran
    assert WorkflowSession.objects.filter(connection__slug="c-last").count() == 2


def test_a_held_lease_is_reported_as_skipped_with_its_own_exit_status(monkeypatch):
    from sessions_app.sync import lease

    held, held_connection = fake_provider_install(monkeypatch, slug="held")
    _populate(held, 2)
    free, _ = fake_provider_install(monkeypatch, slug="free")
    _populate(free, 2)
    lease.connection_lease_acquire(connection_id=held_connection.pk)  # the worker's
    out = io.StringIO()

    with pytest.raises(
        CommandError, match="Skipped, another sync holds the lease: held"
    ) as caught:
        call_command("sync_providers", stdout=out)

    assert caught.value.returncode == 3
    assert "Sync failed" not in str(caught.value)
    text = out.getvalue()
    assert "held: skipped" in text
    assert "NOT SYNCED by this command" in text
    assert "free: succeeded" in text
    assert WorkflowSession.objects.filter(connection__slug="held").count() == 0


def test_failures_take_precedence_over_skips_in_the_exit_status(monkeypatch):
    from sessions_app.sync import lease

    _, held_connection = fake_provider_install(monkeypatch, slug="held")
    down, _ = fake_provider_install(monkeypatch, slug="down")
    down.add("x-1")
    down.fail_at_page = 0
    lease.connection_lease_acquire(connection_id=held_connection.pk)

    with pytest.raises(CommandError) as caught:
        call_command("sync_providers", stdout=io.StringIO())

    assert caught.value.returncode == 1
    assert "Sync failed for: down." in str(caught.value)
    assert "another sync holds the lease: held" in str(caught.value)


def test_off_a_terminal_every_committed_page_prints_one_line(monkeypatch, settings):
    settings.VERITY_SYNC_MAX_PAGES = 2
    settings.VERITY_SYNC_BATCH_SIZE = 1  # every adapter page is its own commit
    provider, _ = fake_provider_install(monkeypatch, slug="logs", page_size=2)
    _populate(provider, 7)  # 4 pages: 2 runs of 2 pages
    out = io.StringIO()

    call_command("sync_providers", stdout=out)

    lines = [line for line in out.getvalue().splitlines() if " committed: " in line]
    pages = sum(SyncRun.objects.values_list("pages", flat=True))
    assert len(lines) == pages >= 4
    assert lines[0].startswith("logs: run ")
    assert lines[-1].endswith("(7 seen so far)")
    assert SyncRun.objects.count() >= 2
