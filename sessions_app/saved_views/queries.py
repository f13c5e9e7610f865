"""A saved view's query: cleaned by the queue's FilterSet before it is
stored, and turned back into the queue's FilterSet to count and open it.

This module is an interface (it reads the FilterSets); the services below
it take the query it cleaned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, QueryDict
from django.urls import reverse

from ..exceptions import ApplicationError
from ..filter_fields import blank_filters_removed
from ..filters import SessionFilterSet, session_filterset
from ..forms import SORT_PARAM
from ..selectors.sorting import SESSION_DEFAULT_SORT, SESSION_SORT_VALUES
from .models import SavedView

# What a view keeps of the queue's query string: its filters and its sort;
# never the page (cursor) nor the page size.
SAVED_VIEW_PARAMS = (*SessionFilterSet.base_filters, SORT_PARAM)


def saved_view_query_canonical(params: QueryDict | Mapping[str, Any]) -> str:
    """The filters and sort of `params` as one canonical query string (keys
    A→Z, blank filters and the default sort left out), not validated: two
    queues that list the same sessions in the same order compare equal."""
    if not isinstance(params, QueryDict):
        query = QueryDict(mutable=True)
        for key, value in params.items():
            query[key] = "" if value is None else str(value)
        params = query
    params = blank_filters_removed(params, filterset_class=SessionFilterSet)
    kept = {}
    for key in sorted(SAVED_VIEW_PARAMS):
        value = (params.get(key) or "").strip()
        if value and not (key == SORT_PARAM and value == SESSION_DEFAULT_SORT):
            kept[key] = value
    return urlencode(kept)


def saved_view_query_clean(
    *,
    params: QueryDict | Mapping[str, Any],
    request: HttpRequest | None,
    strict: bool = False,
) -> str:
    """Return `params`' canonical query if the queue's FilterSet accepts every
    filter and the sort is known; raise ApplicationError naming each problem
    otherwise, so a saved view never holds a bad filter.

    `strict` (the API) also refuses a parameter that is neither a filter nor
    `sort`; the queue's form posts its page options too, and they are dropped.
    """
    query = saved_view_query_canonical(params)
    parsed = QueryDict(query)
    problems = []
    if strict:
        unknown = sorted(set(params) - set(SAVED_VIEW_PARAMS))
        problems.extend(f"{key}: not a filter of the queue." for key in unknown)
    sort = parsed.get(SORT_PARAM, SESSION_DEFAULT_SORT)
    if sort not in SESSION_SORT_VALUES:
        problems.append(f"Sort: unknown order {sort!r}.")
    filterset = session_filterset(params=parsed, request=request)
    if not filterset.is_valid():
        for name, errors in filterset.errors.items():
            label = SessionFilterSet.base_filters.get(name)
            label_text = str(label.label) if label is not None else name
            problems.extend(f"{label_text}: {message}" for message in errors)
    if problems:
        raise ApplicationError(
            "These filters cannot be saved: " + " ".join(problems),
            extra={"problems": problems},
        )
    return query


def saved_view_url(view: SavedView) -> str:
    """The queue listing `view`: its filters and sort in the query string, so
    the session pages opened from it ("back", "next in queue") follow it."""
    queue = reverse("session-list")
    return f"{queue}?{view.query}" if view.query else queue
