"""Rendering without queries: templates get evaluated data, never lazy relations.

Every view hands its template evaluated data (lists, dataclasses, model
instances whose relations were joined or prefetched). `render_page` enforces
that when VERITY_TEMPLATE_QUERY_GUARD is on (it defaults to DEBUG; the view
tests turn it on): a query while rendering raises TemplateQueryError.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from ..context_processors import roles as roles_context


class TemplateQueryError(RuntimeError):
    """A template tried to query the database (a lazy relation slipped through)."""


def _block_queries(
    execute: Callable, sql: str, params: Any, many: bool, context: Any
) -> Any:
    raise TemplateQueryError(f"Query while rendering a template: {sql[:300]}")


def _template_guard_enabled() -> bool:
    return bool(getattr(settings, "VERITY_TEMPLATE_QUERY_GUARD", settings.DEBUG))


def render_page(
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
