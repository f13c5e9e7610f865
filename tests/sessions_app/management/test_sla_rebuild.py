"""`manage.py sla_rebuild [--check]`: the due times against the rules."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.factories import WorkflowSessionFactory

pytestmark = pytest.mark.django_db


def test_the_command_checks_then_rebuilds():
    WorkflowSessionFactory(outcome="rejected")  # no clock yet
    with pytest.raises(CommandError, match="disagree"):
        call_command("sla_rebuild", "--check", stdout=io.StringIO())
    out = io.StringIO()
    call_command("sla_rebuild", stdout=out)
    assert "1 session(s) written" in out.getvalue()
    out = io.StringIO()
    call_command("sla_rebuild", "--check", stdout=out)
    assert "agree" in out.getvalue()
