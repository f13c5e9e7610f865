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
    # A failed run in words; what the provider answered stays in the admin.
    assert "(HTTP 503)" in page
    assert "HTTP 503 from provider" not in page
    assert "status is not a string" in page
    assert "First 2000 of" in page
    assert "workflow_run.completed" in page
    assert "Partial (resumes next run)" in page
    # Sync intervals read in their largest whole unit (300 s is "5 min").
    assert "every 5 min ·" in page
    assert "every 300 s" not in page


def test_sync_page_shows_each_connections_effective_rate_limit_and_its_source(
    viewer_client, data
):
    from sessions_app.models import ProviderConnection
    from sessions_app.providers.pacing.limits import EffectiveRateLimit

    ProviderConnection.objects.filter(kind="complycube").update(
        rate_limit_per_second=None
    )
    ProviderConnection.objects.filter(kind="onfido").update(rate_limit_per_second=2.5)
    ProviderConnection.objects.filter(kind="ica").update(rate_limit_per_second=0.5)
    # Onfido's documented live limit reads as documented, per minute.
    assert EffectiveRateLimit(per_second=400 / 60, source="").wording == (
        "400 requests/min"
    )
    page = viewer_client.get(reverse("sync-status")).content.decode()

    assert "at most 2.5 requests/s" in page  # the overrides
    assert "at most 30 requests/min" in page
    # ComplyCube's documented default, and where it comes from on hover.
    assert "ComplyCube&#x27;s documented live limit" in page
    assert "at most 10 requests/s" in page


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(300, "5 min"), (3600, "1 h"), (5400, "90 min"), (45, "45 s"), (None, "")],
)
def test_sync_intervals_read_in_whole_units(seconds, shown):
    from sessions_app.templatetags.verity import interval

    assert interval(seconds) == shown


REFUSED = (
    "complycube ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): Max "
    "retries exceeded with url: /v1/checks (Caused by NewConnectionError("
    "'[Errno 111] Connection refused')) (GET /v1/checks, 4 attempts)"
)


def test_a_failing_connection_is_told_in_words_never_in_the_providers_text(
    viewer_client, admin_client_verity
):
    import datetime as dt

    from django.utils import timezone
    from django.utils.html import escape

    from sessions_app.models import SyncRun, SyncRunState
    from tests.factories import ProviderConnectionFactory, SyncRunFactory

    cube = ProviderConnectionFactory(slug="cube", display_name="ComplyCube")
    first = timezone.now().replace(hour=6, minute=21, second=0, microsecond=0)
    runs = []
    for minutes in (0, 5):
        run = SyncRunFactory(
            connection=cube,
            state=SyncRunState.FAILED,
            error=REFUSED,
            error_kind="refused",
        )
        SyncRun.objects.filter(pk=run.pk).update(
            started_at=first + dt.timedelta(minutes=minutes)
        )
        runs.append(run)

    page = viewer_client.get(reverse("sync-status")).content.decode()

    assert (
        "<strong>ComplyCube could not be reached (connection refused)</strong> since "
        f'<time datetime="{first.isoformat()}">06:21</time>'
    ) in page
    # Each run's error in words too; the stored text on no page.
    assert page.count("ComplyCube could not be reached (connection refused)") == 3
    assert escape(REFUSED) not in page
    assert "syncrun" not in page  # viewers get no link to the admin
    # Admins are pointed at the run in the admin, where the text is.
    admin_page = admin_client_verity.get(reverse("sync-status")).content.decode()
    assert escape(REFUSED) not in admin_page
    detail = reverse("admin:sessions_app_syncrun_change", args=[runs[-1].pk])
    assert f'href="{detail}"' in admin_page
    assert escape(REFUSED) in admin_client_verity.get(detail).content.decode()


def test_what_a_foreign_host_answered_never_reaches_a_viewer(viewer_client):
    """The review's case: a base URL at another host answers with its own body;
    the first part of it used to be shown to every viewer on /sync/."""
    from sessions_app.models import SyncRunState
    from tests.factories import (
        ProviderConnectionFactory,
        SyncRunFactory,
        WebhookDeliveryFactory,
    )

    body = "VISIT evil.example/phish <img src=x onerror=alert(1)> (GET /v3.6/x)"
    connection = ProviderConnectionFactory(slug="onfido", display_name="Onfido")
    SyncRunFactory(
        connection=connection,
        state=SyncRunState.FAILED,
        error=f"ProviderBadRequest: {body}",
        error_kind="bad_request",
    )
    WebhookDeliveryFactory(
        connection=connection,
        error=f"ProviderBadRequest: {body}",
        enqueue_attempts=1,
        processed_at=None,
    )

    page = viewer_client.get(reverse("sync-status")).content.decode()
    overview = viewer_client.get(reverse("overview")).content.decode()
    api = viewer_client.get(reverse("api-sync-run-list")).content.decode()

    for shown in (page, overview, api):
        assert "evil.example/phish" not in shown
    assert "Onfido rejected a request" in page
    assert "The refresh failed; the webhook run above says why." in page


def test_quarantine_shows_one_row_per_record_with_its_count_and_first_seen(
    viewer_client,
):
    import datetime as dt

    from tests.factories import QuarantinedRecordFactory

    first = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)
    QuarantinedRecordFactory(
        external_id="",
        reason="id-less and unreadable",
        seen_count=1234,
        created_at=first,
        last_seen_at=first + dt.timedelta(days=2),
    )

    page = viewer_client.get(reverse("sync-status")).content.decode()

    assert "id-less and unreadable" in page
    assert '<td class="num">1,234</td>' in page
    assert "2026-06-03 06:00" in page  # last seen, the row's "when"
    assert '<td class="nowrap">2026-06-01 06:00</td>' in page  # first seen
