"""Streaming the CSV exports, and their audit event.

The rows come from `values_list().iterator(chunk_size=CHUNK_SIZE)` (or from
PostgreSQL's COPY, `postgres.py`), are formatted by `csv.writer` into an
"Echo" pseudo-buffer (Django's documented pattern) and leave in batches of
WRITE_BATCH, so memory holds one chunk whatever the row count. Tags are read
once per chunk, not per row.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from .. import selectors
from ..models import AuditEvent, Check, WorkflowSession
from ..roles import user_can_export_personal
from ..services import audit_event_record
from .cells import (
    CHECK_COLUMNS,
    CHECK_EXTRA_HEADERS,
    SESSION_COLUMNS,
    SESSION_EXTRA_HEADERS,
    Column,
    columns_for,
    csv_initials,
    csv_safe_cell,
    session_url_maker,
)
from .postgres import copy_records, copy_supported, tag_names_cell, url_cell

# Rows fetched from the database per round trip (Django's iterator default).
CHUNK_SIZE = 2000
# Rows formatted into one piece of the HTTP body ("to reduce HTTP overhead").
WRITE_BATCH = 200
BOM = "\ufeff"
# How much of the filter summary goes into the file name.
FILENAME_SUMMARY_CHARS = 60


class _Echo:
    """A file-like object whose write() returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _has_masked(columns: tuple[Column, ...]) -> bool:
    return any(column.format is csv_initials for column in columns)


def _session_records(
    queryset: QuerySet[WorkflowSession],
    request: HttpRequest,
    sort: str,
    columns: tuple[Column, ...],
) -> Iterator[bytes] | Iterator[list[str]]:
    """The sessions export's records: COPY's on PostgreSQL, else cells to format."""
    fields = [c.field for c in columns]
    rows = selectors.session_export_queryset(queryset=queryset, sort=sort).values_list(
        *fields
    )
    # Masked names have no SQL twin yet: such an export is written in Python.
    if copy_supported(rows) and not _has_masked(columns):
        id_column = f"c{fields.index('id')}"
        return copy_records(
            queryset=rows,
            columns=columns,
            extras=[tag_names_cell(id_column), url_cell(request, id_column)],
        )
    return _session_rows(rows, request, columns)


def _session_rows(
    rows: QuerySet, request: HttpRequest, columns: tuple[Column, ...]
) -> Iterator[list[str]]:
    fields = [c.field for c in columns]
    formats = [c.format for c in columns]
    id_index = fields.index("id")
    url_for = session_url_maker(request)
    for chunk in itertools.batched(rows.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE):
        tags = selectors.session_tag_names(session_ids=[row[id_index] for row in chunk])
        for row in chunk:
            pk = row[id_index]
            cells = [fmt(value) for fmt, value in zip(formats, row, strict=True)]
            cells.append(csv_safe_cell("; ".join(tags.get(pk, ()))))
            cells.append(csv_safe_cell(url_for(pk)))
            yield cells


def _check_records(
    queryset: QuerySet[Check], request: HttpRequest, columns: tuple[Column, ...]
) -> Iterator[bytes] | Iterator[list[str]]:
    """The checks export's records: COPY's on PostgreSQL, else cells to format."""
    fields = [c.field for c in columns]
    rows = selectors.check_export_queryset(queryset=queryset).values_list(*fields)
    if copy_supported(rows) and not _has_masked(columns):
        session_column = f"c{fields.index('session_id')}"
        return copy_records(
            queryset=rows,
            columns=columns,
            extras=[url_cell(request, session_column)],
        )
    return _check_rows(rows, request, columns)


def _check_rows(
    rows: QuerySet, request: HttpRequest, columns: tuple[Column, ...]
) -> Iterator[list[str]]:
    fields = [c.field for c in columns]
    formats = [c.format for c in columns]
    session_index = fields.index("session_id")
    url_for = session_url_maker(request)
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        cells = [fmt(value) for fmt, value in zip(formats, row, strict=True)]
        cells.append(csv_safe_cell(url_for(row[session_index])))
        yield cells


def _export_finish(
    *,
    request: HttpRequest,
    source: str,
    start: AuditEvent,
    kind: str,
    rows: int,
    completed: bool,
) -> None:
    """Record the end of an export as a second event (`export.<kind>_csv.finished`)
    naming the first: audit events are never updated (the chain would break)."""
    # Its own transaction: the stream runs after the view returned, outside any
    # request transaction, and this write must stand even if the client left.
    with transaction.atomic():
        audit_event_record(
            actor=request.user,
            source=source,
            action=f"export.{kind}_csv.finished",
            object_type=start.object_type,
            object_id=str(start.pk),
            object_repr=start.object_repr,
            after={
                "export_event_id": start.pk,
                "filename": start.after.get("filename", ""),
                "row_count": rows,
                "completed": completed,
            },
        )


def csv_stream(
    *,
    header: Sequence[str],
    rows: Iterable[Sequence[str]] | Iterable[bytes],
    on_finish: Callable[[int, bool], None],
) -> Iterator[str | bytes]:
    """Yield a BOM, the header and the rows as CSV, in batches.

    A row is a sequence of cells, written by `csv.writer`, or a record that
    PostgreSQL already wrote (bytes, see `postgres.copy_records`), passed through.
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
    personal: bool = False,
) -> StreamingHttpResponse:
    summary_filters = {k: str(v) for k, v in filters.items() if isinstance(v, str)}
    filename = export_filename(kind=kind, filters=summary_filters)
    after: dict[str, Any] = {
        "filters": dict(filters),
        "filename": filename,
        "personal_data": "full" if personal else "masked",
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
        _export_finish(
            request=request,
            source=source,
            start=event,
            kind=kind,
            rows=count,
            completed=completed,
        )

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
    personal = user_can_export_personal(request.user)
    columns = columns_for(SESSION_COLUMNS, personal=personal)
    return _csv_response(
        request=request,
        kind="sessions",
        header=header,
        rows=_session_records(queryset, request, sort, columns),
        personal=personal,
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
    personal = user_can_export_personal(request.user)
    columns = columns_for(CHECK_COLUMNS, personal=personal)
    return _csv_response(
        request=request,
        kind="checks",
        header=header,
        rows=_check_records(queryset, request, columns),
        personal=personal,
        model=Check,
        filters=filters,
        source=source,
    )
