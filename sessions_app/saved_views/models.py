"""SavedView: one user's named filters and sort on the review queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

# A name is short enough for a button; a query long enough for every filter.
SAVED_VIEW_NAME_MAX_LENGTH = 80
SAVED_VIEW_QUERY_MAX_LENGTH = 2000


class SavedView(models.Model):
    """A user's named queue: the filters and sort of `/sessions/` as a query
    string, cleaned by the queue's FilterSet before it is stored
    (`saved_views.queries`). Written only by `saved_views.services` (audited);
    visible only to its owner. Names are unique per user, ignoring case.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=SAVED_VIEW_NAME_MAX_LENGTH)
    # The canonical query string: filters and `sort`, keys A→Z, no blanks,
    # no cursor or page size (docs/saved-views.md).
    query = models.CharField(max_length=SAVED_VIEW_QUERY_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", Lower("name"), "id"]
        constraints = [
            models.UniqueConstraint(
                "user", Lower("name"), name="saved_view_user_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name
