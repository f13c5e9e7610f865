"""Who may see and do what, enforced on the server; login throttling."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from django.urls import reverse

from sessions_app.models import AuditEvent, Review
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def session():
    return WorkflowSessionFactory(outcome="attention", raw_outcome="review")


def _pages(session) -> list[str]:
    return [
        reverse("overview"),
        reverse("session-list"),
        reverse("session-detail", args=[session.pk]),
        reverse("client-detail", args=[session.provider_client.client_id]),
        reverse("sync-status"),
    ]


def test_anonymous_users_are_sent_to_login_from_every_page(client, session):
    for url in [*_pages(session), reverse("sessions-export"), reverse("checks-export")]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(f"{reverse('login')}?next="), url


@pytest.mark.parametrize("name", ["session-decide", "session-assign"])
def test_anonymous_posts_are_sent_to_login_and_change_nothing(client, session, name):
    response = client.post(
        reverse(name, args=[session.pk]),
        {"decision": "approve", "reason_code": "verified", "action": "me"},
    )
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Review.objects.exists()
    assert not AuditEvent.objects.exists()


def test_login_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_a_user_without_a_role_is_forbidden(session):
    nobody = DjangoClient()
    nobody.force_login(UserFactory(username="no-role"))
    for url in _pages(session):
        assert nobody.get(url).status_code == 403, url


def test_viewer_reads_every_page_but_sees_no_forms(viewer_client, session):
    for url in _pages(session):
        assert viewer_client.get(url).status_code == 200, url
    page = viewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    assert reverse("session-decide", args=[session.pk]) not in page
    assert reverse("session-assign", args=[session.pk]) not in page
    assert "Read-only access" in page
    assert (
        "Export CSV" not in viewer_client.get(reverse("session-list")).content.decode()
    )


@pytest.mark.parametrize("client_fixture", ["viewer_client", "exporter_client"])
def test_non_reviewers_cannot_decide_or_assign(request, session, client_fixture):
    user_client = request.getfixturevalue(client_fixture)
    decide = user_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "reason_code": "verified"},
    )
    assign = user_client.post(
        reverse("session-assign", args=[session.pk]), {"action": "me"}
    )
    assert decide.status_code == 403
    assert assign.status_code == 403
    assert "Only reviewers may record decisions." in decide.content.decode()
    assert not Review.objects.exists()
    assert not AuditEvent.objects.exists()
    session.refresh_from_db()
    assert session.assignee is None


def test_reviewer_sees_the_forms_and_can_decide(reviewer_client, session):
    page = reviewer_client.get(
        reverse("session-detail", args=[session.pk])
    ).content.decode()
    assert f'action="{reverse("session-decide", args=[session.pk])}"' in page
    assert f'action="{reverse("session-assign", args=[session.pk])}"' in page
    response = reviewer_client.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "escalate", "reason_code": "needs_senior_review"},
    )
    assert response.status_code == 302
    assert Review.objects.filter(session=session, decision="escalate").exists()


def test_decide_and_assign_accept_only_post(reviewer_client, session):
    assert (
        reviewer_client.get(reverse("session-decide", args=[session.pk])).status_code
        == 405
    )
    assert (
        reviewer_client.get(reverse("session-assign", args=[session.pk])).status_code
        == 405
    )


def test_decisions_are_csrf_protected(reviewer, session):
    browser = DjangoClient(enforce_csrf_checks=True)
    browser.force_login(reviewer)
    response = browser.post(
        reverse("session-decide", args=[session.pk]),
        {"decision": "approve", "reason_code": "verified"},
    )
    assert response.status_code == 403
    assert not Review.objects.exists()


def test_only_exporters_see_the_export_button(exporter_client, reviewer_client):
    url = reverse("session-list") + "?status=completed&cursor=abc&page_size=50"
    exporter_page = exporter_client.get(url).content.decode()
    assert "Export CSV" in exporter_page
    assert f'href="{reverse("sessions-export")}?status=completed"' in exporter_page
    assert "Export CSV" not in reviewer_client.get(url).content.decode()


def test_only_admins_reach_the_admin(
    admin_client_verity, viewer_client, reviewer_client, exporter_client
):
    assert admin_client_verity.get("/admin/").status_code == 200
    for user_client in (viewer_client, reviewer_client, exporter_client):
        response = user_client.get("/admin/")
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")
    # The admin link is shown to admins only.
    assert b'href="/admin/"' in admin_client_verity.get(reverse("session-list")).content
    assert b'href="/admin/"' not in reviewer_client.get(reverse("session-list")).content


def test_login_works_with_the_right_password(client):
    UserFactory(username="lena", roles=["viewer"])
    response = client.post(reverse("login"), {"username": "lena", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("overview")


def test_login_is_throttled_after_repeated_failures(client):
    UserFactory(username="lena", roles=["viewer"])
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [
        client.post(
            reverse("login"), {"username": "lena", "password": f"wrong-{i}"}
        ).status_code
        for i in range(limit)
    ]
    # Every attempt before the limit is an ordinary failed login form...
    assert statuses[:-1] == [200] * (limit - 1)
    # ...the attempt that reaches the limit is locked out, and so is the right password.
    assert statuses[-1] == 429
    locked = client.post(reverse("login"), {"username": "lena", "password": PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_a_styled_page_saying_when_to_retry_and_whom_to_ask(
    client, settings
):
    from datetime import timedelta

    from django.utils import timezone

    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    UserFactory(username="lena", roles=["viewer"])
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": "lena", "password": f"wrong-{i}"})
    before = timezone.now()
    response = client.post(reverse("login"), {"username": "lena", "password": "wrong"})
    assert response.status_code == 429
    assert "registration/lockout.html" in [t.name for t in response.templates]
    assert "base.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert '<link rel="stylesheet" href="/static/css/verity.css">' in page
    assert "Sign-in is paused for this account" in page
    assert '<strong class="mono">lena</strong>' in page
    # When: the cool-off from this attempt, as a clock time and a duration.
    retry = response.context["retry_at"]
    assert (
        before + timedelta(minutes=15)
        <= retry
        <= timezone.now() + timedelta(minutes=15)
    )
    assert f">{retry:%H:%M}</time> UTC" in page
    assert "in about 15 minutes" in page
    # Whom: an administrator, and how they unlock it.
    assert "Ask a Verity administrator" in page
    assert "axes_reset_username" in page
    assert f'href="{reverse("login")}"' in page
    # The right password during the lockout gets the same page, not a session.
    again = client.post(reverse("login"), {"username": "lena", "password": PASSWORD})
    assert again.status_code == 429
    assert "Sign-in is paused" in again.content.decode()
    assert "_auth_user_id" not in client.session
