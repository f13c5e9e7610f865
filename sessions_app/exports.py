"""CSV exports for auditors (issue: exports and API). Stubs until implemented."""

from django.http import HttpRequest, HttpResponse


def sessions_csv(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Not implemented yet", status=501, content_type="text/plain")


def checks_csv(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Not implemented yet", status=501, content_type="text/plain")
