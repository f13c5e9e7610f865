"""Saved views in the API: a user's own only, through the same services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import AuditEvent, SavedView
from sessions_app.saved_views import services
from tests.factories import TagFactory, UserFactory
from tests.helpers.tokens import api_token_client

pytestmark = pytest.mark.django_db

LIST = reverse("api-saved-view-list")


def _detail(pk: int) -> str:
    return reverse("api-saved-view-detail", args=[pk])


def test_create_list_rename_delete_own_views(reviewer):
    TagFactory(name="vip")
    api = api_token_client(reviewer)
    response = api.post(
        LIST,
        {"name": "VIP failures", "query": "tag=vip&status=failed&sort=-created"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    # The default sort is left out: the same sessions in the same order.
    assert created["query"] == "status=failed&tag=vip"
    assert created["queue_url"] == "/sessions/?status=failed&tag=vip"
    assert AuditEvent.objects.filter(action="saved_view_create").count() == 1

    assert [v["name"] for v in api.get(LIST).json()] == ["VIP failures"]
    response = api.patch(
        _detail(created["id"]), {"name": "VIPs"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "VIPs"
    assert api.delete(_detail(created["id"])).status_code == 204
    assert not SavedView.objects.exists()


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("status=nope", "Status:"),
        ("tag=no-such-tag", "Tag:"),
        ("sort=colour", "Sort: unknown order"),
        ("page_size=100", "page_size: not a filter of the queue."),
    ],
)
def test_a_bad_query_is_a_400_and_nothing_is_saved(reviewer, query, problem):
    response = api_token_client(reviewer).post(
        LIST, {"name": "Bad", "query": query}, content_type="application/json"
    )
    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert not SavedView.objects.exists()


def test_a_taken_name_is_a_400(reviewer):
    services.saved_view_create(user=reviewer, name="Mine", query="")
    response = api_token_client(reviewer).post(
        LIST, {"name": "mine", "query": ""}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "already have a view named" in response.json()["detail"]


def test_another_users_views_are_a_404_and_never_listed(reviewer):
    stranger = UserFactory(roles=["reviewer"])
    theirs = services.saved_view_create(user=stranger, name="Theirs", query="")
    api = api_token_client(reviewer)
    assert api.get(LIST).json() == []
    assert api.get(_detail(theirs.pk)).status_code == 404
    response = api.patch(
        _detail(theirs.pk), {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert api.delete(_detail(theirs.pk)).status_code == 404
    assert SavedView.objects.get(pk=theirs.pk).name == "Theirs"


def test_the_list_takes_no_parameters(reviewer):
    response = api_token_client(reviewer).get(f"{LIST}?status=failed")
    assert response.status_code == 400
