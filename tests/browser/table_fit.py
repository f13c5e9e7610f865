"""Whether a page's wide table fits a desktop window without a sideways
scroll: the check the review queue's and the admin changelists' 1,440 px
tests share. Not a test module.
"""

from __future__ import annotations

from tests.browser.desk_pages import VIEWPORTS, signed_in

# The table's width against the box it scrolls in (its parent unless a box
# selector is given), and each column's header and width for the message.
TABLE_WIDTHS_JS = """([tableSelector, boxSelector]) => {
  const table = document.querySelector(tableSelector);
  const box = boxSelector ? document.querySelector(boxSelector) : table && table.parentElement;
  if (!table || !box) return null;
  const columns = [...table.querySelectorAll('thead th')].map(
    th => `${th.innerText.trim().split('\\n')[0] || '(no title)'} ${Math.round(th.getBoundingClientRect().width)}`);
  return [table.scrollWidth, box.clientWidth, columns.join(', ')];
}"""


def assert_table_fits_desktop(
    live_server, browser, user, path: str, *, what: str, table: str, box: str = ""
) -> None:
    """Sign `user` in to a 1440x900 window, open `path` and fail, naming each
    column's width, when the table `table` (a CSS selector) is wider than its
    box `box` (default: the table's parent)."""
    context = browser.new_context(viewport=VIEWPORTS["desktop"], locale="en-GB")
    try:
        page = context.new_page()
        signed_in(context, live_server, user)
        page.goto(live_server.url + path)
        # No request of the page still in flight when the test database is
        # flushed (on SQLite a live request's lock made the flush fail once).
        page.wait_for_load_state("networkidle")
        widths = page.evaluate(TABLE_WIDTHS_JS, [table, box or None])
        assert widths is not None, f"{what}: no {table} on {path}"
        table_width, box_width, columns = widths
        assert table_width <= box_width, (
            f"{what} is {table_width} px in {box_width} px ({columns})"
        )
    finally:
        context.close()
