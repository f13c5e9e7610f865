"""Evidence packs: a PDF per client and per session, for auditors (issue 18).

Rendered from an HTML template (`templates/sessions_app/evidence/`) by
WeasyPrint, whose system libraries (Pango, HarfBuzz) come from Debian
packages (README, "System packages"). Exporters and admins only. Each pack
says who generated it and when, and is bounded like the client page (at most
EVIDENCE_LIMIT rows of each list, saying so when cut). The SHA-256 of the
file sent is recorded in an audit event (`evidence.client_pdf`,
`evidence.session_pdf`), so a pack shown later can be checked against the
audit trail: `sha256sum pack.pdf` equals the event's `sha256`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from ..models import Client, WorkflowSession
from ..roles import user_can_export
from ..selectors.evidence import (
    EVIDENCE_LIMIT,
    client_evidence_get,
    session_evidence_get,
)
from ..services import audit_event_record, client_for_object

PDF = "application/pdf"


def pdf_from_html(html: str, *, base_url: str) -> bytes:
    """The PDF WeasyPrint makes of `html` (imported here: it loads Pango)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url).write_pdf()


def _pack_response(
    request: HttpRequest,
    *,
    template: str,
    context: dict[str, Any],
    obj: models.Model,
    client_id: int | None,
    kind: str,
    filename: str,
    counts: dict[str, int],
) -> HttpResponse:
    generated_at = timezone.now()
    html = render_to_string(
        template,
        {
            **context,
            "generated_by": request.user.get_username(),
            "generated_at": generated_at,
            "limit": EVIDENCE_LIMIT,
        },
    )
    pdf = pdf_from_html(html, base_url=request.build_absolute_uri("/"))
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        audit_event_record(
            actor=request.user,
            source="web",
            action=f"evidence.{kind}_pdf",
            obj=obj,
            client=client_id,
            after={
                "filename": filename,
                "sha256": digest,
                "bytes": len(pdf),
                "generated_at": generated_at,
                **counts,
            },
        )
    response = HttpResponse(pdf, content_type=PDF)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _exporter_required(request: HttpRequest) -> None:
    if not user_can_export(request.user):
        raise PermissionDenied("Only exporters and admins may download evidence packs.")


@require_GET
def client_evidence_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The client's evidence pack (PDF)."""
    _exporter_required(request)
    try:
        evidence = client_evidence_get(pk=pk, today=timezone.now().date())
    except Client.DoesNotExist as exc:
        raise Http404("No such client.") from exc
    client = evidence.detail.client
    return _pack_response(
        request,
        template="sessions_app/evidence/client.html",
        context={
            "evidence": evidence,
            "client": client,
            "assurance": evidence.assurance,
        },
        obj=client,
        client_id=client.pk,
        kind="client",
        filename=f"verity-evidence-client-{client.pk}.pdf",
        counts={
            "sessions": len(evidence.detail.sessions),
            "checks": len(evidence.detail.checks),
            "decisions": len(evidence.reviews),
        },
    )


@require_GET
def session_evidence_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """One session's evidence pack (PDF)."""
    _exporter_required(request)
    try:
        evidence = session_evidence_get(pk=pk, today=timezone.now().date())
    except WorkflowSession.DoesNotExist as exc:
        raise Http404("No such session.") from exc
    session = evidence.detail.session
    client = session.provider_client.client if session.provider_client else None
    return _pack_response(
        request,
        template="sessions_app/evidence/session.html",
        context={
            "evidence": evidence,
            "session": session,
            "client": client,
            "assurance": evidence.assurance,
        },
        obj=session,
        client_id=client_for_object(session),
        kind="session",
        filename=f"verity-evidence-session-{session.pk}.pdf",
        counts={
            "checks": len(evidence.detail.checks),
            "decisions": len(evidence.detail.reviews),
        },
    )
