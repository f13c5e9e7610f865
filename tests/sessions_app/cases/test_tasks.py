"""The beat brings waiting cases back to work (the task is a thin wrapper
around `cases_waiting_return`)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from sessions_app import tasks
from sessions_app.models import CaseState, WorkflowSession
from tests.factories import WorkflowSessionFactory


def test_the_beat_schedules_the_waiting_return():
    from config.celery import app

    app.finalize()
    entry = app.conf.beat_schedule["verity: bring waiting cases back to work"]
    assert entry["task"] == "sessions_app.tasks.cases_waiting_return_due"
    assert entry["schedule"] == float(settings.VERITY_CASE_WAITING_RETURN_SECONDS)
    assert "sessions_app.tasks.cases_waiting_return_due" in app.tasks


@pytest.mark.django_db
def test_the_task_returns_only_the_cases_whose_date_passed():
    now = timezone.now()
    due = WorkflowSessionFactory(
        case_state=CaseState.WAITING, case_waiting_until=now - dt.timedelta(hours=1)
    )
    later = WorkflowSessionFactory(
        case_state=CaseState.WAITING, case_waiting_until=now + dt.timedelta(days=1)
    )
    assert tasks.cases_waiting_return_due.delay().get() == [due.pk]
    assert WorkflowSession.objects.get(pk=due.pk).case_state == CaseState.OPEN
    assert WorkflowSession.objects.get(pk=later.pk).case_state == CaseState.WAITING
