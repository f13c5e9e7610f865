"""URL map. Stable names (docs/architecture.md, README): /, /sessions/, /clients/<id>/, /sync/,
/admin/, /api/v1/..., /api/schema/, /webhooks/<slug>/, /healthz."""

from django.contrib import admin
from django.urls import include, path

from sessions_app import api_errors, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("api/", include("sessions_app.api_urls")),
    path("webhooks/", include("sessions_app.webhook_urls")),
    path("", include("sessions_app.urls")),
]

# A 500 under /api/ answers JSON like every other API response.
handler500 = api_errors.server_error
