"""The overview page: what the desk looks like today."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from .. import selectors
from .access import viewer_required
from .rendering import render_page


@require_safe
@viewer_required
def overview(request: HttpRequest) -> HttpResponse:
    """Counts by status, outcome and provider; attention by age; sync health; chart."""
    activity = selectors.session_daily_activity(days=30)
    return render_page(
        request,
        "sessions_app/overview.html",
        {
            "breakdown": selectors.session_breakdown(),
            "attention": selectors.session_attention_summary(),
            "health": selectors.provider_health_list(),
            "activity": activity,
            "activity_rows": list(
                zip(activity.days, activity.created, activity.completed, strict=True)
            ),
            "chart_data": activity.as_chart_data(),
            "stale_after_intervals": selectors.STALE_AFTER_INTERVALS,
        },
    )
