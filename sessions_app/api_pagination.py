"""The API's keyset pagination (split from `apis.py`): opaque cursors over
each list's keyset sort, no COUNT, no OFFSET."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .pagination import InvalidCursor, KeysetPaginator


def schema_parameter_allow_blank(
    parameter: dict[str, Any], sentence: str
) -> dict[str, Any]:
    """Mark a query parameter of the schema as accepting a blank value, saying
    what that means first in its description."""
    parameter["allowEmptyValue"] = True
    description = parameter.get("description")
    parameter["description"] = (
        f"{sentence}\n\n{description}" if description else sentence
    )
    return parameter


class KeysetCursorPagination(BasePagination):
    """Keyset pages over the view's `get_keyset_sort()` (ties by its `keyset_tie_field`, if any, then id).

    The sort is a field name, prefixed with "-" for descending. An unknown,
    tampered or foreign cursor, or a page size that is not a positive whole
    number, is a 400 with the parameter's error.
    """

    page_size = 50
    max_page_size = 500
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def _page_size(self, request: Request) -> int:
        raw = (request.query_params.get(self.page_size_query_param) or "").strip()
        if not raw:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {self.page_size_query_param: ["A positive whole number is required."]}
            )
        return min(size, self.max_page_size)

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any]:
        sort: str = view.get_keyset_sort()
        paginator = KeysetPaginator(
            queryset,
            sort_field=sort.removeprefix("-"),
            descending=sort.startswith("-"),
            page_size=self._page_size(request),
            max_page_size=self.max_page_size,
            tie_field=getattr(view, "keyset_tie_field", None),
        )
        cursor = (
            request.query_params.get(self.cursor_query_param) or ""
        ).strip() or None
        try:
            self.page = paginator.page(cursor)
        except InvalidCursor as exc:
            raise ValidationError(
                {self.cursor_query_param: [f"Invalid cursor: {exc}."]}
            ) from exc
        self.request = request
        return self.page.items

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(
            self.request.build_absolute_uri(), self.cursor_query_param, cursor
        )

    def get_paginated_response(self, data: Any) -> Response:
        previous = self._link(self.page.previous_cursor)
        if previous is None and not self.page.is_first:
            # Back from the second page lands on the first: no cursor at all.
            previous = remove_query_param(
                self.request.build_absolute_uri(), self.cursor_query_param
            )
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": previous,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            schema_parameter_allow_blank(
                {
                    "name": self.cursor_query_param,
                    "required": False,
                    "in": "query",
                    "description": "Opaque cursor from a previous response's "
                    "next/previous link.",
                    "schema": {"type": "string"},
                },
                "Blank means the first page.",
            ),
            schema_parameter_allow_blank(
                {
                    "name": self.page_size_query_param,
                    "required": False,
                    "in": "query",
                    "description": f"Rows per page (default {self.page_size}, "
                    f"at most {self.max_page_size}; larger values are capped).",
                    "schema": {"type": "integer", "minimum": 1},
                },
                "Blank means the default.",
            ),
        ]
