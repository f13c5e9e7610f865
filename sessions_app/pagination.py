"""Pagination that stays fast on a million rows.

`EstimatedCountPaginator` is for the Django admin, whose changelist always asks
for a count: on PostgreSQL an unfiltered count comes from the planner's
statistics and a filtered one is cut off after a short statement timeout.
`KeysetPaginator` is for the staff pages: no OFFSET, no COUNT, opaque cursors.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
from typing import Any

from django.core.paginator import Paginator
from django.db import connections, models, transaction
from django.db.models import Q, QuerySet
from django.db.utils import OperationalError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import cached_property

# What a timed-out count reports: large enough to page through, clearly a cap.
COUNT_CAP = 1_000_000
COUNT_TIMEOUT_MS = 200


def table_row_estimate(model: type, using: str = "default") -> int | None:
    """Return PostgreSQL's row estimate for a model's table, or None elsewhere."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row and row[0] is not None and row[0] >= 0 else None


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        using = getattr(queryset, "db", "default")
        connection = connections[using]
        if connection.vendor != "postgresql":
            return super().count
        query = getattr(queryset, "query", None)
        if query is not None and not query.where:
            estimate = table_row_estimate(queryset.model, using)
            if estimate is not None and estimate > 10_000:
                return estimate
        try:
            with transaction.atomic(using=using), connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = %s", [COUNT_TIMEOUT_MS])
                return queryset.count()
        except OperationalError:
            return COUNT_CAP


# --- Keyset pagination for the staff pages ------------------------------------------
#
# OFFSET pages get slower the deeper they go and need a COUNT(*) to show page
# numbers; both cost seconds on a million rows. A keyset page is an index range:
#   WHERE (sort_key, tie, id) < (last_sort, last_tie, last_id)
#   ORDER BY sort_key DESC, tie DESC, id DESC LIMIT n + 1
# An optional tie field (the sessions': their creation date) orders rows that
# share a sort value as a person expects; the id, last, makes every key
# unique, so rows are neither repeated nor skipped at a page boundary. The
# extra row only tells whether a next page exists.


class InvalidCursor(ValueError):
    """A cursor that was tampered with, truncated, or made for another sort."""


@dataclasses.dataclass(frozen=True)
class KeysetPage:
    """One page of rows plus opaque cursors for its neighbours (None: no such page)."""

    items: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    page_size: int
    is_first: bool

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# Cursors come from clients: a forged one must be rejected here (a 400), never
# reach the database as a value it cannot compare (a 500: a bad date, a NUL
# byte, an id beyond BIGINT, a date-time that leaves the calendar when
# converted to UTC), nor crash the decoder (JSON nested deeper than Python's
# recursion limit).
MAX_ID = 2**63 - 1
# Far above any cursor this module makes (a 255-character sort value escaped
# to JSON is about 4,100 characters): a longer one is refused before decoding.
MAX_CURSOR_LENGTH = 8_192


def _sort_field(model: type, path: str) -> models.Field:
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


def _fits(field: models.Field, value: Any) -> bool:
    if isinstance(field, models.DateTimeField):
        return isinstance(value, dt.datetime)
    if isinstance(field, models.CharField):
        return isinstance(value, str) and "\x00" not in value
    return isinstance(value, int) and not isinstance(value, bool)


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            moment = parse_datetime(str(value["dt"]))
            if moment is None:
                raise InvalidCursor("bad date-time in cursor")
            return _in_utc(moment)
        if "d" in value:
            day = parse_date(str(value["d"]))
            if day is None:
                raise InvalidCursor("bad date in cursor")
            return day
        raise InvalidCursor("unknown value type in cursor")
    return value


def _in_utc(moment: dt.datetime) -> dt.datetime:
    """Return an aware cursor date-time in UTC, as the database compares it.

    Cursors made here always carry an offset (the database hands back aware
    values); a naive one is forged. Converting first means an offset that
    pushes 9999-12-31 or 0001-01-01 past the calendar is refused here
    instead of overflowing in the database adapter.
    """
    if moment.utcoffset() is None:
        raise InvalidCursor("cursor date-time has no time zone")
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError as exc:
        raise InvalidCursor("cursor date-time is out of range") from exc


