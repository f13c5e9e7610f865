"""The admin's lists and forms speak ISO UTC like the desk, and cut long values
(admin/display.py, config/formats)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from sessions_app.admin.display import iso_utc, truncated
from sessions_app.models import AuditEvent
from sessions_app.privacy.audit_chain import chain_append
from tests.factories import (
    CheckFactory,
    ProviderClientFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 12, 6, 6, 13, 42, tzinfo=dt.UTC)
LONG_NAME = "Internationale Handelsgesellschaft für Maschinenbau und Logistik GmbH"


@pytest.fixture
def session():
    return WorkflowSessionFactory(
        external_id="run-1",
        provider_created_at=MOMENT,
        provider_client=ProviderClientFactory(name=LONG_NAME),
    )


def test_iso_utc_and_truncated():
    assert iso_utc(MOMENT) == "2026-12-06 06:13 UTC"
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert iso_utc(MOMENT.astimezone(plus_two)) == "2026-12-06 06:13 UTC"
    assert iso_utc(None) == "—"
    assert truncated("short", 10) == "short"
    assert truncated("a <b> long value", 8) == (
        '<span title="a &lt;b&gt; long value">a &lt;b&gt; l…</span>'
    )


def test_the_session_list_shows_iso_dates_short_labels_and_cut_names(
    admin_client_verity, session
):
    page = admin_client_verity.get(
        reverse("admin:sessions_app_workflowsession_changelist")
    ).content.decode()
    assert "2026-12-06 06:13 UTC" in page
    assert "a.m." not in page
    assert "Dec" not in page
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', page)
    assert headers == [
        "session_column",
        "provider_column",
        "client_column",
        "status",
        "outcome",
        "assignee",
        "created_column",
    ]
    # The long client name: cut, the whole of it in the tooltip.
    assert f'title="{LONG_NAME}"' in page
    assert f">{LONG_NAME}<" not in page


def test_the_audit_list_shows_iso_dates_and_cut_values(admin_client_verity, admin_user):
    # Appended to the chain at that moment (events are never updated).
    chain_append(
        AuditEvent(
            actor=admin_user,
            actor_label=admin_user.username,
            source="admin",
            action="admin.change",
            object_type="sessions_app.workflowsession",
            object_id="12345",
            object_repr=LONG_NAME,
            created_at=MOMENT,
        )
    )
    page = admin_client_verity.get(
        reverse("admin:sessions_app_auditevent_changelist")
    ).content.decode()
    assert "2026-12-06 06:13 UTC" in page
    assert "a.m." not in page
    assert f'title="{LONG_NAME}"' in page
    assert "sessions_app.workflowsession 12345" in page


def test_forms_and_read_only_dates_are_iso_too(admin_client_verity, session):
    # A session's dates are the provider's, read-only (docs/case-work.md);
    # a check's are editable widgets.
    check = CheckFactory(session=session, provider_created_at=MOMENT)
    page = admin_client_verity.get(
        reverse("admin:sessions_app_check_change", args=[check.pk])
    ).content.decode()
    # The date widgets: ISO date and 24-hour time, not 06/12/2026.
    assert re.search(
        r'<input [^>]*name="provider_created_at_0"[^>]*value="2026-12-06"', page
    )
    assert re.search(
        r'<input [^>]*name="provider_created_at_1"[^>]*value="06:13:42"', page
    )
    assert "/12/2026" not in page
    page = admin_client_verity.get(
        reverse("admin:sessions_app_workflowsession_change", args=[session.pk])
    ).content.decode()
    assert "/12/2026" not in page
    # A read-only date (first seen) in the ISO format of the settings.
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", page)
