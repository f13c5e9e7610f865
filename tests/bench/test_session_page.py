"""Measurement 9: the session page, as synced and with an override awaiting
approval; the case work it makes for the second is rolled back."""

import pytest

from bench import session_page
from sessions_app.models import Approval, AuditEvent, WorkflowSession
from tests.factories import CheckFactory, WorkflowSessionFactory


@pytest.mark.django_db
def test_the_session_page_is_timed_as_synced_and_awaiting_approval(capsys):
    WorkflowSessionFactory.create_batch(2, outcome="attention")
    session = WorkflowSessionFactory(outcome="clear", raw_outcome="clear")
    CheckFactory.create_batch(3, session=session)
    events_before = AuditEvent.objects.count()
    state_before = session.case_state

    figures = session_page.measure(repeat=2)

    assert figures["session"] == session.pk
    pages = {label: f for label, f in figures.items() if isinstance(f, dict)}
    assert set(pages) == {
        "session page (3 checks)",
        "session page (override awaiting approval, escalated case)",
    }
    assert all(f["queries"] >= 1 and f["stats"]["n"] == 2 for f in pages.values())
    # Nothing of the second state is left behind.
    assert not Approval.objects.exists()
    assert AuditEvent.objects.count() == events_before
    assert WorkflowSession.objects.get(pk=session.pk).case_state == state_before
    assert len(session_page.targets(figures)) == 2
    assert "awaiting approval" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_page_that_does_not_show_what_is_measured_fails_the_measurement(
    monkeypatch,
):
    session = WorkflowSessionFactory(outcome="clear", raw_outcome="clear")
    CheckFactory.create_batch(3, session=session)
    real_page = session_page._page

    def page_expecting_other_words(browser, label, path, repeat, *, shows=""):
        if shows:
            shows = "words no page shows"
        return real_page(browser, label, path, repeat, shows=shows)

    monkeypatch.setattr(session_page, "_page", page_expecting_other_words)
    with pytest.raises(RuntimeError, match="does not show"):
        session_page.measure(repeat=1)
