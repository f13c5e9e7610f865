"""The same CSV cells, formatted by PostgreSQL: the exports' COPY path.

On PostgreSQL (and with VERITY_EXPORT_POSTGRES_COPY on) the database writes
the CSV records itself, from the export's own query, with each cell's format
of `cells.py` as SQL; elsewhere `stream.py` formats the rows in Python. Both
give the same bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import Tag, WorkflowSession
from ..selectors import TAG_ORDERING
from .cells import (
    FORMULA_TRIGGERS,
    Column,
    csv_datetime,
    csv_list,
    csv_number,
    csv_safe_cell,
    session_url_parts,
)


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
    # A JSON list of words joined by "; " (the session's reasons), guarded.
    csv_list: (
        "(SELECT CASE WHEN left(v, 1) IN (" + _SQL_TRIGGERS + ") "  # noqa: S608
        "THEN '''' || v ELSE v END FROM (SELECT CASE WHEN jsonb_typeof({c}) = "
        "'array' THEN array_to_string(ARRAY(SELECT jsonb_array_elements_text({c})), "
        "'; ') ELSE '' END AS v) AS j)"
    ),
    csv_datetime: (
        "coalesce(to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
    ),
}


def copy_supported(queryset: QuerySet) -> bool:
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


def copy_records(
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


def url_cell(request: HttpRequest, id_column: str) -> ExtraCell:
    """The Verity URL cell, the same text as `cells.session_url_maker` gives."""
    head, tail = session_url_parts(request)
    # The URL starts with `head`, so neutralising `head` neutralises the URL.
    return ExtraCell(
        cell=f"(%s || r.{id_column}::text || %s)", params=(csv_safe_cell(head), tail)
    )


def tag_names_cell(id_column: str) -> ExtraCell:
    """The session's tag names in page order (kind, name), joined like `stream._session_rows`."""
    through = WorkflowSession.tags.through
    session_column = through._meta.get_field("workflowsession").column
    tag_column = through._meta.get_field("tag").column
    order = ", ".join(
        f"t.{Tag._meta.get_field(field).column}" for field in TAG_ORDERING
    )
    names = (
        f"(SELECT string_agg(t.name, '; ' ORDER BY {order}) "  # noqa: S608
        f"FROM {through._meta.db_table} wt JOIN {Tag._meta.db_table} t "
        f"ON t.id = wt.{tag_column} WHERE wt.{session_column} = q.{id_column})"
    )
    return ExtraCell(derived=names, cell=_SQL_CELL[csv_safe_cell].format(c="{derived}"))
