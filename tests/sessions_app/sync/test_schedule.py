"""What is due and what to re-poll (`sync.schedule`)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sessions_app.models import (
    ProviderConnection,
    SyncTrigger,
    WorkflowSession,
)
from sessions_app.sync import engine as sync
from sessions_app.sync import schedule
from tests.sessions_app.fake_provider import fake_provider_install

pytestmark = pytest.mark.django_db


def test_unfinished_sessions_are_handed_to_the_adapter_least_recently_synced_first(
    monkeypatch,
):
    provider, connection = fake_provider_install(monkeypatch)
    provider.add("done", status="approved")
    provider.add("open-a", status="processing")
    provider.add("open-b", status="awaiting_input")
    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)
    WorkflowSession.objects.filter(external_id="open-b").update(
        last_synced_at=timezone.now() - dt.timedelta(hours=1)
    )

    sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert provider.calls[-1]["refresh_ids"] == ["open-b", "open-a"]


def test_connections_due_respects_interval_enabled_and_lease():
    now = timezone.now()

    def make(slug, **fields):
        return ProviderConnection.objects.create(
            slug=slug,
            kind="onfido",
            display_name=slug,
            base_url="https://x.test",
            credential_env="X",
            **fields,
        )

    never = make("never")
    elapsed = make(
        "elapsed",
        sync_interval_seconds=60,
        last_sync_started_at=now - dt.timedelta(seconds=61),
    )
    make(
        "recent",
        sync_interval_seconds=60,
        last_sync_started_at=now - dt.timedelta(seconds=10),
    )
    make("off", enabled=False)
    make("leased", lock_token="t", lock_expires_at=now + dt.timedelta(minutes=1))
    expired = make(
        "expired-lease", lock_token="t", lock_expires_at=now - dt.timedelta(minutes=1)
    )

    assert sorted(schedule.connections_due(now=now)) == sorted(
        [never.pk, elapsed.pk, expired.pk]
    )


def test_refresh_ids_include_unfinished_and_onfido_review_runs_but_not_final_ones():
    from tests.factories import ProviderConnectionFactory, WorkflowSessionFactory

    onfido = ProviderConnectionFactory(kind="onfido", slug="onfido-refresh")
    cube = ProviderConnectionFactory(kind="complycube", slug="cube-refresh")
    WorkflowSessionFactory(
        connection=onfido,
        external_id="running",
        status="in_progress",
        raw_status="processing",
    )
    WorkflowSessionFactory(
        connection=onfido,
        external_id="in-review",
        status="completed",
        raw_status="review",
    )
    WorkflowSessionFactory(
        connection=onfido,
        external_id="approved",
        status="completed",
        raw_status="approved",
    )
    # `review` means nothing special at ComplyCube: a completed session there is final.
    WorkflowSessionFactory(
        connection=cube, external_id="cc-done", status="completed", raw_status="review"
    )
    assert sorted(schedule.refresh_ids(onfido)) == ["in-review", "running"]
    assert schedule.refresh_ids(cube) == []


def test_the_rotation_indexes_cover_every_providers_rotation():
    """The partial indexes of the two rotations are defined by the raw
    statuses a person may still change; the sync's query for each provider
    must imply their condition, or PostgreSQL cannot use them."""
    from sessions_app.models.sessions import ROTATION_RAW_STATUSES
    from sessions_app.normalization import reopenable_raw_statuses
    from sessions_app.vocabulary import ProviderKind

    every_kind = set().union(*(reopenable_raw_statuses(k) for k in ProviderKind.values))
    assert set(ROTATION_RAW_STATUSES) == every_kind


def test_known_versions_answer_the_stored_markers_of_this_connection_only():
    """What the adapters skip as unchanged: a session's stored change marker,
    never one of another connection, an empty marker, or a session whose
    children are due (`not_known`); asked in chunks, ids bound as text."""
    from sessions_app.sync import values
    from tests.factories import ProviderConnectionFactory, WorkflowSessionFactory

    mine = ProviderConnectionFactory(kind="onfido")
    other = ProviderConnectionFactory(kind="onfido", slug="onfido-other")
    assert other.pk != mine.pk
    WorkflowSessionFactory(connection=mine, external_id="a", source_version="v1")
    WorkflowSessionFactory(connection=mine, external_id="b", source_version="")
    WorkflowSessionFactory(connection=mine, external_id="c", source_version="v3")
    WorkflowSessionFactory(connection=mine, external_id="7", source_version="v7")
    WorkflowSessionFactory(connection=other, external_id="d", source_version="v4")
    many = [f"s{i}" for i in range(values.LOOKUP_CHUNK + 5)]
    for external_id in many[-3:]:
        WorkflowSessionFactory(
            connection=mine, external_id=external_id, source_version=external_id
        )

    known = schedule.known_versions_for(mine, not_known=["c"])
    assert known(["a", "b", "c", "d", "zz", None, 7, "a", "a\x00"]) == {
        "a": "v1",
        "7": "v7",
    }
    assert known(many) == {i: i for i in many[-3:]}
    assert known([]) == {}
