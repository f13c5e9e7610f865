"""The MFA gate: a signed-in user who needs a second factor and has not given
one in this session reaches no page, no admin and no API call on the session
until they have.

Pages redirect to enrolment (no app yet) or to the code page; the API answers
403 in JSON. The sign-in, sign-out and the MFA pages themselves stay open, as
do health and the icon. API tokens are not sessions: the token helper's own
rules apply to them (a request with a token is anonymous here).

Placed after django-otp's OTPMiddleware (it sets `request.user.is_verified()`)
and Django's LoginRequiredMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from .mfa import mfa_is_enrolled, mfa_required_for

# Views (by namespaced URL name: the admin's own "admin:login" is not one of
# them) a user waiting for their second factor may still open.
OPEN_WHILE_PENDING = frozenset(
    {"login", "logout", "health", "favicon", "mfa-enrol", "mfa-verify"}
)


class MFARequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_WHILE_PENDING:
            return None
        backend = request.session.get(BACKEND_SESSION_KEY, "")
        if not mfa_required_for(user=user, backend=backend) or user.is_verified():
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": "Multi-factor sign-in required: finish signing in "
                    "in the browser (an authenticator code), then retry."
                },
                status=403,
            )
        target = "mfa-verify" if mfa_is_enrolled(user=user) else "mfa-enrol"
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(target)}?{query}")
