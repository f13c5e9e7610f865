"""An officer's day in a real browser: sign in, filter, open, decide, follow the client.

Every page is saved as a screenshot under test-artifacts/screenshots (login,
overview, queue, session, session after a decision, client, sync, lockout).
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from sessions_app.models import AuditEvent, Review
from tests.factories import UserFactory
from tests.sessions_app.desk_data import desk_data_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def _sign_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _fits_sideways(page, selector: str) -> bool:
    return page.evaluate(
        "(s) => [...document.querySelectorAll(s)].every("
        "w => w.scrollWidth <= w.clientWidth)",
        selector,
    )


@pytest.mark.usefixtures("no_queries_in_templates")
def test_officer_filters_decides_and_follows_the_client(live_server, page, screenshot):
    data = desk_data_create(sessions=24)
    UserFactory(username="rita-reviewer", roles=["reviewer", "exporter"])

    page.goto(f"{live_server.url}/sessions/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/sessions/"))
    screenshot("login")
    _sign_in(page, live_server, "rita-reviewer")
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()

    # Overview: the chart is drawn from the vendored Chart.js under the CSP.
    page.get_by_role("link", name="Overview", exact=True).click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('activity-chart'))"
    )
    screenshot("overview")

    # The attention queue opens oldest first; refining it keeps "needs attention".
    page.get_by_role("link", name="Open the attention queue").click()
    expect(page).to_have_url(re.compile(r"needs_attention=true&sort=created"))
    page.get_by_label("Provider").select_option("onfido-eu")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"needs_attention=true"))
    expect(page).to_have_url(re.compile(r"provider=onfido-eu"))
    expect(page).to_have_url(re.compile(r"sort=created"))

    # Queue: filter by provider and status with the form, assignee from a list.
    page.get_by_role("link", name="Review queue").click()
    page.get_by_label("Provider").select_option("onfido-eu")
    page.get_by_label("Status").select_option("completed")
    expect(page.get_by_label("Assignee").locator("option")).to_contain_text(
        ["Any", "Unassigned", "Me", "olga-officer", "rita-reviewer"]
    )
    page.get_by_label("Assignee").select_option("none")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"provider=onfido-eu"))
    expect(
        page.get_by_role("link", name=re.compile("Remove filter Provider"))
    ).to_be_visible()
    expect(
        page.get_by_role("link", name="Remove filter Assignee: Unassigned")
    ).to_be_visible()
    rows = page.locator("table.queue-table tbody tr")
    expect(rows.first).to_contain_text("Onfido EU")
    for text in rows.all_inner_texts():
        assert "Onfido EU" in text
        assert "Completed" in text
        assert "Unassigned" in text
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    expect(page.get_by_placeholder("YYYY-MM-DD")).to_have_count(2)
    # Every column fits a 1366 px laptop screen without sideways scrolling.
    assert _fits_sideways(page, ".queue-table")
    expect(page.get_by_role("region", name="Sessions in the queue")).to_be_visible()
    screenshot("queue")
    queue_url = page.url
    assert rows.count() >= 2

    # Session: the breadcrumb names it and returns to this very queue.
    first = rows.first.locator("th a")
    external_id = first.inner_text()
    second_id = rows.nth(1).locator("th a").inner_text()
    first.click()
    expect(
        page.get_by_role("heading", name=re.compile(f"Session {external_id}"))
    ).to_be_visible()
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs).to_contain_text(external_id)
    expect(crumbs.get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^/sessions/\?provider=onfido-eu")
    )
    expect(page.get_by_role("link", name=re.compile("Next in queue"))).to_contain_text(
        second_id
    )
    page.get_by_label("Escalate").check()
    page.get_by_label("Reason", exact=True).select_option("needs_senior_review")
    page.get_by_label("Comment").fill("Second opinion needed on the selfie.")
    screenshot("session")

    # Recording the decision returns to the same filtered queue.
    page.get_by_role("button", name="Record decision").click()
    expect(page).to_have_url(queue_url)
    expect(page.get_by_role("status")).to_contain_text(
        f"Decision recorded on session {external_id}: Escalate"
    )
    assert Review.objects.filter(
        session__external_id=external_id, decision="escalate"
    ).exists()
    assert AuditEvent.objects.filter(action="review.escalate").count() == 1

    # Back on the session: the decision in its review and audit history.
    page.get_by_role("link", name=external_id, exact=True).click()
    reviews = page.locator("#reviews")
    expect(reviews).to_contain_text("Escalate")
    expect(reviews).to_contain_text("Second opinion needed on the selfie.")
    history = page.locator("#history")
    expect(history).to_contain_text("Decision: Escalate")
    expect(history).to_contain_text("Needs senior review")
    expect(history).not_to_contain_text("reason_code")

    # Assign it to myself: the page stays, so does the queue in the breadcrumb.
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_role("status")).to_contain_text("Session assigned to you.")
    expect(history).to_contain_text("rita-reviewer")
    expect(history).not_to_contain_text("assignee_id")
    expect(crumbs.get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^/sessions/\?provider=onfido-eu")
    )
    assert _fits_sideways(page, "#history .table-wrap")
    screenshot("session-decided")

    # Next in queue opens the next row of the same queue.
    page.get_by_role("link", name=re.compile("Next in queue")).click()
    expect(
        page.get_by_role("heading", name=re.compile(f"Session {second_id}"))
    ).to_be_visible()
    page.go_back()
    expect(
        page.get_by_role("heading", name=re.compile(f"Session {external_id}"))
    ).to_be_visible()

    # Client: every session of the client across providers, and its history.
    page.locator(".page-header .subtitle a").click()
    expect(
        page.get_by_role("heading", name="Identities at each provider")
    ).to_be_visible()
    expect(page.locator("body")).to_contain_text("Illumina ICA lab")
    client_history = page.get_by_role(
        "region", name=re.compile("Every change concerning")
    )
    expect(client_history).to_contain_text("Decision: Escalate")
    expect(client_history.get_by_role("link", name=external_id).first).to_be_visible()
    screenshot("client")

    # Its queue keeps the client when the officer narrows it down.
    page.get_by_role("link", name="All sessions in the queue").click()
    expect(
        page.get_by_role("link", name=re.compile("Remove filter Client:"))
    ).to_be_visible()
    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"client=\d+"))
    expect(
        page.get_by_role("link", name=re.compile("Remove filter Client:"))
    ).to_be_visible()

    page.get_by_role("link", name="Sync health").click()
    expect(page.get_by_role("heading", name="Sync health")).to_be_visible()
    expect(page.locator("body")).to_contain_text("SOMETHING_NEW")
    screenshot("sync")

    assert len(data.sessions) == 24
    assert page.console_errors == []


def test_a_locked_out_officer_is_told_when_to_retry(live_server, page, screenshot):
    UserFactory(username="lena", roles=["viewer"])
    page.goto(f"{live_server.url}/login/")
    for i in range(django_settings.AXES_FAILURE_LIMIT):
        _sign_in(page, live_server, "lena", f"wrong-{i}")
    expect(
        page.get_by_role("heading", name="Sign-in is paused for this account")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text("You can try again after")
    expect(page.locator("main")).to_contain_text("Ask a Verity administrator")
    screenshot("lockout")
    page.get_by_role("link", name="Back to sign in").click()
    expect(page.get_by_role("heading", name="Sign in to Verity")).to_be_visible()
    # The browser logs the 429 itself; nothing else may fail.
    assert [e for e in page.console_errors if "status of 429" not in e] == []
