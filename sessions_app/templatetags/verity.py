"""Template filters of the staff pages. Pure functions of their input: no queries."""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ..cases.models import outcome_words
from ..cases.selectors import OVERRIDE_OUTCOME_ATTR
from ..cases.states import CaseState, case_state_label
from ..links import detail_url_builder
from ..models import (
    Decision,
    Outcome,
    ReasonCode,
    Status,
    needs_attention_words,
)
from ..privacy.personal_fields import name_initials
from ..selectors import ROW_TAGS_ATTR

register = template.Library()

_DECISIONS = dict(Decision.choices)
_REASONS = dict(ReasonCode.choices)
_STATUSES = dict(Status.choices)
_OUTCOMES = dict(Outcome.choices)
_NONE = '<span class="muted">—</span>'


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
# The review queue renders up to 100 rows of ten cells. Template variables,
# `{% include %}`s and `|date` filters per cell cost more than the page's
# queries, and so does `format_html` (each argument goes through the lazy-string
# wrappers of `conditional_escape`), so rows are built here with `html.escape`,
# which is what `django.utils.html.escape` calls, and marked safe once.


def _e(value: Any) -> str:
    """`value` as HTML text: the escaping of `django.utils.html.escape`."""
    return html.escape(str(value))


def _breakable(value: Any) -> str:
    """`value` as HTML text with a line-break opportunity (`<wbr>`) after
    each underscore: a provider's word such as `awaiting_client_input` wraps
    at its parts in a narrow column, not mid-part (`awaiting_clie|nt_input`).
    Escaped first; escaping adds no underscore, so every `<wbr>` is ours."""
    return _e(value).replace("_", "_<wbr>")


@register.filter
def break_after_underscores(value: Any) -> str:
    """`_breakable` for templates: the escaped word, safe to output."""
    return mark_safe(_breakable(value))  # noqa: S308 - escaped by _breakable


def _status_html(value: str, raw: str) -> str:
    label = _e(_STATUSES.get(value, value))
    if raw:
        return (
            f'<span class="status" title="Provider value: {_e(raw)}">{label}'
            f'<span class="raw">{_breakable(raw)}</span></span>'
        )
    return f'<span class="status" title="Provider value: (none)">{label}</span>'


def _outcome_html(value: str, raw: str) -> str:
    """The outcome badge with the provider's own word under it, in text (as the
    status): an officer must not have to hover to read what the provider said."""
    css, label = outcome_class(value), _e(outcome_label(value))
    if raw:
        return (
            f'<span class="outcome" title="Provider value: {_e(raw)}">'
            f'<span class="badge badge-{css}">{label}</span>'
            f'<span class="raw">{_breakable(raw)}</span></span>'
        )
    return f'<span class="badge badge-{css}">{label}</span>'


# The queue shows this many tags of a session, then "+N more" (ICA sessions
# carry many long technical tags: all of them would widen the row).
QUEUE_TAGS_SHOWN = 3


def _tag_html(tag: Any) -> str:
    name = _e(tag.name)
    kind = "" if tag.kind == "user" else " tag-technical"
    return f'<span class="tag{kind}" title="{name}">{name}</span>'


def _tags_html(tags: list[Any]) -> str:
    """The first QUEUE_TAGS_SHOWN tags, then the rest behind "+N more" (a
    disclosure: open it, or hover it for every name)."""
    if not tags:
        return _NONE
    shown = "".join(_tag_html(tag) for tag in tags[:QUEUE_TAGS_SHOWN])
    rest = tags[QUEUE_TAGS_SHOWN:]
    if not rest:
        return shown
    every = _e(", ".join(tag.name for tag in tags))
    return (
        f'{shown}<details class="tags-more"><summary title="{every}">'
        f"+{len(rest)} more</summary>"
        f"{''.join(_tag_html(tag) for tag in rest)}</details>"
    )


