"""The overview's team view on known data, with a fixed clock (`now`)."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.cases import services as case_services
from sessions_app.models import Review
from sessions_app.selectors.team import team_activity, team_window_start
from tests.factories import ReviewFactory, UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db

# A Wednesday: this week began on Monday 16 November; eight weeks back from
# it begin on Monday 28 September.
NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 9, 28, tzinfo=dt.UTC)


def _decision(
    reviewer, *, at: dt.datetime, after: dt.timedelta, due_at: dt.datetime | None = None
) -> Review:
    session = WorkflowSessionFactory(provider_created_at=at - after)
    review = ReviewFactory(session=session, reviewer=reviewer)
    # created_at is auto_now_add; due_at the SLA's due time the maker worked to.
    Review.objects.filter(pk=review.pk).update(created_at=at, due_at=due_at)
    return review


def test_the_window_is_the_last_eight_iso_weeks_in_utc():
    assert team_window_start(now=NOW) == START
    assert team_window_start(now=START) == dt.datetime(2026, 8, 10, tzinfo=dt.UTC)


def test_decisions_per_reviewer_per_week_and_median_times(
    django_assert_max_num_queries,
):
    _known_decisions_counted(django_assert_max_num_queries)


@pytest.mark.postgres
def test_the_medians_on_postgresql_by_percentile_cont(django_assert_max_num_queries):
    _known_decisions_counted(django_assert_max_num_queries)


def _known_decisions_counted(django_assert_max_num_queries) -> None:
    ann = UserFactory(username="ann", roles=["reviewer"])
    bob = UserFactory(username="bob", roles=["reviewer"])
    hour = dt.timedelta(hours=1)
    late = dt.datetime(2026, 11, 14, tzinfo=dt.UTC)  # a due time already past
    _decision(ann, at=dt.datetime(2026, 11, 16, 0, 0, tzinfo=dt.UTC), after=hour)
    _decision(
        ann,
        at=dt.datetime(2026, 11, 18, 11, 0, tzinfo=dt.UTC),
        after=3 * hour,
        due_at=late,
    )
    _decision(
        ann,
        at=dt.datetime(2026, 11, 15, 23, 59, tzinfo=dt.UTC),
        after=48 * hour,
        due_at=dt.datetime(2026, 11, 16, tzinfo=dt.UTC),  # decided in time
    )
    _decision(bob, at=START, after=dt.timedelta(minutes=30), due_at=START)  # on the dot
    _decision(bob, at=START - dt.timedelta(seconds=1), after=hour)  # before: left out

    with django_assert_max_num_queries(4):
        team = team_activity(now=NOW)

    assert team.weeks[0] == START.date()
    assert team.weeks[-1] == dt.date(2026, 11, 16)
    assert len(team.weeks) == 8
    assert [r.username for r in team.reviewers] == ["ann", "bob"]
    ann_row, bob_row = team.reviewers
    assert ann_row.per_week == [0, 0, 0, 0, 0, 0, 1, 2]
    assert bob_row.per_week == [1, 0, 0, 0, 0, 0, 0, 0]
    assert ann_row.totals == {"decisions": 3, "late": 1}
    assert bob_row.totals == {"decisions": 1, "late": 0}
    assert ann_row.median_seconds == pytest.approx(3 * 3600)  # of 1 h, 3 h, 48 h
    assert bob_row.median_seconds == pytest.approx(1800)
    assert team.week_totals == [1, 0, 0, 0, 0, 0, 1, 2]
    assert team.totals == {"decisions": 4, "late": 1}
    # Of 30 min, 1 h, 3 h, 48 h: the middle two's mean.
    assert team.median_seconds == pytest.approx(2 * 3600)


def test_an_empty_window():
    team = team_activity(now=NOW)
    assert team.reviewers == []
    assert team.median_seconds is None
    assert team.week_totals == [0] * 8


def test_a_decision_copies_its_sessions_start_for_the_time_to_decision(reviewer):
    started = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    session = WorkflowSessionFactory(provider_created_at=started, outcome="clear")
    result = case_services.case_decision_record(
        session=session,
        reviewer=reviewer,
        decision="escalate",
        reason_code="watchlist_match",
        comment="",
    )
    assert result.review is not None
    assert result.review.session_created_at == started
    assert Review.objects.get(pk=result.review.pk).session_created_at == started
