"""`manage.py audit_verify`: intact exits 0, a break exits 1 and says where."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import AuditChainVerification
from tests.helpers.audit_chain import events_write, tamper

pytestmark = pytest.mark.django_db


def test_an_intact_chain_is_reported_and_recorded():
    events_write(5)
    out = io.StringIO()
    call_command("audit_verify", "--chunk-size", "2", stdout=out)
    assert "Audit chain intact: 5 event(s), up to sequence 5." in out.getvalue()
    assert AuditChainVerification.objects.get().intact


def test_a_break_exits_non_zero_naming_sequence_id_and_kind():
    events = events_write(5)
    tamper("DELETE FROM {table} WHERE id = %s", [events[3].pk])
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify", stdout=io.StringIO())
    assert caught.value.returncode == 1
    message = str(caught.value)
    assert f"BROKEN at sequence 5 (event id {events[4].pk}): deleted" in message
    assert "sequence 4 missing" in message
    assert not AuditChainVerification.objects.get().intact


def test_a_chunk_size_below_one_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("audit_verify", "--chunk-size", "0")
    assert not AuditChainVerification.objects.exists()
