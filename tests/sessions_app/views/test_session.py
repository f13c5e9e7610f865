"""The session page (views/session.py): content, decisions and assignments through
the services, and the queue it was opened from (breadcrumb, next in queue,
where the forms return to)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from sessions_app import views
from sessions_app.models import (
    AuditEvent,
    Review,
    Status,
    WorkflowSession,
)
from tests.factories import (
    PolicyAssuranceFactory,
    ProviderConnectionFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.sessions_app.desk_data import desk_data_create, desk_session_with

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]

QUEUE = reverse("session-list")


def test_session_page_shows_everything_about_the_session(viewer_client, data):
    session = desk_session_with(data, outcome="rejected")
    page = viewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    assert session.external_id in page
    assert "Onfido EU" in page or "ComplyCube" in page or "Illumina ICA lab" in page
    assert "KYC standard" in page
    assert "<dt>Version</dt><dd>3</dd>" in page
    assert "declined" in page  # raw status and outcome beside the normalised ones
    assert "badge-rejected" in page
    assert (
        f'href="{reverse("client-detail", args=[session.provider_client.client_id])}"'
        in page
    )
    for label in (
        "Created",
        "Started",
        "Updated",
        "Completed",
        "First seen by Verity",
        "Last synced",
    ):
        assert f'<th scope="row">{label}</th>' in page
    assert "Standard KYC policy" in page
    assert page.count("<summary>Raw JSON</summary>") == 4
    assert page.count('<ul class="breakdown-tree">') >= 4
    assert "&quot;visual_authenticity&quot;: {" in page  # pretty-printed JSON
    assert "document_expired" in page
    assert "face_mismatch" in page
    assert "<dt>User tags</dt>" in page
    assert "Raw provider payload" in page
    assert f"&quot;id&quot;: &quot;{session.external_id}&quot;" in page


def test_session_page_links_the_provider_dashboard_safely(viewer_client, data):
    session = next(s for s in data.sessions if s.dashboard_url)
    page = viewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    link = re.search(
        rf'<a [^>]*href="{re.escape(session.dashboard_url)}"[^>]*>', page
    ).group(0)
    assert 'target="_blank"' in link
    assert "noopener" in link
    without = next(s for s in data.sessions if not s.dashboard_url)
    assert (
        "dashboard.example.test"
        not in viewer_client.get(
            reverse("session-detail", args=[without.pk])
        ).content.decode()
    )


def test_session_page_separates_user_and_technical_tags(viewer_client, data):
    session = next(s for s in data.sessions if s.tags.filter(kind="technical").exists())
    page = viewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    technical = page.split("<dt>Technical tags</dt>")[1].split("</dd>")[0]
    user = page.split("<dt>User tags</dt>")[1].split("</dd>")[0]
    assert "sandbox" in technical
    assert "sandbox" not in user


@pytest.mark.parametrize(
    ("reasons", "shown"),
    [
        ("document_expired", ["document_expired"]),
        ({"code": "x1"}, ["&quot;code&quot;: &quot;x1&quot;"]),
        ({}, []),
    ],
)
def test_reasons_of_any_shape_are_shown(viewer_client, data, reasons, shown):
    session = data.sessions[0]
    WorkflowSession.objects.filter(pk=session.pk).update(
        reasons=reasons, summary="", error=""
    )
    page = viewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    assert ("<dt>Reasons</dt>" in page) is bool(shown)
    for text in shown:
        assert text in page


def test_missing_pages_are_404(viewer_client):
    assert viewer_client.get(reverse("session-detail", args=[999])).status_code == 404
    assert viewer_client.get(reverse("client-detail", args=[999])).status_code == 404


def test_a_huge_raw_payload_is_cut(viewer_client, data):
    session = data.sessions[0]
    WorkflowSession.objects.filter(pk=session.pk).update(
        raw_payload={"blob": "x" * (views.session.RAW_PAYLOAD_MAX_CHARS + 10)}
    )
    page = viewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    assert f"Cut at {views.session.RAW_PAYLOAD_MAX_CHARS} characters" in page


def test_recording_a_decision_writes_review_and_audit_and_shows_them(
    reviewer_client, reviewer, data
):
    session = desk_session_with(data, outcome="attention", case_state="open")
    url = reverse("session-decide", args=[session.pk])
    response = reviewer_client.post(
        url,
        {
            "decision": "escalate",
            "reason_code": "watchlist_match",
            "comment": "PEP match confirmed.",
        },
    )
    assert response.status_code == 302
    assert response.url == f"{session.get_absolute_url()}#reviews"
    review = Review.objects.get(session=session, reviewer=reviewer)
    assert review.decision == "escalate"
    assert review.reason_code == "watchlist_match"
    assert review.comment == "PEP match confirmed."
    event = AuditEvent.objects.get(action="review.escalate", object_id=str(session.pk))
    assert event.actor == reviewer
    assert event.source == "web"
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert (
        f"Decision recorded on session {session.external_id}: "
        "Escalate (Watchlist / PEP / sanctions match)." in page
    )
    reviews = page.split('id="reviews"')[1].split("</section>")[0]
    assert "<strong>Escalate</strong> · Watchlist / PEP / sanctions match" in reviews
    assert "PEP match confirmed." in reviews
    assert "review.escalate" in page.split('id="history"')[1]
    client_page = reviewer_client.get(
        reverse("client-detail", args=[session.provider_client.client_id])
    )
    assert "review.escalate" in client_page.content.decode()


def _refused(client, url, payload):
    """POST `payload`; assert the post/redirect/get of a refused form; return
    the page the redirect leads to (the one GET that shows the errors)."""
    response = client.post(url, payload)
    assert response.status_code == 302
    assert response.url.split("#")[0].split("?")[0] != url  # not the POST URL
    page = client.get(response.url)
    assert page.status_code == 200
    return response, page.content.decode()


def test_an_incomplete_decision_redirects_and_shows_its_errors_and_the_input(
    reviewer_client, data
):
    session = data.sessions[0]
    response, page = _refused(
        reviewer_client,
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "comment": "keep me"},
    )
    assert response.url == f"{session.get_absolute_url()}#decide-title"
    decide = page.split('id="decide-title"')[1].split("</form>")[0]
    # The error beside its field, the user's input kept.
    assert "This field is required." in decide.split("reason_code")[-1]
    assert "keep me</textarea>" in decide
    assert re.search(r'<input [^>]*value="approve"[^>]*checked', decide)
    assert not Review.objects.filter(session=session).exists()


def test_the_errors_are_shown_once_and_a_reload_posts_nothing(reviewer_client, data):
    session = data.sessions[0]
    response, _ = _refused(
        reviewer_client,
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "comment": "keep me"},
    )
    # A reload of the page the browser is on: a GET, no decision, no errors.
    again = reviewer_client.get(response.url).content.decode()
    assert "This field is required." not in again
    assert "keep me</textarea>" not in again
    assert not Review.objects.filter(session=session).exists()
    # Another session's page does not show this one's errors.
    _refused(
        reviewer_client,
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve"},
    )
    elsewhere = reviewer_client.get(data.sessions[1].get_absolute_url())
    assert "This field is required." not in elsewhere.content.decode()


def test_a_recorded_decision_is_not_recorded_again_by_a_reload(reviewer_client, data):
    session = data.sessions[0]
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "reason_code": "verified"},
    )
    assert response.status_code == 302
    reviewer_client.get(response.url)
    reviewer_client.get(response.url)
    assert Review.objects.filter(session=session).count() == 1


def test_a_service_error_redirects_and_is_shown(reviewer_client, data):
    session = data.sessions[0]
    _, page = _refused(
        reviewer_client,
        reverse("session-decide", args=[session.pk]),
        {"decision": "reject", "reason_code": "other", "comment": "  "},
    )
    decide = page.split('id="decide-title"')[1].split("</form>")[0]
    assert "A comment is required when the reason is" in decide
    assert re.search(r'<option value="other" selected[ >]', decide)
    assert not Review.objects.filter(session=session).exists()
    assert not AuditEvent.objects.filter(
        action__startswith="review.", object_id=str(session.pk)
    ).exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"decision": "bless", "reason_code": "verified"},
        {"decision": "approve", "reason_code": "nope"},
    ],
)
def test_unknown_choices_are_refused(reviewer_client, data, payload):
    _, page = _refused(
        reviewer_client,
        reverse("session-decide", args=[data.sessions[0].pk]),
        payload,
    )
    assert "Select a valid choice" in page


def test_deciding_on_a_missing_session_is_404(reviewer_client):
    response = reviewer_client.post(
        reverse("session-decide", args=[999]),
        {"decision": "approve", "reason_code": "verified"},
    )
    assert response.status_code == 404


def test_assign_to_me_to_a_colleague_and_release(reviewer_client, reviewer, data):
    session = next(s for s in data.sessions if s.assignee_id is None)
    url = reverse("session-assign", args=[session.pk])
    colleague = UserFactory(username="colin", roles=["reviewer"])

    assert reviewer_client.post(url, {"action": "me"}).status_code == 302
    session.refresh_from_db()
    assert session.assignee == reviewer

    assert (
        reviewer_client.post(url, {"action": "user", "assignee": "colin"}).status_code
        == 302
    )
    session.refresh_from_db()
    assert session.assignee == colleague

    response = reviewer_client.post(url, {"action": "release"}, follow=True)
    session.refresh_from_db()
    assert session.assignee is None
    assert "Session released" in response.content.decode()
    actions = list(
        AuditEvent.objects.filter(
            object_id=str(session.pk), action__startswith="session."
        )
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["session.assign", "session.assign", "session.unassign"]
    history = response.content.decode().split('id="history"')[1]
    assert history.count("session.assign") == 2
    assert "session.unassign" in history


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "user"},
        {"action": "user", "assignee": "vera-viewer"},
        {"action": "steal"},
    ],
)
def test_invalid_assignments_are_refused_and_change_nothing(
    reviewer_client, viewer, data, payload
):
    session = next(s for s in data.sessions if s.assignee_id is None)
    response, page = _refused(
        reviewer_client, reverse("session-assign", args=[session.pk]), payload
    )
    assert response.url.endswith("#assign-title")
    assign = page.split('id="assign-title"')[1].split("</form>")[0]
    assert 'class="errorlist' in assign
    session.refresh_from_db()
    assert session.assignee is None
    assert not AuditEvent.objects.filter(
        object_id=str(session.pk), action__startswith="session."
    ).exists()


def test_the_reviewer_list_offers_only_reviewers(reviewer_client, viewer, data):
    page = reviewer_client.get(
        reverse("session-detail", args=[data.sessions[0].pk])
    ).content.decode()
    select = page.split('name="assignee"')[1].split("</select>")[0]
    assert ">rita-reviewer</option>" in select
    assert ">olga-officer</option>" in select
    assert "vera-viewer" not in select


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
    response, page = _refused(
        reviewer_client,
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "back": back},
    )
    assert "?back=" in response.url
    assert _breadcrumb_href(page) == back
    # the decision, assignment, override, reveal and note forms
    assert page.count('name="back"') == 5


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
            # +1 reasons, +1 whether a reveal is in force, +1 the approvals,
            # +1 the notes, +1 the outcome overrides.
            with django_assert_max_num_queries(22) as captured:
                response = reviewer_client.get(_url(session, back))
            assert response.status_code == 200
            transaction.set_rollback(True)
        return len(captured.captured_queries)

    assert count(8) == count(60)


def test_session_page_shows_user_reference_decision_score_and_link_expiry(
    viewer_client, data
):
    session = data.sessions[0]
    WorkflowSession.objects.filter(pk=session.pk).update(
        user_reference="ws_250603_A01234_0042_1",
        decision="review",
        risk_score=0.42,
        link_expires_at=dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC),
    )
    page = viewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    assert (
        '<dt>User reference</dt><dd class="mono">ws_250603_A01234_0042_1</dd>' in page
    )
    provider_decision = page.split("<dt>Provider decision</dt>")[1].split("</dd>")[0]
    assert "review" in provider_decision
    assert "0.42" in provider_decision
    assert "Applicant link expires</th><td>2026-07-01 12:00:00" in page


def test_session_page_without_them_shows_no_empty_rows(viewer_client, data):
    session = data.sessions[0]
    page = viewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    assert "<dt>User reference</dt>" not in page
    assert "<dt>Provider decision</dt>" not in page
    assert "Applicant link expires" not in page


def test_policies_not_evaluated_yet_and_failing_rules_are_said_in_words(viewer_client):
    session = WorkflowSessionFactory(connection__kind="complycube")
    PolicyAssuranceFactory(
        session=session,
        policy_name="AML policy",
        outcome="rejected",
        raw_outcome="rejected",
        details={"rules": [{"name": "Risk threshold", "outcome": "rejected"}]},
    )
    PolicyAssuranceFactory(
        session=session,
        policy_name="KYC policy",
        outcome="",
        raw_outcome="",
        evaluated=False,
    )

    page = viewer_client.get(session.get_absolute_url()).content.decode()

    assert "Did not pass: Risk threshold" in page
    assert "Not evaluated yet" in page
    assert "reported no compliance policies" not in page
