"""URL map. Stable names (docs/architecture.md, README): /, /sessions/, /clients/<id>/, /sync/,
/admin/, /api/v1/..., /api/schema/, /webhooks/<slug>/, /healthz."""

from django.contrib import admin
from django.urls import include, path

from sessions_app import api_errors, views
from sessions_app.access import mfa_views, sso_views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("login/sso/", sso_views.SSOStartView.as_view(), name="sso-start"),
    path(
        "login/sso/callback/", sso_views.SSOCallbackView.as_view(), name="sso-callback"
    ),
    path("login/mfa/", mfa_views.mfa_verify_page, name="mfa-verify"),
    path("login/mfa/enrol/", mfa_views.mfa_enrol, name="mfa-enrol"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("api/", include("sessions_app.api_urls")),
    path("webhooks/", include("sessions_app.webhook_urls")),
    path("", include("sessions_app.urls")),
]

# A 500 under /api/ answers JSON like every other API response.
handler500 = api_errors.server_error
