"""Signing out, and the icon browsers ask for on every page."""

from __future__ import annotations

import pytest
from django.templatetags.static import static

pytestmark = pytest.mark.django_db


def test_signing_out_says_so_on_the_sign_in_page(viewer_client):
    response = viewer_client.post("/logout/", follow=True)

    assert response.redirect_chain[-1][0] == "/login/"
    assert "You are signed out." in response.content.decode()
    assert viewer_client.get("/").status_code == 302  # really signed out


def test_the_favicon_is_found_without_signing_in(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")
