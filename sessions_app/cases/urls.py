"""Case work's pages (included from sessions_app/urls.py)."""

from django.urls import path

from . import bulk_views, note_views, views

urlpatterns = [
    path(
        "approvals/<int:pk>/approve/",
        views.approval_approve,
        name="approval-approve",
    ),
    path(
        "approvals/<int:pk>/send-back/",
        views.approval_send_back,
        name="approval-send-back",
    ),
    path("sessions/<int:pk>/reopen/", views.case_reopen, name="case-reopen"),
    path("sessions/<int:pk>/resume/", views.case_resume, name="case-resume"),
    path(
        "sessions/<int:pk>/notes/", note_views.session_note_add, name="session-note-add"
    ),
    path("clients/<int:pk>/notes/", note_views.client_note_add, name="client-note-add"),
    path("sessions/bulk/", bulk_views.sessions_bulk, name="sessions-bulk"),
    path(
        "sessions/<int:pk>/override/",
        views.outcome_override_request,
        name="override-request",
    ),
    path(
        "sessions/<int:pk>/override/withdraw/",
        views.outcome_override_withdraw,
        name="override-withdraw",
    ),
]
