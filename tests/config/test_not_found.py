"""`make run` (DEBUG on) shows Verity's own 404 page, never Django's technical
one listing the URL patterns (config/not_found.py)."""

from __future__ import annotations

import importlib

import pytest

pytestmark = pytest.mark.django_db

MIDDLEWARE = "config.not_found.NotFoundPageMiddleware"
VERITY_404 = "There is no such page, session or client."
TECHNICAL_404 = "Using the URLconf defined in"


@pytest.fixture
def debug_like_make_run(settings):
    """DEBUG on, with the middleware list of config.settings.local."""
    local = importlib.import_module("config.settings.local")
    settings.DEBUG = True
    settings.MIDDLEWARE = local.MIDDLEWARE
    return settings


def test_local_settings_install_the_middleware_first():
    local = importlib.import_module("config.settings.local")
    assert local.MIDDLEWARE[0] == MIDDLEWARE
    assert local.DEBUG is True


@pytest.mark.parametrize("path", ["/nope", "/sessions/999999/", "/clients/999999/"])
def test_a_missing_page_is_verity_s_own_with_debug_on(
    debug_like_make_run, viewer_client, path
):
    response = viewer_client.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert VERITY_404 in page
    assert TECHNICAL_404 not in page
    assert "admin/" not in page  # no URL pattern listed
    assert "Review queue" in page  # the desk's own layout, its navigation


def test_an_anonymous_visitor_gets_it_too(debug_like_make_run, client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert VERITY_404 in response.content.decode()


def test_without_the_middleware_debug_shows_the_technical_page(settings, client):
    """What the middleware replaces (so the tests above can tell)."""
    settings.DEBUG = True
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    assert TECHNICAL_404 in client.get("/nope").content.decode()


def test_the_api_keeps_its_json_404_and_slashes_are_still_appended(
    debug_like_make_run, viewer_client
):
    response = viewer_client.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    redirect = viewer_client.get("/sessions")
    assert redirect.status_code == 301
    assert redirect["Location"] == "/sessions/"
