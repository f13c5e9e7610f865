"""Every desk page on a phone (390x844) and a desktop (1440x900): it fits the
width, text that cannot fit is cut with its full value at hand, and axe-core
finds no serious or critical accessibility violation; the admin's main pages
pass axe-core too.

One test per viewport walks all the pages and reports every problem at once
(data is created once per test: the live server's database is flushed after
each). Each page is saved as test-artifacts/screenshots/layout-<viewport>-<page>.png.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from sessions_app.privacy.personal_fields import name_initials
from tests.browser.conftest import SCREENSHOTS
from tests.browser.desk_pages import (
    LONG_CLIENT_NAME,
    LONG_TECHNICAL_TAGS,
    SHOWN_TAGS,
    VIEWPORTS,
    desk_pages_create,
    signed_in,
)
from tests.browser.table_fit import assert_table_fits_desktop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING_IMPACTS = {"serious", "critical"}

# Wider than the window: the page scrolls sideways.
PAGE_OVERFLOW_JS = "() => document.documentElement.scrollWidth"
# A placeholder wider than its input's text box is cut ("Name or", "YYYY-MM-D").
PLACEHOLDERS_CUT_JS = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('input[placeholder]')]
    .filter(i => i.offsetParent !== null)
    .flatMap(i => {
      const s = getComputedStyle(i);
      ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
      const needs = ctx.measureText(i.placeholder).width;
      const room = i.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
      return needs > room ? [`${i.name}: "${i.placeholder}" needs ${needs.toFixed(0)} px, has ${room.toFixed(0)} px`] : [];
    });
}"""
# Content wider than its table cell is drawn over the next cell (overprint).
CELLS_OVERPRINTED_JS = """() => [...document.querySelectorAll('main td, main th')]
  .filter(c => c.offsetParent !== null && c.scrollWidth > c.clientWidth + 1)
  .map(c => `${c.closest('table').className || 'table'} cell "${c.innerText.slice(0, 60)}": `
            + `${c.scrollWidth} px of content in ${c.clientWidth} px`)"""


