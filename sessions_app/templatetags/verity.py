"""Template filters of the staff pages. Pure functions of their input: no queries."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import template
from django.utils import timezone

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
def audit_changes(event: Any) -> list[dict[str, str]]:
    """The fields an audit event changed, as rows of (field, before, after)."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    keys = [k for k in after if k in before or after[k] not in (None, "")]
    keys += [k for k in before if k not in after]
    return [
        {
            "field": key,
            "before": _short(before.get(key)) if key in before else "",
            "after": _short(after.get(key)),
        }
        for key in keys
    ]


@register.filter
def reason_text(value: Any) -> str:
    """A provider reason: a plain string, or a compact rendering of an object."""
    return value if isinstance(value, str) else _short(value)
