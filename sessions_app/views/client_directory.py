"""The client directory (/clients/): search, filters, keyset pages by name."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from .. import selectors
from ..client_filters import ClientDirectoryForm, ClientFilterSet, client_filterset
from ..client_review.rules import review_state
from ..filter_fields import blank_filters_removed
from ..pagination import InvalidCursor
from .access import viewer_required
from .queue import query_string
from .rendering import render_page

DIRECTORY_FILTERS = list(ClientFilterSet.base_filters)
REVIEW_WORDS = {"due": "Due soon", "overdue": "Overdue", "unverified": "Never"}


def _rows(clients: list, today) -> list[dict]:
    return [
        {
            "client": client,
            "providers": selectors.client_providers(client),
            "review": review_state(next_review=client.next_review_due, today=today),
        }
        for client in clients
    ]


@require_safe
@viewer_required
def client_list(request: HttpRequest) -> HttpResponse:
    """Every client: search by name, reference or provider id; filter by
    provider, tier, gaps and re-verification; pages by name (no COUNT)."""
    params = blank_filters_removed(request.GET, filterset_class=ClientFilterSet)
    filterset = client_filterset(params=params, request=request)
    notices: list[str] = []
    page = None
    errors: list[dict[str, str]] = []
    cursor = (params.get("cursor") or "").strip() or None
    if filterset.is_valid():
        try:
            page = selectors.client_directory_page(queryset=filterset.qs, cursor=cursor)
        except InvalidCursor:
            notices.append("The page link was damaged; showing the first page.")
            page = selectors.client_directory_page(queryset=filterset.qs)
    else:
        errors = [
            {"field": name, "message": str(message)}
            for name, messages in filterset.errors.items()
            for message in messages
        ]
    today = timezone.localdate()
    export_query = query_string(params, cursor=None)
    return render_page(
        request,
        "sessions_app/client_list.html",
        {
            "form": ClientDirectoryForm(
                params, providers=selectors.provider_connection_choices()
            ),
            "filter_errors": errors,
            "notices": notices,
            "page": page,
            "rows": _rows(page.items, today) if page else [],
            "is_filtered": any(params.get(name) for name in DIRECTORY_FILTERS),
            "next_url": query_string(params, cursor=page.next_cursor)
            if page and page.has_next
            else "",
            "previous_url": query_string(params, cursor=page.previous_cursor)
            if page and page.has_previous
            else "",
            "first_url": query_string(params, cursor=None)
            if page and not page.is_first
            else "",
            "export_url": reverse("clients-export")
            + (export_query if export_query != "?" else ""),
        },
    )
