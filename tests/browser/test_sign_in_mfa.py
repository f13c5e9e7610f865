"""Signing in with a second factor in a real browser: an administrator's first
sign-in enrols an authenticator app (the QR is inline SVG under the CSP), the
recovery codes are shown once, and the next sign-in asks for a code.

Screenshots: mfa-enrol, mfa-recovery-codes, mfa-verify.
"""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.helpers.mfa import totp_code

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mfa_required"),
]

PASSWORD = "correct-horse-battery"


def _sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/sync/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_enrols_then_signs_in_with_a_code(live_server, page, screenshot):
    admin = UserFactory(username="ada-admin", roles=["admin"])

    _sign_in(page, live_server, "ada-admin")
    expect(page).to_have_url(re.compile(r"/login/mfa/enrol/\?next=%2Fsync%2F"))
    qr = page.locator(".mfa-qr svg")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150
    screenshot("mfa-enrol")
    device = TOTPDevice.objects.get(user=admin)
    page.get_by_label("Code from the app").fill(totp_code(device))
    page.get_by_role("button", name="Confirm").click()

    expect(
        page.get_by_role("heading", name="Your second factor is set up")
    ).to_be_visible()
    expect(page.locator(".mfa-codes li")).to_have_count(10)
    screenshot("mfa-recovery-codes")
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page.get_by_role("heading", name="Sync health")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, live_server, "ada-admin")
    expect(page).to_have_url(re.compile(r"/login/mfa/\?next=%2Fsync%2F"))
    screenshot("mfa-verify")
    page.get_by_role("textbox", name="Code").fill(totp_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Sync health")).to_be_visible()
    assert page.console_errors == []
