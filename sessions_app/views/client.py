"""The client page: a client's identities, sessions and checks across
providers, and its history."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from .. import selectors
from ..models import Client
from ..privacy.personal_fields import name_initials
from ..privacy.reveals import personal_data_access
from .access import viewer_required
from .audit_history import audit_rows
from .rendering import render_page

CLIENT_PAGE_LIMIT = 200


@require_safe
@viewer_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A client's identities, sessions and checks across providers, and history."""
    try:
        detail = selectors.client_detail_get(pk=pk, limit=CLIENT_PAGE_LIMIT)
    except Client.DoesNotExist as exc:
        raise Http404("No such client.") from exc
    client = detail.client
    personal = personal_data_access(user=request.user, client_id=client.pk)
    if personal.masked:
        # For this render only (nothing is saved).
        client.display_name = name_initials(client.display_name)
        for pc in detail.provider_clients:
            pc.name = name_initials(pc.name)
    return render_page(
        request,
        "sessions_app/client_detail.html",
        {
            "detail": detail,
            "client": client,
            "personal": personal,
            "reveal_minutes": settings.VERITY_PERSONAL_DATA_REVEAL_SECONDS // 60,
            "reveal_url": reverse("client-reveal", args=[client.pk]),
            "assurance": selectors.client_assurance_get(
                client_id=client.pk, today=timezone.now().date()
            ),
            "sync_notices": selectors.sync_notices(
                connection_ids={pc.connection_id for pc in detail.provider_clients}
            ),
            "audit_rows": audit_rows(
                detail.audit_events,
                current_url=client.get_absolute_url(),
                sessions={s.pk: s.external_id for s in detail.sessions},
                clients={client.pk: str(client)},
                mask=personal.masked,
            ),
            "limit": CLIENT_PAGE_LIMIT,
            "queue_url": f"{reverse('session-list')}?client={detail.client.pk}",
            "checks_export_url": f"{reverse('checks-export')}?client={detail.client.pk}",
        },
    )
