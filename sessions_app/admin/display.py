"""Columns of the admin lists: ISO dates in UTC like the desk, and long values
cut to fit with the whole value in a tooltip, so a changelist fits 1440 px."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.utils.html import format_html

EMPTY = "—"


def iso_utc(value: dt.datetime | None) -> str:
    """`2026-12-06 06:13 UTC`, as on the desk; "—" for no value."""
    if value is None:
        return EMPTY
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def truncated(value: Any, limit: int) -> str:
    """The value cut to `limit` characters with "…"; the whole of it in `title`."""
    if value in (None, ""):
        return EMPTY
    text = str(value)
    if len(text) <= limit:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[: limit - 1])


def _attribute(obj: Model, path: str) -> Any:
    value: Any = obj
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def date_column(
    path: str, description: str, *, ordering: str | None = None
) -> Callable[[Any, Model], str]:
    """A list column showing the date-time at `path` in ISO UTC, sortable by it."""

    @admin.display(description=description, ordering=ordering or path)
    def column(model_admin: Any, obj: Model) -> str:
        return iso_utc(_attribute(obj, path))

    return column


def text_column(
    path: str, description: str, *, limit: int, ordering: str | None = None
) -> Callable[[Any, Model], str]:
    """A list column showing the value at `path` (or str(obj.<path>)), cut to
    `limit` characters with the full value as its tooltip."""

    @admin.display(description=description, ordering=ordering)
    def column(model_admin: Any, obj: Model) -> str:
        return truncated(_attribute(obj, path), limit)

    return column
