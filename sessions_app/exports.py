"""CSV exports for auditors: what the review queue shows, streamed.

Both exports read the same FilterSets and selectors as the pages and the API, so
a CSV holds exactly the rows of the queue for the same query string, in the
queue's order: the sessions export follows the queue's `sort` parameter
(`selectors.session_sort_ordering`), the checks export their session's place
in the default queue order. A parameter that is neither a filter nor `sort`
is refused with a 400 naming the accepted ones, never ignored.

Streaming: the rows come from `values_list().iterator(chunk_size=2000)`, are
formatted by `csv.writer` into an "Echo" pseudo-buffer (Django's documented
pattern) and leave in batches, so memory holds one chunk whatever the row
count. Tags are read once per chunk, not per row.

Encoding: UTF-8 with a byte order mark. Excel (the auditors' tool) reads a
BOM-less UTF-8 CSV as the local ANSI code page and garbles accented client
names; Python's `utf-8-sig`, pandas and LibreOffice all skip the BOM. Scripts
that want clean UTF-8 should use the REST API.

Formula injection (OWASP "CSV Injection"): every text cell that a provider or
a user wrote goes through `csv_safe_cell()`, and every cell is quoted
(`csv.QUOTE_ALL`). Numeric and date-time columns are written as-is, so a
count stays a number and an ISO date stays a date.

Audit: each export writes an AuditEvent (`export.sessions_csv` /
`export.checks_csv`) before the first byte, with who, from where and which
filters; when the stream ends the same event is completed with the row count
(`after.row_count`) and whether the download finished (`after.completed`), in
its own transaction. A download cut short still leaves the event, marked
incomplete.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from . import selectors
from .filters import (
    CheckFilterSet,
    SessionFilterSet,
    filterset_parameters,
    parameters_unknown,
    unknown_parameter_message,
)
from .models import AuditEvent, Check, WorkflowSession
from .roles import user_can_export
from .services import audit_event_record

# Rows fetched from the database per round trip (Django's iterator default).
CHUNK_SIZE = 2000
# Rows formatted into one piece of the HTTP body ("to reduce HTTP overhead").
WRITE_BATCH = 200
BOM = "\ufeff"
# OWASP: a cell starting with one of these may be run as a formula by a
# spreadsheet. Tab, CR and LF are on the list because Excel strips them and
# then reads what follows; NUL is ASVS 5.0 1.2.10's addition.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
# How much of the filter summary goes into the file name.
FILENAME_SUMMARY_CHARS = 60


def csv_safe_cell(value: Any) -> str:
    """Return `value` as text a spreadsheet will show, never evaluate.

    A cell starting with a formula trigger is prefixed with a single quote,
    which Excel and LibreOffice display as text and do not run; the rest of
    the text is kept exactly, so it stays readable. None is an empty cell.
    Use it on every text cell that comes from a provider or a user; the csv
    writer's QUOTE_ALL handles embedded quotes, separators and newlines.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_number(value: int | None) -> str:
    """Return a numeric cell unchanged (a negative number stays `-5`)."""
    return "" if value is None else str(value)


def csv_datetime(value: dt.datetime | None) -> str:
    """Return an ISO 8601 UTC date-time (`2026-01-31T09:30:00Z`), or empty."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Echo:
    """A file-like object whose write() returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


@dataclasses.dataclass(frozen=True)
class Column:
    """One CSV column: its header, the `values_list` field it reads, its format."""

    header: str
    field: str
    format: Callable[[Any], str] = csv_safe_cell


# --- What each export holds ------------------------------------------------------------

SESSION_COLUMNS: tuple[Column, ...] = (
    Column("Verity id", "id", csv_number),
    Column("Provider", "connection__slug"),
    Column("Provider kind", "connection__kind"),
    Column("External id", "external_id"),
    Column("Client", "provider_client__client__display_name"),
    Column("Client id", "provider_client__client_id", csv_number),
    Column("Provider client name", "provider_client__name"),
    Column("Workflow id", "workflow_id"),
    Column("Workflow name", "workflow_name"),
    Column("Workflow version", "workflow_version"),
    Column("Status", "status"),
    Column("Raw status", "raw_status"),
    Column("Outcome", "outcome"),
    Column("Raw outcome", "raw_outcome"),
    Column("Checks clear", "checks_clear", csv_number),
    Column("Checks attention", "checks_attention", csv_number),
    Column("Checks rejected", "checks_rejected", csv_number),
    Column("Checks without outcome", "checks_none", csv_number),
    Column("Created (UTC)", "provider_created_at", csv_datetime),
    Column("Updated (UTC)", "provider_updated_at", csv_datetime),
    Column("Started (UTC)", "started_at", csv_datetime),
    Column("Completed (UTC)", "completed_at", csv_datetime),
    Column("Last synced (UTC)", "last_synced_at", csv_datetime),
    Column("Assignee", "assignee__username"),
    Column("Last decision", "last_decision"),
    Column("Last decision at (UTC)", "last_decision_at", csv_datetime),
)
# Derived per row from the session id, after the database columns.
SESSION_EXTRA_HEADERS = ("Tags", "Verity URL")

