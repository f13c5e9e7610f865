"""Staff pages (compliance officers, in a browser)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
]
