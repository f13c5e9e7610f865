"""Staff pages. Views parse input, call selectors or one service, and render.

Templates run no queries: every view hands its template evaluated data (lists,
dataclasses, model instances whose relations were joined or prefetched).
`_render` enforces that when VERITY_TEMPLATE_QUERY_GUARD is on (it defaults to
DEBUG; the view tests turn it on): a query while rendering raises.

Roles are enforced here, on the server, not only by hiding buttons: every page
needs the viewer role, decisions and assignments the reviewer role.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from . import selectors, services
from .context_processors import roles as roles_context
from .exceptions import ApplicationError
from .filters import ASSIGNED_TO_ME, OUTCOME_CHOICES, UNASSIGNED, SessionFilterSet
from .forms import (
    DEFAULT_PAGE_SIZE,
    PAGE_SIZES,
    AssignmentForm,
    DecisionForm,
    QueueFilterForm,
    QueueOptionsForm,
)
from .models import Client, Status, WorkflowSession
from .pagination import InvalidCursor
from .roles import user_can_assign, user_can_decide, user_can_view

# How much of a raw payload the session page prints; the rest is in the admin.
RAW_PAYLOAD_MAX_CHARS = 200_000
CLIENT_PAGE_LIMIT = 200


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers. No data disclosed."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception:  # any database failure means "not ready"
        return JsonResponse({"status": "unavailable"}, status=503)


# --- Rendering without queries ---------------------------------------------------


class TemplateQueryError(RuntimeError):
    """A template tried to query the database (a lazy relation slipped through)."""


def _block_queries(
    execute: Callable, sql: str, params: Any, many: bool, context: Any
) -> Any:
    raise TemplateQueryError(f"Query while rendering a template: {sql[:300]}")


def _template_guard_enabled() -> bool:
    return bool(getattr(settings, "VERITY_TEMPLATE_QUERY_GUARD", settings.DEBUG))


def _render(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """Render a page; with the guard on, any query during rendering raises.

    Context processors run at render time, so their per-request caches (the
    user's permissions, the admin flag) are filled first; the guard then only
    catches queries the template itself would cause.
    """
    roles_context(request)
    if not _template_guard_enabled():
        return render(request, template_name, context, status=status)
    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(_block_queries))
        content = render_to_string(template_name, context, request)
    return HttpResponse(content, status=status)


def viewer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let only users with the viewer role (or higher) through; others get 403.

    Anonymous users never get here: LoginRequiredMiddleware sends them to login.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_can_view(request.user):
            raise PermissionDenied("You need the viewer role to use Verity.")
        return view(request, *args, **kwargs)

    return wrapper


# --- Overview --------------------------------------------------------------------


@require_safe
@viewer_required
def overview(request: HttpRequest) -> HttpResponse:
    """Counts by status, outcome and provider; attention by age; sync health; chart."""
    activity = selectors.session_daily_activity(days=30)
    return _render(
        request,
        "sessions_app/overview.html",
        {
            "breakdown": selectors.session_breakdown(),
            "attention": selectors.session_attention_summary(),
            "health": selectors.provider_health_list(),
            "activity": activity,
            "activity_rows": list(
                zip(activity.days, activity.created, activity.completed, strict=True)
            ),
            "chart_data": activity.as_chart_data(),
            "stale_after_intervals": selectors.STALE_AFTER_INTERVALS,
        },
    )


# --- Review queue ----------------------------------------------------------------

# The queue's filter parameters in the order their chips appear.
QUEUE_FILTERS = list(SessionFilterSet.base_filters)
FILTER_LABELS = {
    name: str(f.label or name) for name, f in SessionFilterSet.base_filters.items()
}
# Parameters that do not filter; they survive when a filter chip is removed.
QUEUE_OPTIONS = ("sort", "page_size")
# First click on a column sorts newest / highest first for dates, A→Z for words.
SORT_COLUMNS = [
    ("provider", "Provider", ""),
    ("status", "Status", ""),
    ("outcome", "Outcome", ""),
    ("created", "Created", "-"),
    ("updated", "Updated", "-"),
]


def _query(params: QueryDict, **changes: Any) -> str:
    """Return `params` as a query string ("?…") with keys set, or removed by None."""
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


def _active_filters(params: QueryDict) -> list[str]:
    return [name for name in QUEUE_FILTERS if params.get(name, "").strip()]


def _chip_value(name: str, value: str, providers: dict[str, str]) -> str:
    labels: dict[str, dict[str, str]] = {
        "provider": providers,
        "status": dict(Status.choices),
        "outcome": dict(OUTCOME_CHOICES),
        "assignee": {UNASSIGNED: "Unassigned", ASSIGNED_TO_ME: "Me"},
        "needs_attention": {"true": "Yes", "false": "No"},
    }
    table = labels.get(name, {})
    return (
        ", ".join(table.get(part, part) for part in value.split(","))
        if table
        else value
    )


def _queue_chips(params: QueryDict, providers: dict[str, str]) -> list[dict[str, str]]:
    chips = []
    for name in _active_filters(params):
        value = params[name].strip()
        chips.append(
            {
                "name": name,
                "label": FILTER_LABELS[name],
                "value": _chip_value(name, value, providers),
                "remove_url": _query(params, **{name: None, "cursor": None}),
            }
        )
    return chips


def _quick_filters(params: QueryDict) -> list[dict[str, Any]]:
    options = {key: params[key] for key in QUEUE_OPTIONS if params.get(key)}
    presets = [
        ("All sessions", {}),
        ("Needs attention", {"needs_attention": "true"}),
        ("Unassigned", {"assignee": UNASSIGNED}),
        ("Assigned to me", {"assignee": ASSIGNED_TO_ME}),
    ]
    active = {name: params[name].strip() for name in _active_filters(params)}
    quick = []
    for label, preset in presets:
        query = QueryDict(mutable=True)
        query.update({**preset, **options})
        quick.append(
            {"label": label, "url": _query(query), "current": active == preset}
        )
    return quick


def _sort_columns(params: QueryDict, sort: str) -> dict[str, dict[str, str]]:
    current_key, current_desc = sort.removeprefix("-"), sort.startswith("-")
    columns = {}
    for key, label, first in SORT_COLUMNS:
        if key == current_key:
            next_sort = key if current_desc else f"-{key}"
            aria = "descending" if current_desc else "ascending"
        else:
            next_sort, aria = f"{first}{key}", ""
        direction = "descending" if next_sort.startswith("-") else "ascending"
        columns[key] = {
            "label": label,
            "url": _query(params, sort=next_sort, cursor=None),
            "aria_sort": aria,
            "title": f"Sort by {label.lower()}, {direction}",
        }
    return columns


@require_safe
@viewer_required
def session_list(request: HttpRequest) -> HttpResponse:
    """The review queue: shared filters, sortable columns, keyset pages, no COUNT."""
    params = request.GET
    providers = selectors.provider_connection_choices()
    filterset = selectors.session_filterset(params=params, request=request)
    sort, page_size, cursor, notices = QueueOptionsForm(params).options()
    filter_errors: list[dict[str, str]] = []
    page = None
    if filterset.is_valid():
        try:
            page = selectors.session_page(
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
            page = selectors.session_page(
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
    filter_form = QueueFilterForm(params, providers=providers)
    for error in filter_errors:
        if error["field"] in filter_form.fields:
            attrs = filter_form.fields[error["field"]].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = "filter-errors"
    active = _active_filters(params)
    export_query = _query(params, cursor=None, page_size=None)
    return _render(
        request,
        "sessions_app/session_list.html",
        {
            "filter_form": filter_form,
            "hidden_options": [
                (key, params[key]) for key in QUEUE_OPTIONS if params.get(key)
            ],
            "filter_errors": filter_errors,
            "notices": notices,
            "page": page,
            "sessions": page.items if page else [],
            "chips": _queue_chips(params, dict(providers)),
            "quick_filters": _quick_filters(params),
            "columns": _sort_columns(params, sort),
            "sort": sort,
            "page_size": page_size,
            "page_sizes": [
                {
                    "size": size,
                    "url": _query(params, page_size=size, cursor=None),
                    "current": size == page_size,
                }
                for size in PAGE_SIZES
            ],
            "next_url": _query(params, cursor=page.next_cursor)
            if page and page.has_next
            else "",
            "previous_url": (
                _query(params, cursor=page.previous_cursor)
                if page and page.has_previous
                else ""
            ),
            "first_url": _query(params, cursor=None)
            if page and not page.is_first
            else "",
            "export_url": reverse("sessions-export")
            + (export_query if export_query != "?" else ""),
            "is_filtered": bool(active),
            "total_estimate": None if active else selectors.session_total_estimate(),
            "default_page_size": DEFAULT_PAGE_SIZE,
        },
    )


# --- Session page, decisions, assignment -----------------------------------------


def _pretty_json(value: Any, *, limit: int = RAW_PAYLOAD_MAX_CHARS) -> tuple[str, bool]:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return (text[:limit], True) if len(text) > limit else (text, False)


def _as_list(value: Any) -> list[Any]:
    # Providers send reasons as a list, one string or an object; render any.
    if isinstance(value, list):
        return value
    return [value] if value else []


def _session_page(
    request: HttpRequest,
    pk: int,
    *,
    decision_form: DecisionForm | None = None,
    assignment_form: AssignmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        detail = selectors.session_detail_get(pk=pk)
    except WorkflowSession.DoesNotExist as exc:
        raise Http404("No such session.") from exc
    can_assign = user_can_assign(request.user)
    reviewers = (
        list(selectors.user_reviewers().values_list("username", flat=True))
        if can_assign
        else []
    )
    raw_payload, raw_truncated = _pretty_json(detail.session.raw_payload)
    session = detail.session
    return _render(
        request,
        "sessions_app/session_detail.html",
        {
            "detail": detail,
            "session": session,
            "client": session.provider_client.client
            if session.provider_client
            else None,
            "raw_payload": raw_payload,
            "raw_truncated": raw_truncated,
            "raw_max_chars": RAW_PAYLOAD_MAX_CHARS,
            "reasons": _as_list(session.reasons),
            "decision_form": decision_form or DecisionForm(),
            "assignment_form": assignment_form or AssignmentForm(reviewers=reviewers),
            "assigned_to_me": session.assignee_id == request.user.pk,
            "queue_url": reverse("session-list"),
        },
        status=status,
    )


@require_safe
@viewer_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one session, its history, and (for reviewers) the forms."""
    return _session_page(request, pk)


@require_POST
def session_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a decision (reviewers only), then redirect back to the session (PRG)."""
    if not (user_can_view(request.user) and user_can_decide(request.user)):
        raise PermissionDenied("Only reviewers may record decisions.")
    session = get_object_or_404(WorkflowSession, pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _session_page(request, pk, decision_form=form, status=400)
    try:
        review = services.review_decision_record(
            session=session,
            reviewer=request.user,
            decision=form.cleaned_data["decision"],
            reason_code=form.cleaned_data["reason_code"],
            comment=form.cleaned_data["comment"],
            source="web",
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _session_page(request, pk, decision_form=form, status=400)
    messages.success(
        request,
        f"Decision recorded: {review.get_decision_display()} "
        f"({review.get_reason_code_display()}).",
    )
    return redirect(f"{session.get_absolute_url()}#reviews")


@require_POST
def session_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign to me / to a reviewer, or release (reviewers only); PRG."""
    if not (user_can_view(request.user) and user_can_assign(request.user)):
        raise PermissionDenied("Only reviewers may assign sessions.")
    session = get_object_or_404(WorkflowSession, pk=pk)
    reviewers = list(selectors.user_reviewers().values_list("username", flat=True))
    form = AssignmentForm(request.POST, reviewers=reviewers)
    if not form.is_valid():
        return _session_page(request, pk, assignment_form=form, status=400)
    action = form.cleaned_data["action"]
    if action == AssignmentForm.ME:
        assignee = request.user
    elif action == AssignmentForm.RELEASE:
        assignee = None
    else:
        assignee = get_user_model().objects.get(username=form.cleaned_data["assignee"])
    try:
        services.session_assign(
            session=session, assignee=assignee, actor=request.user, source="web"
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _session_page(request, pk, assignment_form=form, status=400)
    if assignee is None:
        messages.success(request, "Session released: it is unassigned now.")
    elif assignee.pk == request.user.pk:
        messages.success(request, "Session assigned to you.")
    else:
        messages.success(request, f"Session assigned to {assignee.get_username()}.")
    return redirect(session.get_absolute_url())


# --- Client page -----------------------------------------------------------------


@require_safe
@viewer_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A client's identities, sessions and checks across providers, and history."""
    try:
        detail = selectors.client_detail_get(pk=pk, limit=CLIENT_PAGE_LIMIT)
    except Client.DoesNotExist as exc:
        raise Http404("No such client.") from exc
    return _render(
        request,
        "sessions_app/client_detail.html",
        {
            "detail": detail,
            "client": detail.client,
            "limit": CLIENT_PAGE_LIMIT,
            "queue_url": f"{reverse('session-list')}?client={detail.client.pk}",
            "checks_export_url": f"{reverse('checks-export')}?client={detail.client.pk}",
        },
    )


# --- Sync health -----------------------------------------------------------------


@require_safe
@viewer_required
def sync_status(request: HttpRequest) -> HttpResponse:
    """Recent runs per connection, unknown values, quarantine, webhook deliveries."""
    status = selectors.sync_status_get()
    return _render(
        request,
        "sessions_app/sync_status.html",
        {
            "status": status,
            "stale_after_intervals": selectors.STALE_AFTER_INTERVALS,
            "excerpt_chars": selectors.QUARANTINE_EXCERPT_CHARS,
        },
    )
