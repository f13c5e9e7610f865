"""How the API answers what it cannot serve: JSON, never Django's HTML pages.

- `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]): Verity's
  ApplicationError becomes a 400 with its message; the rest is DRF's.
- `ApiNotFoundView`: the catch-all under /api/ (api_urls.py), a JSON 404 for
  any path that names no endpoint, ids that are not whole numbers included.
- `server_error`: the site's handler500 (config/urls.py), JSON under /api/.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.urls import Resolver404, resolve, reverse
from django.views.defaults import server_error as django_server_error
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import ApplicationError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map Verity's ApplicationError to a 400 with its message; defer the rest to DRF."""
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, **exc.extra}, status=400)
    return drf_exception_handler(exc, context)


@extend_schema(exclude=True)
class ApiNotFoundView(APIView):
    """A JSON 404 for every path under /api/ that names no endpoint.

    Without it, Django answers its HTML 404 page: for an unknown path, and for
    a known one whose id is not a whole number (`sessions/abc/`), which the
    `<int:pk>` patterns do not match. Any method, any user: it reveals
    nothing, and needs no login, no CSRF token and no media type.

    A GET or HEAD of an endpoint's path without its trailing slash is still
    redirected to it, as Django's APPEND_SLASH did before this catch-all
    matched every path; other methods get a 404 naming the right path, since
    a redirect would drop their body.
    """

    authentication_classes: list = []
    permission_classes: list = []

    def _path_with_slash(self, request: Request) -> str | None:
        """Return the endpoint path `request` means without its slash, or None."""
        path = request.path_info
        if not settings.APPEND_SLASH or path.endswith("/"):
            return None
        try:
            match = resolve(f"{path}/")
        except Resolver404:
            return None
        return None if match.url_name == API_NOT_FOUND else f"{request.path}/"

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        with_slash = self._path_with_slash(request)
        if with_slash is not None and request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(
                request.get_full_path(force_append_slash=True)
            )
        if with_slash is not None:
            raise NotFound(
                f"Not found. This endpoint's path ends with a slash: {with_slash}"
            )
        raise NotFound(
            "Not found. No API endpoint has this path (ids are whole numbers); "
            f"the endpoints are listed in {reverse('api-schema')}."
        )

    get = post = put = patch = delete = head = options = _not_found


# The catch-all's URL name (api_urls.py).
API_NOT_FOUND = "api-not-found"


def server_error(request: HttpRequest) -> HttpResponse:
    """The site's handler500 (config/urls.py): JSON under /api/, else Django's page.

    A bug must not turn an API client's error handling into HTML parsing;
    the body says nothing of the error (it is in the log).
    """
    if request.path_info.startswith(reverse(API_NOT_FOUND)):  # "/api/"
        return JsonResponse({"detail": "Server error."}, status=500)
    return django_server_error(request)
