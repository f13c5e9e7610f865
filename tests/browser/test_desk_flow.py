"""An officer's day in a real browser: sign in, filter, open, decide, follow the client."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sessions_app.models import AuditEvent, Review
from tests.factories import UserFactory
from tests.sessions_app.desk_data import desk_data_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def _sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/sessions/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/sessions/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_officer_filters_decides_and_follows_the_client(
    live_server, page, screenshot, settings
):
    settings.VERITY_TEMPLATE_QUERY_GUARD = True
    data = desk_data_create(sessions=24)
    UserFactory(username="rita-reviewer", roles=["reviewer", "exporter"])

    page.goto(f"{live_server.url}/login/")
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

    # Queue: filter by provider and outcome with the form.
    page.get_by_role("link", name="Review queue").click()
    page.get_by_label("Provider").select_option("onfido-eu")
    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"provider=onfido-eu"))
    expect(
        page.get_by_role("link", name=re.compile("Remove filter Provider"))
    ).to_be_visible()
    rows = page.locator("table.queue-table tbody tr")
    expect(rows.first).to_contain_text("Onfido EU")
    for text in rows.all_inner_texts():
        assert "Onfido EU" in text
        assert "Completed" in text
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    # Every column fits a 1366 px laptop screen without sideways scrolling.
    assert page.evaluate(
        "() => { const w = document.querySelector('.queue-table').parentElement;"
        " return w.scrollWidth <= w.clientWidth; }"
    )
    screenshot("queue")

    # Session: record a decision, see it in the review and audit history.
    first = rows.first.locator("th a")
    external_id = first.inner_text()
    first.click()
    expect(
        page.get_by_role("heading", name=re.compile(f"Session {external_id}"))
    ).to_be_visible()
    page.get_by_label("Escalate").check()
    page.get_by_label("Reason", exact=True).select_option("needs_senior_review")
    page.get_by_label("Comment").fill("Second opinion needed on the selfie.")
    screenshot("session")
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded: Escalate")
    reviews = page.locator("#reviews")
    expect(reviews).to_contain_text("Escalate")
    expect(reviews).to_contain_text("Second opinion needed on the selfie.")
    expect(page.locator("#history")).to_contain_text("review.escalate")
    screenshot("session-decided")
    assert Review.objects.filter(
        session__external_id=external_id, decision="escalate"
    ).exists()
    assert AuditEvent.objects.filter(action="review.escalate").count() == 1

    # Assign it to myself.
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_role("status")).to_contain_text("Session assigned to you.")

    # Client: every session of the client across providers.
    page.locator(".page-header .subtitle a").click()
    expect(
        page.get_by_role("heading", name="Identities at each provider")
    ).to_be_visible()
    expect(page.locator("body")).to_contain_text("Illumina ICA lab")
    expect(page.locator("body")).to_contain_text("review.escalate")
    screenshot("client")

    page.get_by_role("link", name="Sync health").click()
    expect(page.get_by_role("heading", name="Sync health")).to_be_visible()
    expect(page.locator("body")).to_contain_text("SOMETHING_NEW")
    screenshot("sync")

    assert len(data.sessions) == 24
    assert page.console_errors == []
