"""/api/docs/ really renders in a browser, from local files, under the site's CSP.

Playwright drives Debian's Chromium (/usr/bin/chromium, never downloaded); the
test is skipped, loudly, when it is absent. A CSP violation or a failed request
shows up as a console error, so "no console errors" is the CSP check.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client as DjangoClient

from tests.factories import UserFactory, WorkflowSessionFactory

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"BROWSER TEST SKIPPED: {CHROMIUM} is missing (apt-get install -y chromium)",
    ),
]

# Playwright's sync API runs an event loop in this thread; the ORM calls made
# here are safe (the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context()
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.errors = []
        page.external_requests = []
        page.on(
            "console",
            lambda m: page.errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        yield page
        browser.close()


def test_swagger_ui_renders_every_operation_without_cdn_or_csp_errors(
    live_server, browser_page
):
    from playwright.sync_api import expect

    page = browser_page
    viewer = UserFactory(username="docs-reader", roles=["viewer"])
    WorkflowSessionFactory()
    login = DjangoClient()
    login.force_login(viewer)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": login.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(live_server.url)
            or request.url.startswith("data:")
            else page.external_requests.append(request.url)
        ),
    )

    response = page.goto(f"{live_server.url}/api/docs/")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    operations = page.locator(".swagger-ui .opblock")
    expect(operations.first).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Verity API")
    # Every endpoint of the schema is listed.
    # 9, retention 3, reveals 2, case work 7, notes 4, bulk 1, saved views 5
    assert operations.count() == 31
    expect(page.get_by_text("/api/v1/sessions/{id}/reviews/")).to_be_visible()
    assert page.errors == []
    assert page.external_requests == []
