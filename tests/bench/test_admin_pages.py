"""Measurement 6: the admin's session and audit lists, first and deep page; the
deep page is asked for the way the admin pages (a keyset cursor) and its rows
are checked against the database."""

import pytest
from django.contrib import admin

from bench import admin_pages
from sessions_app.models import AuditEvent, WorkflowSession
from tests.factories import WorkflowSessionFactory


@pytest.mark.django_db
def test_the_admin_measurement_times_a_deep_page_by_cursor(monkeypatch, capsys):
    monkeypatch.setattr(admin.site._registry[WorkflowSession], "list_per_page", 5)
    monkeypatch.setattr(admin.site._registry[AuditEvent], "list_per_page", 5)
    WorkflowSessionFactory.create_batch(25)

    figures = admin_pages.measure(repeat=2)

    assert set(figures) == {
        "sessions: first page",
        "sessions: deep page (halfway)",
        "sessions: sorted by status, last page offered",
        "audit: first page",  # too few events for a deep one
    }
    assert figures["sessions: deep page (halfway)"]["how"] == "cursor"
    assert figures["sessions: deep page (halfway)"]["queries"] >= 1
    assert all(f["stats"]["n"] == 2 for f in figures.values())
    assert "sessions: deep page (halfway)" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_deep_page_showing_other_rows_fails_the_measurement(monkeypatch):
    model_admin = admin.site._registry[WorkflowSession]
    monkeypatch.setattr(model_admin, "list_per_page", 5)
    WorkflowSessionFactory.create_batch(25)
    # An admin that ignored the cursor would show the first page again.
    monkeypatch.setattr(
        admin_pages, "_deep_query", lambda m: ({"cursor": ""}, [-1, -2])
    )
    with pytest.raises(RuntimeError, match="the database says"):
        admin_pages.measure(repeat=1)
