"""The sync health page, and its two admin actions: release a connection's
sync lease, start a sync of it now (POST, CSRF-protected, audited)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from .. import selectors, services, tasks
from ..models import ProviderConnection
from ..privacy.audit_chain import chain_verification_latest
from ..roles import user_is_admin
from .access import viewer_required
from .rendering import render_page


@require_safe
@viewer_required
def sync_status(request: HttpRequest) -> HttpResponse:
    """Recent runs per connection, unknown values, quarantine, webhook deliveries,
    and the audit chain's last verification."""
    status = selectors.sync_status_get()
    return render_page(
        request,
        "sessions_app/sync_status.html",
        {
            "status": status,
            "stale_after_intervals": selectors.STALE_AFTER_INTERVALS,
            "excerpt_chars": selectors.QUARANTINE_EXCERPT_CHARS,
            "can_manage_sync": user_is_admin(request.user),
            # The last recorded walk of the audit chain (never walked per view).
            "audit_chain": chain_verification_latest(),
        },
    )


def _admin_connection(request: HttpRequest, pk: int) -> ProviderConnection:
    if not user_is_admin(request.user):
        raise PermissionDenied("Only admins may manage provider syncs.")
    connection = selectors.provider_connection_get(pk=pk)
    if connection is None:
        raise Http404("No provider connection matches the given query.")
    return connection


@require_POST
def sync_lease_release(request: HttpRequest, pk: int) -> HttpResponse:
    """Free a connection's sync lease (admins only); back to /sync/ (PRG)."""
    connection = _admin_connection(request, pk)
    name = connection.display_name or connection.slug
    if services.connection_lease_force_release(
        connection=connection, actor=request.user
    ):
        messages.success(
            request,
            f"{name}: sync lease released. A run still holding it stops at its "
            "next renewal; the next sync resumes from the last committed page.",
        )
    else:
        messages.info(request, f"{name}: no sync held the lease; nothing to release.")
    return HttpResponseRedirect(reverse("sync-status"))


@require_POST
def sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a sync of a connection now (admins only); back to /sync/ (PRG)."""
    connection = _admin_connection(request, pk)
    name = connection.display_name or connection.slug
    try:
        task_id = tasks.sync_now_enqueue(connection_id=connection.pk)
    except tasks.BrokerUnavailable as exc:
        messages.error(
            request,
            f"{name}: the sync was not started: the task queue (Celery broker) "
            f"could not be reached ({exc}). Check that the broker and a worker "
            "are running, then try again.",
        )
        return HttpResponseRedirect(reverse("sync-status"))
    services.connection_sync_request_record(
        connection=connection, actor=request.user, task_id=task_id
    )
    messages.success(
        request,
        f"{name}: sync queued. It appears below when a worker runs it "
        "(skipped if another sync holds the lease).",
    )
    return HttpResponseRedirect(reverse("sync-status"))
