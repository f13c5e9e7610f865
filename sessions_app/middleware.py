"""`Cache-Control: no-store, private` on every response to a signed-in user.

Pages, admin pages and API answers to a signed-in user carry personal data
(names, identity checks, decisions): no browser cache, shared proxy or
"back" button on a shared desk may keep a copy. Placed after Django's
authentication middleware; a DRF or token login sets `request.user` on the
underlying request, so API answers are covered too. Anonymous answers (the
login page, /healthz, static files, which WhiteNoise answers before this
middleware runs) keep their own caching.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreForSignedInMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response
