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

import contextlib
import csv
import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
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
from .links import detail_url_builder, detail_url_parts
from .models import AuditEvent, Check, Tag, WorkflowSession
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


# --- The same cells, formatted by PostgreSQL -------------------------------------------


def _sql_text_literal(char: str) -> str:
    return f"'{char}'" if char.isprintable() else f"chr({ord(char)})"


# PostgreSQL text never holds NUL, so that trigger has no SQL twin.
_SQL_TRIGGERS = ", ".join(_sql_text_literal(c) for c in FORMULA_TRIGGERS if c != "\0")
# Each Python cell format and its SQL twin over a column `{c}`. Dates: UTC, the
# seconds truncated like isoformat(timespec="seconds"). Everything is coalesced
# to text, so every cell, an empty one too, is quoted as csv.QUOTE_ALL does.
_SQL_CELL: dict[Callable[[Any], str], str] = {
    csv_safe_cell: (
        f"CASE WHEN left({{c}}::text, 1) IN ({_SQL_TRIGGERS}) "
        "THEN '''' || {c}::text ELSE coalesce({c}::text, '') END"
    ),
    csv_number: "coalesce({c}::text, '')",
    csv_datetime: (
        "coalesce(to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
    ),
}


def _copy_supported(queryset: QuerySet) -> bool:
    """Whether `queryset`'s database can write the export itself (PostgreSQL)."""
    return (
        settings.VERITY_EXPORT_POSTGRES_COPY
        and connections[queryset.db].vendor == "postgresql"
    )


@dataclasses.dataclass(frozen=True)
class ExtraCell:
    """A cell computed from the row's columns (`r.c0`, `r.c1`, ...) in SQL.

    `derived` is an SQL expression over the inner query's columns (`q.c0`,
    ...), evaluated once per row (a tag list); `cell` is the cell's SQL, in
    which `{derived}` names that value; `params` fill the cell's `%s`.
    """

    cell: str
    params: tuple[Any, ...] = ()
    derived: str | None = None


def _copy_records(
    *,
    queryset: QuerySet,
    columns: Sequence[Column],
    extras: Sequence[ExtraCell],
) -> Iterator[bytes]:
    """Yield the CSV records of `queryset` as PostgreSQL's COPY writes them.

    `queryset` is in `values_list(*fields of columns)` shape. Its SQL, exactly
    as Django builds it (filters, order, check counts), is the inner query;
    its columns are renamed by position and each is wrapped in its format's
    SQL. Only Django's SQL, names from `_meta` and fixed text reach the
    statement; every value is a parameter, merged client-side by psycopg (the
    only way COPY takes them). COPY sends one row per message, so rows are
    counted exactly; a client that leaves early cancels the query (psycopg)
    and rolls back only this export's savepoint.
    """
    try:
        inner_sql, inner_params = queryset.query.sql_with_params()
    except EmptyResultSet:  # a filter Django knows matches nothing (`id__in=[]`)
        return
    names = [f"c{i}" for i in range(len(columns))]
    derived = [
        f"{extra.derived} AS derived{i}"
        for i, extra in enumerate(extras)
        if extra.derived is not None
    ]
    cells = [
        _SQL_CELL[column.format].format(c=f"r.{name}")
        for column, name in zip(columns, names, strict=True)
    ] + [extra.cell.format(derived=f"r.derived{i}") for i, extra in enumerate(extras)]
    # The inner query keeps the export's ORDER BY (and, having one, is never
    # merged into the outer ones). OFFSET 0 keeps the derived values in their
    # own subquery, so a tag list is read once per row, not once for every
    # place the cell's SQL names it. Nothing above reorders rows: no join, no
    # grouping, scalar expressions only.
    statement = (
        f"COPY (SELECT {', '.join(cells)} FROM ("  # noqa: S608
        f"SELECT q.*{''.join(', ' + d for d in derived)} "
        f"FROM ({inner_sql}) AS q({', '.join(names)}) OFFSET 0"
        ") AS r) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)"
    )
    params = [p for extra in extras for p in extra.params] + list(inner_params)
    with (
        transaction.atomic(using=queryset.db),
        connections[queryset.db].cursor() as cursor,
    ):
        # Shown in Django's query log (and query-count tests) like any query.
        log = getattr(cursor, "debug_sql", None)
        logged = log(statement, params) if log else contextlib.nullcontext()
        with logged, cursor.cursor.copy(statement, params) as copy:
            while row := copy.read():
                # One row per message, ending in "\n"; csv.writer ends rows with "\r\n".
                yield bytes(row)[:-1] + b"\r\n"


def _url_cell(request: HttpRequest, id_column: str) -> ExtraCell:
    """The Verity URL cell, the same text as `_session_url_maker` gives."""
    head, tail = _session_url_parts(request)
    # The URL starts with `head`, so neutralising `head` neutralises the URL.
    return ExtraCell(
        cell=f"(%s || r.{id_column}::text || %s)", params=(csv_safe_cell(head), tail)
    )


