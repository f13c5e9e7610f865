"""Verity's own 404 page when DEBUG is on (`make run`).

With DEBUG, Django answers a 404 with its technical page: yellow, and listing
every URL pattern. `make run` is how people first see Verity, so it shows the
page production shows (templates/404.html, through the URLconf's handler404)
instead. Tracebacks of real errors (500s) keep Django's debug page.

Only 404s Django itself would have written are replaced: a path no URL
matched, or an `Http404` a view raised. A view that answers 404 on purpose
(the API's JSON 404) keeps its response.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import get_resolver, get_urlconf


def _not_found_page(request: HttpRequest, exception: Exception) -> HttpResponse:
    handler = get_resolver(get_urlconf()).resolve_error_handler(404)
    response = handler(request, exception)
    # handler404 may return a TemplateResponse (the admin's does not, ours may).
    if hasattr(response, "render") and callable(response.render):
        response = response.render()
    return response


class NotFoundPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None
        ):
            # No URL matched: Django wrote its technical 404 (the patterns tried).
            return _not_found_page(request, Http404(request.path))
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return _not_found_page(request, exception)
        return None
