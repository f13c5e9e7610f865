"""The client IP behind VERITY_TRUSTED_PROXY_COUNT proxies (client_ip.py)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from sessions_app.client_ip import client_ip_address

PROXY = "10.0.0.1"


def _request(forwarded: str | None = None):
    meta = {"REMOTE_ADDR": PROXY}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("count", "forwarded", "client"),
    [
        (0, "203.0.113.5", PROXY),  # no proxy trusted: the header is ignored
        (1, "203.0.113.5", "203.0.113.5"),
        # What the client wrote itself (left) is never believed.
        (1, "1.1.1.1, 203.0.113.5", "203.0.113.5"),
        (2, "1.1.1.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        # Not through every trusted proxy: nothing in the header is vouched for.
        (2, "203.0.113.5", PROXY),
        (1, None, PROXY),
        (1, " , ", PROXY),
    ],
)
def test_the_client_is_counted_from_the_right(settings, count, forwarded, client):
    settings.VERITY_TRUSTED_PROXY_COUNT = count
    assert client_ip_address(_request(forwarded)) == client


def test_axes_asks_verity_for_the_client_ip(settings):
    from axes.helpers import get_client_ip_address

    settings.VERITY_TRUSTED_PROXY_COUNT = 1
    assert get_client_ip_address(_request("198.51.100.7")) == "198.51.100.7"
