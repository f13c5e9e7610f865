"""Staff pages (compliance officers, in a browser). Names are stable."""

from django.urls import include, path

from . import exports, views
from .views import retention

urlpatterns = [
    path("", views.overview, name="overview"),
    path("sessions/", views.session_list, name="session-list"),
    path("sessions/export.csv", exports.sessions_csv, name="sessions-export"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("sessions/<int:pk>/decide/", views.session_decide, name="session-decide"),
    path("sessions/<int:pk>/assign/", views.session_assign, name="session-assign"),
    path("sessions/<int:pk>/reveal/", views.session_reveal, name="session-reveal"),
    path("checks/export.csv", exports.checks_csv, name="checks-export"),
    path("clients/", views.client_list, name="client-list"),
    path("clients/export.csv", exports.clients_csv, name="clients-export"),
    path(
        "sessions/<int:pk>/evidence.pdf",
        exports.session_evidence_pdf,
        name="session-evidence",
    ),
    path(
        "clients/<int:pk>/evidence.pdf",
        exports.client_evidence_pdf,
        name="client-evidence",
    ),
    path("clients/<int:pk>/", views.client_detail, name="client-detail"),
    path(
        "clients/<int:pk>/relationship-end/",
        retention.client_relationship_end,
        name="client-relationship-end",
    ),
    path(
        "clients/<int:pk>/legal-hold/",
        retention.client_legal_hold,
        name="client-legal-hold",
    ),
    path(
        "clients/<int:pk>/erasure-requests/",
        retention.client_erasure_request,
        name="client-erasure-request",
    ),
    path(
        "clients/<int:pk>/identities/search",
        views.client_identities_search,
        name="client-identities-search",
    ),
    path(
        "clients/<int:pk>/identities/link/",
        views.client_identity_link,
        name="client-identity-link",
    ),
    path(
        "clients/<int:pk>/identities/<int:identity>/unlink/",
        views.client_identity_unlink,
        name="client-identity-unlink",
    ),
    path("clients/<int:pk>/reveal/", views.client_reveal, name="client-reveal"),
    path(
        "clients/<int:pk>/risk-tier/", views.client_risk_tier, name="client-risk-tier"
    ),
    path("sync/", views.sync_status, name="sync-status"),
    path(
        "sync/connections/<int:pk>/release-lease/",
        views.sync_lease_release,
        name="sync-lease-release",
    ),
    path("sync/connections/<int:pk>/sync-now/", views.sync_now, name="sync-now"),
    path("account/", include("sessions_app.account_urls")),
    path("", include("sessions_app.cases.urls")),
    path("", include("sessions_app.saved_views.urls")),
]
