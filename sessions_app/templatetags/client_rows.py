"""The rows of the client page's session and check tables, built in Python.

A client with 50 sessions and 150 checks makes 200 rows of six to eight
cells; as template variables, `{% include %}`s of the status and outcome
badges, `{% url %}`s and `|date` filters per cell they cost more than all
of the page's queries (docs/PERFORMANCE.md, section 9). As the review queue's
rows (`verity.queue_cells`), each row's cells are built here with escaped
values and marked safe once; the `<tr>` stays in the template. Pure functions
of their input: the rows come from `selectors.client_detail_get`, which
loads every field read here (no query).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from ..cases.selectors import OVERRIDE_OUTCOME_ATTR
from ..privacy.personal_fields import name_initials
from .breakdown import reason_badges
from .verity import (
    _detail_url,
    _e,
    _effective_outcome_html,
    _outcome_html,
    _status_html,
    decision_label,
)

register = template.Library()

_NONE = '<span class="muted">—</span>'


def _minute(value: dt.datetime | None, zone: dt.tzinfo) -> str:
    """`value|date:"Y-m-d H:i"` in the current time zone ("" for none)."""
    if value is None:
        return ""
    return f"{timezone.localtime(value, zone):%Y-%m-%d %H:%M}"


def _truncated(value: str, length: int) -> str:
    """`value|truncatechars:length`."""
    return value if len(value) <= length else Truncator(value).chars(length)


@register.simple_tag(takes_context=True)
def client_session_cells(context: template.Context, session: Any) -> str:
    """The eight cells of one row of the client page's sessions table."""
    zone = timezone.get_current_timezone()
    url = _detail_url(context, "session-detail", session.pk)
    workflow = session.workflow_name or session.workflow_id or "—"
    if session.last_decision:
        decision = _e(decision_label(session.last_decision))
    else:
        decision = _NONE
    return mark_safe(  # noqa: S308 - every value from data is escaped
        f'<th scope="row"><a class="mono" href="{_e(url)}">'
        f"{_e(_truncated(session.external_id, 40))}</a></th>"
        f'<td data-label="Provider">{_e(session.connection.display_name)}</td>'
        f'<td data-label="Workflow">{_e(workflow)}</td>'
        f'<td data-label="Status">{_status_html(session.status, session.raw_status)}</td>'
        f'<td data-label="Outcome">{_effective_outcome_html(session.outcome, session.raw_outcome, getattr(session, OVERRIDE_OUTCOME_ATTR, None))}</td>'
        f'<td data-label="Reasons">{reason_badges(session.reason_list)}</td>'
        f'<td class="nowrap" data-label="Created">{_minute(session.provider_created_at, zone)}</td>'
        f'<td data-label="Last decision">{decision}</td>'
    )


@register.simple_tag(takes_context=True)
def client_check_cells(context: template.Context, check: Any) -> str:
    """The six cells of one row of the client page's checks table."""
    zone = timezone.get_current_timezone()
    url = _detail_url(context, "session-detail", check.session_id)
    session_id = _truncated(check.session.external_id, 32)
    return mark_safe(  # noqa: S308 - every value from data is escaped
        f'<th scope="row">{_e(check.check_type or "check")}</th>'
        f'<td data-label="Session"><a class="mono" href="{_e(url)}">{_e(session_id)}</a></td>'
        f'<td data-label="Provider">{_e(check.connection.display_name)}</td>'
        f'<td data-label="Status">{_status_html(check.status, check.raw_status)}</td>'
        f'<td data-label="Outcome">{_outcome_html(check.outcome, check.raw_outcome)}</td>'
        f'<td class="nowrap" data-label="Created">{_minute(check.provider_created_at, zone) or "—"}</td>'
    )


_REVIEW_BADGES = {
    "overdue": ' <span class="badge badge-rejected">Overdue</span>',
    "due": ' <span class="badge badge-attention">Due soon</span>',
}


@register.simple_tag(takes_context=True)
def client_directory_cells(context: template.Context, row: dict[str, Any]) -> str:
    """The seven cells of one row of the client directory (`views.client_directory`
    builds `row`: the client, its providers' names, its review state)."""
    zone = timezone.get_current_timezone()
    client = row["client"]
    url = _detail_url(context, "client-detail", client.pk)
    tier = _e(client.get_risk_tier_display())
    if client.risk_tier_source == "reviewer":
        tier += ' <span class="muted small">(set by a reviewer)</span>'
    gaps = (
        '<span class="badge badge-rejected">Gaps</span>'
        if client.has_gaps
        else '<span class="muted">None</span>'
    )
    if client.next_review_due:
        review = f"{client.next_review_due:%Y-%m-%d}"
    else:
        review = '<span class="muted">Never completely verified</span>'
    review += _REVIEW_BADGES.get(row["review"], "")
    providers = ", ".join(_e(name) for name in row["providers"]) or "—"
    # Initials for everyone, as in the queue (docs/data-protection.md): the
    # directory lists many people at once; the client page reveals one.
    name = _e(name_initials(client.display_name) or client.reference or str(client))
    return mark_safe(  # noqa: S308 - every value from data is escaped
        f'<th scope="row"><a href="{_e(url)}" title="{name}">{name}</a></th>'
        f'<td class="mono" data-label="Reference">{_e(client.reference or "—")}</td>'
        f'<td data-label="Providers">{providers}</td>'
        f'<td data-label="Risk tier">{tier}</td>'
        f'<td data-label="Gaps">{gaps}</td>'
        f'<td class="nowrap" data-label="Next review">{review}</td>'
        f'<td class="nowrap" data-label="Last activity">{_minute(client.last_activity_at, zone) or "—"}</td>'
    )
