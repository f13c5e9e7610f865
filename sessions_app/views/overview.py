"""The overview page: what the desk looks like today."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from .. import selectors
from ..cases import selectors as case_selectors
from ..cases.sla import sla_rules
from ..cases.states import case_state_label
from ..selectors.team import team_activity
from .access import viewer_required
from .rendering import render_page
from .team import team_context


@require_safe
@viewer_required
def overview(request: HttpRequest) -> HttpResponse:
    """Counts by status, outcome and provider; attention by age; escalated,
    waiting and awaiting-approval cases; sync health; chart; the team view
    (decisions per reviewer per week, time to decision: selectors/team.py)."""
    # Whole seconds: the bucket links carry these bounds, and the counts beside
    # them must be of exactly the sessions those links list.
    now = timezone.now().replace(microsecond=0)
    activity = selectors.session_daily_activity(days=30)
    return render_page(
        request,
        "sessions_app/overview.html",
        {
            "breakdown": selectors.session_breakdown(),
            "attention": selectors.session_attention_summary(now=now),
            "attention_urls": attention_queue_urls(now=now),
            "health": selectors.provider_health_list(),
            "activity": activity,
            "activity_rows": list(
                zip(activity.days, activity.created, activity.completed, strict=True)
            ),
            "chart_data": activity.as_chart_data(),
            "stale_after_intervals": selectors.STALE_AFTER_INTERVALS,
            "review_counts": selectors.client_review_counts(today=timezone.localdate()),
            "case_counts": case_counts_rows(),
            "team": team_context(team_activity(now=now)),
            "sla_breaches": sla_breach_rows(now=now),
        },
    )


def attention_queue_urls(*, now: dt.datetime) -> dict[str, str]:
    """The queue of the sessions needing attention, oldest first: all of them
    (`oldest`), and each age bucket of the overview, by the queue's own
    created_after (>=) / created_before (<) filters at the buckets' bounds."""
    day_ago = _iso(now - dt.timedelta(days=1))
    week_ago = _iso(now - dt.timedelta(days=7))
    queue = reverse("session-list")
    base = {"needs_attention": "true", "sort": "created"}
    return {
        "oldest": f"{queue}?{urlencode(base)}",
        "under_1_day": f"{queue}?{urlencode(base | {'created_after': day_ago})}",
        "days_1_to_7": f"{queue}?"
        + urlencode(base | {"created_after": week_ago, "created_before": day_ago}),
        "over_7_days": f"{queue}?{urlencode(base | {'created_before': week_ago})}",
    }


def _iso(moment: dt.datetime) -> str:
    """An ISO 8601 UTC date-time as the queue's date filters read it ("Z")."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def case_counts_rows() -> list[dict[str, object]]:
    """Escalated, waiting and awaiting-approval cases: count, label, queue link."""
    queue = reverse("session-list")
    return [
        {
            "state": state,
            "label": case_state_label(state),
            "count": count,
            "url": f"{queue}?{urlencode({'case_state': state, 'sort': 'created'})}",
        }
        for state, count in case_selectors.case_state_counts().items()
    ]


def sla_breach_rows(*, now: dt.datetime) -> dict[str, object]:
    """Overdue cases (SLA breaches) per queue rule, each a link to its
    overdue queue, soonest due first; and the total (`capped`: more than
    `BREACH_COUNT_CAP`, counts per rule not read)."""
    queue = reverse("session-list")
    counts = case_selectors.sla_breach_counts(now=now)
    rows = [
        {
            "rule": rule,
            "label": label,
            "count": counts[rule] if counts is not None else None,
            "url": f"{queue}?"
            + urlencode(
                {"overdue": "true", "case_state": ",".join(states), "sort": "due"}
            ),
        }
        for rule, label, states in case_selectors.BREACH_RULES
    ]
    return {
        "total": sum(counts.values()) if counts is not None else None,
        "cap": case_selectors.BREACH_COUNT_CAP,
        "url": f"{queue}?{urlencode({'overdue': 'true', 'sort': 'due'})}",
        "rows": rows,
        "business_days": sla_rules().business_days,
    }
