"""`sync_providers`: foreground sync to the end, summary per provider, exit code."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from sessions_app.models import SyncRun, WorkflowSession
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
        "Environment variable FAKE_NOKEY_TOKEN (credential of 'nokey') is not set."
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