CHECK_COLUMNS: tuple[Column, ...] = (
    Column("Verity check id", "id", csv_number),
    Column("Verity session id", "session_id", csv_number),
    Column("Provider", "connection__slug"),
    Column("Provider kind", "connection__kind"),
    Column("Session external id", "session__external_id"),
    Column("Session status", "session__status"),
    Column("Session outcome", "session__outcome"),
    Column("Client", "session__provider_client__client__display_name"),
    Column("Client id", "session__provider_client__client_id", csv_number),
    Column("Provider client name", "session__provider_client__name"),
    Column("Check external id", "external_id"),
    Column("Check type", "check_type"),
    Column("Status", "status"),
    Column("Raw status", "raw_status"),
    Column("Outcome", "outcome"),
    Column("Raw outcome", "raw_outcome"),
    Column("Task id", "task_id"),
    Column("Created (UTC)", "provider_created_at", csv_datetime),
    Column("Updated (UTC)", "provider_updated_at", csv_datetime),
    Column("Last synced (UTC)", "last_synced_at", csv_datetime),
)
CHECK_EXTRA_HEADERS = ("Verity session URL",)


# --- Streaming --------------------------------------------------------------------------


def _session_url_maker(request: HttpRequest) -> Callable[[int], str]:
    # One reverse() for the whole export; a million reverse() calls add up.
    placeholder = 987654321
    template = request.build_absolute_uri(reverse("session-detail", args=[placeholder]))
    head, tail = template.split(str(placeholder), 1)
    return lambda pk: f"{head}{pk}{tail}"


def _session_rows(
    queryset: QuerySet[WorkflowSession], request: HttpRequest, sort: str
) -> Iterator[list[str]]:
    fields = [c.field for c in SESSION_COLUMNS]
    formats = [c.format for c in SESSION_COLUMNS]
    id_index = fields.index("id")
    url_for = _session_url_maker(request)
    rows = selectors.session_export_queryset(queryset=queryset, sort=sort).values_list(
        *fields
    )
    for chunk in itertools.batched(rows.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE):
        tags = selectors.session_tag_names(session_ids=[row[id_index] for row in chunk])
        for row in chunk:
            pk = row[id_index]
            cells = [fmt(value) for fmt, value in zip(formats, row, strict=True)]
            cells.append(csv_safe_cell("; ".join(tags.get(pk, ()))))
            cells.append(csv_safe_cell(url_for(pk)))
            yield cells


def _check_rows(queryset: QuerySet[Check], request: HttpRequest) -> Iterator[list[str]]:
    fields = [c.field for c in CHECK_COLUMNS]
    formats = [c.format for c in CHECK_COLUMNS]
    session_index = fields.index("session_id")
    url_for = _session_url_maker(request)
    rows = selectors.check_export_queryset(queryset=queryset).values_list(*fields)
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        cells = [fmt(value) for fmt, value in zip(formats, row, strict=True)]
        cells.append(csv_safe_cell(url_for(row[session_index])))
        yield cells


def _export_finish(
    *, event_id: int, after: dict[str, Any], rows: int, completed: bool
) -> None:
    # Its own transaction: the stream runs after the view returned, outside any
    # request transaction, and this write must stand even if the client left.
    with transaction.atomic():
        AuditEvent.objects.filter(pk=event_id).update(
            after={
                **after,
                "row_count": rows,
                "completed": completed,
                "finished_at": timezone.now().isoformat(),
            }
        )


def csv_stream(
    *,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    on_finish: Callable[[int, bool], None],
) -> Iterator[str]:
    """Yield a BOM, the header and the rows as CSV text, in batches.

    Call `on_finish(row_count, completed)` exactly once when the stream ends,
    also when the consumer stops early (the server closes the generator).
    """
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    count, completed = 0, False
    try:
        yield BOM + writer.writerow(header)
        for batch in itertools.batched(rows, WRITE_BATCH):
            text = "".join([writer.writerow(row) for row in batch])
            # Counted when handed over: a consumer that stops now has had it.
            count += len(batch)
            yield text
        completed = True
    finally:
        on_finish(count, completed)


