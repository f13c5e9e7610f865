"""Saved views on the review queue: save, list with counts, open, rename,
delete; "next in queue" follows the view; another user's views stay theirs."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from sessions_app.models import SavedView
from sessions_app.saved_views import services
from sessions_app.saved_views.queries import saved_view_url
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("session-list")


def _save(client, name: str, query: str):
    return client.post(reverse("saved-view-create"), {"name": name, "query": query})


def test_save_the_queues_filters_and_sort_then_open_the_view(reviewer_client, reviewer):
    WorkflowSessionFactory(status="failed")
    response = _save(
        reviewer_client,
        "Failed, oldest first",
        "status=failed&sort=created&page_size=100&cursor=abc&q=",
    )
    view = SavedView.objects.get(user=reviewer)
    # Filters and sort only, keys in order; the page and its size are not kept.
    assert view.query == "sort=created&status=failed"
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?sort=created&status=failed"

    page = reviewer_client.get(response["Location"]).content.decode()
    link = re.search(
        r'<a href="([^"]+)" aria-current="page">Failed, oldest first', page
    )
    assert link
    assert link.group(1) == "/sessions/?sort=created&amp;status=failed"
    assert "View saved: Failed, oldest first." in page


def test_a_bad_filter_is_never_saved_and_the_typed_name_comes_back(reviewer_client):
    response = _save(reviewer_client, "Broken", "status=nope&tag=no-such-tag")
    assert response.status_code == 302
    assert not SavedView.objects.exists()
    page = reviewer_client.get(response["Location"]).content.decode()
    assert "The view was not saved. These filters cannot be saved:" in page
    assert "Tag:" in page
    assert "Status:" in page
    assert 'id="saved-view-name" name="name" value="Broken"' in page


def test_the_list_shows_each_views_count_capped(reviewer_client, reviewer, settings):
    WorkflowSessionFactory.create_batch(3, status="failed")
    WorkflowSessionFactory(status="completed")
    services.saved_view_create(user=reviewer, name="Failed", query="status=failed")
    services.saved_view_create(
        user=reviewer, name="Cancelled", query="status=cancelled"
    )
    # Valid when saved, not any more (its tag was deleted since): no count.
    services.saved_view_create(user=reviewer, name="Gone", query="tag=deleted-tag")
    page = reviewer_client.get(QUEUE).content.decode()
    assert re.search(r">Failed <span class=\"count\">\(3<", page)
    assert re.search(r">Cancelled <span class=\"count\">\(0<", page)
    assert re.search(r">Gone <span class=\"count\">\(filters no longer valid<", page)


def test_a_count_above_the_cap_reads_as_more(reviewer_client, reviewer, monkeypatch):
    from sessions_app.saved_views import selectors

    monkeypatch.setattr(selectors, "SAVED_VIEW_COUNT_CAP", 2)
    original = selectors.session_counts_capped
    monkeypatch.setattr(
        selectors,
        "session_counts_capped",
        lambda *, querysets: original(querysets=querysets, cap=2),
    )
    WorkflowSessionFactory.create_batch(3, status="failed")
    services.saved_view_create(user=reviewer, name="Failed", query="status=failed")
    page = reviewer_client.get(QUEUE).content.decode()
    assert re.search(r">Failed <span class=\"count\">\(2\+<", page)


def test_the_queues_queries_do_not_grow_with_the_views(
    reviewer_client, reviewer, django_assert_max_num_queries
):
    WorkflowSessionFactory.create_batch(3, status="failed")

    def queries() -> int:
        with django_assert_max_num_queries(30) as captured:
            assert reviewer_client.get(QUEUE).status_code == 200
        return len(captured.captured_queries)

    services.saved_view_create(user=reviewer, name="v0", query="status=failed")
    few = queries()
    for i in range(1, services.SAVED_VIEWS_PER_USER_MAX):
        services.saved_view_create(
            user=reviewer, name=f"v{i}", query=f"status=failed&workflow=w{i}"
        )
    assert queries() == few  # one query lists them, one counts them all


def test_rename_and_delete_from_the_queue(reviewer_client, reviewer):
    view = services.saved_view_create(user=reviewer, name="Old", query="status=failed")
    response = reviewer_client.post(
        reverse("saved-view-rename", args=[view.pk]), {"name": "New"}
    )
    assert response["Location"] == saved_view_url(view)
    assert SavedView.objects.get(pk=view.pk).name == "New"
    reviewer_client.post(reverse("saved-view-rename", args=[view.pk]), {"name": ""})
    assert SavedView.objects.get(pk=view.pk).name == "New"  # refused, kept
    response = reviewer_client.post(reverse("saved-view-delete", args=[view.pk]))
    assert response["Location"] == QUEUE
    assert not SavedView.objects.exists()


def test_another_users_views_are_neither_listed_nor_touched(reviewer_client):
    stranger = UserFactory(username="stranger", roles=["reviewer"])
    theirs = services.saved_view_create(user=stranger, name="Theirs", query="")
    assert "Theirs" not in reviewer_client.get(QUEUE).content.decode()
    for name in ("saved-view-rename", "saved-view-delete"):
        response = reviewer_client.post(reverse(name, args=[theirs.pk]), {"name": "x"})
        assert response.status_code == 404
    assert SavedView.objects.get(pk=theirs.pk).name == "Theirs"


def test_next_in_queue_follows_the_saved_view(reviewer_client, reviewer):
    day = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    first, _, second = (
        WorkflowSessionFactory(
            external_id=f"s{i}",
            status=status,
            provider_created_at=day + dt.timedelta(hours=i),
        )
        for i, status in enumerate(("failed", "completed", "failed"))
    )
    # Oldest first, failed only: after s0 comes s2 (s1 is not in the view).
    view = services.saved_view_create(
        user=reviewer, name="Failed", query="sort=created&status=failed"
    )
    back = urlencode({"back": saved_view_url(view)})
    page = reviewer_client.get(f"{first.get_absolute_url()}?{back}").content.decode()
    assert f'href="{second.get_absolute_url()}?' in page
    assert "Next in queue" in page
    assert ">s2<" in page
    page = reviewer_client.get(f"{second.get_absolute_url()}?{back}").content.decode()
    assert "Last session of this queue" in page
