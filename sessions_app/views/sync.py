"""The sync health page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from .. import selectors
from .access import viewer_required
from .rendering import render_page


@require_safe
@viewer_required
def sync_status(request: HttpRequest) -> HttpResponse:
    """Recent runs per connection, unknown values, quarantine, webhook deliveries."""
    status = selectors.sync_status_get()
    return render_page(
        request,
        "sessions_app/sync_status.html",
        {
            "status": status,
            "stale_after_intervals": selectors.STALE_AFTER_INTERVALS,
            "excerpt_chars": selectors.QUARANTINE_EXCERPT_CHARS,
        },
    )
