"""The /sync/ page's admin actions: release a connection's lease, sync it now
(views/sync.py, services.connection_lease_force_release and
connection_sync_request_record, tasks.sync_now_enqueue)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from sessions_app import tasks
from sessions_app.models import AuditEvent, ProviderConnection, SyncRun
from sessions_app.sync import lease
from tests.helpers.sync import sessions_populate
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]


@pytest.fixture
def leased(monkeypatch):
    """A connection whose lease a live run holds (for a minute)."""
    provider, connection = fake_provider_install(monkeypatch)
    sessions_populate(provider, 4)
    token = lease.connection_lease_acquire(connection_id=connection.pk, ttl_seconds=60)
    return connection, token


def _urls(connection: ProviderConnection) -> tuple[str, str]:
    return (
        reverse("sync-lease-release", args=[connection.pk]),
        reverse("sync-now", args=[connection.pk]),
    )


def test_admins_see_the_lease_and_both_buttons(admin_client_verity, leased):
    connection, _ = leased
    page = admin_client_verity.get(reverse("sync-status")).content.decode()
    release, now = _urls(connection)
    assert "a sync holds the lease until" in page
    assert f'action="{release}"' in page
    assert f'action="{now}"' in page


def test_without_a_lease_there_is_nothing_to_release(admin_client_verity, monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    ProviderConnection.objects.filter(pk=connection.pk).update(
        lock_token="dead", lock_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    page = admin_client_verity.get(reverse("sync-status")).content.decode()
    release, now = _urls(connection)
    assert f'action="{release}"' not in page  # an expired lease is free already
    assert f'action="{now}"' in page


@pytest.mark.parametrize("who", ["viewer_client", "reviewer_client", "exporter_client"])
def test_non_admins_see_no_buttons_and_get_403(request, who, leased):
    client = request.getfixturevalue(who)
    connection, token = leased
    page = client.get(reverse("sync-status")).content.decode()
    release, now = _urls(connection)
    assert release not in page
    assert now not in page
    assert "Sync now" not in page
    assert client.post(release).status_code == 403
    assert client.post(now).status_code == 403
    connection.refresh_from_db()
    assert connection.lock_token == token
    assert not SyncRun.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="sync.").exists()


def test_an_admin_releases_a_lease_audited(admin_client_verity, admin_user, leased):
    connection, _ = leased
    release, _ = _urls(connection)

    response = admin_client_verity.post(release, follow=True)

    assert response.redirect_chain == [(reverse("sync-status"), 302)]
    assert "sync lease released" in response.content.decode()
    connection.refresh_from_db()
    assert (connection.lock_token, connection.lock_expires_at) == ("", None)
    event = AuditEvent.objects.get(action="sync.lease_release")
    assert event.actor == admin_user
    assert event.source == "web"
    assert event.object_id == str(connection.pk)
    assert event.before["held"] is True


def test_releasing_a_free_lease_says_so(admin_client_verity, monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    release, _ = _urls(connection)
    response = admin_client_verity.post(release, follow=True)
    assert "no sync held the lease" in response.content.decode()


def test_an_admin_starts_a_sync_now_audited(
    admin_client_verity, admin_user, monkeypatch
):
    provider, connection = fake_provider_install(monkeypatch)
    sessions_populate(provider, 4)
    _, now = _urls(connection)

    # Tests run tasks eagerly: the queued sync runs inside the request.
    response = admin_client_verity.post(now, follow=True)

    assert "sync queued" in response.content.decode()
    run = SyncRun.objects.get()
    assert (run.trigger, run.state) == ("manual", "succeeded")
    event = AuditEvent.objects.get(action="sync.request")
    assert event.actor == admin_user
    assert event.after["connection"] == connection.slug


def test_sync_now_with_the_broker_down_says_so_and_starts_nothing(
    admin_client_verity, monkeypatch
):
    _, connection = fake_provider_install(monkeypatch)
    _, now = _urls(connection)

    def broker_down(*args, **kwargs):
        raise OperationalError(
            "Error 111 connecting to localhost:6379. Connection refused."
        )

    monkeypatch.setattr(tasks.sync_connection, "apply_async", broker_down)
    response = admin_client_verity.post(now, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "the sync was not started" in page
    assert "could not be reached" in page
    assert "Connection refused" in page
    assert not SyncRun.objects.exists()
    assert not AuditEvent.objects.filter(action="sync.request").exists()


def test_the_actions_need_post_and_a_csrf_token(admin_user, leased):
    connection, token = leased
    release, now = _urls(connection)
    client = DjangoClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get(release).status_code == 405
    assert client.get(now).status_code == 405
    assert client.post(release).status_code == 403
    assert client.post(now).status_code == 403
    connection.refresh_from_db()
    assert connection.lock_token == token


def test_an_unknown_connection_is_404(admin_client_verity):
    assert admin_client_verity.post(reverse("sync-now", args=[999])).status_code == 404


def test_an_interrupted_run_reads_in_words(viewer_client, monkeypatch):
    _, connection = fake_provider_install(monkeypatch)
    SyncRun.objects.create(
        connection=connection,
        state="interrupted",
        error_kind="interrupted",
        error="Interrupted (stopped by SIGTERM) after 3 page(s); the next run resumes "
        "from the last committed page.",
        finished_at=timezone.now(),
    )
    page = viewer_client.get(reverse("sync-status")).content.decode()
    assert "Interrupted (resumes next run)" in page
    assert "sync was interrupted before it finished" in page