def _timestamp_html(value: dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """A `<time>`: the date, then the time of day in a muted line (UTC)."""
    if value is None:
        return _NONE
    local = timezone.localtime(value, zone)
    return (
        f'<time datetime="{local.isoformat()}">{local:%Y-%m-%d}'
        f'<span class="raw">{local:%H:%M}</span></time>'
    )


@register.simple_tag
def status_badge(value: str, raw: str) -> str:
    """The normalised status with the provider's word beside it (as _status.html)."""
    return mark_safe(_status_html(value, raw))  # noqa: S308 - every value escaped


@register.simple_tag
def outcome_badge(value: str, raw: str) -> str:
    """The normalised outcome as a coloured badge (as _outcome.html)."""
    return mark_safe(_outcome_html(value, raw))  # noqa: S308 - every value escaped


def _effective_outcome_html(value: str, raw: str, override: str | None) -> str:
    """The outcome a list row shows: an active override's (with the provider's
    in words beside it), else the provider's (docs/case-work.md)."""
    if not override:
        return _outcome_html(value, raw)
    return (
        f'{_outcome_html(override, "")} <span class="override small">override '
        f"(provider: {_e(outcome_words(value))})</span>"
    )


@register.simple_tag
def effective_outcome_badge(value: str, raw: str, override: str | None) -> str:
    """`_effective_outcome_html` for templates (the client evidence pack's sessions)."""
    return mark_safe(_effective_outcome_html(value, raw, override))  # noqa: S308


def _detail_url(context: template.Context, view_name: str, pk: int) -> str:
    """`reverse(view_name, args=[pk])`, reversed once per page render."""
    builders = context.render_context.setdefault("verity_detail_urls", {})
    if view_name not in builders:
        builders[view_name] = detail_url_builder(view_name)
    return builders[view_name](pk)


@register.simple_tag(takes_context=True)
def queue_cells(context: template.Context, session: Any, link_query: str = "") -> str:
    """The twelve cells of one review-queue row; the `<tr>` stays in the template.

    Built in Python like the admin's own changelist rows
    (`django.contrib.admin.templatetags.admin_list.items_for_result`).
    `session` comes from `selectors.session_queue_page` (joins and tags
    prefetched: no query here); `link_query` is appended to the session link.
    """
    zone = timezone.get_current_timezone()
    pc = session.provider_client
    # Names as initials for everyone (docs/data-protection.md): the queue lists
    # many people at once; a reviewer reveals one on its session or client page.
    if pc is not None and pc.client_id:
        client = pc.client
        name = _e(name_initials(client.display_name or pc.name) or client.reference)
        client_cell = (
            f'<a href="{_e(_detail_url(context, "client-detail", pc.client_id))}"'
            f' class="ellipsis" title="{name}">{name}</a>'
        )
    elif pc is not None:
        name = _e(name_initials(pc.name) or pc.external_id)
        client_cell = f'<span class="ellipsis" title="{name}">{name}</span>'
    else:
        client_cell = _NONE
    if session.workflow_name:
        workflow_cell = _e(session.workflow_name)
    elif session.workflow_id:
        workflow_id = _e(session.workflow_id)
        workflow_cell = (
            f'<span class="mono id" title="{workflow_id}">{workflow_id}</span>'
        )
    else:
        workflow_cell = "—"
    if session.workflow_version:
        workflow_cell += (
            f' <span class="muted small">v{_e(session.workflow_version)}</span>'
        )
    tags_cell = _tags_html(getattr(session, ROW_TAGS_ATTR))
    if session.assignee_id:
        assignee = _e(session.assignee.get_username())
    else:
        assignee = '<span class="muted">Unassigned</span>'
    if session.last_decision:
        decided = session.last_decision_at
        decided_on = f"{timezone.localtime(decided, zone):%Y-%m-%d}" if decided else ""
        decision = (
            f'<span class="small">{_e(decision_label(session.last_decision))}</span> '
            f'<span class="muted small">{decided_on}</span>'
        )
    else:
        decision = '<span class="muted small">No decision</span>'
    if session.case_state not in (CaseState.OPEN, CaseState.IN_REVIEW):
        # Escalated, waiting, awaiting approval or closed: the case says more.
        decision = (
            f'<span class="badge badge-case-{_e(session.case_state)}">'
            f"{_e(case_state_label(session.case_state))}</span>"
        )
    external_id = _e(session.external_id)
    # Why it needs attention, in words, under the outcome (issue 22): the
    # essential column a phone's card keeps.
    reason = needs_attention_words(
        status=session.status,
        outcome=session.outcome,
        case_state=session.case_state,
    )
    why = f'<span class="why small">{_e(reason)}</span>' if reason else _NONE
    age_due = _e(
        age_due_words(
            since=session.attention_since or session.case_state_changed_at,
            due=session.case_due_at,
            now=context.render_context.setdefault("verity_now", timezone.now()),
        )
    )
    # data-label: the column's name, shown above the value when a phone lays
    # the rows out as cards (verity.css).
    return mark_safe(  # noqa: S308 - every value from data is escaped above
        f'<td data-label="Provider"><span class="cell-wrap">{_e(session.connection.display_name)}</span></td>'
        f'<th scope="row"><a href="{_e(_detail_url(context, "session-detail", session.pk))}{_e(link_query)}"'
        f' class="mono id" title="{external_id}">{external_id}</a></th>'
        f'<td class="wrap client" data-label="Client">{client_cell}</td>'
        f'<td class="wrap workflow" data-label="Workflow">{workflow_cell}</td>'
        f'<td class="status-cell" data-label="Status">{_status_html(session.status, session.raw_status)}</td>'
        f'<td class="outcome-cell" data-label="Outcome">{_effective_outcome_html(session.outcome, session.raw_outcome, getattr(session, OVERRIDE_OUTCOME_ATTR, None))}</td>'
        f'<td class="wrap why-cell" data-label="Why">{why}</td>'
        f'<td class="age-due{" overdue" if "overdue" in age_due else ""}" data-label="Age / due">{age_due or _NONE}</td>'
        f'<td class="wrap tags" data-label="Tags">{tags_cell}</td>'
        f'<td data-label="Created">{_timestamp_html(session.provider_created_at, zone)}</td>'
        f'<td class="updated" data-label="Updated">{_timestamp_html(session.provider_updated_at, zone)}</td>'
        f'<td class="assignee" data-label="Assignee">{assignee}<br>{decision}</td>'
    )


def _span_words(delta: dt.timedelta) -> str:
    """A duration in one unit, rounded down: "3 d", "5 h", "12 min"."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds >= 86_400:
        return f"{seconds // 86_400} d"
    if seconds >= 3_600:
        return f"{seconds // 3_600} h"
    return f"{seconds // 60} min"


def age_due_words(
    *, since: dt.datetime | None, due: dt.datetime | None, now: dt.datetime
) -> str:
    """The queue's "Age / due" cell: "3 d · due in 5 h", "overdue 1 d", "" for
    a session with no due time (cases/sla.py). `since`: when its clock began."""
    if due is None:
        return ""
    age = f"{_span_words(now - since)} · " if since is not None else ""
    if due <= now:
        return f"{age}overdue {_span_words(now - due)}"
    return f"{age}due in {_span_words(due - now)}"


# The badge colour of each assurance freshness (selectors.assurance.Freshness).
FRESHNESS_BADGE_CLASSES = {
    "valid": "badge-ok",
    "expiring": "badge-stale",
    "expired": "badge-failing",
    "needs_review": "badge-stale",
    "failed": "badge-failing",
    "gap": "badge-failing",
    "in_progress": "badge-running",
    "not_completed": "badge-disabled",
}


@register.simple_tag
def freshness_badge(freshness: str, label: str) -> str:
    """An assurance row's freshness as a badge, its words always visible."""
    css = FRESHNESS_BADGE_CLASSES.get(freshness, "badge-none")
    return format_html('<span class="badge {}">{}</span>', css, label)
