"""Staff pages. Views parse input, call one selector or service, and render."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers. No data disclosed."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception:  # any database failure means "not ready"
        return JsonResponse({"status": "unavailable"}, status=503)


def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "sessions_app/overview.html", {})


def _not_yet(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    return HttpResponse("Not implemented yet", status=501, content_type="text/plain")


# Placeholders for the desk issue; each becomes a real view.
session_list = session_detail = session_decide = session_assign = _not_yet
client_detail = sync_status = _not_yet
