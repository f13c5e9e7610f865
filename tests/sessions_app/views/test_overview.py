"""The overview page (views/overview.py): counts, attention, sync health, chart."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sessions_app.models import Status, WorkflowSession, needs_attention_q
from tests.factories import WorkflowSessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]


def test_overview_shows_counts_attention_health_and_chart_data(viewer_client, data):
    response = viewer_client.get(reverse("overview"))
    assert response.status_code == 200
    context = response.context
    assert context["breakdown"].total == 12
    assert (
        context["attention"].total
        == WorkflowSession.objects.filter(needs_attention_q()).count()
    )
    assert {h.connection.slug for h in context["health"]} == {
        "onfido-eu",
        "complycube",
        "ica-lab",
    }
    page = response.content.decode()
    # Oldest first: the longest-waiting sessions lead the attention queue.
    attention_url = f"{reverse('session-list')}?needs_attention=true&amp;sort=created"
    # The button, the count and the "oldest" card.
    assert page.count(f'href="{attention_url}"') == 3
    assert f'href="{reverse("session-list")}?needs_attention=true"' not in page
    assert f'href="{reverse("session-list")}?status=failed"' in page
    chart = json.loads(
        re.search(
            r'<script id="activity-data" type="application/json">(.*?)</script>', page
        ).group(1)
    )
    assert len(chart["labels"]) == 30
    assert sum(chart["created"]) == 12
    assert "Failing" in page
    # The last run's error in words; the provider's own text stays in the admin.
    assert "(HTTP 503)" in page
    assert "HTTP 503 from provider" not in page


def test_overview_scripts_are_static_files_with_the_csp_nonce(viewer_client, data):
    response = viewer_client.get(reverse("overview"))
    page = response.content.decode()
    nonce = re.search(
        r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]
    ).group(1)
    scripts = re.findall(r"<script ([^>]*)>", page)
    sources = [s for s in scripts if "src=" in s]
    assert len(sources) == 2
    assert all(f'nonce="{nonce}"' in s for s in sources)
    assert "/static/vendor/chart.js/chart.umd.min.js" in page
    assert finders.find("vendor/chart.js/chart.umd.min.js")
    assert finders.find("vendor/chart.js/LICENSE.md")
    assert finders.find("js/overview-chart.js")
    # The only inline <script> is the JSON data block, which never executes.
    inline = [s for s in scripts if "src=" not in s]
    assert inline == ['id="activity-data" type="application/json"']
    assert "style=" not in page
    assert "'nonce-" in response.headers["Content-Security-Policy"]


def test_overview_on_an_empty_database(viewer_client):
    response = viewer_client.get(reverse("overview"))
    assert response.status_code == 200
    assert "nothing waiting" in response.content.decode()


def test_the_age_buckets_and_the_oldest_card_open_the_queue_at_their_sessions(
    viewer_client,
):
    now = timezone.now()
    ages = {"under_1_day": [2, 20], "days_1_to_7": [30, 100, 160], "over_7_days": [200]}
    for bucket, hours in ages.items():
        for h in hours:
            WorkflowSessionFactory(
                external_id=f"{bucket}-{h}",
                status=Status.FAILED,
                provider_created_at=now - dt.timedelta(hours=h),
            )
    WorkflowSessionFactory(external_id="fine", status=Status.COMPLETED)

    response = viewer_client.get(reverse("overview"))
    attention, urls = response.context["attention"], response.context["attention_urls"]
    page = response.content.decode()
    for bucket, hours in [*ages.items(), ("oldest", [200, 160, 100, 30, 20, 2])]:
        assert f'href="{escape(urls[bucket])}"' in page
        queue = viewer_client.get(urls[bucket])
        assert queue.context["filter_errors"] == []
        listed = [s.external_id for s in queue.context["sessions"]]
        # Oldest first, exactly the sessions the overview counts in the bucket.
        assert listed == [
            f"{bucket if bucket != 'oldest' else _bucket_of(h)}-{h}"
            for h in sorted(hours, reverse=True)
        ]
        if bucket != "oldest":
            assert getattr(attention, bucket) == len(hours)
    assert attention.total == 6


def _bucket_of(hours: int) -> str:
    return (
        "under_1_day" if hours < 24 else "days_1_to_7" if hours < 168 else "over_7_days"
    )


def test_sla_breaches_per_rule_link_to_their_overdue_queues(viewer_client):
    now = timezone.now()
    past, future = now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)
    WorkflowSessionFactory(outcome="rejected", case_due_at=past)
    WorkflowSessionFactory(status="failed", case_state="approved", case_due_at=past)
    WorkflowSessionFactory(case_state="escalated", case_due_at=past)
    WorkflowSessionFactory(case_state="waiting", case_due_at=future)  # not yet
    response = viewer_client.get(reverse("overview"))
    breaches = response.context["sla_breaches"]
    assert breaches["total"] == 3
    counts = {row["rule"]: row["count"] for row in breaches["rows"]}
    assert counts == {
        "needs_attention": 2,
        "escalated": 1,
        "waiting": 0,
        "awaiting_approval": 0,
    }
    page = response.content.decode()
    queue = reverse("session-list")
    assert f'href="{queue}?overdue=true&amp;sort=due"' in page
    # Each rule's link lists exactly the sessions it counts.
    for row in breaches["rows"]:
        listed = viewer_client.get(row["url"]).context["sessions"]
        assert len(listed) == row["count"], row["rule"]
    assert "Needs attention: 2" in page


def test_a_backlog_beyond_the_cap_reads_more_than(viewer_client, monkeypatch):
    from sessions_app.cases import selectors as case_selectors

    monkeypatch.setattr(case_selectors, "BREACH_COUNT_CAP", 2)
    past = timezone.now() - dt.timedelta(hours=1)
    WorkflowSessionFactory.create_batch(3, outcome="rejected", case_due_at=past)
    response = viewer_client.get(reverse("overview"))
    breaches = response.context["sla_breaches"]
    assert breaches["total"] is None
    assert {row["count"] for row in breaches["rows"]} == {None}
    assert "More than 2" in response.content.decode()
    monkeypatch.setattr(case_selectors, "BREACH_COUNT_CAP", 3)
    assert viewer_client.get(reverse("overview")).context["sla_breaches"]["total"] == 3
