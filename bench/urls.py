"""Verity's URL map plus a stock Django admin at /bench-admin/ (see bench.queue)."""

from django.urls import path

from bench.default_admin import default_site
from config.urls import urlpatterns as verity_urlpatterns

urlpatterns = [path("bench-admin/", default_site.urls), *verity_urlpatterns]
