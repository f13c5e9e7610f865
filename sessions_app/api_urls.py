"""REST API under /api/: v1 resources, the OpenAPI schema and its docs page."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import api_errors, api_index, apis, apis_retention
from .cases import apis as case_apis
from .cases import apis_work
from .saved_views import apis as saved_view_apis
from .views.reveal import ClientRevealApi, SessionRevealApi

urlpatterns = [
    path("v1/", api_index.ApiRootView.as_view(), name="api-root"),
    path("v1/sessions/", apis.SessionListApi.as_view(), name="api-session-list"),
    path(
        "v1/sessions/bulk/",
        apis_work.SessionsBulkApi.as_view(),
        name="api-sessions-bulk",
    ),
    path(
        "v1/sessions/<int:pk>/notes/",
        apis_work.SessionNotesApi.as_view(),
        name="api-session-notes",
    ),
    path(
        "v1/clients/<int:pk>/notes/",
        apis_work.ClientNotesApi.as_view(),
        name="api-client-notes",
    ),
    path(
        "v1/sessions/<int:pk>/",
        apis.SessionDetailApi.as_view(),
        name="api-session-detail",
    ),
    path(
        "v1/sessions/<int:pk>/reviews/",
        case_apis.SessionReviewCreateApi.as_view(),
        name="api-session-reviews",
    ),
    path(
        "v1/sessions/<int:pk>/reveal/",
        SessionRevealApi.as_view(),
        name="api-session-reveal",
    ),
    path(
        "v1/clients/<int:pk>/reveal/",
        ClientRevealApi.as_view(),
        name="api-client-reveal",
    ),
    path(
        "v1/sessions/<int:pk>/reopen/",
        case_apis.CaseReopenApi.as_view(),
        name="api-case-reopen",
    ),
    path(
        "v1/sessions/<int:pk>/resume/",
        case_apis.CaseResumeApi.as_view(),
        name="api-case-resume",
    ),
    path(
        "v1/sessions/<int:pk>/override/",
        case_apis.SessionOverrideCreateApi.as_view(),
        name="api-session-override",
    ),
    path(
        "v1/sessions/<int:pk>/override/withdraw/",
        case_apis.SessionOverrideWithdrawApi.as_view(),
        name="api-session-override-withdraw",
    ),
    path(
        "v1/approvals/<int:pk>/",
        case_apis.ApprovalDetailApi.as_view(),
        name="api-approval-detail",
    ),
    path(
        "v1/approvals/<int:pk>/approve/",
        case_apis.ApprovalApproveApi.as_view(),
        name="api-approval-approve",
    ),
    path(
        "v1/approvals/<int:pk>/send-back/",
        case_apis.ApprovalSendBackApi.as_view(),
        name="api-approval-send-back",
    ),
    path(
        "v1/saved-views/",
        saved_view_apis.SavedViewListApi.as_view(),
        name="api-saved-view-list",
    ),
    path(
        "v1/saved-views/<int:pk>/",
        saved_view_apis.SavedViewDetailApi.as_view(),
        name="api-saved-view-detail",
    ),
    path("v1/checks/", apis.CheckListApi.as_view(), name="api-check-list"),
    path("v1/checks/<int:pk>/", apis.CheckDetailApi.as_view(), name="api-check-detail"),
    path("v1/clients/", apis.ClientListApi.as_view(), name="api-client-list"),
    path(
        "v1/clients/<int:pk>/", apis.ClientDetailApi.as_view(), name="api-client-detail"
    ),
    path(
        "v1/clients/<int:pk>/retention/",
        apis_retention.ClientRetentionApi.as_view(),
        name="api-client-retention",
    ),
    path(
        "v1/clients/<int:pk>/erasure-requests/",
        apis_retention.ClientErasureRequestApi.as_view(),
        name="api-client-erasure-requests",
    ),
    path("v1/sync-runs/", apis.SyncRunListApi.as_view(), name="api-sync-run-list"),
    path(
        "v1/sync-runs/<int:pk>/",
        apis.SyncRunDetailApi.as_view(),
        name="api-sync-run-detail",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", apis.api_docs, name="api-docs"),
    # Last, matching any path (an empty regex is found in every string): every
    # other path under /api/ is a JSON 404, not Django's HTML page.
    re_path(r"", api_errors.ApiNotFoundView.as_view(), name=api_errors.API_NOT_FOUND),
]
