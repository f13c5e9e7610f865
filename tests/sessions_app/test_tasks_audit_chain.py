"""The daily audit chain verification: the task and its beat entry."""

from __future__ import annotations

import pytest
from celery.schedules import crontab

from config import celery as celery_config
from sessions_app import tasks
from sessions_app.models import AuditChainVerification
from tests.helpers.audit_chain import events_write, tamper


@pytest.mark.django_db
def test_the_task_verifies_records_and_returns_whether_intact():
    events = events_write(3)
    assert tasks.audit_chain_verify_daily.delay().get() is True
    tamper("UPDATE {table} SET object_id = 'x' WHERE id = %s", [events[0].pk])
    assert tasks.audit_chain_verify_daily.delay().get() is False
    assert list(
        AuditChainVerification.objects.order_by("id").values_list("intact", flat=True)
    ) == [True, False]


def test_beat_runs_it_once_a_day_at_the_configured_hour(settings):
    settings.VERITY_AUDIT_VERIFY_HOUR = 4
    scheduled = {}

    class Sender:
        def add_periodic_task(self, schedule, signature, name, **options):
            scheduled[signature] = schedule

        def signature(self, name):
            return name

    celery_config._setup_beat(Sender())
    schedule = scheduled["sessions_app.tasks.audit_chain_verify_daily"]
    assert schedule == crontab(minute=17, hour=4)
