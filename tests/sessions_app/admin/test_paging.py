"""Keyset pages in the admin's session and audit lists (admin/paging.py): deep
pages show the right rows without OFFSET, filters still apply, sorting by a
column keeps numbered pages but only the first of them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.models import AuditEvent, WorkflowSession
from sessions_app.services import audit_event_record
from tests.factories import WorkflowSessionFactory

pytestmark = pytest.mark.django_db

SESSIONS = reverse("admin:sessions_app_workflowsession_changelist")
AUDIT = reverse("admin:sessions_app_auditevent_changelist")
PER_PAGE = 5


@pytest.fixture
def small_pages(monkeypatch):
    for model in (WorkflowSession, AuditEvent):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", PER_PAGE)


@pytest.fixture
def sessions(small_pages):
    start = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    made = []
    for i in range(17):
        # Pairs share a creation time: the id must break the tie at a page edge.
        made.append(
            WorkflowSessionFactory(
                external_id=f"s-{i:02}",
                provider_created_at=start + dt.timedelta(hours=i // 2),
                status="failed" if i % 3 == 0 else "completed",
            )
        )
    return made


def _walk(client, url, query=None):
    """Follow "Next" from the first page; return the ids page by page."""
    pages, next_url = [], None
    response = client.get(url, query or {})
    while True:
        assert response.status_code == 200
        pages.append([obj.pk for obj in response.context["cl"].result_list])
        next_url = response.context["cl"].next_url
        if not next_url:
            return pages
        response = client.get(url + next_url)


def test_following_next_shows_every_session_once_in_the_default_order(
    admin_client_verity, sessions
):
    pages = _walk(admin_client_verity, SESSIONS)
    expected = list(
        WorkflowSession.objects.order_by("-provider_created_at", "-id").values_list(
            "pk", flat=True
        )
    )
    assert [len(page) for page in pages] == [5, 5, 5, 2]
    assert [pk for page in pages for pk in page] == expected


def test_a_deep_page_is_one_index_range_no_offset(
    admin_client_verity, sessions, django_assert_max_num_queries
):
    cl = admin_client_verity.get(SESSIONS).context["cl"]
    second = admin_client_verity.get(SESSIONS + cl.next_url).context["cl"]
    with (
        django_assert_max_num_queries(12),
        CaptureQueriesContext(connection) as captured,
    ):
        response = admin_client_verity.get(SESSIONS + second.next_url)
    rows = [q["sql"] for q in captured.captured_queries if "LIMIT 6" in q["sql"]]
    assert len(rows) == 1  # the page's rows, one more to know there is a next
    assert "OFFSET" not in rows[0]
    expected = list(
        WorkflowSession.objects.order_by("-provider_created_at", "-id").values_list(
            "pk", flat=True
        )[10:15]
    )
    assert [obj.pk for obj in response.context["cl"].result_list] == expected


def test_previous_and_first_lead_back(admin_client_verity, sessions):
    first = admin_client_verity.get(SESSIONS).context["cl"]
    assert first.previous_url == ""
    assert first.first_url == ""
    second = admin_client_verity.get(SESSIONS + first.next_url).context["cl"]
    third = admin_client_verity.get(SESSIONS + second.next_url)
    page = third.content.decode()
    assert 'rel="prev"' in page
    assert "« First" in page
    assert "About 17 workflow sessions" in page
    back = admin_client_verity.get(SESSIONS + third.context["cl"].previous_url)
    assert [o.pk for o in back.context["cl"].result_list] == [
        o.pk for o in second.result_list
    ]


def test_filters_and_the_cursor_combine_and_new_filters_start_again(
    admin_client_verity, sessions
):
    pages = _walk(admin_client_verity, SESSIONS, {"status__exact": "failed"})
    failed = list(
        WorkflowSession.objects.filter(status="failed")
        .order_by("-provider_created_at", "-id")
        .values_list("pk", flat=True)
    )
    assert [pk for page in pages for pk in page] == failed
    # On a later page, the filter links and sort headers drop the cursor.
    cl = admin_client_verity.get(SESSIONS).context["cl"]
    page = admin_client_verity.get(SESSIONS + cl.next_url).content.decode()
    filter_links = re.findall(r'href="(\?[^"]*status__exact=[^"]*)"', page)
    assert filter_links
    assert all("cursor=" not in link for link in filter_links)


def test_a_damaged_cursor_is_the_admin_s_error_redirect(admin_client_verity, sessions):
    response = admin_client_verity.get(SESSIONS, {"cursor": "not-a-cursor"})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_sorted_by_a_column_only_the_first_pages_are_offered(
    admin_client_verity, sessions, monkeypatch
):
    from sessions_app.admin import paging

    monkeypatch.setattr(paging.BoundedPaginator, "max_pages", 2)
    # `o=1`: sorted by the first column (the session id), an OFFSET page.
    response = admin_client_verity.get(SESSIONS, {"o": "1", "p": "2"})
    ordered = list(
        WorkflowSession.objects.order_by("external_id", "-pk").values_list(
            "pk", flat=True
        )
    )
    assert [o.pk for o in response.context["cl"].result_list] == ordered[5:10]
    page = response.content.decode()
    assert "Only the first 2 pages in this order" in page
    # Beyond them: the last offered page, and a message saying why.
    beyond = admin_client_verity.get(SESSIONS, {"o": "1", "p": "4"}, follow=True)
    assert [o.pk for o in beyond.context["cl"].result_list] == ordered[5:10]
    assert "Only the first 2 pages are offered" in beyond.content.decode()


def test_the_audit_list_pages_by_keyset_too(
    admin_client_verity, small_pages, admin_user
):
    for i in range(12):
        audit_event_record(
            actor=admin_user, source="admin", action=f"test.event{i}", object_id=str(i)
        )
    pages = _walk(admin_client_verity, AUDIT)
    expected = list(
        AuditEvent.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    assert [pk for page in pages for pk in page] == expected
    assert len(pages) == 3
