"""The second-factor pages: enrol an authenticator app, and give a code at sign-in.

Thin: the services in `mfa.py` decide and audit; these pages parse one field,
mark the session verified (django-otp's `login`) and move on to `next`.
"""

from __future__ import annotations

from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from ..views.rendering import render_page
from .mfa import (
    mfa_enrolment_confirm,
    mfa_enrolment_device,
    mfa_is_enrolled,
    mfa_totp_qr_svg,
    mfa_verify,
)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, strip=True)


def _next_url(request: HttpRequest) -> str:
    raw = request.POST.get("next") or request.GET.get("next") or ""
    if raw and url_has_allowed_host_and_scheme(
        raw, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return raw
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _to(url_name: str, request: HttpRequest) -> HttpResponse:
    query = urlencode({"next": _next_url(request)})
    return HttpResponseRedirect(f"{resolve_url(url_name)}?{query}")


def _code_error(result: Any) -> str:
    wait = (
        f"wait until {result.locked_until:%H:%M:%S} UTC, then try again"
        if result.locked_until is not None
        else "try again"
    )
    if result.was_locked:
        return f"Too many wrong codes: {wait}."
    return f"That code is not right. Check the time on your phone and {wait}."


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Show the app's secret (QR and text); confirm with one code; show the
    recovery codes, once."""
    user = request.user
    if mfa_is_enrolled(user=user):
        return _to("mfa-verify", request)
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result, codes = mfa_enrolment_confirm(
            user=user, token=form.cleaned_data["code"]
        )
        if result.ok:
            django_otp.login(request, result.device)
            return render_page(
                request,
                "registration/mfa_recovery_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
        error = _code_error(result)
    device = mfa_enrolment_device(user=user)
    return render_page(
        request,
        "registration/mfa_enrol.html",
        {
            "qr_svg": mfa_totp_qr_svg(device=device),
            "secret": b32encode(device.bin_key).decode(),
            "issuer": settings.OTP_TOTP_ISSUER,
            "error": error,
            "next": _next_url(request),
        },
        status=400 if error else 200,
    )


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def mfa_verify_page(request: HttpRequest) -> HttpResponse:
    """Ask for a code from the app, or a recovery code."""
    if not mfa_is_enrolled(user=request.user):
        return _to("mfa-enrol", request)
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = mfa_verify(user=request.user, token=form.cleaned_data["code"])
        if result.ok:
            django_otp.login(request, result.device)
            if result.recovery_codes_left is not None:
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {result.recovery_codes_left} "
                    "left. Ask an administrator to reset your second factor if "
                    "you have lost your authenticator app.",
                )
            return HttpResponseRedirect(_next_url(request))
        error = _code_error(result)
    return render_page(
        request,
        "registration/mfa_verify.html",
        {"error": error, "next": _next_url(request)},
        status=400 if error else 200,
    )
