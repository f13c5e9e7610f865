"""Who may open the staff pages.

Roles are enforced here, on the server, not only by hiding buttons: every page
needs the viewer role, decisions and assignments the reviewer role (checked in
their views).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from ..roles import user_can_view


def viewer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let only users with the viewer role (or higher) through; others get 403.

    Anonymous users never get here: LoginRequiredMiddleware sends them to login.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_can_view(request.user):
            raise PermissionDenied("You need the viewer role to use Verity.")
        return view(request, *args, **kwargs)

    return wrapper
