"""Saved views' writes: create, rename, delete; each audited, each the owner's own.

The query a view stores is cleaned by the queue's FilterSet before it comes
here (`saved_views.queries.saved_view_query_clean`, which both the pages and
the API call): services sit below the FilterSets and cannot import them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from ..exceptions import ApplicationError
from ..services import audit_event_record
from .models import SAVED_VIEW_NAME_MAX_LENGTH, SAVED_VIEW_QUERY_MAX_LENGTH, SavedView

# A hard cap per user: the queue validates and counts every view it lists,
# so the cap bounds that page's queries (docs/saved-views.md).
SAVED_VIEWS_PER_USER_MAX = 20


def _name_clean(*, user: Any, name: str, exclude_pk: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError("Give the view a name.")
    if len(name) > SAVED_VIEW_NAME_MAX_LENGTH:
        raise ApplicationError(
            f"A view's name has at most {SAVED_VIEW_NAME_MAX_LENGTH} characters "
            f"(this one has {len(name)})."
        )
    taken = SavedView.objects.filter(user=user, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ApplicationError(f"You already have a view named {name!r}.")
    return name


def _query_keys(query: str) -> list[str]:
    """The parameters a view sets, without their values: the audit trail
    keeps no personal data, and `q` may hold a client's name."""
    return sorted({part.split("=", 1)[0] for part in query.split("&") if part})


def _owned(*, view: SavedView, user: Any) -> SavedView:
    """The view, locked, if `user` owns it; the same error as a missing one otherwise."""
    locked = SavedView.objects.select_for_update().filter(pk=view.pk, user=user).first()
    if locked is None:
        raise ApplicationError("No such saved view.")
    return locked


@transaction.atomic
def saved_view_create(
    *, user: Any, name: str, query: str, source: str = "web"
) -> SavedView:
    """Save `query` (already cleaned: see the module's docstring) as `user`'s
    view `name`. Raise ApplicationError for a blank, too long or taken name
    (case ignored), a query too long, or a user at the cap."""
    if len(query) > SAVED_VIEW_QUERY_MAX_LENGTH:
        raise ApplicationError(
            f"These filters are too long to save (at most "
            f"{SAVED_VIEW_QUERY_MAX_LENGTH} characters)."
        )
    # Serialise one user's creations, so the cap holds under concurrent saves.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if SavedView.objects.filter(user=user).count() >= SAVED_VIEWS_PER_USER_MAX:
        raise ApplicationError(
            f"You have {SAVED_VIEWS_PER_USER_MAX} saved views, the most one "
            "user may keep; delete one first."
        )
    name = _name_clean(user=user, name=name)
    try:
        with transaction.atomic():
            view = SavedView.objects.create(user=user, name=name, query=query)
    except IntegrityError as exc:  # the same name saved at the same moment
        raise ApplicationError(f"You already have a view named {name!r}.") from exc
    audit_event_record(
        actor=user,
        source=source,
        action="saved_view_create",
        obj=view,
        after={"name": view.name, "filters": _query_keys(view.query)},
    )
    return view


@transaction.atomic
def saved_view_rename(
    *, view: SavedView, user: Any, name: str, source: str = "web"
) -> SavedView:
    """Rename `user`'s own view. Raise ApplicationError as `saved_view_create`
    does for the name, and for a view that is not the user's."""
    locked = _owned(view=view, user=user)
    before = locked.name
    locked.name = _name_clean(user=user, name=name, exclude_pk=locked.pk)
    try:
        with transaction.atomic():
            locked.save(update_fields=["name", "updated_at"])
    except IntegrityError as exc:
        raise ApplicationError(
            f"You already have a view named {locked.name!r}."
        ) from exc
    audit_event_record(
        actor=user,
        source=source,
        action="saved_view_rename",
        obj=locked,
        before={"name": before},
        after={"name": locked.name},
    )
    return locked


@transaction.atomic
def saved_view_delete(*, view: SavedView, user: Any, source: str = "web") -> None:
    """Delete `user`'s own view; ApplicationError for another's."""
    locked = _owned(view=view, user=user)
    audit_event_record(
        actor=user,
        source=source,
        action="saved_view_delete",
        obj=locked,
        before={"name": locked.name, "filters": _query_keys(locked.query)},
    )
    locked.delete()
