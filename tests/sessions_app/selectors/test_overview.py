"""The overview's reads (selectors/overview.py): counts, attention by age, daily activity."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app import selectors
from sessions_app.models import (
    Outcome,
    Status,
)
from tests.factories import (
    ProviderConnectionFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def test_breakdown_counts_by_status_outcome_and_provider(django_assert_num_queries):
    onfido = ProviderConnectionFactory(slug="onfido-a", display_name="Onfido A")
    ica = ProviderConnectionFactory(slug="ica-b", kind="ica", display_name="ICA B")
    WorkflowSessionFactory.create_batch(
        3, connection=onfido, status=Status.COMPLETED, outcome=Outcome.CLEAR
    )
    WorkflowSessionFactory(
        connection=onfido, status=Status.FAILED, outcome=Outcome.ATTENTION
    )
    WorkflowSessionFactory.create_batch(
        2, connection=ica, status=Status.IN_PROGRESS, outcome=Outcome.NONE
    )
    with django_assert_num_queries(2):  # counts, then connection names
        breakdown = selectors.session_breakdown()
    assert breakdown.total == 6
    assert [(r.value, r.count) for r in breakdown.by_status] == [
        ("in_progress", 2),
        ("completed", 3),
        ("failed", 1),
    ]
    assert [(r.value, r.label, r.count) for r in breakdown.by_outcome] == [
        ("none", "None yet", 2),
        ("clear", "Clear", 3),
        ("attention", "Attention", 1),
    ]
    assert [(r.value, r.label, r.count) for r in breakdown.by_provider] == [
        ("ica-b", "ICA B", 2),
        ("onfido-a", "Onfido A", 4),
    ]


def test_attention_summary_buckets_by_age(django_assert_num_queries):
    def make(hours: float, **kwargs):
        return WorkflowSessionFactory(
            provider_created_at=NOW - dt.timedelta(hours=hours), **kwargs
        )

    make(2, status=Status.AWAITING_INPUT)
    make(23, status=Status.FAILED)
    make(30, outcome=Outcome.REJECTED)
    make(24 * 6.5, status=Status.UNKNOWN)
    oldest = make(24 * 40, outcome=Outcome.ATTENTION)
    make(24 * 90, outcome=Outcome.ATTENTION, last_decision="approve")  # decided
    make(1, outcome=Outcome.CLEAR)  # fine
    # The tally's total, the last week's buckets, the oldest: none scans every
    # session that needs attention.
    with django_assert_num_queries(3):
        summary = selectors.session_attention_summary(now=NOW)
    assert summary.total == 5
    assert summary.under_1_day == 2
    assert summary.days_1_to_7 == 2
    assert summary.over_7_days == 1
    assert summary.oldest_created_at == oldest.provider_created_at


def test_attention_summary_when_nothing_waits():
    WorkflowSessionFactory(outcome=Outcome.CLEAR)
    summary = selectors.session_attention_summary(now=NOW)
    assert summary.total == 0
    assert summary.oldest_created_at is None


def test_daily_activity_counts_created_and_completed_per_day(django_assert_num_queries):
    day = dt.timedelta(days=1)
    WorkflowSessionFactory(
        provider_created_at=NOW - dt.timedelta(hours=1),
        completed_at=NOW - dt.timedelta(minutes=5),
    )
    WorkflowSessionFactory(
        provider_created_at=NOW - dt.timedelta(hours=2), completed_at=None
    )
    WorkflowSessionFactory(provider_created_at=NOW - 3 * day, completed_at=NOW - day)
    WorkflowSessionFactory(
        provider_created_at=NOW - 45 * day, completed_at=NOW - 44 * day
    )  # too old
    with django_assert_num_queries(2):
        activity = selectors.session_daily_activity(days=30, now=NOW)
    assert len(activity.days) == 30
    assert activity.days[-1] == NOW.date()
    assert activity.days[0] == NOW.date() - 29 * day
    assert sum(activity.created) == 3
    assert activity.created[-1] == 2
    assert activity.created[-4] == 1
    assert activity.completed[-1] == 1
    assert activity.completed[-2] == 1
    assert sum(activity.completed) == 2
    data = activity.as_chart_data()
    assert data["labels"][-1] == "2026-06-15"
    assert data["created"] == activity.created
