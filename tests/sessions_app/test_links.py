"""Row links reversed once per list give exactly what `reverse()` gives."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse, set_script_prefix

from sessions_app.links import detail_url_builder


@pytest.fixture
def script_prefix():
    yield set_script_prefix
    set_script_prefix("/")


@pytest.mark.parametrize(
    "view_name", ["session-detail", "client-detail", "api-session-detail"]
)
@pytest.mark.parametrize("prefix", ["/", "/verity/", "/987654321987/"])
def test_builder_matches_reverse_for_every_id(view_name, prefix, script_prefix):
    script_prefix(prefix)
    build = detail_url_builder(view_name)
    for pk in (1, 7, 42, 987654321987, 10**15):
        assert build(pk) == reverse(view_name, args=[pk])


def test_absolute_builder_matches_the_requests_absolute_uri(settings):
    settings.ALLOWED_HOSTS = ["verity.example.com"]
    request = RequestFactory().get("/", HTTP_HOST="verity.example.com", secure=True)
    build = detail_url_builder(
        "api-session-detail", absolute=request.build_absolute_uri
    )
    assert build(5) == "https://verity.example.com/api/v1/sessions/5/"
    assert build(5) == request.build_absolute_uri(
        reverse("api-session-detail", args=[5])
    )
