"""Linking provider identities to a client by hand, from the client page.

Reviewers and admins search identities (a small JSON endpoint the page's
script calls as they type; without script the page's own search form lists
the same results), pick one, give a reason and link it; or unlink one of the
client's identities with a reason. Every change goes through
`services.provider_client_link` (audited, MANUAL: the sync never undoes it).
Viewers and exporters see the links but get 403 here.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST, require_safe

from .. import services
from ..exceptions import ApplicationError
from ..forms import IdentityLinkForm, IdentityUnlinkForm
from ..models import Client, ProviderClient
from ..roles import user_can_link_identities, user_can_view
from ..selectors.clients import provider_clients_search

# The client page's search box (no script): `?identity_q=<term>#identities`.
SEARCH_PARAM = "identity_q"


def _linker_required(request: HttpRequest) -> None:
    if not (user_can_view(request.user) and user_can_link_identities(request.user)):
        raise PermissionDenied("Only reviewers and admins may link identities.")


def _client_or_404(pk: int) -> Client:
    try:
        return Client.objects.get(pk=pk)
    except Client.DoesNotExist as exc:
        raise Http404("No such client.") from exc


def identity_row(pc: ProviderClient) -> dict[str, object]:
    """One search result as the page and the endpoint show it."""
    return {
        "id": pc.pk,
        "provider": pc.connection.display_name,
        "name": pc.name,
        "external_id": pc.external_id,
        "external_reference": pc.external_reference,
        "client": {"id": pc.client_id, "name": str(pc.client)} if pc.client else None,
        "link_source": pc.link_source,
    }


@require_safe
def client_identities_search(request: HttpRequest, pk: int) -> JsonResponse:
    """`?q=`: identities that may be linked to client `pk` (unlinked or
    another client's), by name, provider id or external reference."""
    _linker_required(request)
    client = _client_or_404(pk)
    found = provider_clients_search(term=request.GET.get("q", ""), client_id=client.pk)
    return JsonResponse({"results": [identity_row(pc) for pc in found]})


def _back(client: Client, term: str = "") -> HttpResponse:
    query = f"?{urlencode({SEARCH_PARAM: term})}" if term else ""
    return redirect(f"{client.get_absolute_url()}{query}#identities")


@require_POST
def client_identity_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Link the chosen identity to client `pk`, with a reason (PRG)."""
    _linker_required(request)
    client = _client_or_404(pk)
    form = IdentityLinkForm(request.POST)
    term = request.POST.get(SEARCH_PARAM, "")
    if not form.is_valid():
        messages.error(request, f"Not linked: {form.error_text()}")
        return _back(client, term)
    identity = ProviderClient.objects.filter(pk=form.cleaned_data["identity"]).first()
    if identity is None:
        messages.error(request, "Not linked: that identity no longer exists.")
        return _back(client, term)
    try:
        services.provider_client_link(
            provider_client=identity,
            client=client,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            source="web",
        )
    except ApplicationError as exc:
        messages.error(request, f"Not linked: {exc.message}")
        return _back(client, term)
    messages.success(request, f"Linked {identity} to {client}.")
    return _back(client)


@require_POST
def client_identity_unlink(
    request: HttpRequest, pk: int, identity: int
) -> HttpResponse:
    """Unlink one of client `pk`'s identities, with a reason (PRG)."""
    _linker_required(request)
    client = _client_or_404(pk)
    linked = ProviderClient.objects.filter(pk=identity, client=client).first()
    if linked is None:
        raise Http404("This identity is not linked to this client.")
    form = IdentityUnlinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not unlinked: {form.error_text()}")
        return _back(client)
    try:
        services.provider_client_link(
            provider_client=linked,
            client=None,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            source="web",
        )
    except ApplicationError as exc:
        messages.error(request, f"Not unlinked: {exc.message}")
        return _back(client)
    messages.success(
        request, f"Unlinked {linked}: the sync will not link it again by itself."
    )
    return _back(client)
