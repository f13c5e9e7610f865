"""The API's root page, /api/v1/: what it offers, as links (the schema has the rest).

A tool or a person exploring the API from its base URL gets the list of
resources and where the OpenAPI schema and its docs page are, instead of a
404. Same authentication and permission as the resources it lists.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from .apis import AUTHENTICATION

# (key in the answer, URL name): the list endpoints of /api/v1/.
RESOURCES = (
    ("sessions", "api-session-list"),
    ("checks", "api-check-list"),
    ("clients", "api-client-list"),
    ("sync_runs", "api-sync-run-list"),
)


class ApiRootView(APIView):
    """Links to every resource list of /api/v1/, the schema and the docs."""

    authentication_classes = AUTHENTICATION

    @extend_schema(exclude=True)  # a page of links, not a resource
    def get(self, request: Request) -> Response:
        links = {key: reverse(name, request=request) for key, name in RESOURCES}
        links["schema"] = reverse("api-schema", request=request)
        links["docs"] = reverse("api-docs", request=request)
        return Response(links)
