"""The client review refresh tasks and their beat entries."""

from __future__ import annotations

import pytest
from celery.schedules import crontab

from config import celery as celery_config
from sessions_app import tasks
from sessions_app.models import Client
from tests.factories import ClientFactory, ProviderClientFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


def test_the_daily_task_refreshes_every_client_once_a_day():
    identity = ProviderClientFactory()
    WorkflowSessionFactory(provider_client=identity, outcome="rejected")
    ClientFactory()
    assert tasks.clients_review_refresh_daily.delay().get() == 2
    assert Client.objects.get(pk=identity.client_id).risk_tier == "high"
    assert tasks.clients_review_refresh_daily.delay().get() == 0  # done today


def test_a_daily_run_out_of_time_continues_in_a_new_run(monkeypatch):
    for _ in range(3):
        ClientFactory()
    monkeypatch.setattr(tasks, "CLIENT_REFRESH_BUDGET_SECONDS", -1)
    monkeypatch.setattr(
        "sessions_app.client_review.refresh.settings.VERITY_REVIEW_REFRESH_BATCH", 1
    )
    # Eager: each run does one batch and enqueues the next until all are done.
    tasks.clients_review_refresh_daily.delay()
    assert not Client.objects.filter(assurance_refreshed_at__isnull=True).exists()


def test_the_stale_task_refreshes_the_clients_the_sync_marked():
    identity = ProviderClientFactory()
    WorkflowSessionFactory(provider_client=identity, outcome="rejected")
    Client.objects.update(assurance_stale=True)
    assert tasks.clients_review_refresh_stale.delay().get() == 1
    client = Client.objects.get()
    assert (client.risk_tier, client.assurance_stale) == ("high", False)


def test_beat_runs_the_refreshes(settings):
    settings.VERITY_REVIEW_REFRESH_HOUR = 5
    scheduled = {}

    class Sender:
        def add_periodic_task(self, schedule, signature, name, **options):
            scheduled[signature] = schedule

        def signature(self, name):
            return name

    celery_config._setup_beat(Sender())
    daily = scheduled["sessions_app.tasks.clients_review_refresh_daily"]
    assert daily == crontab(minute=7, hour=5)
    assert scheduled["sessions_app.tasks.clients_review_refresh_stale"] == 60.0
