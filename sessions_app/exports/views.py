"""The CSV export views: /sessions/export.csv, /checks/export.csv and
/clients/export.csv.

Each parses the query string with the list's FilterSet (the same as the
queue's and the API's) and its `sort` with the API's rule, refuses a
parameter it does not know (ignored, it would export every row while the user
believes the file is filtered), then streams `stream.py`'s response.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..client_filters import ClientFilterSet, client_filterset
from ..filters import (
    CheckFilterSet,
    SessionFilterSet,
    check_filterset,
    filterset_parameters,
    parameters_unknown,
    session_filterset,
    unknown_parameter_message,
)
from ..forms import SORT_PARAM, session_sort_clean
from ..roles import user_can_export
from .clients import client_csv_response
from .stream import check_csv_response, session_csv_response


def _applied_filters(filterset: Any) -> dict[str, str]:
    """Return the filters the request set, as typed but for blanks (which
    leave a filter unset: filters.py), for the audit record and file name."""
    data = filterset.data
    return {name: data[name] for name in filterset.filters if data.get(name)}


def _refused(title: str, errors: Mapping[str, Iterable[Any]]) -> HttpResponse:
    lines = [f"{title}; nothing was exported."]
    for field, messages in errors.items():
        lines.extend(f"{field}: {message}" for message in messages)
    return HttpResponse(
        "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
    )


def _unknown_parameters(
    request: HttpRequest, filterset_class: type, options: Sequence[str] = ()
) -> HttpResponse | None:
    """Refuse parameters the export does not know: ignored, they would export
    every row while the user believes the file is filtered."""
    allowed = filterset_parameters(filterset_class, options=options)
    unknown = parameters_unknown(request.GET, allowed=allowed)
    if not unknown:
        return None
    message = unknown_parameter_message(allowed)
    return _refused("Unknown parameter(s)", {name: [message] for name in unknown})


@require_GET
def sessions_csv(request: HttpRequest) -> HttpResponse:
    """Export the review queue's sessions for the query string's filters and sort."""
    if not user_can_export(request.user):
        raise PermissionDenied("Only exporters may export.")
    refused = _unknown_parameters(request, SessionFilterSet, options=[SORT_PARAM])
    if refused is not None:
        return refused
    filterset = session_filterset(params=request.GET, request=request)
    errors = dict(filterset.errors) if not filterset.is_valid() else {}
    try:
        sort = session_sort_clean(request.GET.get(SORT_PARAM))
    except ValidationError as exc:
        errors[SORT_PARAM] = exc.messages
    if errors:
        return _refused("Invalid filter value(s)", errors)
    return session_csv_response(
        request=request,
        queryset=filterset.qs,
        filters=_applied_filters(filterset),
        sort=sort,
    )


@require_GET
def checks_csv(request: HttpRequest) -> HttpResponse:
    """Export checks (with their session and client) for the query string's filters."""
    if not user_can_export(request.user):
        raise PermissionDenied("Only exporters may export.")
    refused = _unknown_parameters(request, CheckFilterSet)
    if refused is not None:
        return refused
    filterset = check_filterset(params=request.GET, request=request)
    if not filterset.is_valid():
        return _refused("Invalid filter value(s)", filterset.errors)
    return check_csv_response(
        request=request,
        queryset=filterset.qs,
        filters=_applied_filters(filterset),
    )


@require_GET
def clients_csv(request: HttpRequest) -> HttpResponse:
    """Export the client directory for the query string's filters, with the
    assurance summary per check kind (exporters and admins)."""
    if not user_can_export(request.user):
        raise PermissionDenied("Only exporters may export.")
    refused = _unknown_parameters(request, ClientFilterSet)
    if refused is not None:
        return refused
    filterset = client_filterset(params=request.GET, request=request)
    if not filterset.is_valid():
        return _refused("Invalid filter value(s)", filterset.errors)
    return client_csv_response(
        request=request,
        queryset=filterset.qs,
        filters=_applied_filters(filterset),
    )
