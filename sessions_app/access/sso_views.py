"""The single sign-on pages: start (to the identity provider) and callback.

Both are mozilla-django-oidc's views, open to signed-out visitors (Django's
login gate would otherwise send them back to the sign-in page), answering 404
while SSO is not configured, and the callback shows a page that says why a
sign-in was refused instead of redirecting without a word.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from ..views.rendering import render_page
from .sso_backend import REFUSAL_ATTRIBUTE

logger = logging.getLogger(__name__)

REFUSALS = {
    "no_role": (
        "Your account has no role in Verity",
        "You signed in at {idp}, but none of your groups there gives access to "
        "Verity, so Verity has not let you in.",
    ),
    "inactive": (
        "Your Verity account is deactivated",
        "You signed in at {idp}, but your Verity account has been deactivated.",
    ),
    "failed": (
        "Single sign-on did not complete",
        "Verity could not complete the sign-in with {idp} (it was cancelled, "
        "timed out or the answer could not be verified).",
    ),
    "unavailable": (
        "The identity provider did not answer",
        "Verity could not reach {idp} to complete the sign-in.",
    ),
}


def _sso_enabled() -> None:
    if not settings.VERITY_OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")


def sso_refused_page(
    request: HttpRequest, reason: str, *, status: int = 403
) -> HttpResponse:
    title, text = REFUSALS[reason]
    return render_page(
        request,
        "registration/sso_refused.html",
        {
            "title": title,
            "text": text.format(idp=settings.VERITY_OIDC_NAME),
            "reason": reason,
        },
        status=status,
    )


@method_decorator([login_not_required, never_cache], name="dispatch")
class SSOStartView(OIDCAuthenticationRequestView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _sso_enabled()
        return super().dispatch(request, *args, **kwargs)


@method_decorator([login_not_required, never_cache], name="dispatch")
class SSOCallbackView(OIDCAuthenticationCallbackView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _sso_enabled()
        try:
            return super().dispatch(request, *args, **kwargs)
        except requests.RequestException:
            logger.warning("SSO callback: the identity provider failed", exc_info=True)
            return sso_refused_page(request, "unavailable", status=502)

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, REFUSAL_ATTRIBUTE, "failed")
        return sso_refused_page(self.request, reason)
