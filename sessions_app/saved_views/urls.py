"""Saved views' pages (included from sessions_app/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("sessions/views/", views.saved_view_create, name="saved-view-create"),
    path(
        "sessions/views/<int:pk>/rename/",
        views.saved_view_rename,
        name="saved-view-rename",
    ),
    path(
        "sessions/views/<int:pk>/delete/",
        views.saved_view_delete,
        name="saved-view-delete",
    ),
]