class KeysetPaginator:
    """Page through `queryset` ordered by (`sort_field`, `tie_field`, id)
    without OFFSET or COUNT.

    `sort_field` may follow relations (`connection__slug`). NULLs do not
    compare, so a nullable sort field (a due time) lists only the rows that
    have a value; `tie_field` (optional, same direction) must be non-null.
    Cursors are URL-safe base64 JSON carrying the boundary row's keys,
    the direction, and the sort they were made for; a cursor made for another
    sort is rejected with InvalidCursor rather than silently misplacing the page.
    Each page costs one query (two when "Previous" reaches the first page, which
    is then rebuilt forwards so that it is always full).
    """

    def __init__(
        self,
        queryset: QuerySet,
        *,
        sort_field: str,
        descending: bool = True,
        page_size: int = 25,
        max_page_size: int = 100,
        tie_field: str | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        if _sort_field(queryset.model, sort_field).null:
            queryset = queryset.filter(**{f"{sort_field}__isnull": False})
        self.queryset = queryset
        self.sort_field = sort_field
        self.tie_field = tie_field if tie_field != sort_field else None
        self.descending = descending
        self.page_size = min(page_size, max_page_size)
        self._sort_tag = f"{'-' if descending else ''}{sort_field}"
        if self.tie_field:
            self._sort_tag += f",{self.tie_field}"

    # Cursor format -------------------------------------------------------------

    def encode_cursor(
        self, *, value: Any, pk: Any, backwards: bool, tie: Any = None
    ) -> str:
        payload = {
            "s": self._sort_tag,
            "v": _encode_value(value),
            "i": pk,
            "b": backwards,
        }
        if self.tie_field:
            payload["t"] = _encode_value(tie)
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode_cursor(self, cursor: str) -> tuple[Any, Any, Any, bool]:
        """Return (sort value, tie value, id, backwards) of a cursor (the tie
        None without a tie field), or raise InvalidCursor."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("cursor is too long")
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (ValueError, TypeError, binascii.Error) as exc:
            raise InvalidCursor("cursor is not valid") from exc
        except RecursionError as exc:  # "[[[[…" a thousand levels deep
            raise InvalidCursor("cursor is nested too deeply") from exc
        if not isinstance(payload, dict) or not {"s", "v", "i", "b"} <= payload.keys():
            raise InvalidCursor("cursor is incomplete")
        if payload["s"] != self._sort_tag:
            raise InvalidCursor("cursor belongs to another sort order")
        pk = payload["i"]
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise InvalidCursor("cursor id is not an integer")
        if not 0 <= pk <= MAX_ID:
            raise InvalidCursor("cursor id is out of range")
        if self.tie_field and "t" not in payload:
            raise InvalidCursor("cursor is incomplete")
        model = self.queryset.model
        try:
            value = _decode_value(payload["v"])
            tie = _decode_value(payload["t"]) if self.tie_field else None
        except InvalidCursor:
            raise
        except (ValueError, TypeError) as exc:  # e.g. a date-time with month 13
            raise InvalidCursor("cursor is not valid") from exc
        if not _fits(_sort_field(model, self.sort_field), value) or (
            self.tie_field and not _fits(_sort_field(model, self.tie_field), tie)
        ):
            raise InvalidCursor("cursor does not fit this list")
        return value, tie, pk, bool(payload["b"])

    # Queries ---------------------------------------------------------------

    @property
    def _fields(self) -> tuple[str, ...]:
        return (self.sort_field, *([self.tie_field] if self.tie_field else []), "pk")

    def _ordered(self, *, reverse: bool) -> QuerySet:
        descending = self.descending != reverse
        sign = "-" if descending else ""
        return self.queryset.order_by(*(f"{sign}{field}" for field in self._fields))

    def _beyond(
        self, qs: QuerySet, *, value: Any, tie: Any, pk: Any, reverse: bool
    ) -> QuerySet:
        """Keep rows strictly after (value, tie, pk) in the walking direction.

        Written as `sort <= v AND (sort < v OR (tie <= t AND (tie < t OR id <
        pk)))` rather than a bare OR, so each leading condition is an index
        range the planner can use.
        """
        descending = self.descending != reverse
        near, strict = ("lte", "lt") if descending else ("gte", "gt")
        keys = list(
            zip(
                self._fields,
                (value, tie, pk) if self.tie_field else (value, pk),
                strict=True,
            )
        )
        field, boundary = keys[-1]
        condition = Q(**{f"{field}__{strict}": boundary})
        for field, boundary in reversed(keys[:-1]):
            condition = Q(**{f"{field}__{near}": boundary}) & (
                Q(**{f"{field}__{strict}": boundary}) | condition
            )
        return qs.filter(condition)

    def _boundary(self, row: Any) -> tuple[Any, Any, Any]:
        keys = []
        for field in (self.sort_field, self.tie_field):
            if field is None:
                keys.append(None)
                continue
            value: Any = row
            for part in field.split("__"):
                value = getattr(value, part)
            if value is None:
                raise ValueError(f"{field} is NULL; keyset sort keys must be non-null")
            keys.append(value)
        return keys[0], keys[1], row.pk

    def page(self, cursor: str | None = None) -> KeysetPage:
        """Return the page a cursor points at (the first page when `cursor` is None)."""
        n = self.page_size
        if not cursor:
            rows = list(self._ordered(reverse=False)[: n + 1])
            items = rows[:n]
            return KeysetPage(
                items=items,
                next_cursor=self._cursor_after(items) if len(rows) > n else None,
                previous_cursor=None,
                page_size=n,
                is_first=True,
            )
        value, tie, pk, backwards = self.decode_cursor(cursor)
        if not backwards:
            qs = self._beyond(
                self._ordered(reverse=False), value=value, tie=tie, pk=pk, reverse=False
            )
            rows = list(qs[: n + 1])
            items = rows[:n]
            return KeysetPage(
                items=items,
                next_cursor=self._cursor_after(items) if len(rows) > n else None,
                previous_cursor=self._cursor_before(items) if items else None,
                page_size=n,
                is_first=False,
            )
        qs = self._beyond(
            self._ordered(reverse=True), value=value, tie=tie, pk=pk, reverse=True
        )
        rows = list(qs[: n + 1])
        if len(rows) <= n:
            # Nothing before this page: show a full first page, not a short one.
            return self.page(None)
        items = list(reversed(rows[:n]))
        return KeysetPage(
            items=items,
            next_cursor=self._cursor_after(items),
            previous_cursor=self._cursor_before(items),
            page_size=n,
            is_first=False,
        )

    def _cursor_after(self, items: list[Any]) -> str | None:
        if not items:
            return None
        value, tie, pk = self._boundary(items[-1])
        return self.encode_cursor(value=value, tie=tie, pk=pk, backwards=False)

    def _cursor_before(self, items: list[Any]) -> str | None:
        if not items:
            return None
        value, tie, pk = self._boundary(items[0])
        return self.encode_cursor(value=value, tie=tie, pk=pk, backwards=True)
