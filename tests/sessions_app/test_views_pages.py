"""Overview, session, client and sync pages: content, decisions and assignments
through the services, no queries in templates, budgets independent of rows."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse

from sessions_app import selectors, views
from sessions_app.models import AuditEvent, Review, WorkflowSession, needs_attention_q
from tests.factories import UserFactory
from tests.sessions_app.desk_data import desk_data_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_queries_in_templates(settings):
    settings.VERITY_TEMPLATE_QUERY_GUARD = True


@pytest.fixture
def data():
    return desk_data_create(sessions=12, checks_per_session=4)


def _session_with(data, **attrs) -> WorkflowSession:
    return next(
        s for s in data.sessions if all(getattr(s, k) == v for k, v in attrs.items())
    )


# --- Overview --------------------------------------------------------------------


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
    assert page.count(f'href="{attention_url}"') == 2
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
    assert "HTTP 503 from provider" in page


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


# --- Session page ------------------------------------------------------------------


def test_session_page_shows_everything_about_the_session(viewer_client, data):
    session = _session_with(data, outcome="rejected")
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
    assert page.count("<summary>Breakdown</summary>") == 4
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


# --- Decisions and assignments ---------------------------------------------------


def test_recording_a_decision_writes_review_and_audit_and_shows_them(
    reviewer_client, reviewer, data
):
    session = _session_with(data, outcome="attention")
    url = reverse("session-decide", args=[session.pk])
    response = reviewer_client.post(
        url,
        {
            "decision": "reject",
            "reason_code": "watchlist_match",
            "comment": "PEP match confirmed.",
        },
    )
    assert response.status_code == 302
    assert response.url == f"{session.get_absolute_url()}#reviews"
    review = Review.objects.get(session=session, reviewer=reviewer)
    assert review.decision == "reject"
    assert review.reason_code == "watchlist_match"
    assert review.comment == "PEP match confirmed."
    event = AuditEvent.objects.get(action="review.reject", object_id=str(session.pk))
    assert event.actor == reviewer
    assert event.source == "web"
    page = reviewer_client.get(session.get_absolute_url()).content.decode()
    assert (
        f"Decision recorded on session {session.external_id}: "
        "Reject (Watchlist / PEP / sanctions match)." in page
    )
    reviews = page.split('id="reviews"')[1].split("</section>")[0]
    assert "<strong>Reject</strong> · Watchlist / PEP / sanctions match" in reviews
    assert "PEP match confirmed." in reviews
    assert "review.reject" in page.split('id="history"')[1]
    client_page = reviewer_client.get(
        reverse("client-detail", args=[session.provider_client.client_id])
    )
    assert "review.reject" in client_page.content.decode()


def test_an_incomplete_decision_is_rejected_with_400_and_keeps_the_comment(
    reviewer_client, data
):
    session = data.sessions[0]
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "comment": "keep me"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "keep me</textarea>" in page
    assert not Review.objects.filter(session=session).exists()


def test_a_service_error_is_shown_with_400(reviewer_client, data):
    session = data.sessions[0]
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "reject", "reason_code": "other", "comment": "  "},
    )
    assert response.status_code == 400
    assert "A comment is required when the reason is" in response.content.decode()
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
def test_unknown_choices_are_400(reviewer_client, data, payload):
    response = reviewer_client.post(
        reverse("session-decide", args=[data.sessions[0].pk]), payload
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


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
def test_invalid_assignments_are_400_and_change_nothing(
    reviewer_client, viewer, data, payload
):
    session = next(s for s in data.sessions if s.assignee_id is None)
    response = reviewer_client.post(
        reverse("session-assign", args=[session.pk]), payload
    )
    assert response.status_code == 400
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


# --- Client and sync pages -------------------------------------------------------


def test_client_page_spans_every_provider(viewer_client, data):
    client = data.clients[0]
    response = viewer_client.get(reverse("client-detail", args=[client.pk]))
    page = response.content.decode()
    detail = response.context["detail"]
    assert {pc.connection.slug for pc in detail.provider_clients} == {
        "onfido-eu",
        "complycube",
        "ica-lab",
    }
    own = [s for s in data.sessions if s.provider_client.client_id == client.pk]
    assert {s.pk for s in detail.sessions} == {s.pk for s in own}
    assert len({s.connection_id for s in detail.sessions}) == 3
    assert len(detail.checks) == 4 * len(own)
    for session in own:
        assert f'href="{session.get_absolute_url()}"' in page
    assert f'href="{reverse("session-list")}?client={client.pk}"' in page
    assert "session.assign" in page or "Nothing concerning this client" in page


def test_client_page_is_bounded_with_a_link_to_the_queue(
    viewer_client, data, monkeypatch
):
    monkeypatch.setattr(views.client, "CLIENT_PAGE_LIMIT", 2)
    client = data.clients[0]
    response = viewer_client.get(reverse("client-detail", args=[client.pk]))
    assert len(response.context["detail"].sessions) == 2
    assert response.context["detail"].sessions_truncated
    assert "newest 2" in response.content.decode()


def test_sync_page_shows_runs_unknown_values_quarantine_and_webhooks(
    viewer_client, data
):
    page = viewer_client.get(reverse("sync-status")).content.decode()
    for name in ("Onfido EU", "ComplyCube", "Illumina ICA lab"):
        assert name in page
    assert "SOMETHING_NEW" in page
    assert "HTTP 503 from provider" in page
    assert "status is not a string" in page
    assert "First 2000 of" in page
    assert "workflow_run.completed" in page
    assert "Partial (resumes next run)" in page
    # Sync intervals read in their largest whole unit (300 s is "5 min").
    assert "every 5 min ·" in page
    assert "every 300 s" not in page


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(300, "5 min"), (3600, "1 h"), (5400, "90 min"), (45, "45 s"), (None, "")],
)
def test_sync_intervals_read_in_whole_units(seconds, shown):
    from sessions_app.templatetags.verity import interval

    assert interval(seconds) == shown


# --- No queries in templates, budgets ------------------------------------------------


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
BUDGETS = {"overview": 12, "session": 12, "client": 11, "sync": 11}


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