def export_filename(
    *, kind: str, filters: Mapping[str, str], today: dt.date | None = None
) -> str:
    """Return `verity-<kind>-YYYYMMDD-<filter summary>.csv`, safe as a file name.

    The summary keeps letters, digits, dots, underscores and dashes of the
    filter names and values (`status-completed_provider-onfido`), cut to a
    readable length; `all` when nothing is filtered.
    """
    today = today or timezone.now().astimezone(dt.UTC).date()
    parts = [f"{name}-{value}" for name, value in filters.items()]
    summary = re.sub(r"[^a-z0-9._-]+", "-", "_".join(parts).lower())
    summary = re.sub(r"-{2,}", "-", summary).strip("-._")[:FILENAME_SUMMARY_CHARS]
    summary = summary.strip("-._") or "all"
    return f"verity-{kind}-{today:%Y%m%d}-{summary}.csv"


def _csv_response(
    *,
    request: HttpRequest,
    kind: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    model: type,
    filters: Mapping[str, Any],
    source: str,
    sort: str | None = None,
) -> StreamingHttpResponse:
    summary_filters = {k: str(v) for k, v in filters.items() if isinstance(v, str)}
    filename = export_filename(kind=kind, filters=summary_filters)
    after: dict[str, Any] = {
        "filters": dict(filters),
        "filename": filename,
        "row_count": None,
        "completed": False,
    }
    if sort is not None:
        after["sort"] = sort
    with transaction.atomic():
        event = audit_event_record(
            actor=request.user,
            source=source,
            action=f"export.{kind}_csv",
            object_type=model._meta.label_lower,
            object_id="",
            object_repr=filename,
            after=after,
        )

    def on_finish(count: int, completed: bool) -> None:
        _export_finish(event_id=event.pk, after=after, rows=count, completed=completed)

    response = StreamingHttpResponse(
        csv_stream(header=header, rows=rows, on_finish=on_finish),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # Exports are personal and audited: never from a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response


def session_csv_response(
    *,
    request: HttpRequest,
    queryset: QuerySet[WorkflowSession],
    filters: Mapping[str, Any],
    source: str = "web",
    sort: str = selectors.SESSION_DEFAULT_SORT,
) -> StreamingHttpResponse:
    """Stream `queryset` as the sessions CSV, audited as `export.sessions_csv`.

    The caller has checked the permission and applied the filters; `filters`
    is what gets recorded (and summarised in the file name). The rows are in
    the queue's order for `sort` (a `selectors.SESSION_SORT_VALUES` value),
    which the audit event records too.
    """
    header = [c.header for c in SESSION_COLUMNS] + list(SESSION_EXTRA_HEADERS)
    return _csv_response(
        request=request,
        kind="sessions",
        header=header,
        rows=_session_rows(queryset, request, sort),
        model=WorkflowSession,
        filters=filters,
        source=source,
        sort=sort,
    )


def check_csv_response(
    *,
    request: HttpRequest,
    queryset: QuerySet[Check],
    filters: Mapping[str, Any],
    source: str = "web",
) -> StreamingHttpResponse:
    """Stream `queryset` as the checks CSV, audited as `export.checks_csv`."""
    header = [c.header for c in CHECK_COLUMNS] + list(CHECK_EXTRA_HEADERS)
    return _csv_response(
        request=request,
        kind="checks",
        header=header,
        rows=_check_rows(queryset, request),
        model=Check,
        filters=filters,
        source=source,
    )


# --- Views --------------------------------------------------------------------------

# The sessions export's one parameter besides the filters: the queue's order.
SORT_PARAM = "sort"


def _applied_filters(filterset: Any, params: Mapping[str, str]) -> dict[str, str]:
    """Return the filters the request set, raw as typed (known names only)."""
    return {name: params[name] for name in filterset.filters if params.get(name)}


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
    filterset = selectors.session_filterset(params=request.GET, request=request)
    errors = dict(filterset.errors) if not filterset.is_valid() else {}
    sort = request.GET.get(SORT_PARAM, "").strip() or selectors.SESSION_DEFAULT_SORT
    if sort not in selectors.SESSION_SORT_VALUES:
        errors[SORT_PARAM] = [
            f"Unknown sort {sort!r}; one of {', '.join(selectors.SESSION_SORT_VALUES)}."
        ]
    if errors:
        return _refused("Invalid filter value(s)", errors)
    return session_csv_response(
        request=request,
        queryset=filterset.qs,
        filters=_applied_filters(filterset, request.GET),
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
    filterset = selectors.check_filterset(params=request.GET, request=request)
    if not filterset.is_valid():
        return _refused("Invalid filter value(s)", filterset.errors)
    return check_csv_response(
        request=request,
        queryset=filterset.qs,
        filters=_applied_filters(filterset, request.GET),
    )
