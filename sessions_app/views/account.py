"""The account page: who you are, your roles, and your API tokens.

Any signed-in user may open it; minting needs a role that reads the API
(`api_token_mint_allowed`). A minted token's secret is in the answer to the
mint POST only: it is rendered into that response (never stored, never put in
the session or a message), which is marked `no-store`, and no later page can
show it again.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST, require_safe

from ..access.tokens import selectors as token_selectors
from ..access.tokens.forms import ApiTokenMintForm
from ..access.tokens.services import (
    api_token_mint,
    api_token_mint_allowed,
    api_token_revoke,
    api_tokens_revoke_all,
)
from ..exceptions import ApplicationError
from ..models import ApiToken
from ..selectors.users import user_role_names
from .rendering import render_page


def _account_page(
    request: HttpRequest,
    *,
    form: ApiTokenMintForm | None = None,
    minted: ApiToken | None = None,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    can_mint = api_token_mint_allowed(user=request.user)
    response = render_page(
        request,
        "sessions_app/account.html",
        {
            "roles": user_role_names(user=request.user),
            "tokens": token_selectors.api_tokens_of_user(user=request.user),
            "now": timezone.now(),
            "can_mint": can_mint,
            "form": (form or ApiTokenMintForm()) if can_mint else None,
            "minted": minted,
            "secret": secret,
        },
        status=status,
    )
    add_never_cache_headers(response)
    return response


@require_safe
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(request)


@require_POST
def account_token_mint(request: HttpRequest) -> HttpResponse:
    if not api_token_mint_allowed(user=request.user):
        raise PermissionDenied("Your roles do not include API access.")
    form = ApiTokenMintForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form=form, status=400)
    try:
        token, secret = api_token_mint(
            user=request.user,
            name=form.cleaned_data["name"],
            days=form.cleaned_data["days"],
            source="web",
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _account_page(request, form=form, status=400)
    return _account_page(request, minted=token, secret=secret)


@require_POST
def account_token_revoke(request: HttpRequest, digest: str) -> HttpResponse:
    try:
        token = token_selectors.api_token_of_user_get(user=request.user, digest=digest)
    except ApiToken.DoesNotExist as exc:
        raise Http404("You have no such token.") from exc
    api_token_revoke(token=token, actor=request.user, source="web")
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("account")


@require_POST
def account_tokens_revoke_all(request: HttpRequest) -> HttpResponse:
    count = api_tokens_revoke_all(
        user=request.user, actor=request.user, source="web", reason="revoked_all"
    )
    messages.success(request, f"{count} token{'s' if count != 1 else ''} revoked.")
    return redirect("account")
