"""The audit chain's line on /sync/: the last recorded verification, never a walk."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.privacy.audit_chain import audit_chain_verify
from tests.helpers.audit_chain import events_write, tamper

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]


def _line(client) -> str:
    page = client.get(reverse("sync-status")).content.decode()
    start = page.index('id="audit-chain"')
    return " ".join(page[start : page.index("</p>", start)].split())


def test_before_any_verification_the_line_says_so(viewer_client):
    assert "not verified yet" in _line(viewer_client)


def test_an_intact_chain_is_shown_with_when_it_was_verified(viewer_client):
    events_write(3)
    verification = audit_chain_verify()
    line = _line(viewer_client)
    assert "chain intact" in line
    assert "3 event(s) up to sequence 3" in line
    assert verification.finished_at.strftime("%Y-%m-%d %H:%M") in line


def test_a_broken_chain_is_shown_with_where_it_first_breaks(viewer_client):
    events = events_write(4)
    tamper("UPDATE {table} SET action = 'test.forged' WHERE id = %s", [events[1].pk])
    audit_chain_verify()
    line = _line(viewer_client)
    assert "chain BROKEN" in line
    assert f"at sequence 2 (event id {events[1].pk}): edited" in line
    assert "1 event(s) before it are intact" in line


def test_the_page_reads_the_last_verification_and_never_walks_the_chain(
    viewer_client, django_assert_max_num_queries
):
    events_write(3)
    audit_chain_verify()
    viewer_client.get(reverse("sync-status"))  # warm-up
    events_write(50)  # more events: the page's query count does not change
    with django_assert_max_num_queries(30) as queries:
        viewer_client.get(reverse("sync-status"))
    assert not [
        q for q in queries.captured_queries if "sessions_app_auditevent" in q["sql"]
    ]
