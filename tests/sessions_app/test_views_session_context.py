"""The session page in an officer's day: the queue it was opened from (breadcrumb,
next in queue, where the forms return to), and an audit history in words."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from sessions_app import services, views
from sessions_app.models import AuditEvent, Status, WorkflowSession
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.sessions_app.desk_data import desk_data_create

pytestmark = pytest.mark.django_db

QUEUE = reverse("session-list")


@pytest.fixture(autouse=True)
def _no_queries_in_templates(settings):
    settings.VERITY_TEMPLATE_QUERY_GUARD = True


@pytest.fixture
def queue():
    """Six completed sessions a day apart (oldest first: q-0 … q-5) and one failed."""
    conn = ProviderConnectionFactory(slug="onfido-eu", display_name="Onfido EU")
    start = timezone.now() - dt.timedelta(days=10)
    sessions = [
        WorkflowSessionFactory(
            connection=conn,
            external_id=f"q-{i}",
            status=Status.COMPLETED,
            provider_created_at=start + dt.timedelta(days=i),
        )
        for i in range(6)
    ]
    WorkflowSessionFactory(
        connection=conn, external_id="q-failed", status=Status.FAILED
    )
    return sessions


def _url(session: WorkflowSession, back: str | None = None) -> str:
    url = reverse("session-detail", args=[session.pk])
    return f"{url}?back={quote(back, safe='')}" if back is not None else url


def _breadcrumb_href(page: str) -> str:
    crumb = page.split('aria-label="Breadcrumb"')[1].split("</nav>")[0]
    return re.search(r'<a href="([^"]*)"', crumb).group(1).replace("&amp;", "&")


# --- The queue context ----------------------------------------------------------------


def test_a_session_opened_from_the_queue_links_back_to_the_same_queue(
    reviewer_client, queue
):
    listing = reviewer_client.get(f"{QUEUE}?status=completed&sort=created")
    link = re.search(
        rf'href="({re.escape(queue[2].get_absolute_url())}[^"]*)"',
        listing.content.decode(),
    ).group(1)
    page = reviewer_client.get(link.replace("&amp;", "&")).content.decode()
    assert _breadcrumb_href(page) == f"{QUEUE}?status=completed&sort=created"
    assert "(your filters)" in page
    # The breadcrumb names the session as the provider does, not by its pk.
    crumb = page.split('aria-label="Breadcrumb"')[1].split('aria-current="page">')[1]
    crumb = crumb.split("</li>")[0]
    assert "q-2" in crumb
    assert f"Session {queue[2].pk}<" not in page


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.test/sessions/?status=completed",
        "//evil.test/sessions/?status=completed",
        "///evil.test/sessions/",
        "/\\evil.test/sessions/",
        "\\\\evil.test/sessions/",
        "javascript:alert(1)//sessions/",
        "/admin/",
        "/sessions/1/",
        "/sessions/export.csv?status=completed",
        "/sessions/?status=completed\r\nLocation: https://evil.test/",
        "/sessions/?" + "a" * 5000,
        "sessions/?status=completed",
    ],
)
def test_anything_but_a_queue_link_is_ignored(reviewer_client, queue, back):
    session = queue[0]
    page = reviewer_client.get(_url(session, back)).content.decode()
    assert _breadcrumb_href(page) == QUEUE
    assert 'name="back"' not in page
    assert "evil.test" not in page
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "reason_code": "verified", "back": back},
    )
    assert response.status_code == 302
    assert response.url == f"{session.get_absolute_url()}#reviews"


def test_the_queue_link_is_re_encoded(reviewer_client, queue):
    back = '/sessions/?q="><script>x</script>&status=completed&back=/sessions/?x=1'
    page = reviewer_client.get(_url(queue[0], back)).content.decode()
    assert "<script>x" not in page
    href = _breadcrumb_href(page)
    assert parse_qs(urlsplit(href).query) == {
        "q": ['"><script>x</script>'],
        "status": ["completed"],
    }


def test_a_decision_returns_to_the_filtered_queue(reviewer_client, queue):
    session = queue[1]
    back = f"{QUEUE}?status=completed&sort=created"
    page = reviewer_client.get(_url(session, back)).content.decode()
    decide = page.split(f'action="{reverse("session-decide", args=[session.pk])}"')[1]
    decide = decide.split("</form>")[0]
    assert (
        f'<input type="hidden" name="back" value="{back.replace("&", "&amp;")}">'
        in decide
    )
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "reason_code": "verified", "back": back},
    )
    assert response.status_code == 302
    assert response.url == back
    landing = reviewer_client.get(response.url).content.decode()
    assert "Decision recorded on session q-1: Approve" in landing


def test_an_invalid_decision_keeps_the_queue_context(reviewer_client, queue):
    session = queue[1]
    back = f"{QUEUE}?status=completed"
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "back": back},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert _breadcrumb_href(page) == back
    assert page.count('name="back"') == 2  # the decision and assignment forms


def test_an_assignment_stays_on_the_session_and_keeps_the_queue(reviewer_client, queue):
    session = queue[1]
    back = f"{QUEUE}?status=completed&sort=created"
    response = reviewer_client.post(
        reverse("session-assign", args=[session.pk]), {"action": "me", "back": back}
    )
    assert response.status_code == 302
    assert urlsplit(response.url).path == session.get_absolute_url()
    assert parse_qs(urlsplit(response.url).query) == {"back": [back]}
    page = reviewer_client.get(response.url).content.decode()
    assert "Session assigned to you." in page
    assert _breadcrumb_href(page) == back
    # Without a queue, the plain session page.
    plain = reviewer_client.post(
        reverse("session-assign", args=[session.pk]), {"action": "release"}
    )
    assert plain.url == session.get_absolute_url()


# --- Next in queue ---------------------------------------------------------------------


def _next_href(page: str) -> str | None:
    match = re.search(r'<a class="button secondary" href="([^"]*)" rel="next">', page)
    return match.group(1).replace("&amp;", "&") if match else None


@pytest.mark.parametrize(
    ("query", "order"),
    [
        ("status=completed&sort=created", ["q-0", "q-1", "q-2", "q-3", "q-4", "q-5"]),
        ("status=completed", ["q-5", "q-4", "q-3", "q-2", "q-1", "q-0"]),
        (
            "status=completed&sort=-created&page_size=50",
            ["q-5", "q-4", "q-3", "q-2", "q-1", "q-0"],
        ),
    ],
)
def test_next_in_queue_walks_the_queue_in_its_order(
    reviewer_client, queue, query, order
):
    by_id = {s.external_id: s for s in queue}
    back = f"{QUEUE}?{query}"
    url = _url(by_id[order[0]], back)
    seen = []
    while url:
        response = reviewer_client.get(url)
        seen.append(response.context["session"].external_id)
        assert _breadcrumb_href(response.content.decode()) == back
        url = _next_href(response.content.decode())
    assert seen == order
    assert "Last session of this queue" in response.content.decode()


def test_next_in_queue_agrees_with_the_queue_under_ties(reviewer_client):
    conn = ProviderConnectionFactory(slug="onfido-eu")
    moment = timezone.now() - dt.timedelta(days=1)
    for i in range(5):
        WorkflowSessionFactory(
            connection=conn, external_id=f"tie-{i}", provider_created_at=moment
        )
    listing = reviewer_client.get(f"{QUEUE}?sort=created")
    expected = [s.external_id for s in listing.context["sessions"]]
    first = listing.context["sessions"][0]
    url = _url(first, f"{QUEUE}?sort=created")
    seen = []
    while url:
        response = reviewer_client.get(url)
        seen.append(response.context["session"].external_id)
        url = _next_href(response.content.decode())
    assert seen == expected


def test_no_next_link_without_a_queue_or_with_invalid_filters(reviewer_client, queue):
    assert _next_href(reviewer_client.get(_url(queue[0])).content.decode()) is None
    page = reviewer_client.get(_url(queue[0], f"{QUEUE}?status=bogus")).content.decode()
    assert _next_href(page) is None
    assert _breadcrumb_href(page) == f"{QUEUE}?status=bogus"


def test_next_in_queue_costs_a_constant_number_of_queries(
    reviewer_client, django_assert_max_num_queries
):
    back = f"{QUEUE}?assignee=olga-officer&tag=vip&sort=provider"

    def count(sessions: int) -> int:
        with transaction.atomic():
            data = desk_data_create(sessions=sessions, checks_per_session=2)
            session = next(s for s in data.sessions if s.assignee_id)
            with django_assert_max_num_queries(15) as captured:
                response = reviewer_client.get(_url(session, back))
            assert response.status_code == 200
            transaction.set_rollback(True)
        return len(captured.captured_queries)

    assert count(8) == count(60)


# --- Audit history in an officer's words ---------------------------------------------


def _history(page: str) -> str:
    return page.split('id="history"')[1]


@pytest.fixture
def assigned(reviewer):
    """A session assigned to Olga, then to Colin, decided, then released."""
    olga = UserFactory(username="olga-officer", roles=["reviewer"])
    colin = UserFactory(username="colin", roles=["reviewer"])
    session = WorkflowSessionFactory(external_id="run-audit-1")
    services.session_assign(session=session, assignee=olga, actor=reviewer)
    services.session_assign(session=session, assignee=colin, actor=reviewer)
    services.review_decision_record(
        session=session,
        reviewer=reviewer,
        decision="reject",
        reason_code="watchlist_match",
        comment="PEP match.",
    )
    services.session_assign(session=session, assignee=None, actor=reviewer)
    return session


def test_audit_history_reads_as_words_not_keys(reviewer_client, assigned):
    history = _history(
        reviewer_client.get(assigned.get_absolute_url()).content.decode()
    )
    for raw in ("assignee_id", "review_id", "reason_code", "last_decision_at", "→ 3<"):
        assert raw not in history
    assert ">Assignee</th>" in history
    assert "olga-officer" in history
    assert re.search(
        r'olga-officer</span> <span aria-hidden="true">→</span>'
        r'<span class="visually-hidden">changed to</span> <span class="after">colin<',
        history,
    )
    assert ">Reason</th>" in history
    assert "Watchlist / PEP / sanctions match" in history
    assert "Decision: Reject" in history
    assert ">Released<" in history or "Released<br>" in history
    # The raw action stays beside the words, for auditors who search by it.
    assert '<code class="muted small">review.reject</code>' in history


def test_audit_timestamps_have_no_microseconds(reviewer_client, assigned):
    history = _history(
        reviewer_client.get(assigned.get_absolute_url()).content.decode()
    )
    visible = re.sub(r'datetime="[^"]*"', "", history)
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", visible)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", visible)
    event = AuditEvent.objects.filter(action="session.assign").first()
    stamp = timezone.localtime(
        dt.datetime.fromisoformat(event.after["assigned_at"])
    ).strftime("%Y-%m-%d %H:%M")
    assert stamp in visible


def test_a_deactivated_assignee_keeps_the_name_the_event_recorded(
    reviewer_client, assigned
):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="olga-officer").update(is_active=False)
    history = _history(
        reviewer_client.get(assigned.get_absolute_url()).content.decode()
    )
    assert "olga-officer" in history
    assert "user #" not in history


def test_the_audit_object_links_to_its_page(reviewer_client, assigned):
    session_page = reviewer_client.get(assigned.get_absolute_url()).content.decode()
    # No link from a page to itself; the session shows as its provider id.
    assert f'href="{assigned.get_absolute_url()}"' not in _history(session_page)
    assert '<span class="mono">run-audit-1</span>' in _history(session_page)
    client = assigned.provider_client.client
    client_page = reviewer_client.get(client.get_absolute_url()).content.decode()
    audit = client_page.split('id="client-audit-title"')[1]
    assert (
        f'<a class="mono" href="{assigned.get_absolute_url()}">run-audit-1</a>' in audit
    )


def test_a_link_event_names_and_links_the_client(reviewer_client, admin_user):
    old = ClientFactory(display_name="Old Client Ltd")
    new = ClientFactory(display_name="New Client Ltd")
    identity = ProviderClientFactory(client=old, name="N. Client")
    services.provider_client_link(
        provider_client=identity, client=new, actor=admin_user
    )
    page = reviewer_client.get(new.get_absolute_url()).content.decode()
    audit = page.split('id="client-audit-title"')[1]
    assert "Identity linked" in audit
    assert (
        f'<a class="before" href="{old.get_absolute_url()}">Old Client Ltd</a>' in audit
    )
    assert ">New Client Ltd</span>" in audit  # this page: named, not linked
    assert "Manual" in audit  # the link source's label, not its key
    assert "client_id" not in audit


@pytest.mark.parametrize(("events", "truncated"), [(3, True), (2, False)])
def test_a_cut_history_says_so(
    reviewer_client, reviewer, monkeypatch, events, truncated
):
    monkeypatch.setattr(views.session, "SESSION_HISTORY_LIMIT", 2)
    session = WorkflowSessionFactory()
    colleagues = [
        UserFactory(username=f"colleague-{i}", roles=["reviewer"])
        for i in range(events)
    ]
    for colleague in colleagues:
        services.session_assign(session=session, assignee=colleague, actor=reviewer)
    response = reviewer_client.get(session.get_absolute_url())
    history = _history(response.content.decode())
    assert len(response.context["audit_rows"]) == 2
    assert ("(newest 2 shown)" in history) is truncated
    assert ("Only the newest 2 changes" in history) is truncated
    assert response.context["audit_truncated"] is truncated


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
