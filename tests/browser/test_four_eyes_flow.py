"""Four eyes in a real browser: a maker decides, a checker approves, the
session leaves the queue and its history reads correctly.

Screenshots under test-artifacts/screenshots: four-eyes-maker-form (the
reasons offered for a reject), four-eyes-maker-waiting, four-eyes-checker,
four-eyes-queue-after, four-eyes-history.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sessions_app.models import CaseState, Review, WorkflowSession
from tests.browser.desk_pages import signed_in
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("no_queries_in_templates")
def test_a_maker_decides_a_checker_approves_and_the_session_leaves_the_queue(
    live_server, page, screenshot
):
    session = WorkflowSessionFactory(
        external_id="run-four-eyes-1", outcome="attention", raw_outcome="review"
    )
    maker = UserFactory(username="rita-reviewer", roles=["reviewer"])
    checker = UserFactory(username="carla-checker", roles=["reviewer"])

    # The maker works the attention queue.
    signed_in(page.context, live_server, maker)
    page.goto(f"{live_server.url}/sessions/?needs_attention=true")
    page.get_by_role("link", name="run-four-eyes-1").click()
    expect(page.get_by_role("heading", name="Session run-four-eyes-1")).to_be_visible()
    page.get_by_label("Reject").check()
    reason = page.get_by_label("Reason", exact=True)
    # Only the reasons that fit a reject are offered.
    expect(reason.locator('option[value="verified"]')).to_be_hidden()
    expect(reason.locator('option[value="needs_senior_review"]')).to_be_hidden()
    reason.select_option("document_issue")
    page.get_by_label("Comment", exact=False).first.fill("Passport expired in 2019.")
    screenshot("four-eyes-maker-form")
    page.get_by_role("button", name="Record decision").click()
    # Back in the attention queue: the decision awaits approval, so the session
    # has left it.
    expect(page).to_have_url(re.compile(r"needs_attention=true"))
    expect(page.get_by_text("A second reviewer must approve it")).to_be_visible()
    expect(page.get_by_role("link", name="run-four-eyes-1")).to_have_count(0)
    page.goto(f"{live_server.url}{session.get_absolute_url()}")
    case = page.locator("#case")
    expect(case).to_contain_text("Awaiting approval")
    expect(case).to_contain_text("You made this decision")
    expect(case.get_by_role("button", name="Approve decision")).to_have_count(0)
    screenshot("four-eyes-maker-waiting")

    # The checker finds it under "Awaiting my approval".
    page.context.clear_cookies()
    signed_in(page.context, live_server, checker)
    page.goto(f"{live_server.url}/sessions/")
    page.get_by_role("link", name="Awaiting my approval").click()
    page.get_by_role("link", name="run-four-eyes-1").click()
    case = page.locator("#case")
    expect(case).to_contain_text("Reject · Document problem")
    expect(case).to_contain_text("by rita-reviewer")
    expect(case).to_contain_text("Passport expired in 2019.")
    case.get_by_label("Your comment").fill("Agreed: the document is expired.")
    screenshot("four-eyes-checker")
    case.get_by_role("button", name="Approve decision").click()

    # Back in "Awaiting my approval", now empty.
    expect(page).to_have_url(re.compile(r"awaiting_my_approval=true"))
    expect(
        page.get_by_text("Decision approved on session run-four-eyes-1")
    ).to_be_visible()
    expect(page.get_by_role("link", name="run-four-eyes-1")).to_have_count(0)
    screenshot("four-eyes-queue-after")

    session = WorkflowSession.objects.get(pk=session.pk)
    assert session.case_state == CaseState.REJECTED
    assert Review.objects.get(session=session).reviewer == maker

    page.goto(f"{live_server.url}{session.get_absolute_url()}")
    expect(page.locator("#case")).to_contain_text("Closed — rejected")
    reviews = page.locator("#reviews")
    expect(reviews).to_contain_text("Reject · Document problem")
    expect(reviews).to_contain_text("by rita-reviewer · approved by carla-checker")
    history = page.locator("#history")
    expect(history).to_contain_text("Decision submitted for approval")
    expect(history).to_contain_text("Decision approved (second reviewer)")
    expect(history).to_contain_text("Closed — rejected")
    expect(history).not_to_contain_text("approval_id")
    screenshot("four-eyes-history")
    assert page.console_errors == []
