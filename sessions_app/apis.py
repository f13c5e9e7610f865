"""REST API for internal tools, under /api/v1/ (DRF).

Thin views: each reads one selector (`get_queryset`) or calls one service, and
filters with the same FilterSet as the pages and the CSV exports (so the filter
names and meanings are identical everywhere).

Pagination is keyset ("cursor") pagination on a unique order, the one the
review queue uses: sessions by the queue's `sort` (default: provider created,
newest first), ties broken by creation date, then id. It reuses the queue's
`KeysetPaginator`, so an API page and a queue page of the same size hold the same rows, and so do the
CSV exports (`selectors.session_sort_ordering`). No COUNT, no OFFSET: the
thousandth page costs what the first does. Responses are
`{"next": url|null, "previous": url|null, "results": [...]}`, like DRF's
CursorPagination; `page_size` (default 50) is capped at 500.

A list refuses a query parameter it does not accept (a 400 naming the ones it
does) rather than ignoring it: an ignored filter would return every row. A
blank value of a filter it accepts leaves that filter unset, as on the queue
(filter_fields.BlankIsUnsetFilterSet); the schema says so.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as FormValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import generics
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings

from . import selectors
from .access.tokens.authentication import ApiTokenAuthentication
from .api_masking import PersonalDataMaskedMixin
from .api_pagination import KeysetCursorPagination, schema_parameter_allow_blank
from .client_filters import ClientFilterSet
from .client_serializers import ClientDetailSerializer, ClientSerializer
from .filter_fields import BLANK_IS_UNSET, BLANK_ITEMS_IGNORED, filter_is_list
from .filters import (
    CheckFilterSet,
    SessionFilterSet,
    SyncRunFilterSet,
    filterset_parameters,
    parameters_unknown,
    unknown_parameter_message,
)
from .forms import SORT_PARAM, session_sort_clean
from .models import Client, WorkflowSession
from .pagination import MAX_ID
from .serializers import (
    CheckDetailSerializer,
    CheckSerializer,
    SessionDetailSerializer,
    SessionSerializer,
    SyncRunSerializer,
)

# How many of a client's newest sessions its detail lists inline.
CLIENT_DETAIL_SESSIONS = 50
# Ids are BIGINT: a longer number in a URL or a cursor is "not found" or
# "invalid", never a database overflow.


# --- Shared schema pieces ---------------------------------------------------------------

ERROR_400 = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid input: an object mapping each bad parameter or field to its "
    "errors, or `{detail}` for a rule the service enforces.",
)
ERROR_403 = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Not logged in, or role too low."
)
ERROR_404 = OpenApiResponse(OpenApiTypes.OBJECT, description="No such object.")
ERROR_415 = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="The body's media type is not one of those documented, or is malformed.",
)
LIST_ERRORS = {400: ERROR_400, 403: ERROR_403}
DETAIL_ERRORS = {403: ERROR_403, 404: ERROR_404}


class BoundedIdLookupMixin:
    """Answer 404 for a URL id beyond BIGINT instead of letting the database fail."""

    def get_object(self) -> Any:
        if self.kwargs["pk"] > MAX_ID:
            raise NotFound()
        return super().get_object()


# Token first: its challenge (`WWW-Authenticate: Token`) makes a missing or bad
# token a 401 rather than the 403 that session authentication alone would give.
# Tokens are Verity's API tokens (django-rest-knox; access/tokens/).
AUTHENTICATION = [ApiTokenAuthentication, SessionAuthentication]


class KnownParametersFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing a query parameter the list does not accept.

    Allowed are the FilterSet's filters and the view's `query_options()`; any
    other name is a 400 `{"<name>": ["Unknown parameter. Allowed parameters:
    ..."]}`. A bad value of a known filter stays the FilterSet's own 400.
    """

    def filter_queryset(
        self, request: Request, queryset: QuerySet, view: Any
    ) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            allowed = filterset_parameters(
                filterset_class, options=view.query_options()
            )
            unknown = parameters_unknown(request.query_params, allowed=allowed)
            if unknown:
                message = unknown_parameter_message(allowed)
                raise ValidationError({name: [message] for name in unknown})
        return super().filter_queryset(request, queryset, view)


class KnownParametersFilterExtension(DjangoFilterExtension):
    """drf-spectacular's django-filter schema, saying what a blank value means.

    Each filter is documented with `allowEmptyValue` and a sentence: a blank
    value leaves it unset (`filter_fields.BlankIsUnsetFilterSet`), as on the queue
    and in the CSV exports.
    """

    target_class = KnownParametersFilterBackend
    priority = 1

    def get_schema_operation_parameters(
        self, auto_schema: Any, *args: Any, **kwargs: Any
    ) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(
            auto_schema, *args, **kwargs
        )
        filterset_class = auto_schema.view.filterset_class
        for parameter in parameters:
            filter_ = filterset_class.base_filters[parameter["name"]]
            blank = BLANK_ITEMS_IGNORED if filter_is_list(filter_) else BLANK_IS_UNSET
            schema_parameter_allow_blank(
                parameter, blank.format(name=parameter["name"])
            )
        return parameters


