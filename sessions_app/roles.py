"""The four roles of Verity, as Django groups, and the questions views ask of them.

viewer   read everything on the staff pages and the API, personal data masked
reviewer + record decisions, assign sessions, reveal personal data (audited), a
           client's retention (relationship end, legal hold, erasure requests),
           link identities to clients
exporter + CSV exports (personal data masked)
admin    + Django admin (all data), provider configuration, users and roles,
           CSV exports with personal data unmasked
"""

from __future__ import annotations

from typing import Any

VIEWER, REVIEWER, EXPORTER, ADMIN = "viewer", "reviewer", "exporter", "admin"
ROLES = (VIEWER, REVIEWER, EXPORTER, ADMIN)

APP = "sessions_app"
READ_MODELS = (
    "providerconnection",
    "client",
    "providerclient",
    "workflowsession",
    "check",
    "policyassurance",
    "tag",
    "syncrun",
    "quarantinedrecord",
    "webhookdelivery",
    "review",
    "auditevent",
    "erasurerequest",
    "providererasure",
    "approval",
    "note",
    "outcomeoverride",
)
VIEW_PERMS = tuple(f"view_{model}" for model in READ_MODELS)
DECIDE = "decide_session"
ASSIGN = "assign_session"
EXPORT = "export_sessions"
# docs/data-protection.md: reveal a session's or client's masked personal
# data for a while (with a reason, audited); export it unmasked.
REVEAL = "reveal_personal_data"
EXPORT_PERSONAL = "export_personal_data"

# codename sets per role, inside the sessions_app label; admin gets every
# permission of sessions_app (API tokens included), auth and axes besides.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    VIEWER: VIEW_PERMS,
    REVIEWER: (*VIEW_PERMS, DECIDE, ASSIGN, "add_review", REVEAL),
    EXPORTER: (*VIEW_PERMS, EXPORT),
    ADMIN: (),
}
ADMIN_APPS = (APP, "auth", "axes")


def _perm(codename: str) -> str:
    return f"{APP}.{codename}"


def user_can_view(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(_perm("view_workflowsession")))


def user_can_decide(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(_perm(DECIDE)))


def user_can_assign(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(_perm(ASSIGN)))


def user_can_export(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(_perm(EXPORT)))


def user_can_link_identities(user: Any) -> bool:
    """Reviewers and admins link provider identities to clients by hand."""
    return user_can_decide(user) or user_is_admin(user)


def user_can_reveal(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(_perm(REVEAL)))


def user_can_export_personal(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(_perm(EXPORT_PERSONAL)))


def user_is_admin(user: Any) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_verity_is_admin", None)
    if cached is None:
        cached = user.groups.filter(name=ADMIN).exists()
        user._verity_is_admin = cached
    return cached


def user_can_write_notes(user: Any) -> bool:
    """Notes on sessions and clients: reviewers and admins write them;
    everyone who can see the object reads them."""
    return user_can_decide(user) or user_is_admin(user)


def user_can_manage_retention(user: Any) -> bool:
    """Relationship end, legal hold and erasure requests: reviewers and admins."""
    return user_can_decide(user) or user_is_admin(user)


def roles_ensure(*, using: str = "default", apps: Any = None, **kwargs: Any) -> None:
    """Create the four groups and give each its permissions (idempotent).

    Runs from the data migration and again after every `migrate`, so a model
    added later still reaches the admin role.
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:
        return
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        if role == ADMIN:
            perms = Permission.objects.using(using).filter(
                content_type__app_label__in=ADMIN_APPS
            )
        else:
            perms = Permission.objects.using(using).filter(
                content_type__app_label=APP, codename__in=ROLE_PERMISSIONS[role]
            )
        group.permissions.add(*perms)
