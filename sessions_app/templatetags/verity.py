"""Template filters of the staff pages. Pure functions of their input: no queries."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ..models import Decision, Outcome, ReasonCode, Status

register = template.Library()

_DECISIONS = dict(Decision.choices)
_REASONS = dict(ReasonCode.choices)
_STATUSES = dict(Status.choices)
_OUTCOMES = dict(Outcome.choices)


@register.filter
def pretty_json(value: Any) -> str:
    """Indented, key-sorted JSON for <pre> blocks (non-ASCII kept readable)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def decision_label(value: str) -> str:
    return _DECISIONS.get(value, value)


@register.filter
def reason_label(value: str) -> str:
    return _REASONS.get(value, value)


@register.filter
def status_label(value: str) -> str:
    return _STATUSES.get(value, value)


@register.filter
def outcome_label(value: str) -> str:
    return _OUTCOMES.get(value or "", value)


@register.filter
def outcome_class(value: str) -> str:
    """CSS modifier of an outcome badge ("none" when there is no outcome yet)."""
    return value if value in {"clear", "attention", "rejected"} else "none"


@register.filter
def duration(run: Any) -> str:
    """How long a sync run took ("1 min 05 s"), or "" while it runs."""
    started, finished = (
        getattr(run, "started_at", None),
        getattr(run, "finished_at", None),
    )
    if not started or not finished:
        return ""
    seconds = max(int((finished - started).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def interval(seconds: int | None) -> str:
    """A sync interval in the largest whole unit ("5 min", "2 h", "90 s")."""
    if not seconds:
        return ""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@register.filter
def age(value: dt.datetime | None) -> str:
    """A compact age ("3 d 4 h", "12 min") of a past moment."""
    if not value:
        return ""
    seconds = max(int((timezone.now() - value).total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _short(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


@register.filter
def reason_text(value: Any) -> str:
    """A provider reason: a plain string, or a compact rendering of an object."""
    return value if isinstance(value, str) else _short(value)


# --- Row helpers of the big tables -------------------------------------------------
# The review queue renders up to 100 rows of eleven cells. An `{% include %}` per
# badge and six `|date` filters per row cost more than the page's queries, so
# these tags build the same markup directly.


@register.simple_tag
def status_badge(value: str, raw: str) -> str:
    """The normalised status with the provider's word beside it (as _status.html)."""
    label = _STATUSES.get(value, value)
    if raw:
        return format_html(
            '<span class="status" title="Provider value: {}">{}<span class="raw">{}</span></span>',
            raw,
            label,
            raw,
        )
    return format_html(
        '<span class="status" title="Provider value: (none)">{}</span>', label
    )


@register.simple_tag
def outcome_badge(value: str, raw: str) -> str:
    """The normalised outcome as a coloured badge (as _outcome.html)."""
    css, label = outcome_class(value), outcome_label(value)
    if raw:
        return format_html(
            '<span class="badge badge-{}" title="Provider value: {}">{}</span>',
            css,
            raw,
            label,
        )
    return format_html('<span class="badge badge-{}">{}</span>', css, label)


@register.simple_tag
def timestamp(value: dt.datetime | None) -> str:
    """A `<time>`: the date, then the time of day in a muted line (UTC)."""
    if value is None:
        return mark_safe('<span class="muted">—</span>')
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}<span class="raw">{}</span></time>',
        local.isoformat(),
        local.strftime("%Y-%m-%d"),
        local.strftime("%H:%M"),
    )
