"""The overview's team view as rendered: chart and table of known decisions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Review
from sessions_app.views.team import duration_words
from tests.factories import ReviewFactory, UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "—"),
        (0, "0 min"),
        (12 * 60 + 20, "12 min"),
        (5 * 3600 + 12 * 60, "5 h 12 min"),
        (2 * 86400 + 4 * 3600 + 59, "2 d 4 h"),
    ],
)
def test_duration_words(seconds, words):
    assert duration_words(seconds) == words


def test_the_overview_charts_and_tables_decisions_per_reviewer(reviewer_client):
    ann = UserFactory(username="ann", roles=["reviewer"])
    now = timezone.now()
    for hours in (1, 3, 5):  # this week, times to decision 1 h, 3 h, 5 h
        session = WorkflowSessionFactory(
            provider_created_at=now - dt.timedelta(hours=hours)
        )
        review = ReviewFactory(session=session, reviewer=ann)
        if hours == 5:  # decided after its due time: an SLA breach
            Review.objects.filter(pk=review.pk).update(
                due_at=now - dt.timedelta(hours=2)
            )
    old = ReviewFactory(reviewer=ann)  # ten weeks ago: outside the window
    Review.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(weeks=10))

    page = reviewer_client.get(reverse("overview")).content.decode()
    team = page.split('aria-labelledby="team-title"')[1].split("</section>")[0]
    row = re.search(r'<th scope="row">ann</th>(.*?)</tr>', team, re.S).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # Eight weeks (this one last), the decisions, the late ones, the median time.
    assert cells == ["0"] * 7 + ["3", "3", "1", "3 h 0 min"]
    assert "Late (SLA breached)" in team
    assert '<svg viewBox="0 0' in team
    assert 'role="img"' in team
    assert "<title>ann, week of" in team
    assert ": 3</title>" in team


def test_the_overview_with_no_decisions(reviewer_client):
    page = reviewer_client.get(reverse("overview")).content.decode()
    assert "No decisions in the last 8 weeks." in page
