"""`RowListSerializer` gives exactly DRF's own representation, only faster."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from sessions_app import selectors
from sessions_app.models import Status, TagKind
from sessions_app.row_serializers import RowListSerializer
from sessions_app.serializers import CheckSerializer, SessionSerializer
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    TagFactory,
    UserFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_():
    return Request(APIRequestFactory().get("/api/v1/sessions/"))


@pytest.fixture
def drf_lists(monkeypatch):
    """Make every RowListSerializer represent rows with DRF's own ListSerializer."""

    def use_drf():
        monkeypatch.setattr(
            RowListSerializer,
            "to_representation",
            serializers.ListSerializer.to_representation,
        )

    return use_drf


def _sessions_of_every_shape():
    reviewer = UserFactory(username="officer-ä")
    linked = ProviderClientFactory(
        client=ClientFactory(display_name="Zoë Ñandú", reference="REF-1"),
        name="Zoë N.",
    )
    unlinked = ProviderClientFactory(client=None, name="")
    vip = TagFactory(name="vip", kind=TagKind.USER)
    technical = TagFactory(name="api", kind=TagKind.TECHNICAL)
    precise = dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)
    rows = [
        WorkflowSessionFactory(
            provider_client=linked,
            assignee=reviewer,
            last_decision="approved",
            last_decision_at=precise,
            dashboard_url="https://dashboard.example/run/1",
            started_at=precise,
            completed_at=precise + dt.timedelta(hours=1),
        ),
        WorkflowSessionFactory(provider_client=unlinked, dashboard_url=""),
        WorkflowSessionFactory(provider_client=None, workflow_name="", outcome=""),
        WorkflowSessionFactory(raw_status="weird <word>", status=Status.UNKNOWN),
    ]
    rows[0].tags.add(vip, technical)
    rows[3].tags.add(vip)
    return rows


def _api_rows(queryset):
    return list(queryset.order_by("id"))


def test_session_rows_equal_drfs_own(request_, drf_lists):
    _sessions_of_every_shape()
    context = {"request": request_}
    ours = SessionSerializer(
        _api_rows(selectors.session_api_list_queryset()), many=True, context=context
    ).data
    drf_lists()
    theirs = SessionSerializer(
        _api_rows(selectors.session_api_list_queryset()), many=True, context=context
    ).data
    assert ours == theirs
    assert [len(row["tags"]) for row in ours] == [2, 0, 0, 1]
    # Tags in the same order everywhere: kind ("technical" before "user"), name.
    assert [tag["name"] for tag in ours[0]["tags"]] == ["api", "vip"]
    assert ours[0]["last_decision_at"] == "2026-03-04T05:06:07.891011Z"
    assert ours[2]["provider_client_name"] is None
    assert ours[1]["dashboard_url"] is None


def test_tags_fall_back_to_the_relation_without_the_row_prefetch(request_):
    _sessions_of_every_shape()
    context = {"request": request_}
    listed = SessionSerializer(
        _api_rows(selectors.session_api_list_queryset()), many=True, context=context
    ).data
    related = SessionSerializer(
        _api_rows(selectors.session_list_queryset()), many=True, context=context
    ).data
    assert [row["tags"] for row in listed] == [row["tags"] for row in related]


def test_values_set_in_python_are_represented_as_drf_does(request_, drf_lists):
    """Enum members, naive and non-UTC datetimes, and a missing relation take
    DRF's own path, with DRF's result."""
    session = WorkflowSessionFactory(provider_client=None)
    session.status = Status.COMPLETED
    session.provider_created_at = dt.datetime(2026, 1, 2, 3, 4, 5)  # naive
    session.provider_updated_at = dt.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")
    )
    context = {"request": request_}
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        ours = SessionSerializer([session], many=True, context=context).data
        drf_lists()
        theirs = SessionSerializer([session], many=True, context=context).data
    assert ours == theirs
    assert ours[0]["status"] == "completed"
    assert ours[0]["provider_updated_at"] == "2026-01-01T21:04:05-05:00"


def test_check_rows_equal_drfs_own(request_, drf_lists):
    linked, _, without_client, _ = _sessions_of_every_shape()
    CheckFactory.create_batch(3, session=linked, connection=linked.connection)
    CheckFactory(session=without_client, connection=without_client.connection)
    context = {"request": request_}
    rows = list(selectors.check_queryset().order_by("id"))
    ours = CheckSerializer(rows, many=True, context=context).data
    drf_lists()
    assert ours == CheckSerializer(rows, many=True, context=context).data
    assert len(ours) == 4


def test_a_field_default_or_source_error_behaves_as_in_drf(drf_lists):
    class Row:
        name = "x"
        count = "7"

    class RowSerializer(serializers.Serializer):
        name = serializers.CharField()
        count = serializers.IntegerField()
        missing = serializers.CharField(default="fallback")
        absent = serializers.CharField(required=False)
        nullable = serializers.CharField(source="nothing.here", allow_null=True)

        class Meta:
            list_serializer_class = RowListSerializer

    ours = RowSerializer([Row()], many=True).data
    drf_lists()
    theirs = RowSerializer([Row()], many=True).data
    assert (
        ours
        == theirs
        == [{"name": "x", "count": 7, "missing": "fallback", "nullable": None}]
    )


def test_a_row_serializer_with_its_own_representation_keeps_it():
    class Row:
        name = "x"

    class Shouting(serializers.Serializer):
        name = serializers.CharField()

        class Meta:
            list_serializer_class = RowListSerializer

        def to_representation(self, instance):
            return {"name": instance.name.upper()}

    assert Shouting([Row()], many=True).data == [{"name": "X"}]
