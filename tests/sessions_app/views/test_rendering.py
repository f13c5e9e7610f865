"""Rendering without queries (views/rendering.py): the template guard, query
budgets independent of rows, and accessible tables on every page."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse

from sessions_app import selectors, views
from tests.sessions_app.desk_data import desk_data_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]

QUEUE = reverse("session-list")


def test_the_template_guard_catches_a_lazy_relation(rf_request_as, data):
    """The guard really fires: hand the client template a lazy queryset."""
    detail = selectors.client_detail_get(pk=data.clients[0].pk)
    lazy = dataclasses.replace(
        detail, provider_clients=data.clients[0].provider_clients.all()
    )
    request = rf_request_as(reverse("client-detail", args=[data.clients[0].pk]))
    with pytest.raises(views.TemplateQueryError):
        views.rendering.render_page(
            request,
            "sessions_app/client_detail.html",
            {"detail": lazy, "client": detail.client},
        )
    # The evaluated detail renders fine under the same guard.
    response = views.rendering.render_page(
        request,
        "sessions_app/client_detail.html",
        {"detail": detail, "client": detail.client},
    )
    assert response.status_code == 200


@pytest.fixture
def rf_request_as(reviewer):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    def build(path: str):
        request = RequestFactory().get(path)
        request.user = reviewer
        request.session = SessionStore()
        request._messages = FallbackStorage(request)
        request._csp_nonce = "test-nonce"
        return request

    return build


PAGES = {
    "overview": lambda d: reverse("overview"),
    "session": lambda d: reverse("session-detail", args=[d.sessions[1].pk]),
    "client": lambda d: reverse("client-detail", args=[d.clients[0].pk]),
    "sync": lambda d: reverse("sync-status"),
}
# The client page: +3 for its assurance matrix (two window queries, one for
# policies), +2 for its retention section (erasure requests, provider
# deletions), +1 for the sessions' reasons; the session page +1 for its
# reasons; session and client: +1 for a reviewer, whether a reveal of its
# personal data is in force (privacy.reveals.personal_data_access); /sync/: +1
# for the audit chain's last verification; the overview: +2 since its counts
# come from the session tally and small index ranges rather than one
# aggregate over every session, +1 for the clients due for re-verification,
# +1 for the case counts, +1 for the SLA breaches, +4 for the team view
# (selectors/team.py: per week, per reviewer, their names, the medians); the
# session +1 for its approvals, +1 for its outcome overrides. The session and
# client pages: +1 each for their note thread.
BUDGETS = {"overview": 21, "session": 19, "client": 21, "sync": 12}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_query_budget_does_not_grow_with_rows(
    reviewer_client, django_assert_max_num_queries, name
):
    def count(sessions: int, checks: int) -> int:
        with transaction.atomic():
            data = desk_data_create(sessions=sessions, checks_per_session=checks)
            with django_assert_max_num_queries(BUDGETS[name]) as captured:
                assert reviewer_client.get(PAGES[name](data)).status_code == 200
            transaction.set_rollback(True)
        return len(captured.captured_queries)

    assert count(5, 1) == count(60, 4)


def test_every_scrollable_table_is_a_labelled_focusable_region(
    reviewer_client, assigned
):
    data = desk_data_create(sessions=6)
    client = data.clients[0]
    for url in (
        reverse("overview"),
        data.sessions[0].get_absolute_url(),
        assigned.get_absolute_url(),
        client.get_absolute_url(),
        reverse("sync-status"),
    ):
        page = reviewer_client.get(url).content.decode()
        wraps = re.findall(r'<div class="table-wrap"[^>]*>', page)
        assert wraps, url
        for wrap in wraps:
            assert 'tabindex="0"' in wrap, (url, wrap)
            assert 'role="region"' in wrap, (url, wrap)
            assert re.search(r'aria-label="[^"]+"', wrap), (url, wrap)