def _axe_problems(axe: Axe, page) -> list[str]:
    results = axe.run(page)
    return [
        f"{v['impact']} {v['id']}: {v['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


def _layout_problems(page, width: int) -> list[str]:
    problems = []
    scroll_width = page.evaluate(PAGE_OVERFLOW_JS)
    if scroll_width > width:
        problems.append(f"page is {scroll_width} px wide in a {width} px window")
    problems += page.evaluate(PLACEHOLDERS_CUT_JS)
    problems += page.evaluate(CELLS_OVERPRINTED_JS)
    return problems


def _walk(page, base_url: str, paths: dict[str, str], viewport: str, *, layout: bool):
    """Open each page; return {page name: [problems]} for the pages with any."""
    axe = Axe()
    width = VIEWPORTS[viewport]["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, path in paths.items():
        page.goto(base_url + path)
        problems = _layout_problems(page, width) if layout else []
        problems += _axe_problems(axe, page)
        page.screenshot(
            path=str(SCREENSHOTS / f"layout-{viewport}-{name}.png"), full_page=True
        )
        if problems:
            found[f"{name} ({path})"] = problems
    return found


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(
        f"{name}:\n" + "\n".join(f"  - {p}" for p in problems)
        for name, problems in found.items()
    )


@pytest.fixture
def pages():
    return desk_pages_create()


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request):
    return request.param


@pytest.fixture
def context(browser, viewport):
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
    context.set_default_timeout(10_000)
    yield context
    context.close()


def test_every_desk_page_fits_and_passes_axe(live_server, context, viewport, pages):
    page = context.new_page()
    found = _walk(page, live_server.url, pages.signed_out, viewport, layout=True)
    signed_in(context, live_server, pages.stranger)
    found |= _walk(page, live_server.url, {"forbidden": "/"}, viewport, layout=True)
    signed_in(context, live_server, pages.officer)
    found |= _walk(page, live_server.url, pages.desk, viewport, layout=True)
    assert not found, "\n" + _report(found)


def test_admin_pages_pass_axe(live_server, context, viewport, pages):
    page = context.new_page()
    signed_in(context, live_server, pages.officer)
    found = _walk(page, live_server.url, pages.admin, viewport, layout=False)
    assert not found, "\n" + _report(found)


def test_long_values_are_cut_with_their_full_value_at_hand(
    live_server, context, viewport, pages
):
    page = context.new_page()
    signed_in(context, live_server, pages.officer)
    page.goto(live_server.url + pages.desk["queue-long"])
    row = page.locator("table.queue-table tbody tr").filter(
        has_text=pages.long_session.external_id
    )
    # The client's name: its initials in the queue (docs/data-protection.md),
    # which is short whatever the name.
    client = row.locator("td.client a")
    expect(client).to_have_text(name_initials(LONG_CLIENT_NAME))
    # Tags: the first few, then "+N more" naming them all on hover, opening on click.
    tags = row.locator("td.tags")
    hidden = len(LONG_TECHNICAL_TAGS) + 1 - SHOWN_TAGS
    more = tags.locator("summary")
    expect(more).to_have_text(f"+{hidden} more")
    for name in LONG_TECHNICAL_TAGS:
        assert name in more.get_attribute("title")
        expect(tags.locator(f'.tag[title="{name}"]')).to_have_count(1)
    visible = tags.locator(".tag:visible")
    expect(visible).to_have_count(SHOWN_TAGS)
    more.click()
    expect(visible).to_have_count(len(LONG_TECHNICAL_TAGS) + 1)
    # Nothing in the row spills over its cell, open or closed.
    assert page.evaluate(CELLS_OVERPRINTED_JS) == []
    assert page.evaluate(PAGE_OVERFLOW_JS) <= VIEWPORTS[viewport]["width"]


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : -1].split(",")[:3]]
    linear = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted([_luminance(foreground), _luminance(background)])[::-1]
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("viewport", ["desktop"], indirect=True)
def test_disabled_pager_links_are_readable_and_radios_never_boxed_in_red(
    live_server, context, pages
):
    page = context.new_page()
    signed_in(context, live_server, pages.officer)
    # axe-core skips disabled controls, so their contrast is measured here (WCAG AA).
    page.goto(live_server.url + "/sessions/")
    disabled = page.locator(".pager .disabled")
    expect(disabled.first).to_have_text("« First")  # on the first page
    for i in range(disabled.count()):
        colours = disabled.nth(i).evaluate(
            "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
        )
        assert _contrast(*colours) >= 4.5, colours

    # A decision without a choice comes back with an error on the radio group:
    # the group is marked, the radio buttons are not drawn in red squares.
    page.goto(live_server.url + pages.desk["session-ica"])
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#decision-errors")).to_be_visible()
    expect(page.locator("fieldset.has-error")).to_have_count(1)
    radios = page.locator('input[type="radio"][name="decision"]')
    assert radios.count() >= 4
    for i in range(radios.count()):
        assert radios.nth(i).evaluate("r => getComputedStyle(r).boxShadow") == "none"


@pytest.mark.parametrize("queue", ["queue", "queue-long"])
def test_the_review_queue_fits_a_1440_px_window(live_server, browser, pages, queue):
    # Its thirteen columns on a laptop screen, no sideways scroll: long
    # status words, due times and the assignee's lines wrap in their columns.
    assert_table_fits_desktop(
        live_server,
        browser,
        pages.officer,
        pages.desk[queue],
        what=f"{queue}: the queue",
        table="table.queue-table",
    )


@pytest.mark.parametrize("changelist", ["admin-sessions", "admin-audit"])
def test_admin_changelists_fit_a_1440_px_window(
    live_server, browser, pages, changelist
):
    # The admin's result table against the box the admin gives it
    # (`div.results` scrolls sideways when the table is wider).
    assert_table_fits_desktop(
        live_server,
        browser,
        pages.officer,
        pages.admin[changelist],
        what=f"{changelist}: the result list",
        table="#result_list",
        box="#changelist .results",
    )
