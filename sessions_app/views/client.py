"""The client page: a client's identities, sessions and checks across
providers, and its history."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from .. import selectors
from ..cases.note_views import note_form_for
from ..cases.notes import NOTE_ALL_LIMIT, NOTE_PAGE_LIMIT, client_notes_get
from ..client_review.rules import required_kinds_for_tier, review_state
from ..client_review.services import client_risk_tier_set
from ..exceptions import ApplicationError
from ..forms import IdentityLinkForm, IdentityUnlinkForm, RiskTierForm
from ..models import Client
from ..privacy.personal_fields import name_initials
from ..privacy.reveals import personal_data_access
from ..privacy.selectors import client_retention_get
from ..roles import (
    user_can_decide,
    user_can_link_identities,
    user_can_manage_retention,
    user_can_view,
    user_can_write_notes,
)
from ..selectors.clients import IDENTITY_SEARCH_MIN_LENGTH, provider_clients_search
from .access import viewer_required
from .audit_history import audit_rows
from .identities import SEARCH_PARAM
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
    can_link = user_can_link_identities(request.user)
    # The link search without script: `?identity_q=` lists what the
    # search-as-you-type endpoint would (reviewers and admins only).
    identity_term = request.GET.get(SEARCH_PARAM, "").strip() if can_link else ""
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
                client_id=client.pk,
                today=timezone.now().date(),
                required_kinds=required_kinds_for_tier(client.risk_tier),
            ),
            "review_state": review_state(
                next_review=client.next_review_due, today=timezone.localdate()
            ),
            "risk_tier_form": RiskTierForm(
                initial={"tier": client.risk_tier or RiskTierForm.DERIVED}
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
            "retention": client_retention_get(
                client=client, today=timezone.localdate()
            ),
            "can_manage_retention": user_can_manage_retention(request.user),
            "limit": CLIENT_PAGE_LIMIT,
            "can_link": can_link,
            "identity_param": SEARCH_PARAM,
            "identity_term": identity_term,
            "identity_min_length": IDENTITY_SEARCH_MIN_LENGTH,
            "identity_results": provider_clients_search(
                term=identity_term, client_id=client.pk
            )
            if identity_term
            else [],
            "link_form": IdentityLinkForm() if can_link else None,
            "unlink_form": IdentityUnlinkForm() if can_link else None,
            "notes": client_notes_get(
                client_id=client.pk,
                limit=NOTE_ALL_LIMIT
                if request.GET.get("notes") == "all"
                else NOTE_PAGE_LIMIT,
            ),
            "note_form": note_form_for(request, target=f"client:{client.pk}"),
            "note_action": reverse("client-note-add", args=[client.pk]),
            "show_all_url": "?notes=all",
            "can_write_notes": user_can_write_notes(request.user),
            "queue_url": f"{reverse('session-list')}?client={detail.client.pk}",
            "checks_export_url": f"{reverse('checks-export')}?client={detail.client.pk}",
        },
    )


@require_POST
def client_risk_tier(request: HttpRequest, pk: int) -> HttpResponse:
    """Set or clear a client's risk tier (reviewers only; audited), then back
    to the client page (PRG), with the refusal in words if there is one."""
    if not (user_can_view(request.user) and user_can_decide(request.user)):
        raise PermissionDenied("Only reviewers may set risk tiers.")
    try:
        client = Client.objects.get(pk=pk)
    except Client.DoesNotExist as exc:
        raise Http404("No such client.") from exc
    form = RiskTierForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"Risk tier not changed: {field}: {error}")
        return HttpResponseRedirect(client.get_absolute_url())
    try:
        client = client_risk_tier_set(
            client=client,
            tier=form.tier_value(),
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, f"Risk tier not changed: {exc.message}")
    else:
        messages.success(
            request, f"Risk tier is {client.get_risk_tier_display().lower()} now."
        )
    return HttpResponseRedirect(client.get_absolute_url())
