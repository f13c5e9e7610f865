"""The sync health page (views/sync.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]


def test_sync_page_shows_runs_unknown_values_quarantine_and_webhooks(
    viewer_client, data
):
    page = viewer_client.get(reverse("sync-status")).content.decode()
    for name in ("Onfido EU", "ComplyCube", "Illumina ICA lab"):
        assert name in page
    assert "SOMETHING_NEW" in page
    assert "HTTP 503 from provider" in page
    assert "status is not a string" in page
    assert "First 2000 of" in page
    assert "workflow_run.completed" in page
    assert "Partial (resumes next run)" in page
    # Sync intervals read in their largest whole unit (300 s is "5 min").
    assert "every 5 min ·" in page
    assert "every 300 s" not in page


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(300, "5 min"), (3600, "1 h"), (5400, "90 min"), (45, "45 s"), (None, "")],
)
def test_sync_intervals_read_in_whole_units(seconds, shown):
    from sessions_app.templatetags.verity import interval

    assert interval(seconds) == shown
