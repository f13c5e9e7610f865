"""The review queue (/sessions/): shared filters, sortable columns, keyset pages.

The query string is parsed here and by the FilterSet (`filters.py`) and the
options form (`forms.QueueOptionsForm`); the selectors get a narrowed
queryset, a sort, a cursor and a page size, and build the page. This module
also owns the queue's query strings: the links it renders (chips, quick
filters, sort columns, pages) and the `back` link a session page returns by.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe

from .. import selectors
from ..cases.bulk import BULK_MAX_SESSIONS
from ..cases.forms import BulkForm
from ..filter_fields import blank_filters_removed
from ..filters import (
    ASSIGNED_TO_ME,
    CASE_STATE_CHOICES,
    OUTCOME_CHOICES,
    UNASSIGNED,
    SessionFilterSet,
    session_filterset,
)
from ..forms import DEFAULT_PAGE_SIZE, PAGE_SIZES, QueueFilterForm, QueueOptionsForm
from ..models import ReasonKind, Status
from ..pagination import InvalidCursor
from ..roles import user_can_assign, user_can_decide, user_can_view
from ..saved_views.views import saved_views_panel
from ..selectors.sorting import SESSION_NULLABLE_SORTS, SESSION_SORT_OPTIONS
from .access import viewer_required
from .rendering import render_page

# The queue's filter parameters in the order their chips appear.
QUEUE_FILTERS = list(SessionFilterSet.base_filters)
FILTER_LABELS = {
    name: str(f.label or name) for name, f in SessionFilterSet.base_filters.items()
}
# Filters the form has no field for (client, needs_attention, provider_kind,
# and whatever the FilterSet gains later): the form carries their values as
# hidden inputs, so "Apply" refines a quick filter or a client's queue instead
# of silently dropping it. Derived, so a new filter cannot be forgotten here.
HIDDEN_FILTERS = [
    name for name in QUEUE_FILTERS if name not in QueueFilterForm.base_fields
]
# Parameters that do not filter; they survive when a filter chip is removed.
QUEUE_OPTIONS = ("sort", "page_size")
# The session page's link back to the queue it was opened from (see
# queue_return_url for what it may hold).
QUEUE_RETURN_PARAM = "back"
QUEUE_RETURN_MAX_LENGTH = 4000


def query_string(params: QueryDict, **changes: Any) -> str:
    """Return `params` as a query string ("?…") with keys set, or removed by None.

    Blank parameters (what a submitted form sends for its empty fields) are
    left out: they filter nothing and only make links long.
    """
    query = QueryDict(mutable=True)
    for key, values in params.lists():
        if kept := [v for v in values if v.strip()]:
            query.setlist(key, kept)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


def _active_filters(params: QueryDict) -> list[str]:
    return [name for name in QUEUE_FILTERS if params.get(name, "").strip()]


def _hidden_inputs(params: QueryDict) -> list[tuple[str, str]]:
    """Return (name, value) of the active filters and options the form has no field for."""
    return [
        (name, params[name].strip())
        for name in (*HIDDEN_FILTERS, *QUEUE_OPTIONS)
        if params.get(name, "").strip()
    ]


def _chip_value(name: str, value: str, labels: dict[str, dict[str, str]]) -> str:
    table = {
        "status": dict(Status.choices),
        "outcome": dict(OUTCOME_CHOICES),
        "assignee": {UNASSIGNED: "Unassigned", ASSIGNED_TO_ME: "Me"},
        "needs_attention": {"true": "Yes", "false": "No"},
        "reason": dict(ReasonKind.choices),
        "case_state": dict(CASE_STATE_CHOICES),
        "awaiting_my_approval": {"true": "Yes"},
        "overdue": {"true": "Yes", "false": "No"},
        **labels,
    }.get(name, {})
    if not table:
        return value
    parts = [part.strip() for part in value.split(",")]
    return ", ".join(table.get(part, table.get(part.lower(), part)) for part in parts)


def _queue_chips(
    params: QueryDict, labels: dict[str, dict[str, str]]
) -> list[dict[str, str]]:
    chips = []
    for name in _active_filters(params):
        value = params[name].strip()
        label = FILTER_LABELS[name]
        if name == "client" and value in labels.get("client", {}):
            label = "Client"  # named, no longer a bare id
        chips.append(
            {
                "name": name,
                "label": label,
                "value": _chip_value(name, value, labels),
                "remove_url": query_string(params, **{name: None, "cursor": None}),
            }
        )
    return chips


def _client_filter_names(filterset: SessionFilterSet) -> dict[str, str]:
    """Name the client of a valid `client` filter, for its chip (one query, if any)."""
    client_id = filterset.form.cleaned_data.get("client")
    if not client_id:
        return {}
    # As the rows show it: initials (docs/data-protection.md).
    label = selectors.client_label_get(pk=client_id, masked=True)
    if label is None:
        return {}
    return {filterset.data["client"].strip(): label}


def _quick_filters(params: QueryDict, *, can_be_assigned: bool) -> list[dict[str, Any]]:
    options = {key: params[key] for key in QUEUE_OPTIONS if params.get(key)}
    presets = [
        ("All sessions", {}),
        ("Needs attention", {"needs_attention": "true"}),
        ("Unassigned", {"assignee": UNASSIGNED}),
        ("Escalated", {"case_state": "escalated"}),
        ("Waiting for information", {"case_state": "waiting"}),
        ("Overdue", {"overdue": "true"}),
    ]
    if can_be_assigned:  # only reviewers are ever assigned a session
        presets.append(("Assigned to me", {"assignee": ASSIGNED_TO_ME}))
        presets.append(("Awaiting my approval", {"awaiting_my_approval": "true"}))
    active = {name: params[name].strip() for name in _active_filters(params)}
    quick = []
    for label, preset in presets:
        query = QueryDict(mutable=True)
        query.update({**preset, **options})
        quick.append(
            {"label": label, "url": query_string(query), "current": active == preset}
        )
    return quick


def _sort_columns(params: QueryDict, sort: str) -> dict[str, dict[str, str]]:
    current_key, current_desc = sort.removeprefix("-"), sort.startswith("-")
    columns = {}
    # First click on a column sorts newest / highest first for dates, A→Z for words.
    for option in SESSION_SORT_OPTIONS:
        key, label = option.key, option.label
        first = "-" if option.first_descending else ""
        if key == current_key:
            next_sort = key if current_desc else f"-{key}"
            aria = "descending" if current_desc else "ascending"
        else:
            next_sort, aria = f"{first}{key}", ""
        direction = "descending" if next_sort.startswith("-") else "ascending"
        columns[key] = {
            "label": label,
            "url": query_string(params, sort=next_sort, cursor=None),
            "aria_sort": aria,
            "title": f"Sort by {label.lower()}, {direction}",
        }
    return columns


def _session_link_query(params: QueryDict) -> str:
    """Return the "?back=…" that session links carry, or "" for the plain queue."""
    query = query_string(params, **{QUEUE_RETURN_PARAM: None})
    if query == "?":
        return ""
    return "?" + urlencode({QUEUE_RETURN_PARAM: reverse("session-list") + query})


@require_safe
@viewer_required
def session_list(request: HttpRequest) -> HttpResponse:
    """The review queue: shared filters, sortable columns, keyset pages, no COUNT."""
    # Blank filters are unset (filters.py): dropped here too, so that no chip,
    # link or hidden input shows a filter the FilterSet does not apply.
    params = blank_filters_removed(request.GET, filterset_class=SessionFilterSet)
    providers = selectors.provider_connection_choices()
    reviewers = selectors.reviewer_usernames()
    filterset = session_filterset(params=params, request=request)
    sort, page_size, cursor, notices = QueueOptionsForm(params).options()
    filter_errors: list[dict[str, str]] = []
    page = None
    chip_labels: dict[str, dict[str, str]] = {"provider": dict(providers)}
    if filterset.is_valid():
        chip_labels["client"] = _client_filter_names(filterset)
        try:
            page = selectors.session_queue_page(
                queryset=filterset.qs,
                sort=sort,
                cursor=cursor or None,
                page_size=page_size,
            )
        except InvalidCursor:
            notices.append(
                "The page link was damaged or made for another sort order; "
                "showing the first page."
            )
            page = selectors.session_queue_page(
                queryset=filterset.qs, sort=sort, page_size=page_size
            )
    else:
        filter_errors = [
            {
                "field": name,
                "label": FILTER_LABELS.get(name, "Filters"),
                "message": str(message),
            }
            for name, field_errors in filterset.errors.items()
            for message in field_errors
        ]
    filter_form = QueueFilterForm(params, providers=providers, reviewers=reviewers)
    filter_form.filter_errors_show(filterset.errors if filter_errors else {})
    active = _active_filters(params)
    # Sorted by due time, the queue lists only sessions that have one: as
    # narrow as a filter, so no "about N in total" and no "No sessions yet".
    sort_narrows = sort.removeprefix("-") in SESSION_NULLABLE_SORTS
    export_query = query_string(params, cursor=None, page_size=None)
    # The bulk bar (cases/bulk_views.py): reviewers and admins only; it
    # returns to this very page of the queue.
    can_bulk = (
        user_can_view(request.user)
        and user_can_assign(request.user)
        and user_can_decide(request.user)
    )
    here = query_string(params)
    return render_page(
        request,
        "sessions_app/session_list.html",
        {
            "filter_form": filter_form,
            "sync_notices": selectors.sync_notices(),
            "hidden_inputs": _hidden_inputs(params),
            "filter_errors": filter_errors,
            "notices": notices,
            "page": page,
            "sessions": page.items if page else [],
            "session_link_query": _session_link_query(params),
            "chips": _queue_chips(params, chip_labels),
            "quick_filters": _quick_filters(
                params, can_be_assigned=user_can_decide(request.user)
            ),
            "columns": _sort_columns(params, sort),
            "sort": sort,
            "page_size": page_size,
            "page_sizes": [
                {
                    "size": size,
                    "url": query_string(params, page_size=size, cursor=None),
                    "current": size == page_size,
                }
                for size in PAGE_SIZES
            ],
            "next_url": query_string(params, cursor=page.next_cursor)
            if page and page.has_next
            else "",
            "previous_url": (
                query_string(params, cursor=page.previous_cursor)
                if page and page.has_previous
                else ""
            ),
            "first_url": query_string(params, cursor=None)
            if page and not page.is_first
            else "",
            "export_url": reverse("sessions-export")
            + (export_query if export_query != "?" else ""),
            "is_filtered": bool(active) or sort_narrows,
            "sort_narrows": sort_narrows,
            "total_estimate": None
            if active or sort_narrows
            else selectors.session_total_estimate(),
            "default_page_size": DEFAULT_PAGE_SIZE,
            "review_counts": selectors.client_review_counts(today=timezone.localdate()),
            "can_bulk": can_bulk,
            "bulk_form": BulkForm(reviewers=reviewers) if can_bulk else None,
            "bulk_back": reverse("session-list") + (here if here != "?" else ""),
            "bulk_max": BULK_MAX_SESSIONS,
            **saved_views_panel(request, params),
        },
    )


def queue_return_url(raw: str | None) -> str:
    """Return `raw` re-encoded if it links to the review queue, else "".

    Only a relative URL whose path is the queue's passes: no scheme, no host,
    no other path, no control characters or backslashes (which browsers read
    as slashes), so the parameter can never become an open redirect. The query
    is parsed and encoded again, so nothing but parameters survives.
    """
    queue = reverse("session-list")
    if not raw or len(raw) > QUEUE_RETURN_MAX_LENGTH:
        return ""
    if "\\" in raw or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        return ""
    if not url_has_allowed_host_and_scheme(raw, allowed_hosts=set()):
        return ""
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.path != queue:
        return ""
    query = query_string(QueryDict(parts.query), **{QUEUE_RETURN_PARAM: None})
    return f"{queue}{query}" if query != "?" else queue
