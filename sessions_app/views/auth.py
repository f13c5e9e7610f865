"""Signing in, the lockout page, and the health check."""

from __future__ import annotations

from typing import Any

from axes import helpers as axes_helpers
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from .. import selectors
from .rendering import render_page


class LoginView(auth_views.LoginView):
    """The local password form, and "Sign in with <IdP>" when SSO is configured."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            sso_enabled=settings.VERITY_OIDC_ENABLED,
            sso_name=settings.VERITY_OIDC_NAME,
            **kwargs,
        )


class LogoutView(auth_views.LogoutView):
    """Sign out (POST), then the sign-in page says so."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if signed_in:
            # Kept in the message cookie: the session it would live in is gone.
            messages.success(request, "You are signed out.")
        return response


def login_lockout(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """Answer a locked-out sign-in with a page (django-axes' AXES_LOCKOUT_CALLABLE).

    Axes restarts the cool-off with every attempt made during a lockout, so it
    ends one cool-off after this attempt: that is the time the page gives.
    Status AXES_HTTP_RESPONSE_CODE (429). Runs no template queries.
    """
    cool_off = axes_helpers.get_cool_off(request)
    retry_at = timezone.now() + cool_off if cool_off else None
    return render_page(
        request,
        "registration/lockout.html",
        {
            "username": axes_helpers.get_client_username(request, credentials) or "",
            "failure_limit": axes_helpers.get_failure_limit(request, credentials),
            "cool_off_minutes": max(round(cool_off.total_seconds() / 60), 1)
            if cool_off
            else None,
            "retry_at": retry_at,
        },
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers. No data disclosed."""
    if selectors.database_reachable():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable"}, status=503)


@login_not_required
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's).

    The icon's URL is looked up per request, not when the URLs are loaded:
    in production it comes from the static files manifest, which exists only
    once `collectstatic` has run.
    """
    return HttpResponsePermanentRedirect(static("favicon.svg"))
