"""Saved views' services: names, the cap, ownership, and their audit."""

from __future__ import annotations

import pytest

from sessions_app.exceptions import ApplicationError
from sessions_app.models import AuditEvent, SavedView
from sessions_app.saved_views import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_saves_the_query_and_audits_without_filter_values(reviewer):
    view = services.saved_view_create(
        user=reviewer, name="  My   failed ", query="q=Jane+Doe&status=failed"
    )
    assert (view.name, view.query, view.user) == (
        "My failed",
        "q=Jane+Doe&status=failed",
        reviewer,
    )
    event = AuditEvent.objects.get(action="saved_view_create")
    assert event.actor_id == reviewer.pk
    # The audit trail names the filters, never their values (a client's name).
    assert event.after == {"name": "My failed", "filters": ["q", "status"]}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the view a name."),
        ("   ", "Give the view a name."),
        ("x" * 81, "at most 80"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_is_saved(reviewer, name, message):
    with pytest.raises(ApplicationError, match=message):
        services.saved_view_create(user=reviewer, name=name, query="")
    assert not SavedView.objects.exists()
    assert not AuditEvent.objects.filter(action="saved_view_create").exists()


def test_names_are_unique_per_user_ignoring_case(reviewer):
    services.saved_view_create(user=reviewer, name="Escalations", query="")
    with pytest.raises(ApplicationError, match="already have a view named"):
        services.saved_view_create(user=reviewer, name="ESCALATIONS", query="")
    other = UserFactory(roles=["reviewer"])
    services.saved_view_create(user=other, name="Escalations", query="")  # theirs
    assert SavedView.objects.count() == 2


def test_a_user_keeps_at_most_the_cap(reviewer):
    for i in range(services.SAVED_VIEWS_PER_USER_MAX):
        services.saved_view_create(user=reviewer, name=f"v{i}", query="")
    with pytest.raises(ApplicationError, match="delete one first"):
        services.saved_view_create(user=reviewer, name="one more", query="")
    assert SavedView.objects.count() == services.SAVED_VIEWS_PER_USER_MAX


def test_rename_and_delete_are_the_owners_and_audited(reviewer):
    view = services.saved_view_create(user=reviewer, name="Old", query="")
    services.saved_view_create(user=reviewer, name="Taken", query="")
    with pytest.raises(ApplicationError, match="already have"):
        services.saved_view_rename(view=view, user=reviewer, name="taken")
    renamed = services.saved_view_rename(view=view, user=reviewer, name="New")
    assert SavedView.objects.get(pk=view.pk).name == renamed.name == "New"
    event = AuditEvent.objects.get(action="saved_view_rename")
    assert (event.before, event.after) == ({"name": "Old"}, {"name": "New"})

    stranger = UserFactory(roles=["reviewer"])
    with pytest.raises(ApplicationError, match="No such saved view"):
        services.saved_view_rename(view=view, user=stranger, name="Mine")
    with pytest.raises(ApplicationError, match="No such saved view"):
        services.saved_view_delete(view=view, user=stranger)
    assert SavedView.objects.get(pk=view.pk).name == "New"

    services.saved_view_delete(view=view, user=reviewer)
    assert not SavedView.objects.filter(pk=view.pk).exists()
    assert AuditEvent.objects.filter(action="saved_view_delete").count() == 1
