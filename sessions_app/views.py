"""Staff pages. Views parse input, call selectors or one service, and render.

Templates run no queries: every view hands its template evaluated data (lists,
dataclasses, model instances whose relations were joined or prefetched).
`_render` enforces that when VERITY_TEMPLATE_QUERY_GUARD is on (it defaults to
DEBUG; the view tests turn it on): a query while rendering raises.

Roles are enforced here, on the server, not only by hiding buttons: every page
needs the viewer role, decisions and assignments the reviewer role.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from axes import helpers as axes_helpers
from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import connection, connections, models
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
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
from .models import (
    AuditEvent,
    Client,
    Decision,
    ReasonCode,
    Status,
    SyncRunState,
    WorkflowSession,
)
from .pagination import InvalidCursor, KeysetPaginator
from .roles import user_can_assign, user_can_decide, user_can_view

# How much of a raw payload the session page prints; the rest is in the admin.
RAW_PAYLOAD_MAX_CHARS = 200_000
CLIENT_PAGE_LIMIT = 200


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def login_lockout(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """Answer a locked-out sign-in with a page (django-axes' AXES_LOCKOUT_CALLABLE).

    Axes restarts the cool-off with every attempt made during a lockout, so it
    ends one cool-off after this attempt: that is the time the page gives.
    Status AXES_HTTP_RESPONSE_CODE (429). Runs no template queries.
    """
    cool_off = axes_helpers.get_cool_off(request)
    retry_at = timezone.now() + cool_off if cool_off else None
    return _render(
        request,
        "registration/lockout.html",
        {
            "username": axes_helpers.get_client_username(request, credentials) or "",
            "failure_limit": axes_helpers.get_failure_limit(request, credentials),
            "cool_off_minutes": max(round(cool_off.total_seconds() / 60), 1)
            if cool_off
            else None,
            "retry_at": retry_at,
        },
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


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
# Filters the form has no field for (client, needs_attention, provider_kind,
# and whatever the FilterSet gains later): the form carries their values as
# hidden inputs, so "Apply" refines a quick filter or a client's queue instead
# of silently dropping it. Derived, so a new filter cannot be forgotten here.
HIDDEN_FILTERS = [
    name for name in QUEUE_FILTERS if name not in QueueFilterForm.base_fields
]
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
# The session page's link back to the queue it was opened from (see
# _queue_return_url for what it may hold).
QUEUE_RETURN_PARAM = "back"
QUEUE_RETURN_MAX_LENGTH = 4000


def _query(params: QueryDict, **changes: Any) -> str:
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
                "remove_url": _query(params, **{name: None, "cursor": None}),
            }
        )
    return chips


def _client_filter_names(filterset: SessionFilterSet) -> dict[str, str]:
    """Name the client of a valid `client` filter, for its chip (one query, if any)."""
    client_id = filterset.form.cleaned_data.get("client")
    if not client_id:
        return {}
    name = (
        selectors.client_queryset()
        .filter(pk=client_id)
        .values_list("display_name", "reference")
        .first()
    )
    if name is None:
        return {}
    return {filterset.data["client"].strip(): name[0] or name[1] or f"#{client_id}"}


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


def _session_link_query(params: QueryDict) -> str:
    """Return the "?back=…" that session links carry, or "" for the plain queue."""
    query = _query(params, **{QUEUE_RETURN_PARAM: None})
    if query == "?":
        return ""
    return "?" + urlencode({QUEUE_RETURN_PARAM: reverse("session-list") + query})


@require_safe
@viewer_required
def session_list(request: HttpRequest) -> HttpResponse:
    """The review queue: shared filters, sortable columns, keyset pages, no COUNT."""
    params = request.GET
    providers = selectors.provider_connection_choices()
    reviewers = list(selectors.user_reviewers().values_list("username", flat=True))
    filterset = selectors.session_filterset(params=params, request=request)
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
            "hidden_inputs": _hidden_inputs(params),
            "filter_errors": filter_errors,
            "notices": notices,
            "page": page,
            "sessions": page.items if page else [],
            "session_link_query": _session_link_query(params),
            "chips": _queue_chips(params, chip_labels),
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


# --- Audit history, in an officer's words ------------------------------------------

# What the services record, named for a reader (keys not listed fall back to
# the model field's verbose name, then to the key in words).
AUDIT_FIELD_LABELS = {
    "assignee_id": "Assignee",
    "assigned_at": "Assigned at",
    "last_decision": "Decision",
    "last_decision_at": "Decided at",
    "reason_code": "Reason",
    "comment": "Comment",
    "review_id": "Review",
    "client_id": "Client",
    "session_id": "Session",
    "link_source": "Linked by",
    "row_count": "Rows",
    "filename": "File",
    "groups": "Roles",
}
# Keys that only repeat another key of the same event (the assignee's username
# beside assignee_id): shown once, as the resolved id.
AUDIT_REDUNDANT_KEYS = {"assignee": "assignee_id"}
AUDIT_USER_KEYS = {"assignee_id", "reviewer_id", "actor_id", "user_id"}
AUDIT_VALUE_LABELS: dict[str, dict[str, str]] = {
    "last_decision": dict(Decision.choices),
    "decision": dict(Decision.choices),
    "reason_code": dict(ReasonCode.choices),
    "state": dict(SyncRunState.choices),
}
AUDIT_ACTION_LABELS = {
    "session.assign": "Assigned",
    "session.unassign": "Released",
    "provider_client.link": "Identity linked",
    "provider_client.unlink": "Identity unlinked",
    "provider_connection.create": "Connection created",
    "provider_connection.update": "Connection changed",
    "admin.add": "Added in the admin",
    "admin.change": "Changed in the admin",
    "admin.delete": "Deleted in the admin",
    "admin.roles": "Roles changed",
    "admin.password": "Password changed in the admin",
    "export.sessions_csv": "Sessions exported (CSV)",
    "export.checks_csv": "Checks exported (CSV)",
}
AUDIT_DATETIME_FORMAT = "Y-m-d H:i"


@dataclasses.dataclass(frozen=True)
class AuditValue:
    """One side of a change: its text ("" when empty) and the page it names, if any."""

    text: str
    url: str = ""


@dataclasses.dataclass(frozen=True)
class AuditChange:
    label: str
    before: AuditValue | None  # None: nothing was recorded before (a new value)
    after: AuditValue


@dataclasses.dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    action: str
    object_kind: str
    object_label: str
    object_url: str
    changes: list[AuditChange]


@dataclasses.dataclass
class _AuditNames:
    users: dict[int, str]
    clients: dict[int, str]
    sessions: dict[int, str]


def _audit_model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _audit_field(model: type[models.Model] | None, key: str) -> models.Field | None:
    """Return the concrete field a snapshot key names (by name or column), if any."""
    if model is None:
        return None
    for field in model._meta.concrete_fields:
        if key in (field.name, field.attname):
            return field
    return None


def _relation(field: models.Field | None) -> type[models.Model] | None:
    return field.related_model if field is not None and field.is_relation else None


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _audit_sides(event: AuditEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    return before, after


def _audit_names(
    events: Iterable[AuditEvent],
    *,
    sessions: dict[int, str],
    clients: dict[int, str],
) -> _AuditNames:
    """Resolve the user and client ids the events mention: at most two queries.

    A username the event recorded itself (the assignee beside its id) is used
    first: it is the name at the time, and a deactivated officer keeps it.
    """
    user_model = get_user_model()
    users: dict[int, str] = {}
    user_ids: set[int] = set()
    client_ids: set[int] = set()
    for event in events:
        model = _audit_model(event.object_type)
        for side in _audit_sides(event):
            for key, value in side.items():
                pk, field = _as_id(value), _audit_field(model, key)
                related = _relation(field)
                if pk is None or (field is not None and related is None):
                    continue
                if key in AUDIT_USER_KEYS or related is user_model:
                    user_ids.add(pk)
                    if key == "assignee_id" and side.get("assignee"):
                        users[pk] = str(side["assignee"])
                elif key == "client_id" or related is Client:
                    client_ids.add(pk)
    if missing := user_ids - users.keys():
        users.update(
            selectors.user_reviewers()
            .filter(pk__in=missing)
            .values_list("pk", "username")
        )
    clients = dict(clients)
    if missing := client_ids - clients.keys():
        for pk, name, reference in (
            selectors.client_queryset()
            .filter(pk__in=missing)
            .values_list("pk", "display_name", "reference")
        ):
            clients[pk] = name or reference or f"Client {pk}"
    return _AuditNames(users=users, clients=clients, sessions=sessions)


def _audit_label(key: str, field: models.Field | None) -> str:
    if key in AUDIT_FIELD_LABELS:
        return AUDIT_FIELD_LABELS[key]
    if field is not None:
        return capfirst(str(field.verbose_name))
    return capfirst(key.removesuffix("_id").replace("_", " "))


def _audit_moment(value: str) -> str:
    """Format an ISO date-time the services stored like the pages do, else ""."""
    if "T" not in value or len(value) < 16:
        return ""
    try:
        moment = parse_datetime(value)
    except ValueError:
        return ""
    if moment is None:
        return ""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return date_format(timezone.localtime(moment), AUDIT_DATETIME_FORMAT)


def _audit_value(
    key: str, value: Any, field: models.Field | None, names: _AuditNames
) -> AuditValue:
    if value is None or value == "" or value == [] or value == {}:
        return AuditValue("")
    pk, related = _as_id(value), _relation(field)
    # An id: of a relation, or of a key the services add (review_id), never a
    # plain field that merely ends in "_id" (a provider's workflow_id).
    if pk is not None and (related is not None or field is None):
        if key in AUDIT_USER_KEYS or related is get_user_model():
            return AuditValue(names.users.get(pk, f"user #{pk}"))
        if key == "client_id" or related is Client:
            return AuditValue(
                names.clients.get(pk, f"Client {pk}"),
                reverse("client-detail", args=[pk]),
            )
        if key == "session_id" or related is WorkflowSession:
            return AuditValue(
                names.sessions.get(pk, f"session #{pk}"),
                reverse("session-detail", args=[pk]),
            )
        if related is not None or key.endswith("_id"):
            return AuditValue(f"#{pk}")
    labels = AUDIT_VALUE_LABELS.get(key) or (
        {str(k): str(v) for k, v in field.flatchoices}
        if field is not None and field.choices
        else {}
    )
    if isinstance(value, str) and value in labels:
        return AuditValue(labels[value])
    if isinstance(value, bool):
        return AuditValue("Yes" if value else "No")
    if isinstance(value, str):
        return AuditValue(_audit_moment(value) or value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return AuditValue(", ".join(value))
    if isinstance(value, dict | list):
        return AuditValue(
            json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        )
    return AuditValue(str(value))


def _audit_action(action: str) -> str:
    kind, _, detail = action.partition(".")
    if action in AUDIT_ACTION_LABELS:
        return AUDIT_ACTION_LABELS[action]
    if kind == "review":
        return f"Decision: {dict(Decision.choices).get(detail, detail)}"
    if kind == "sync":
        return f"Sync {dict(SyncRunState.choices).get(detail, detail).lower()}"
    return capfirst(action.replace(".", " ").replace("_", " "))


def _audit_object(event: AuditEvent, names: _AuditNames) -> tuple[str, str, str]:
    """Return (kind, label, url) of the object an event changed."""
    model = _audit_model(event.object_type)
    kind = capfirst(str(model._meta.verbose_name)) if model else event.object_type
    pk = _as_id(event.object_id)
    label = event.object_repr or event.object_id
    url = ""
    if model is WorkflowSession and pk is not None:
        # A session's repr is "<connection id>:<external id>"; show the id officers know.
        label = names.sessions.get(pk) or label.partition(":")[2] or label
        url = reverse("session-detail", args=[pk])
    elif model is Client and pk is not None:
        label = names.clients.get(pk, label)
        url = reverse("client-detail", args=[pk])
    elif model is not None and model._meta.model_name == "providerclient":
        url = (
            reverse("client-detail", args=[event.client_id]) if event.client_id else ""
        )
    elif model is not None and model._meta.model_name == "syncrun":
        url = reverse("sync-status")
    return kind, label, url


def _unlinked(value: AuditValue, current_url: str) -> AuditValue:
    # No link from a page to itself.
    return AuditValue(value.text) if value.url and value.url == current_url else value


def audit_rows(
    events: list[AuditEvent],
    *,
    current_url: str = "",
    sessions: dict[int, str] | None = None,
    clients: dict[int, str] | None = None,
) -> list[AuditRow]:
    """Turn audit events into rows an officer can read, before rendering.

    Field keys become labels, ids become names (users, clients, sessions),
    stored ISO timestamps are formatted like the rest of the pages, and the
    object links to its page unless that is `current_url`. `sessions` and
    `clients` are names the caller already holds (no query for those); the
    rest cost at most two queries however many events there are.
    """
    names = _audit_names(events, sessions=sessions or {}, clients=clients or {})
    rows = []
    for event in events:
        before, after = _audit_sides(event)
        model = _audit_model(event.object_type)
        keys = [k for k in after if k in before or after[k] not in (None, "")]
        keys += [k for k in before if k not in after]
        changes = []
        for key in keys:
            if AUDIT_REDUNDANT_KEYS.get(key) in keys:
                continue
            field = _audit_field(model, key)
            old, new = (
                _unlinked(_audit_value(key, side.get(key), field, names), current_url)
                for side in (before, after)
            )
            changes.append(
                AuditChange(
                    label=_audit_label(key, field),
                    # An empty "before" is not worth a strike-through: it was set.
                    before=old if key in before and old.text else None,
                    after=new,
                )
            )
        kind, label, url = _audit_object(event, names)
        rows.append(
            AuditRow(
                event=event,
                action=_audit_action(event.action),
                object_kind=kind,
                object_label=label,
                object_url="" if url == current_url else url,
                changes=changes,
            )
        )
    return rows


# --- Session page, decisions, assignment -----------------------------------------

SESSION_HISTORY_LIMIT = 200


def _pretty_json(value: Any, *, limit: int = RAW_PAYLOAD_MAX_CHARS) -> tuple[str, bool]:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return (text[:limit], True) if len(text) > limit else (text, False)


def _as_list(value: Any) -> list[Any]:
    # Providers send reasons as a list, one string or an object; render any.
    if isinstance(value, list):
        return value
    return [value] if value else []


def _queue_return_url(raw: str | None) -> str:
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
    query = _query(QueryDict(parts.query), **{QUEUE_RETURN_PARAM: None})
    return f"{queue}{query}" if query != "?" else queue


def _next_in_queue(
    request: HttpRequest, session: WorkflowSession, back: str
) -> WorkflowSession | None:
    """Return the session after `session` in the queue `back` links to, or None.

    One keyset step from the session's own (sort value, id) with the queue's
    FilterSet and sort, so it agrees with the queue's pages: a constant two
    queries at most (the assignee filter's username look-up, then one row),
    however long the queue. None when the queue's filters are not valid.
    """
    params = QueryDict(urlsplit(back).query)
    filterset = selectors.session_filterset(params=params, request=request)
    if not filterset.is_valid():
        return None
    sort = QueueOptionsForm(params).options()[0]
    field = selectors.SESSION_SORTS[sort.removeprefix("-")]
    value: Any = session
    for part in field.split("__"):
        value = getattr(value, part)
    queryset = filterset.qs.prefetch_related(None)  # the link needs no tags
    cursor = KeysetPaginator(
        queryset, sort_field=field, descending=sort.startswith("-")
    ).encode_cursor(value=value, pk=session.pk, backwards=False)
    page = selectors.session_page(
        queryset=queryset, sort=sort, cursor=cursor, page_size=1
    )
    return page.items[0] if page.items else None


def _session_page(
    request: HttpRequest,
    pk: int,
    *,
    back: str = "",
    decision_form: DecisionForm | None = None,
    assignment_form: AssignmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        # One row more than shown tells whether the history was cut.
        detail = selectors.session_detail_get(
            pk=pk, history_limit=SESSION_HISTORY_LIMIT + 1
        )
    except WorkflowSession.DoesNotExist as exc:
        raise Http404("No such session.") from exc
    audit_truncated = len(detail.audit_events) > SESSION_HISTORY_LIMIT
    reviews_truncated = len(detail.reviews) > SESSION_HISTORY_LIMIT
    detail = dataclasses.replace(
        detail,
        audit_events=detail.audit_events[:SESSION_HISTORY_LIMIT],
        reviews=detail.reviews[:SESSION_HISTORY_LIMIT],
    )
    can_assign = user_can_assign(request.user)
    reviewers = (
        list(selectors.user_reviewers().values_list("username", flat=True))
        if can_assign
        else []
    )
    raw_payload, raw_truncated = _pretty_json(detail.session.raw_payload)
    session = detail.session
    client = session.provider_client.client if session.provider_client else None
    next_session = _next_in_queue(request, session, back) if back else None
    back_query = f"?{urlencode({QUEUE_RETURN_PARAM: back})}" if back else ""
    return _render(
        request,
        "sessions_app/session_detail.html",
        {
            "detail": detail,
            "session": session,
            "client": client,
            "raw_payload": raw_payload,
            "raw_truncated": raw_truncated,
            "raw_max_chars": RAW_PAYLOAD_MAX_CHARS,
            "reasons": _as_list(session.reasons),
            "decision_form": decision_form or DecisionForm(),
            "assignment_form": assignment_form or AssignmentForm(reviewers=reviewers),
            "assigned_to_me": session.assignee_id == request.user.pk,
            "queue_url": back or reverse("session-list"),
            "queue_base_url": reverse("session-list"),
            "back": back,
            "back_param": QUEUE_RETURN_PARAM,
            "next_session_url": f"{next_session.get_absolute_url()}{back_query}"
            if next_session
            else "",
            "next_session": next_session,
            "audit_rows": audit_rows(
                detail.audit_events,
                current_url=session.get_absolute_url(),
                sessions={session.pk: session.external_id},
                clients={client.pk: str(client)} if client else {},
            ),
            "audit_truncated": audit_truncated,
            "reviews_truncated": reviews_truncated,
            "history_limit": SESSION_HISTORY_LIMIT,
        },
        status=status,
    )


@require_safe
@viewer_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one session, its history, and (for reviewers) the forms.

    `?back=/sessions/?…` (the queue it was opened from) drives the breadcrumb,
    the "next in queue" link and where the forms return to.
    """
    return _session_page(
        request, pk, back=_queue_return_url(request.GET.get(QUEUE_RETURN_PARAM))
    )


@require_POST
def session_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a decision (reviewers only), then redirect (PRG).

    Back to the filtered queue the session was opened from, where the officer
    picks the next one; to the session's review history otherwise.
    """
    if not (user_can_view(request.user) and user_can_decide(request.user)):
        raise PermissionDenied("Only reviewers may record decisions.")
    session = get_object_or_404(WorkflowSession, pk=pk)
    back = _queue_return_url(request.POST.get(QUEUE_RETURN_PARAM))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _session_page(request, pk, back=back, decision_form=form, status=400)
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
        return _session_page(request, pk, back=back, decision_form=form, status=400)
    messages.success(
        request,
        f"Decision recorded on session {session.external_id}: "
        f"{review.get_decision_display()} ({review.get_reason_code_display()}).",
    )
    if back:
        return redirect(back)
    return redirect(f"{session.get_absolute_url()}#reviews")


@require_POST
def session_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign to me / to a reviewer, or release (reviewers only); PRG.

    Returns to the session page (assigning starts the work, it does not end
    it), keeping the queue it was opened from for its breadcrumb and forms.
    """
    if not (user_can_view(request.user) and user_can_assign(request.user)):
        raise PermissionDenied("Only reviewers may assign sessions.")
    session = get_object_or_404(WorkflowSession, pk=pk)
    back = _queue_return_url(request.POST.get(QUEUE_RETURN_PARAM))
    reviewers = list(selectors.user_reviewers().values_list("username", flat=True))
    form = AssignmentForm(request.POST, reviewers=reviewers)
    if not form.is_valid():
        return _session_page(request, pk, back=back, assignment_form=form, status=400)
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
        return _session_page(request, pk, back=back, assignment_form=form, status=400)
    if assignee is None:
        messages.success(request, "Session released: it is unassigned now.")
    elif assignee.pk == request.user.pk:
        messages.success(request, "Session assigned to you.")
    else:
        messages.success(request, f"Session assigned to {assignee.get_username()}.")
    query = f"?{urlencode({QUEUE_RETURN_PARAM: back})}" if back else ""
    return redirect(f"{session.get_absolute_url()}{query}")


# --- Client page -----------------------------------------------------------------


@require_safe
@viewer_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A client's identities, sessions and checks across providers, and history."""
    try:
        detail = selectors.client_detail_get(pk=pk, limit=CLIENT_PAGE_LIMIT)
    except Client.DoesNotExist as exc:
        raise Http404("No such client.") from exc
    client = detail.client
    return _render(
        request,
        "sessions_app/client_detail.html",
        {
            "detail": detail,
            "client": client,
            "audit_rows": audit_rows(
                detail.audit_events,
                current_url=client.get_absolute_url(),
                sessions={s.pk: s.external_id for s in detail.sessions},
                clients={client.pk: str(client)},
            ),
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
