"""Saved views on the review queue: the queue's panel (listed with their
counts), and the forms that save, rename and delete them (POST, then
redirect). Every write goes through `saved_views.services`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..exceptions import ApplicationError
from ..filters import session_filterset
from ..views.access import viewer_required
from . import selectors, services
from .models import SAVED_VIEW_NAME_MAX_LENGTH, SavedView
from .queries import saved_view_query_canonical, saved_view_query_clean, saved_view_url

# The name a refused save typed, kept for the queue's next render (PRG).
SAVE_RETRY_KEY = "verity.saved_view_retry"


def _count_label(count: int | None) -> str:
    if count is None:
        return "filters no longer valid"
    if count > selectors.SAVED_VIEW_COUNT_CAP:
        return f"{selectors.SAVED_VIEW_COUNT_CAP:,}+"
    return f"{count:,}"


def saved_views_panel(request: HttpRequest, params: QueryDict) -> dict[str, Any]:
    """The queue's "My views": the user's views with their counts (one query
    for every count, `selectors.session_counts_capped`), which one the queue
    shows now, and the save form's query and retried name."""
    views = selectors.saved_views_for_user(user=request.user)
    querysets, counted = [], []
    for view in views:
        # A view's filters were valid when saved; a tag or user deleted since
        # makes them invalid now: such a view shows no count.
        filterset = session_filterset(params=QueryDict(view.query), request=request)
        if filterset.is_valid():
            querysets.append(filterset.qs)
            counted.append(view.pk)
    counts = dict(
        zip(counted, selectors.session_counts_capped(querysets=querysets), strict=True)
    )
    current_query = saved_view_query_canonical(params)
    retry = request.session.pop(SAVE_RETRY_KEY, None)
    return {
        "saved_views": [
            {
                "pk": view.pk,
                "name": view.name,
                "url": saved_view_url(view),
                "count": _count_label(counts.get(view.pk)),
                "current": view.query == current_query,
                "rename_url": reverse("saved-view-rename", args=[view.pk]),
                "delete_url": reverse("saved-view-delete", args=[view.pk]),
            }
            for view in views
        ],
        "saved_view_query": current_query,
        "saved_view_name": retry.get("name", "") if isinstance(retry, dict) else "",
        "saved_view_name_max": SAVED_VIEW_NAME_MAX_LENGTH,
        "saved_views_full": len(views) >= services.SAVED_VIEWS_PER_USER_MAX,
        "saved_views_max": services.SAVED_VIEWS_PER_USER_MAX,
    }


def _queue_with(query: str) -> str:
    queue = reverse("session-list")
    return f"{queue}?{query}" if query else queue


def _own_view(request: HttpRequest, pk: int) -> SavedView:
    try:
        return selectors.saved_view_get(user=request.user, pk=pk)
    except SavedView.DoesNotExist as exc:  # another's view is as missing as none
        raise Http404("No such saved view.") from exc


@require_POST
@viewer_required
def saved_view_create(request: HttpRequest) -> HttpResponse:
    """Save the queue's filters and sort (the form's `query`) under `name`."""
    raw_query = request.POST.get("query", "")
    back = _queue_with(saved_view_query_canonical(QueryDict(raw_query)))
    name = request.POST.get("name", "")
    try:
        query = saved_view_query_clean(params=QueryDict(raw_query), request=request)
        view = services.saved_view_create(
            user=request.user, name=name, query=query, source="web"
        )
    except ApplicationError as exc:
        request.session[SAVE_RETRY_KEY] = {"name": name[:SAVED_VIEW_NAME_MAX_LENGTH]}
        messages.error(request, f"The view was not saved. {exc.message}")
        return redirect(f"{back}#saved-views-title")
    messages.success(request, f"View saved: {view.name}.")
    return redirect(saved_view_url(view))


@require_POST
@viewer_required
def saved_view_rename(request: HttpRequest, pk: int) -> HttpResponse:
    view = _own_view(request, pk)
    try:
        view = services.saved_view_rename(
            view=view,
            user=request.user,
            name=request.POST.get("name", ""),
            source="web",
        )
    except ApplicationError as exc:
        messages.error(request, f"The view was not renamed. {exc.message}")
    else:
        messages.success(request, f"View renamed: {view.name}.")
    return redirect(saved_view_url(view))


@require_POST
@viewer_required
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = _own_view(request, pk)
    services.saved_view_delete(view=view, user=request.user, source="web")
    messages.success(request, f"View deleted: {view.name}.")
    return redirect(reverse("session-list"))
