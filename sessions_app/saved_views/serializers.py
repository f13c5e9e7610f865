"""The API's shapes of a saved view."""

from __future__ import annotations

from rest_framework import serializers

from .models import SAVED_VIEW_NAME_MAX_LENGTH, SAVED_VIEW_QUERY_MAX_LENGTH, SavedView
from .queries import saved_view_url


class SavedViewSerializer(serializers.ModelSerializer):
    """A saved view: its name, its query and the queue page that lists it."""

    queue_url = serializers.SerializerMethodField(
        help_text="The review queue filtered and sorted by this view."
    )

    class Meta:
        model = SavedView
        fields = ["id", "name", "query", "queue_url", "created_at", "updated_at"]
        read_only_fields = fields

    def get_queue_url(self, view: SavedView) -> str:
        return saved_view_url(view)


class SavedViewInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=SAVED_VIEW_NAME_MAX_LENGTH, help_text="Unique among your views."
    )
    query = serializers.CharField(
        max_length=SAVED_VIEW_QUERY_MAX_LENGTH,
        allow_blank=True,
        default="",
        help_text="The queue's filters and sort as a query string, as "
        "/api/v1/sessions/ takes them (e.g. 'status=failed&sort=-created'); "
        "every filter is validated.",
    )


class SavedViewRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=SAVED_VIEW_NAME_MAX_LENGTH)