class ListApi(PersonalDataMaskedMixin, generics.ListAPIView):
    authentication_classes = AUTHENTICATION
    pagination_class = KeysetCursorPagination
    filter_backends = [KnownParametersFilterBackend]
    keyset_sort: str = "-id"
    # Parameters the list reads besides its filters and pagination.
    extra_query_options: tuple[str, ...] = ()

    def get_keyset_sort(self) -> str:
        """Return the field the pages are ordered by ("-" for descending)."""
        return self.keyset_sort

    def query_options(self) -> list[str]:
        """Return the accepted parameters that are not filters: pagination,
        DRF's format override, and `extra_query_options`."""
        paginator = self.paginator
        options = [paginator.cursor_query_param, paginator.page_size_query_param]
        if api_settings.URL_FORMAT_OVERRIDE:
            options.append(api_settings.URL_FORMAT_OVERRIDE)
        return [*options, *self.extra_query_options]


class DetailApi(
    PersonalDataMaskedMixin, BoundedIdLookupMixin, generics.RetrieveAPIView
):
    authentication_classes = AUTHENTICATION
    # A query string never narrows a detail lookup.
    filter_backends: list = []


# --- Sessions --------------------------------------------------------------------------


@extend_schema(
    tags=["sessions"],
    responses={200: SessionSerializer(many=True), **LIST_ERRORS},
    parameters=[
        OpenApiParameter(
            SORT_PARAM,
            OpenApiTypes.STR,
            enum=list(selectors.SESSION_SORT_VALUES),
            description="Blank means the default.\n\n"
            "The review queue's order: a column, '-' first for "
            f"descending; ties by creation date, then id (default `{selectors.SESSION_DEFAULT_SORT}`).",
        )
    ],
)
class SessionListApi(ListApi):
    """Sessions in review-queue order, filtered with the queue's filters."""

    serializer_class = SessionSerializer
    filterset_class = SessionFilterSet
    extra_query_options = (SORT_PARAM,)
    keyset_tie_field = selectors.SESSION_TIE_FIELD

    def get_queryset(self) -> QuerySet[WorkflowSession]:
        return selectors.session_api_list_queryset()

    def get_keyset_sort(self) -> str:
        """Return the field of the queue's `sort` parameter; 400 for an unknown one."""
        try:
            sort = session_sort_clean(self.request.query_params.get(SORT_PARAM))
        except FormValidationError as exc:
            raise ValidationError({SORT_PARAM: exc.messages}) from exc
        return selectors.session_sort_ordering(sort)[0]


@extend_schema(
    tags=["sessions"], responses={200: SessionDetailSerializer, **DETAIL_ERRORS}
)
class SessionDetailApi(DetailApi):
    """One session with its checks, tags, policy assurance, reviews and client."""

    serializer_class = SessionDetailSerializer

    def get_queryset(self) -> QuerySet[WorkflowSession]:
        return selectors.session_detail_queryset()


# --- Checks ------------------------------------------------------------------------------


@extend_schema(
    tags=["checks"], responses={200: CheckSerializer(many=True), **LIST_ERRORS}
)
class CheckListApi(ListApi):
    """Checks, newest session first (the checks CSV's order)."""

    serializer_class = CheckSerializer
    filterset_class = CheckFilterSet
    keyset_sort = selectors.CHECK_QUEUE_ORDERING[0]

    def get_queryset(self) -> QuerySet:
        return selectors.check_queryset().defer("raw_payload", "breakdown")


@extend_schema(tags=["checks"], responses={200: CheckDetailSerializer, **DETAIL_ERRORS})
class CheckDetailApi(DetailApi):
    serializer_class = CheckDetailSerializer

    def get_queryset(self) -> QuerySet:
        return selectors.check_queryset().defer("raw_payload")


# --- Clients -----------------------------------------------------------------------------


@extend_schema(
    tags=["clients"], responses={200: ClientSerializer(many=True), **LIST_ERRORS}
)
class ClientListApi(ListApi):
    """Clients by display name, filtered like the client directory."""

    serializer_class = ClientSerializer
    filterset_class = ClientFilterSet
    keyset_sort = "display_name"

    def get_queryset(self) -> QuerySet[Client]:
        return selectors.client_directory_queryset()


@extend_schema(
    tags=["clients"], responses={200: ClientDetailSerializer, **DETAIL_ERRORS}
)
class ClientDetailApi(DetailApi):
    """A client, its provider identities and its newest sessions (bounded)."""

    serializer_class = ClientDetailSerializer

    def get_queryset(self) -> QuerySet[Client]:
        return selectors.client_with_identities_queryset()

    def get_object(self) -> Client:
        client = super().get_object()
        client.recent_sessions, client.recent_sessions_truncated = (
            selectors.client_recent_sessions(
                client_id=client.pk, limit=CLIENT_DETAIL_SESSIONS
            )
        )
        return client


# --- Sync runs ---------------------------------------------------------------------------


@extend_schema(
    tags=["sync"], responses={200: SyncRunSerializer(many=True), **LIST_ERRORS}
)
class SyncRunListApi(ListApi):
    """Sync runs, newest first."""

    serializer_class = SyncRunSerializer
    filterset_class = SyncRunFilterSet
    keyset_sort = "-started_at"

    def get_queryset(self) -> QuerySet:
        return selectors.sync_run_queryset()


@extend_schema(tags=["sync"], responses={200: SyncRunSerializer, **DETAIL_ERRORS})
class SyncRunDetailApi(DetailApi):
    serializer_class = SyncRunSerializer

    def get_queryset(self) -> QuerySet:
        return selectors.sync_run_queryset()


# --- Documentation ---------------------------------------------------------------------


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI served from this site (drf-spectacular-sidecar), CSP-clean.

    The split view loads its start-up script from this same URL (`?script`),
    so `script-src 'self'` suffices; the template has no inline style.
    """

    template_name = "api/swagger_ui.html"


api_docs = login_required(ApiDocsView.as_view(url_name="api-schema"))
