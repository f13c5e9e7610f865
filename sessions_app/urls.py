"""Staff pages (compliance officers, in a browser). Names are stable."""

from django.urls import include, path

from . import exports, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("sessions/", views.session_list, name="session-list"),
    path("sessions/export.csv", exports.sessions_csv, name="sessions-export"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("sessions/<int:pk>/decide/", views.session_decide, name="session-decide"),
    path("sessions/<int:pk>/assign/", views.session_assign, name="session-assign"),
    path("checks/export.csv", exports.checks_csv, name="checks-export"),
    path("clients/<int:pk>/", views.client_detail, name="client-detail"),
    path("sync/", views.sync_status, name="sync-status"),
    path(
        "sync/connections/<int:pk>/release-lease/",
        views.sync_lease_release,
        name="sync-lease-release",
    ),
    path("sync/connections/<int:pk>/sync-now/", views.sync_now, name="sync-now"),
    path("account/", include("sessions_app.account_urls")),
    path("", include("sessions_app.cases.urls")),
]
