"""Saved views in the REST API: a user's own views only (any other id is a
404), written through the same services as the queue's forms."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ..apis import (
    AUTHENTICATION,
    DETAIL_ERRORS,
    ERROR_400,
    ERROR_403,
    ERROR_415,
    BoundedIdLookupMixin,
)
from . import selectors, services
from .models import SavedView
from .queries import saved_view_query_clean
from .serializers import (
    SavedViewInputSerializer,
    SavedViewRenameSerializer,
    SavedViewSerializer,
)

WRITE_ERRORS = {400: ERROR_400, 403: ERROR_403, 415: ERROR_415}


class SavedViewListApi(generics.GenericAPIView):
    """Your saved views of the review queue (A→Z), or save a new one."""

    authentication_classes = AUTHENTICATION
    filter_backends: list = []
    serializer_class = SavedViewSerializer

    def get_queryset(self) -> QuerySet[SavedView]:
        return selectors.saved_view_queryset(user=self.request.user)

    @extend_schema(
        tags=["saved views"],
        operation_id="saved_views_list",
        responses={200: SavedViewSerializer(many=True), 400: ERROR_400, 403: ERROR_403},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.query_params:  # a list of at most a few views: no filters
            raise ValidationError(
                {key: ["Unknown parameter."] for key in request.query_params}
            )
        views = selectors.saved_views_for_user(user=request.user)
        return Response(self.get_serializer(views, many=True).data)

    @extend_schema(
        tags=["saved views"],
        operation_id="saved_views_create",
        request=SavedViewInputSerializer,
        responses={201: SavedViewSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = SavedViewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        query = saved_view_query_clean(
            params=QueryDict(data.validated_data["query"]),
            request=request,
            strict=True,
        )
        view = services.saved_view_create(
            user=request.user,
            name=data.validated_data["name"],
            query=query,
            source="api",
        )
        return Response(self.get_serializer(view).data, status=status.HTTP_201_CREATED)


class SavedViewDetailApi(BoundedIdLookupMixin, generics.GenericAPIView):
    """One of your saved views: read, rename (PATCH `name`), delete."""

    authentication_classes = AUTHENTICATION
    filter_backends: list = []
    serializer_class = SavedViewSerializer

    def get_queryset(self) -> QuerySet[SavedView]:
        return selectors.saved_view_queryset(user=self.request.user)

    @extend_schema(
        tags=["saved views"], responses={200: SavedViewSerializer, **DETAIL_ERRORS}
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        tags=["saved views"],
        request=SavedViewRenameSerializer,
        responses={200: SavedViewSerializer, **DETAIL_ERRORS, **WRITE_ERRORS},
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view = self.get_object()
        data = SavedViewRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        view = services.saved_view_rename(
            view=view, user=request.user, name=data.validated_data["name"], source="api"
        )
        return Response(self.get_serializer(view).data)

    @extend_schema(tags=["saved views"], responses={204: None, **DETAIL_ERRORS})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.saved_view_delete(
            view=self.get_object(), user=request.user, source="api"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
