"""Template context: what the signed-in user may do, decided once per request."""

from django.http import HttpRequest

from .roles import user_can_assign, user_can_decide, user_can_export, user_is_admin


def roles(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "can_decide": False,
            "can_assign": False,
            "can_export": False,
            "is_admin": False,
        }
    return {
        "can_decide": user_can_decide(user),
        "can_assign": user_can_assign(user),
        "can_export": user_can_export(user),
        "is_admin": user_is_admin(user),
    }