def _tag_names_cell(id_column: str) -> ExtraCell:
    """The session's tag names in page order (kind, name), joined like `_session_rows`."""
    through = WorkflowSession.tags.through
    session_column = through._meta.get_field("workflowsession").column
    tag_column = through._meta.get_field("tag").column
    order = ", ".join(
        f"t.{Tag._meta.get_field(field).column}" for field in selectors.TAG_ORDERING
    )
    names = (
        f"(SELECT string_agg(t.name, '; ' ORDER BY {order}) "  # noqa: S608
        f"FROM {through._meta.db_table} wt JOIN {Tag._meta.db_table} t "
        f"ON t.id = wt.{tag_column} WHERE wt.{session_column} = q.{id_column})"
    )
    return ExtraCell(derived=names, cell=_SQL_CELL[csv_safe_cell].format(c="{derived}"))


# --- Streaming --------------------------------------------------------------------------


def _session_url_parts(request: HttpRequest) -> tuple[str, str]:
    """The session page's absolute URL before and after the id (one reverse())."""
    return detail_url_parts("session-detail", absolute=request.build_absolute_uri)


def _session_url_maker(request: HttpRequest) -> Callable[[int], str]:
    return detail_url_builder("session-detail", absolute=request.build_absolute_uri)


def _session_records(
    queryset: QuerySet[WorkflowSession], request: HttpRequest, sort: str
) -> Iterator[bytes] | Iterator[list[str]]:
    """The sessions export's records: COPY's on PostgreSQL, else cells to format."""
    fields = [c.field for c in SESSION_COLUMNS]
    rows = selectors.session_export_queryset(queryset=queryset, sort=sort).values_list(
        *fields
    )
    if _copy_supported(rows):
        id_column = f"c{fields.index('id')}"
        return _copy_records(
            queryset=rows,
            columns=SESSION_COLUMNS,
            extras=[_tag_names_cell(id_column), _url_cell(request, id_column)],
        )
    return _session_rows(rows, request)


def _session_rows(rows: QuerySet, request: HttpRequest) -> Iterator[list[str]]:
    fields = [c.field for c in SESSION_COLUMNS]
    formats = [c.format for c in SESSION_COLUMNS]
    id_index = fields.index("id")
    url_for = _session_url_maker(request)
    for chunk in itertools.batched(rows.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE):
        tags = selectors.session_tag_names(session_ids=[row[id_index] for row in chunk])
        for row in chunk:
            pk = row[id_index]
            cells = [fmt(value) for fmt, value in zip(formats, row, strict=True)]
            cells.append(csv_safe_cell("; ".join(tags.get(pk, ()))))
            cells.append(csv_safe_cell(url_for(pk)))
            yield cells


def _check_records(
    queryset: QuerySet[Check], request: HttpRequest
) -> Iterator[bytes] | Iterator[list[str]]:
    """The checks export's records: COPY's on PostgreSQL, else cells to format."""
    fields = [c.field for c in CHECK_COLUMNS]
    rows = selectors.check_export_queryset(queryset=queryset).values_list(*fields)
    if _copy_supported(rows):
        session_column = f"c{fields.index('session_id')}"
        return _copy_records(
            queryset=rows,
            columns=CHECK_COLUMNS,
            extras=[_url_cell(request, session_column)],
        )
    return _check_rows(rows, request)


def _check_rows(rows: QuerySet, request: HttpRequest) -> Iterator[list[str]]:
    fields = [c.field for c in CHECK_COLUMNS]
    formats = [c.format for c in CHECK_COLUMNS]
    session_index = fields.index("session_id")
    url_for = _session_url_maker(request)
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
    rows: Iterable[Sequence[str]] | Iterable[bytes],
    on_finish: Callable[[int, bool], None],
) -> Iterator[str | bytes]:
    """Yield a BOM, the header and the rows as CSV, in batches.

    A row is a sequence of cells, written by `csv.writer`, or a record that
    PostgreSQL already wrote (bytes, see `_copy_records`), passed through.
    Call `on_finish(row_count, completed)` exactly once when the stream ends,
    also when the consumer stops early (the server closes the generator).
    """
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    count, completed = 0, False
    records = iter(rows)
    try:
        yield BOM + writer.writerow(header)
        for batch in itertools.batched(records, WRITE_BATCH):
            if isinstance(batch[0], bytes):
                text: str | bytes = b"".join(batch)
            else:
                text = "".join([writer.writerow(row) for row in batch])
            # Counted when handed over: a consumer that stops now has had it.
            count += len(batch)
            yield text
        completed = True
    finally:
        # End the query first (a COPY cut short is cancelled): its connection
        # is the one that records the finish.
        close = getattr(records, "close", None)
        if close is not None:
            close()
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
        rows=_session_records(queryset, request, sort),
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
        rows=_check_records(queryset, request),
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
