"""`Cache-Control: no-store, private` on every answer to a signed-in user
(sessions_app/middleware.py), and nothing forced on anonymous ones."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils.cache import get_max_age
from rest_framework.authentication import BaseAuthentication

from sessions_app import apis

pytestmark = pytest.mark.django_db


def _directives(response) -> set[str]:
    header = response.headers.get("Cache-Control", "")
    return {part.strip() for part in header.split(",") if part.strip()}


def _private_no_store(response) -> bool:
    return {"no-store", "private"} <= _directives(response)


def test_a_desk_page_is_never_stored(viewer_client):
    response = viewer_client.get(reverse("session-list"))
    assert response.status_code == 200
    assert _private_no_store(response)


def test_an_admin_page_is_never_stored(admin_client_verity):
    response = admin_client_verity.get(
        reverse("admin:sessions_app_providerconnection_changelist")
    )
    assert response.status_code == 200
    assert _private_no_store(response)


def test_an_api_answer_is_never_stored(viewer_client):
    response = viewer_client.get(reverse("api-session-list"))
    assert response.status_code == 200
    assert _private_no_store(response)


def test_an_api_answer_to_a_header_authenticated_client_is_never_stored(
    viewer, monkeypatch
):
    """A token (not a session) signs the client in: DRF sets the user on the
    request the middleware sees, whatever the token scheme."""

    class HeaderAuthentication(BaseAuthentication):
        def authenticate(self, request):
            if request.headers.get("X-Test-User") == viewer.username:
                return (viewer, None)
            return None

    monkeypatch.setattr(
        apis.SessionListApi, "authentication_classes", [HeaderAuthentication]
    )
    response = DjangoClient().get(
        reverse("api-session-list"), headers={"X-Test-User": viewer.username}
    )
    assert response.status_code == 200
    assert _private_no_store(response)


def test_the_csv_keeps_its_own_no_store(exporter_client):
    response = exporter_client.get(reverse("sessions-export"))
    assert response.status_code == 200
    assert _private_no_store(response)


def test_anonymous_answers_are_not_forced_to_no_store(client):
    # (/healthz and the login page keep their own never_cache.)
    favicon = client.get("/favicon.ico")
    assert favicon.status_code in (301, 302)
    assert "no-store" not in _directives(favicon)
    to_login = client.get(reverse("session-list"))
    assert to_login.status_code == 302
    assert "no-store" not in _directives(to_login)


def test_static_files_stay_cacheable_for_a_signed_in_user(settings, viewer):
    # WhiteNoise answers static files before the middleware runs.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = DjangoClient()
    client.force_login(viewer)
    response = client.get(f"{settings.STATIC_URL}css/verity.css")
    assert response.status_code == 200
    assert "no-store" not in _directives(response)
    assert get_max_age(response) is not None
