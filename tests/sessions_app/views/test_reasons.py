"""Reasons in words on the pages, and the `reason=` filter of the queue, the
API (sessions and checks) and the CSV."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import ReasonKind, SessionReason
from tests.factories import CheckFactory, WorkflowSessionFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("session-list")


@pytest.fixture
def sessions():
    rejected = WorkflowSessionFactory(
        external_id="wr-doc", outcome="rejected", reasons=["document_rejected"]
    )
    SessionReason.objects.create(
        session=rejected, code=ReasonKind.DOCUMENT_REJECTED, raw="document_rejected"
    )
    SessionReason.objects.create(
        session=rejected, code=ReasonKind.OTHER, raw="mystery_word", position=1
    )
    pep = WorkflowSessionFactory(external_id="wr-pep", outcome="attention")
    SessionReason.objects.create(
        session=pep, code=ReasonKind.PEP_MATCH, raw="pep.level1"
    )
    clear = WorkflowSessionFactory(external_id="wr-clear")
    CheckFactory(session=rejected)
    CheckFactory(session=clear)
    return rejected, pep, clear


def test_the_queue_filters_by_reason(viewer_client, sessions):
    page = viewer_client.get(
        QUEUE, {"reason": "document_rejected,other"}
    ).content.decode()
    assert "wr-doc" in page
    assert "wr-pep" not in page
    assert "wr-clear" not in page
    assert "Reason" in page
    assert "Document rejected, Other" in page
    page = viewer_client.get(QUEUE, {"reason": "pep_match"}).content.decode()
    assert "wr-pep" in page
    assert "wr-doc" not in page


def test_an_unknown_reason_is_a_filter_error(viewer_client, sessions):
    page = viewer_client.get(QUEUE, {"reason": "bogus"}).content.decode()
    assert "These filters are not valid" in page


def test_the_api_filters_by_reason_and_shows_them(viewer_client, sessions):
    rejected = sessions[0]
    rows = viewer_client.get(
        reverse("api-session-list"), {"reason": "document_rejected"}
    ).json()["results"]
    assert [row["external_id"] for row in rows] == ["wr-doc"]
    checks = viewer_client.get(
        reverse("api-check-list"), {"reason": "document_rejected"}
    ).json()["results"]
    assert {row["session_id"] for row in checks} == {rejected.pk}
    detail = viewer_client.get(reverse("api-session-detail", args=[rejected.pk])).json()
    assert detail["reason_kinds"] == [
        {
            "code": "document_rejected",
            "label": "Document rejected",
            "raw": "document_rejected",
        },
        {"code": "other", "label": "Other", "raw": "mystery_word"},
    ]
    bad = viewer_client.get(reverse("api-session-list"), {"reason": "bogus"})
    assert bad.status_code == 400


def test_the_csv_export_filters_by_reason(exporter_client, sessions):
    body = b"".join(
        exporter_client.get(reverse("sessions-export"), {"reason": "pep_match"})
    ).decode()
    assert "wr-pep" in body
    assert "wr-doc" not in body


def test_the_session_page_shows_labels_with_the_raw_word(viewer_client, sessions):
    page = viewer_client.get(sessions[0].get_absolute_url()).content.decode()
    assert '<span class="reason-label">Document rejected</span>' in page
    assert '<span class="raw">mystery_word</span>' in page


def test_the_client_page_shows_each_sessions_reasons(viewer_client, sessions):
    client = sessions[1].provider_client.client
    page = viewer_client.get(client.get_absolute_url()).content.decode()
    assert '<span class="reason-label">Politically exposed person</span>' in page
    assert '<span class="raw">pep.level1</span>' in page
