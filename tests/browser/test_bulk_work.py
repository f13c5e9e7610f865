"""Bulk work in a real browser: a reviewer ticks two rows of the queue,
assigns them to themselves in one go, and reads the result; a note is added
on a session page. At phone width the rows are cards with their checkbox.

Screenshots under test-artifacts/screenshots: bulk-selected, bulk-done,
bulk-phone, session-note.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sessions_app.models import AuditEvent, Note, WorkflowSession
from tests.browser.desk_pages import PHONE, signed_in
from tests.factories import UserFactory, WorkflowSessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("no_queries_in_templates")
def test_a_reviewer_selects_two_rows_and_assigns_them(live_server, page, screenshot):
    rows = [WorkflowSessionFactory(external_id=f"bulk-row-{n}") for n in range(3)]
    reviewer = UserFactory(username="rita-reviewer", roles=["reviewer"])
    signed_in(page.context, live_server, reviewer)
    page.goto(f"{live_server.url}/sessions/?sort=created")
    page.get_by_label("Select session bulk-row-0").check()
    page.get_by_label("Select session bulk-row-2").check()
    expect(page.locator("#bulk-count")).to_have_text("2 of 3 selected on this page.")
    page.get_by_label("Action").select_option("assign_me")
    # Only the chosen action's fields are shown.
    expect(page.get_by_label("Note", exact=True)).to_be_hidden()
    screenshot("bulk-selected")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("2 assigned to you.")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/sessions/?sort=created")
    screenshot("bulk-done")
    assigned = set(
        WorkflowSession.objects.filter(assignee=reviewer).values_list(
            "external_id", flat=True
        )
    )
    assert assigned == {"bulk-row-0", "bulk-row-2"}
    assert AuditEvent.objects.filter(action="session.assign").count() == 2
    assert AuditEvent.objects.filter(action="sessions.bulk").count() == 1
    assert rows[1].assignee_id is None


@pytest.mark.usefixtures("no_queries_in_templates")
def test_select_all_on_a_phone_and_a_note_on_the_session(live_server, page, screenshot):
    for n in range(2):
        WorkflowSessionFactory(external_id=f"phone-row-{n}")
    reviewer = UserFactory(username="rita-reviewer", roles=["reviewer"])
    signed_in(page.context, live_server, reviewer)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/sessions/")
    page.get_by_label("Select all on this page").check()
    expect(page.get_by_label("Select session phone-row-1")).to_be_checked()
    page.get_by_label("Action").select_option("note")
    page.get_by_label("Note", exact=True).fill("Checked in the Monday sweep.")
    screenshot("bulk-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("2 noted.")).to_be_visible()
    assert Note.objects.filter(text="Checked in the Monday sweep.").count() == 2

    page.get_by_role("link", name="phone-row-0").click()
    notes = page.locator("#notes")
    expect(notes).to_contain_text("Checked in the Monday sweep.")
    notes.get_by_label("New note").fill("Follow-up: bank confirmed.")
    notes.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    expect(page.locator("#notes li").first).to_contain_text(
        "Follow-up: bank confirmed."
    )
    screenshot("session-note")
