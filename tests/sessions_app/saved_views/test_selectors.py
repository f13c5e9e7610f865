"""Saved views' counts: capped, one query for all of them."""

from __future__ import annotations

import pytest

from sessions_app.models import WorkflowSession
from sessions_app.saved_views.selectors import session_counts_capped
from tests.factories import WorkflowSessionFactory

pytestmark = pytest.mark.django_db


def test_every_count_in_one_query_each_capped(django_assert_num_queries):
    WorkflowSessionFactory.create_batch(3, status="failed")
    WorkflowSessionFactory.create_batch(1, status="completed")
    sessions = WorkflowSession.objects.all()
    querysets = [
        sessions,
        sessions.filter(status="failed"),
        sessions.filter(status="completed"),
        sessions.filter(status="expired"),
        sessions.none(),  # a filter that can match nothing
    ] * 4
    with django_assert_num_queries(1):
        counts = session_counts_capped(querysets=querysets, cap=2)
    # Above the cap: cap + 1 ("more than 2").
    assert counts == [3, 3, 1, 0, 0] * 4


def test_nothing_to_count_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert session_counts_capped(querysets=[]) == []
