"""Changelist pages that stay fast at a million rows.

Django's changelist counts the rows and asks for page N with OFFSET: at a
million sessions a deep page took six seconds (the database reads and drops
every row before it). Here, in the admin's default order, pages are keyset
pages like the desk's (sessions_app/pagination.py): "Next" carries a cursor,
the boundary row's (sort value, id), and every page is one index range, as
fast at the millionth row as at the first. The count beside them is the
estimate of `EstimatedCountPaginator` (the planner's statistics unfiltered, a
capped count filtered), so nothing reads the whole table.

What "a deep page" means now: a page reached by following "Next" (or a
bookmarked cursor). There are no page numbers in the default order; `?p=` is
ignored there. Sorted by a column (`?o=`), which has no index to walk, the
admin keeps Django's numbered OFFSET pages but offers only the first
`max_offset_pages`: beyond them, filter or search.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, ChangeList
from django.http import HttpRequest
from django.utils.functional import cached_property

from ..pagination import EstimatedCountPaginator, InvalidCursor, KeysetPaginator

CURSOR_VAR = "cursor"
# Sorted by a column: 100 pages of 50 rows, an OFFSET of at most 4,950.
MAX_OFFSET_PAGES = 100


class BoundedPaginator(EstimatedCountPaginator):
    """Numbered pages, no more of them than `max_pages`."""

    max_pages = MAX_OFFSET_PAGES

    @cached_property
    def num_pages(self) -> int:
        return min(super().num_pages, self.max_pages)

    @property
    def capped(self) -> bool:
        return self.num_pages == self.max_pages and self.count > (
            self.max_pages * self.per_page
        )


class KeysetChangeList(ChangeList):
    """Keyset pages in the admin's default order, bounded OFFSET pages otherwise."""

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.cursor = request.GET.get(CURSOR_VAR, "").strip()
        self.keyset_page = None
        super().__init__(request, *args, **kwargs)

    def get_filters_params(self, params: Any = None) -> dict[str, Any]:
        # The cursor is where the page starts, not a filter on a field.
        lookup = super().get_filters_params(params)
        lookup.pop(CURSOR_VAR, None)
        return lookup

    def get_query_string(
        self, new_params: dict[str, Any] | None = None, remove: Any = None
    ) -> str:
        # Every link the changelist builds (a filter, a sort, a search) starts
        # again from the first page; the page links below add their cursor.
        return super().get_query_string(new_params, [*(remove or []), CURSOR_VAR])

    @property
    def keyset_on(self) -> bool:
        return (
            getattr(self.model_admin, "keyset_sort", None) is not None
            and ORDER_VAR not in self.params
            and not self.show_all
        )

    def get_results(self, request: HttpRequest) -> None:
        if not self.keyset_on:
            self._offset_results(request)
            return
        field, descending = self.model_admin.keyset_sort
        keyset = KeysetPaginator(
            self.queryset,
            sort_field=field,
            descending=descending,
            page_size=self.list_per_page,
            max_page_size=self.list_per_page,
        )
        try:
            page = keyset.page(self.cursor or None)
        except InvalidCursor as exc:
            raise IncorrectLookupParameters(str(exc)) from exc
        paginator = self.model_admin.get_paginator(
            request, self.queryset, self.list_per_page
        )
        self.keyset_page = page
        self.result_list = page.items
        self.result_count = paginator.count  # an estimate on PostgreSQL
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.can_show_all = False
        self.multi_page = page.has_next or page.has_previous
        self.paginator = paginator
        self.page_num = 1

    def _offset_results(self, request: HttpRequest) -> None:
        paginator = self.model_admin.get_paginator(
            request, self.queryset, self.list_per_page
        )
        last = max(getattr(paginator, "num_pages", 1), 1)
        if self.page_num > last:
            messages.warning(
                request,
                f"Only the first {last} pages are offered in this order; "
                "narrow the list with filters or search, or sort by the "
                "default order to page through every row.",
            )
            self.page_num = last
        super().get_results(request)

    def keyset_url(self, cursor: str | None) -> str:
        if cursor is None:
            return ""
        return self.get_query_string({CURSOR_VAR: cursor}, remove=[PAGE_VAR])

    @property
    def next_url(self) -> str:
        page = self.keyset_page
        return self.keyset_url(page.next_cursor) if page else ""

    @property
    def previous_url(self) -> str:
        page = self.keyset_page
        return self.keyset_url(page.previous_cursor) if page else ""

    @property
    def first_url(self) -> str:
        page = self.keyset_page
        if page is None or page.is_first:
            return ""
        return self.get_query_string(remove=[PAGE_VAR])


class KeysetPagedAdminMixin:
    """For an admin over a big table: keyset pages in its default order.

    `keyset_sort` is (field, descending) of that order, which must be
    `ordering` = (±field, ±id) on a non-null field.
    """

    keyset_sort: tuple[str, bool]
    paginator = BoundedPaginator
    change_list_template = "admin/sessions_app/keyset_change_list.html"

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type:
        return KeysetChangeList
